public import Foundation
internal import COpenSSL

/// One-shot SHA-256 for small inputs (configuration files, documents to sign,
/// ledger entries). Streams (recordings) hash incrementally where they are written.
public enum Digest {
    public static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] { DigestAlgorithm.sha256.hash(bytes) }

    /// Lowercase hex, the form roomd stores and prints.
    public static func sha256Hex(_ bytes: some ContiguousBytes) -> String { hex(sha256(bytes)) }

    /// `count` bytes from OpenSSL's CSPRNG, as lowercase hex.
    public static func randomHex(_ count: Int) throws -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw OpenSSLError.last("RAND_bytes") }
        return hex(bytes)
    }

    /// A salted commitment to personal text kept out of the ledger:
    /// SHA-256 of the UTF-8 of `salt` (hex) followed by the UTF-8 of `text`.
    /// Whoever holds the row with salt and text can show the ledger commits to
    /// it; whoever holds only the ledger learns nothing of the text.
    public static func commitment(salt: String, text: String) -> String {
        sha256Hex(Array(salt.utf8) + Array(text.utf8))
    }
}

/// Incremental SHA-256 (OpenSSL EVP) for streams roomd relays or checks:
/// exports as they are sent, files a verifier reads in chunks.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(sha256) cannot fail")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { raw in _ = EVP_DigestUpdate(context, raw.baseAddress, raw.count) }
    }

    /// Lowercase hex; the hasher is finished afterwards.
    public func finishHex() -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &out, &length)
        return hex(out.prefix(Int(length)))
    }

    /// SHA-256 of a file, read in 1 MiB chunks (blocking).
    public static func file(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        let hasher = SHA256Hasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hasher.finishHex()
    }
}

extension Digest {
    /// HMAC-SHA256 (OpenSSL) of `data` under `key`: 32 bytes. AWS Signature
    /// Version 4 derives its signing key and signs with it.
    public static func hmacSHA256(key: some ContiguousBytes, data: some ContiguousBytes) -> [UInt8] {
        // Copies with one spare byte: a pointer exists even for empty inputs.
        let keyBytes = key.withUnsafeBytes { Array($0) + [0] }
        let dataBytes = data.withUnsafeBytes { Array($0) + [0] }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = HMAC(EVP_sha256(), keyBytes, Int32(keyBytes.count - 1), dataBytes, dataBytes.count - 1, &out, &length)
        precondition(result != nil, "HMAC-SHA256 cannot fail")
        return Array(out.prefix(Int(length)))
    }
}
