#if canImport(Glibc)
import Glibc
#endif
import Foundation
internal import COpenSSL

/// How an ID number is stored (Personal Information Protection Law: keep no
/// more than the purpose needs): an HMAC-SHA256 under the room's secret, which
/// lets the room recognise the same number again without keeping it, and the
/// last four characters, which operators need to tell people apart.
public struct ProtectedID: Codable, Sendable, Hashable, CustomStringConvertible {
    /// HMAC-SHA256 of the 18 ASCII characters (check digit `X` upper case), lowercase hex.
    public let hmac: String
    public let lastFour: String

    public init(_ id: ResidentID, secret: RoomSecret) {
        hmac = Self.hmac(ofIDNumber: id.value, secret: secret)
        lastFour = id.lastFour
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hmac = try container.decode(String.self, forKey: .hmac)
        lastFour = try container.decode(String.self, forKey: .lastFour)
        guard hmac.utf8.count == 64, hmac.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw DecodingError.dataCorruptedError(forKey: .hmac, in: container, debugDescription: "not 64 lowercase hex digits")
        }
        guard lastFour.utf8.count == 4, lastFour.utf8.enumerated().allSatisfy({ (48...57).contains($1) || ($0 == 3 && $1 == 88) })
        else {
            throw DecodingError.dataCorruptedError(forKey: .lastFour, in: container, debugDescription: "not four digits (X last)")
        }
    }

    /// Whether `id` is the number this was made from, under the same secret.
    /// Constant time, so response timing says nothing about how much matched.
    public func matches(_ id: ResidentID, secret: RoomSecret) -> Bool {
        matches(hmac: Self.hmac(ofIDNumber: id.value, secret: secret))
    }

    /// The stored form of `text` as given (the caller normalises it), for
    /// comparing one number against many entries with one HMAC.
    static func hmac(ofIDNumber text: String, secret: RoomSecret) -> String {
        hex(secret.hmacSHA256(Array(text.utf8)))
    }

    func matches(hmac candidate: String) -> Bool {
        constantTimeEqual(Array(candidate.utf8), Array(hmac.utf8))
    }

    public var description: String { "ProtectedID(…\(lastFour))" }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return CRYPTO_memcmp(a, b, a.count) == 0
}

/// The room's 32-byte HMAC key for ID numbers. It lives in a file of mode
/// 0600 next to the room's other secrets; losing it means stored
/// `ProtectedID`s can no longer be matched, so it is created once and kept.
/// Its description, debug description and mirror are redacted so it never
/// reaches a log.
public struct RoomSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public static let byteCount = 32
    private let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(RoomSecretError) {
        guard bytes.count == Self.byteCount else {
            throw RoomSecretError(path: nil, problem: "a room secret is \(Self.byteCount) bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// 32 bytes from OpenSSL's CSPRNG.
    public static func generate() throws(RoomSecretError) -> RoomSecret {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        guard RAND_bytes(&bytes, Int32(byteCount)) == 1 else {
            throw RoomSecretError(path: nil, problem: OpenSSLError.last("RAND_bytes").description)
        }
        return try RoomSecret(bytes: bytes)
    }

    /// Reads the secret file: exactly 32 bytes, owned by nobody but its owner
    /// (a group- or world-readable secret is refused, as ssh refuses such keys).
    public static func load(from path: String) throws(RoomSecretError) -> RoomSecret {
        var info = stat()
        guard stat(path, &info) == 0 else { throw RoomSecretError(path: path, problem: String(cString: strerror(errno))) }
        guard info.st_mode & 0o077 == 0 else {
            throw RoomSecretError(
                path: path,
                problem: "mode \(String(info.st_mode & 0o777, radix: 8)) lets others read it; chmod 600 it"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RoomSecretError(path: path, problem: "cannot be read")
        }
        guard data.count == byteCount else {
            throw RoomSecretError(path: path, problem: "holds \(data.count) bytes, a room secret is \(byteCount)")
        }
        return try RoomSecret(bytes: Array(data))
    }

    /// Loads the secret at `path`, or creates one there (mode 0600, written
    /// atomically) when there is no file yet.
    public static func loadOrCreate(at path: String) throws(RoomSecretError) -> RoomSecret {
        if FileManager.default.fileExists(atPath: path) { return try load(from: path) }
        let secret = try generate()
        do {
            try SecureFile.write(secret.bytes, to: path, mode: 0o600)
        } catch {
            throw RoomSecretError(path: path, problem: "\(error)")
        }
        return secret
    }

    func hmacSHA256(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // One-shot HMAC cannot fail for SHA-256 with a 32-byte key short of
        // memory exhaustion, which Swift treats as fatal everywhere else too.
        let result = HMAC(EVP_sha256(), bytes, Int32(bytes.count), message, message.count, &out, &length)
        precondition(result != nil && length == 32, "HMAC-SHA256 failed: \(OpenSSLError.last("HMAC"))")
        return out
    }

    public var description: String { "RoomSecret(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// A room secret that could not be loaded or created (English, for the
/// installer and the logs; the secret itself is never part of it).
public struct RoomSecretError: Error, Sendable, CustomStringConvertible {
    public let path: String?
    public let problem: String

    public var description: String {
        if let path { return "room secret \(path): \(problem)" }
        return "room secret: \(problem)"
    }
}
