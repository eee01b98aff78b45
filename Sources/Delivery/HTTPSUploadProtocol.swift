import Foundation
import Identity

/// The resumable HTTPS upload's wire format (docs/formats.md, "Resumable HTTPS
/// upload"), shared by the room's ``HTTPSUploader`` and the receiver
/// (`roomctl platform serve`), so the two cannot drift apart.
public enum HTTPSUploadProtocol {
    /// `POST {base}/packages/uploads`
    public struct CreateRequest: Codable, Sendable, Equatable {
        public var name: String
        public var size: Int64
        public var sha256: String
        public var partSize: Int64

        public init(name: String, size: Int64, sha256: String, partSize: Int64) {
            self.name = name
            self.size = size
            self.sha256 = sha256
            self.partSize = partSize
        }

        enum CodingKeys: String, CodingKey {
            case name, size, sha256
            case partSize = "part_size"
        }
    }

    /// 201 (a new upload, or one in progress for the same name and SHA-256:
    /// `parts` then lists what the receiver holds) or 200 `complete` (the
    /// package is already there: nothing to send).
    public struct CreateAnswer: Codable, Sendable, Equatable {
        public var uploadID: String?
        public var partSize: Int64?
        public var parts: [Part]?
        public var complete: Bool?
        public var location: String?

        public init(uploadID: String? = nil, partSize: Int64? = nil, parts: [Part]? = nil, complete: Bool? = nil, location: String? = nil) {
            self.uploadID = uploadID
            self.partSize = partSize
            self.parts = parts
            self.complete = complete
            self.location = location
        }

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id"
            case partSize = "part_size"
            case parts, complete, location
        }
    }

    /// A part the receiver holds (and the answer to a part's PUT).
    public struct Part: Codable, Sendable, Equatable {
        public var number: Int
        public var size: Int64
        public var sha256: String

        public init(number: Int, size: Int64, sha256: String) {
            self.number = number
            self.size = size
            self.sha256 = sha256
        }
    }

    /// `GET {base}/packages/uploads/{id}`
    public struct Status: Codable, Sendable, Equatable {
        public var uploadID: String
        public var name: String
        public var size: Int64
        public var sha256: String
        public var partSize: Int64
        public var parts: [Part]
        public var complete: Bool

        public init(uploadID: String, name: String, size: Int64, sha256: String, partSize: Int64, parts: [Part], complete: Bool) {
            self.uploadID = uploadID
            self.name = name
            self.size = size
            self.sha256 = sha256
            self.partSize = partSize
            self.parts = parts
            self.complete = complete
        }

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id"
            case partSize = "part_size"
            case name, size, sha256, parts, complete
        }
    }

    /// `POST {base}/packages/uploads/{id}/complete` → 200
    public struct Completed: Codable, Sendable, Equatable {
        public var location: String
        public var sha256: String

        public init(location: String, sha256: String) {
            self.location = location
            self.sha256 = sha256
        }
    }

    /// Every refusal: a stable code, English for logs, Chinese for the operator.
    public struct ErrorBody: Codable, Sendable, Equatable {
        public var code: String
        public var english: String
        public var chinese: String

        public init(code: String, english: String, chinese: String) {
            self.code = code
            self.english = english
            self.chinese = chinese
        }
    }

    /// The largest part a receiver accepts and an uploader asks for (64 MiB):
    /// a part is held in memory by the uploader while it is sent.
    public static let maximumPartSize: Int64 = 64 << 20
    /// The smallest (64 KiB), so a package is not split into a million requests.
    public static let minimumPartSize: Int64 = 64 << 10

    /// How many parts `size` bytes make (at least one: an empty package is one empty part).
    public static func partCount(size: Int64, partSize: Int64) -> Int {
        precondition(partSize > 0)
        return max(1, Int((size + partSize - 1) / partSize))
    }

    /// The length of part `number` (1-based): `partSize`, or the remainder for the last.
    public static func partLength(number: Int, size: Int64, partSize: Int64) -> Int64 {
        let offset = Int64(number - 1) * partSize
        return max(0, min(partSize, size - offset))
    }

    /// `Content-Digest: sha-256=:<base64>:` (RFC 9530) for a part's bytes.
    public static func contentDigest(sha256 digest: [UInt8]) -> String {
        "sha-256=:" + Data(digest).base64EncodedString() + ":"
    }

    /// The SHA-256 in a `Content-Digest` field (RFC 9530: a dictionary of
    /// byte sequences; other algorithms are ignored), nil if there is none or
    /// it is not 32 bytes.
    public static func sha256(fromContentDigest field: String) -> [UInt8]? {
        for member in field.split(separator: ",") {
            let trimmed = member.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<equals].lowercased() == "sha-256" else { continue }
            let value = trimmed[trimmed.index(after: equals)...]
            guard value.count >= 2, value.first == ":", value.last == ":" else { return nil }
            guard let bytes = Data(base64Encoded: String(value.dropFirst().dropLast())), bytes.count == 32 else { return nil }
            return [UInt8](bytes)
        }
        return nil
    }

    /// Lowercase hex.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A package name is `<room>/<session>.tar`: two safe components, no dot
    /// segments. Returns (room, session) or nil.
    public static func splitName(_ name: String) -> (room: String, session: String)? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].hasSuffix(".tar") else { return nil }
        let room = String(parts[0]), session = String(parts[1].dropLast(4))
        func safe(_ s: String) -> Bool {
            !s.isEmpty && s.count <= 128 && s != "." && s != ".." && !s.hasPrefix(".")
                && s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
        }
        guard safe(room), safe(session) else { return nil }
        return (room, session)
    }
}
