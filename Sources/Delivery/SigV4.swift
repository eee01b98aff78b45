public import Foundation
import Identity

/// What signs S3 requests: an access key and its secret, and, for temporary
/// credentials, a session token (sent as `x-amz-security-token`).
public struct S3Credentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 for S3 (header-based, signed payload): pure and
/// deterministic for a given date, so tests compare it with botocore's signer.
///
/// The caller passes the canonical URI already encoded (`SigV4.encodePath`):
/// it is both what is sent on the wire and what is signed, so the two cannot differ.
public struct SigV4: Sendable {
    public let credentials: S3Credentials
    public let region: String
    public let service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 (hex) of an empty payload (GET, HEAD, `POST ?uploads`).
    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public struct Signed: Sendable {
        /// Every header to send, Authorization included (lowercase names).
        public var headers: [(name: String, value: String)]
        public var canonicalRequest: String
        public var stringToSign: String
        public var authorization: String
    }

    /// Signs a request.
    /// - Parameters:
    ///   - host: the Host header (with `:port` when not the scheme's default).
    ///   - encodedPath: the canonical URI, e.g. `/bucket/%E4%B8%AD%E6%96%87.tar` (see `encodePath`).
    ///   - query: names and values, not encoded (`("uploads", "")`, `("partNumber", "3")`).
    ///   - headers: further headers to send and sign (`x-amz-*`, `content-type`, `content-md5`);
    ///     host, x-amz-date, x-amz-content-sha256 and the session token are added here.
    ///   - payloadSHA256: the SHA-256 (hex) of the body actually sent.
    public func sign(method: String, host: String, encodedPath: String, query: [(String, String)],
                     headers: [(String, String)], payloadSHA256: String, date: Date) -> Signed {
        let (amzDate, dateStamp) = Self.timestamps(date)
        var all: [(String, String)] = [("host", host), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadSHA256)]
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
        all += headers.map { ($0.0.lowercased(), $0.1) }
        // One line per name; repeated names join their values with commas (SigV4 rule).
        var merged: [String: [String]] = [:]
        for (name, value) in all { merged[name, default: []].append(Self.trimmed(value)) }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method.uppercased(), encodedPath, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadSHA256,
        ].joined(separator: "\n")
        let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Digest.sha256Hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
        var key = Digest.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: Array(dateStamp.utf8))
        for part in [region, service, "aws4_request"] { key = Digest.hmacSHA256(key: key, data: Array(part.utf8)) }
        let signature = Self.hex(Digest.hmacSHA256(key: key, data: Array(stringToSign.utf8)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        var sent = all.map { (name: $0.0, value: $0.1) }
        sent.append((name: "authorization", value: authorization))
        return Signed(headers: sent, canonicalRequest: canonicalRequest, stringToSign: stringToSign, authorization: authorization)
    }

    /// `query` as SigV4 wants it: each name and value encoded (RFC 3986
    /// unreserved kept), sorted by name then value, `name=value` joined by `&`.
    /// The same string is sent on the wire.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (encode($0.0), encode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// An S3 object path (`/bucket/key` or `/key`) encoded once, segment by
    /// segment: UTF-8 bytes outside `A-Z a-z 0-9 - . _ ~` become `%XX`; `/` is kept.
    public static func encodePath(_ path: String) -> String { encode(path, keepSlash: true) }

    /// RFC 3986 percent-encoding of the UTF-8 bytes, unreserved characters kept.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0F, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// `x-amz-date` (`20260115T093000Z`) and the scope's date (`20260115`), UTC.
    public static func timestamps(_ date: Date) -> (amzDate: String, dateStamp: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let day = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        return (day + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)), day)
    }

    /// Leading and trailing blanks dropped, inner runs of spaces collapsed to one.
    static func trimmed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0x0F)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
