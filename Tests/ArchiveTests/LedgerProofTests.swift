import Archive
import Foundation
import Testing

@Suite("Ledger proofs")
struct LedgerProofTests {
    /// Proofs generated from the stored subtree hashes, for many historical tree
    /// sizes, are checked by rfc9162_check.py: an implementation written from
    /// the RFC in another language that recomputes everything from the raw entries.
    @Test func proofsAgreeWithAnIndependentRFC9162Implementation() throws {
        let t = try TestLedger()
        let total = 2000
        try t.fill(total, batch: 333)
        var random = SystemRandomNumberGenerator()
        // Edge sizes around powers of two, all of 1...40, and random sizes up to 2000.
        var sizes = Set(1...40).union([63, 64, 65, 127, 128, 129, 511, 512, 513, 1023, 1024, 1025, 1999, 2000])
        while sizes.count < 80 { sizes.insert(Int.random(in: 41...total, using: &random)) }

        var inclusion: [[String: Any]] = []
        for size in sizes.sorted() {
            let root = try t.ledger.rootHash(size: size)
            for index in 0..<size {
                let proof = try t.ledger.inclusionProof(leafIndex: index, treeSize: size)
                inclusion.append(["index": index, "size": size, "root": root.base64, "path": proof.path.map(\.base64)])
            }
        }
        var pairs: [(Int, Int)] = []
        for new in 1...40 { for old in 1...new { pairs.append((old, new)) } }
        for _ in 0..<2500 {
            let new = Int.random(in: 1...total, using: &random)
            pairs.append((Int.random(in: 1...new, using: &random), new))
        }
        var consistency: [[String: Any]] = []
        for (old, new) in pairs {
            let proof = try t.ledger.consistencyProof(oldSize: old, newSize: new)
            consistency.append([
                "old": old, "new": new, "old_root": try t.ledger.rootHash(size: old).base64,
                "new_root": try t.ledger.rootHash(size: new).base64, "path": proof.path.map(\.base64),
            ])
        }
        let entries = try t.ledger.entryBytes(0..<total).map { $0.base64EncodedString() }
        let input = try JSONSerialization.data(
            withJSONObject: ["entries": entries, "inclusion": inclusion, "consistency": consistency])
        let file = t.directory.appendingPathComponent("proofs-for-python.json")
        try input.write(to: file)

        let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("rfc9162_check.py")
        let result = try runTool(["python3", checker.path, file.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let expected = inclusion.count + consistency.count
        #expect(result.stdout.contains("\(expected) passed, 0 failed"), "\(result.stdout)")
    }

    @Test func rootsFromStoredSubtreesEqualRootsFromLeaves() throws {
        let t = try TestLedger()
        try t.fill(300, batch: 7)
        let leaves = try t.ledger.entryBytes(0..<300).map { MerkleHash.leaf($0) }
        for size in 0...300 {
            #expect(try t.ledger.rootHash(size: size) == RFC9162.rootHash(leaves: Array(leaves.prefix(size))))
        }
        #expect(try t.ledger.treeHead().root == RFC9162.rootHash(leaves: leaves))
    }

    @Test func verificationRejectsWrongLeafIndexSizeAndRoot() throws {
        let t = try TestLedger()
        let head = try t.fill(37)
        let leaf = MerkleHash.leaf(try t.ledger.entryBytes(5..<6)[0])
        let proof = try t.ledger.inclusionProof(leafIndex: 5, treeSize: 37)
        #expect(proof.verify(leafHash: leaf, root: head.root))
        #expect(!InclusionProof(leafIndex: 6, treeSize: 37, path: proof.path).verify(leafHash: leaf, root: head.root))
        // The path length and shape bind the size only up to the root: sizes with the
        // same shape (33...40 for leaf 5) are told apart by the signed root, not here.
        #expect(!InclusionProof(leafIndex: 5, treeSize: 8, path: proof.path).verify(leafHash: leaf, root: head.root))
        #expect(!proof.verify(leafHash: leaf, root: try t.ledger.rootHash(size: 36)))
        #expect(!InclusionProof(leafIndex: 5, treeSize: 37, path: proof.path.dropLast()).verify(leafHash: leaf, root: head.root))

        let consistency = try t.ledger.consistencyProof(oldSize: 20, newSize: 37)
        let old = try t.ledger.rootHash(size: 20)
        #expect(consistency.verify(oldRoot: old, newRoot: head.root))
        #expect(!consistency.verify(oldRoot: try t.ledger.rootHash(size: 19), newRoot: head.root))
        #expect(!ConsistencyProof(oldSize: 21, newSize: 37, path: consistency.path).verify(oldRoot: old, newRoot: head.root))
        #expect(ConsistencyProof(oldSize: 37, newSize: 37, path: []).verify(oldRoot: head.root, newRoot: head.root))
    }

    @Test func proofsBeyondTheLedgerAreRefused() throws {
        let t = try TestLedger()
        try t.fill(10)
        #expect(throws: LedgerError.sizeOutOfRange(requested: 11, size: 10)) {
            try t.ledger.inclusionProof(leafIndex: 0, treeSize: 11)
        }
        #expect(throws: LedgerError.indexOutOfRange(index: 10, size: 10)) {
            try t.ledger.inclusionProof(leafIndex: 10, treeSize: 10)
        }
        #expect(throws: LedgerError.self) { try t.ledger.consistencyProof(oldSize: 0, newSize: 5) }
    }
}
