public import Foundation

/// One-shot SHA-256 for small inputs (configuration files, documents to sign,
/// ledger entries). Streams (recordings) hash incrementally where they are written.
public enum Digest {
    public static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] { DigestAlgorithm.sha256.hash(bytes) }

    /// Lowercase hex, the form roomd stores and prints.
    public static func sha256Hex(_ bytes: some ContiguousBytes) -> String { hex(sha256(bytes)) }
}
