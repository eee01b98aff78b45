public import Foundation
internal import COpenSSL

/// One-shot SHA-256 for small inputs (configuration files, documents to sign).
/// Streams (recordings) hash incrementally where they are written instead.
public enum Digest {
    public static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { raw in
            EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha256(), nil) == 1
        }
        // EVP_Digest with SHA-256 fails only when memory allocation fails.
        precondition(ok && length == 32, "SHA-256 failed")
        return digest
    }

    /// Lowercase hex, the form roomd stores and prints.
    public static func sha256Hex(_ bytes: some ContiguousBytes) -> String { hex(sha256(bytes)) }
}
