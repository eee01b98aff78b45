public import Canonical
/// The JSON documents `roomctl ledger proof` prints and the HTTPS API serves:
/// one shape in both places, so a proof fetched from either can be handed to
/// `roomctl ledger verify --consistency-proof` or to any RFC 9162 checker.
extension Ledger {
    /// `{"type":"inclusion","leaf_index","tree_size","root","leaf_hash","entry","path"}`;
    /// `treeSize` defaults to the current size.
    /// Without `includeEntry` (a caller who may not read entries) the proof
    /// carries the leaf hash only; an entry holding an ID number an earlier
    /// roomd wrote is never included.
    public func inclusionProofDocument(entry: Int, treeSize: Int? = nil, includeEntry: Bool = true) throws -> CanonicalJSON {
        let size = try treeSize ?? treeHead().size
        let proof = try inclusionProof(leafIndex: entry, treeSize: size)
        guard let bytes = try entryBytes(entry..<(entry + 1)).first else {
            throw LedgerError.indexOutOfRange(index: entry, size: size)
        }
        var document: [String: CanonicalJSON] = [
            "type": "inclusion", "leaf_index": .integer(Int64(entry)), "tree_size": .integer(Int64(size)),
            "root": .string(try rootHash(size: size).base64),
            "leaf_hash": .string(MerkleHash.leaf(bytes).base64),
            "path": .array(proof.path.map { .string($0.base64) }),
        ]
        // An entry an older roomd wrote with an ID number in it is proven by its leaf hash alone.
        if try Ledger.disclosable(Array(bytes), seq: entry) != Array(bytes) {
            document["withheld"] = .string(WithheldEntry.reason)
        } else if includeEntry {
            document["entry"] = .string(String(decoding: bytes, as: UTF8.self))
        }
        return .object(document)
    }

    /// `{"type":"consistency","old_size","new_size","old_root","new_root","path"}`;
    /// `newSize` defaults to the current size.
    public func consistencyProofDocument(from oldSize: Int, to newSize: Int? = nil) throws -> CanonicalJSON {
        let size = try newSize ?? treeHead().size
        let proof = try consistencyProof(oldSize: oldSize, newSize: size)
        return [
            "type": "consistency", "old_size": .integer(Int64(oldSize)), "new_size": .integer(Int64(size)),
            "old_root": .string(try rootHash(size: oldSize).base64),
            "new_root": .string(try rootHash(size: size).base64),
            "path": .array(proof.path.map { .string($0.base64) }),
        ]
    }
}
