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
