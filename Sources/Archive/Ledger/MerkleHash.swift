public import Foundation
internal import Identity

/// A 32-byte SHA-256 value: a leaf hash, an interior node hash or a tree root.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: Data

    public init?(_ bytes: Data) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Data(bytes)
    }

    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64) else { return nil }
        self.init(data)
    }

    init(unchecked bytes: Data) { self.bytes = bytes }

    public var base64: String { bytes.base64EncodedString() }
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
    public var description: String { hex }

    /// SHA-256 of nothing: RFC 9162 MTH({}) for the empty tree.
    public static let emptyTree = MerkleHash(unchecked: ledgerSHA256([]))

    /// RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry).
    public static func leaf(_ entry: some Collection<UInt8>) -> MerkleHash {
        var input = [UInt8](repeating: 0, count: 1)
        input.reserveCapacity(entry.count + 1)
        input.append(contentsOf: entry)
        return MerkleHash(unchecked: ledgerSHA256(input))
    }

    /// RFC 9162 §2.1.1: interior node = SHA-256(0x01 || left || right).
    public static func node(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var input = [UInt8](repeating: 1, count: 1)
        input.reserveCapacity(65)
        input.append(contentsOf: left.bytes)
        input.append(contentsOf: right.bytes)
        return MerkleHash(unchecked: ledgerSHA256(input))
    }
}

/// SHA-256 of ledger bytes (Identity's one-shot digest).
func ledgerSHA256(_ input: some ContiguousBytes) -> Data { Data(Digest.sha256(input)) }
