public import Foundation
internal import COpenSSL

/// RFC 3161 time-stamping: a query for the SHA-256 of some bytes, and the
/// verification of a TSA's answer. roomd has checkpoints of its audit ledger
/// timestamped so that their time rests on a third party, not on the room's clock.
public struct TimestampQuery: Sendable {
    /// DER TimeStampReq, to POST as `application/timestamp-query`.
    public let der: [UInt8]
    public let digest: [UInt8]
    public let nonce: [UInt8]

    /// A query for `data`'s SHA-256 with a fresh 64-bit nonce, asking for the TSA's certificate.
    public init(for data: some ContiguousBytes) throws {
        digest = Digest.sha256(data)
        var nonce = [UInt8](repeating: 0, count: 8)
        guard RAND_bytes(&nonce, Int32(nonce.count)) == 1 else { throw OpenSSLError.last("RAND_bytes") }
        nonce[0] &= 0x7F
        nonce[0] |= 0x01  // never zero-length once encoded, never negative
        self.nonce = nonce
        var out: UnsafeMutablePointer<UInt8>?
        let length = roomd_ts_request(digest, digest.count, nonce, nonce.count, &out)
        guard length > 0, let out else { throw OpenSSLError.last("TimeStampReq") }
        defer { roomd_openssl_free(out) }
        der = Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}

/// A verified TimeStampToken (CMS SignedData, DER): what `openssl ts -verify
/// -token_in` checks offline.
public struct TimestampToken: Sendable, Hashable {
    public let der: [UInt8]
    /// The TSA's genTime.
    public let time: Date

    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Checks a DER TimeStampResp answering `query`: status granted, signed by
    /// a TSA certificate (timeStamping usage) chaining to `trusting`, for the
    /// query's digest and nonce.
    public init(response: [UInt8], answering query: TimestampQuery, trusting anchors: [Certificate]) throws {
        var token: UnsafeMutablePointer<UInt8>?
        var length: Int32 = 0
        var seconds: Int64 = 0
        var error = [CChar](repeating: 0, count: 512)
        let handles: [OpaquePointer?] = anchors.map { $0.handle }
        let ok = withExtendedLifetime(anchors) {
            handles.withUnsafeBufferPointer { anchorsBuffer in
                roomd_ts_verify_response(response, response.count, query.der, query.der.count,
                                         anchorsBuffer.baseAddress, Int32(anchorsBuffer.count), &token, &length, &seconds,
                                         &error, error.count)
            }
        }
        guard ok == 1, let token else {
            throw Refused(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { roomd_openssl_free(token) }
        der = Array(UnsafeBufferPointer(start: token, count: Int(length)))
        time = Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

/// A stored TimeStampResp checked again later, offline, against the data it
/// stamps (a sealed package's signature file): no nonce, the request is gone.
public enum StoredTimestamp {
    /// The TSA's genTime if `response` is a granted timestamp over SHA-256(`data`)
    /// by a TSA chaining to `anchors`; throws ``TimestampToken/Refused`` otherwise.
    public static func verify(response: [UInt8], data: some ContiguousBytes, trusting anchors: [Certificate]) throws -> Date {
        let digest = Digest.sha256(data)
        var seconds: Int64 = 0
        var error = [CChar](repeating: 0, count: 512)
        let handles: [OpaquePointer?] = anchors.map { $0.handle }
        let ok = withExtendedLifetime(anchors) {
            handles.withUnsafeBufferPointer { buffer in
                roomd_ts_verify_stored(response, response.count, digest, digest.count, buffer.baseAddress, Int32(buffer.count),
                                       &seconds, &error, error.count)
            }
        }
        guard ok == 1 else {
            throw TimestampToken.Refused(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
