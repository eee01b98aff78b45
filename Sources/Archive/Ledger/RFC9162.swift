/// The Merkle tree algorithms of RFC 9162 §2.1, written against a function that
/// returns the hash of any subtree D[lo:hi] that the recursion asks for. The
/// ledger answers that function from stored complete subtrees (O(log n) reads);
/// tests answer it from leaves in memory.
///
/// Indexes and sizes are `Int` (64-bit on every supported platform).
public enum RFC9162 {
    /// The largest power of two strictly less than `n` (n > 1): the `k` of §2.1.1.
    static func split(_ n: Int) -> Int {
        precondition(n > 1)
        return 1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }

    /// MTH(D[lo:hi]) from leaf hashes in memory (§2.1.1), for verifiers and tests.
    public static func rootHash(leaves: [MerkleHash]) -> MerkleHash {
        leaves.isEmpty ? .emptyTree : subtree(leaves[...])
    }

    private static func subtree(_ leaves: ArraySlice<MerkleHash>) -> MerkleHash {
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        let k = split(leaves.count)
        let mid = leaves.startIndex + k
        return .node(subtree(leaves[..<mid]), subtree(leaves[mid...]))
    }

    /// PATH(m, D[n]) of §2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves.
    public static func inclusionPath(
        index: Int, size: Int, subtree: (_ lo: Int, _ hi: Int) throws -> MerkleHash
    ) rethrows -> [MerkleHash] {
        precondition(index >= 0 && index < size)
        var path: [MerkleHash] = []
        try inclusion(index, 0, size, subtree, &path)
        return path
    }

    private static func inclusion(
        _ m: Int, _ lo: Int, _ hi: Int, _ subtree: (Int, Int) throws -> MerkleHash, _ path: inout [MerkleHash]
    ) rethrows {
        let n = hi - lo
        if n == 1 { return }
        let k = split(n)
        if m < k {
            try inclusion(m, lo, lo + k, subtree, &path)
            path.append(try subtree(lo + k, hi))
        } else {
            try inclusion(m - k, lo + k, hi, subtree, &path)
            path.append(try subtree(lo, lo + k))
        }
    }

    /// PROOF(m, D[n]) of §2.1.4.1: the consistency proof from the tree of `oldSize`
    /// leaves to the tree of `newSize` leaves (0 < oldSize <= newSize; empty when equal).
    public static func consistencyPath(
        oldSize: Int, newSize: Int, subtree: (_ lo: Int, _ hi: Int) throws -> MerkleHash
    ) rethrows -> [MerkleHash] {
        precondition(oldSize > 0 && oldSize <= newSize)
        var path: [MerkleHash] = []
        if oldSize < newSize { try subproof(oldSize, 0, newSize, true, subtree, &path) }
        return path
    }

    private static func subproof(
        _ m: Int, _ lo: Int, _ hi: Int, _ b: Bool,
        _ subtree: (Int, Int) throws -> MerkleHash, _ path: inout [MerkleHash]
    ) rethrows {
        let n = hi - lo
        if m == n {
            if !b { path.append(try subtree(lo, hi)) }
            return
        }
        let k = split(n)
        if m <= k {
            try subproof(m, lo, lo + k, b, subtree, &path)
            path.append(try subtree(lo + k, hi))
        } else {
            try subproof(m - k, lo + k, hi, false, subtree, &path)
            path.append(try subtree(lo, lo + k))
        }
    }

    /// §2.1.3.2: does `path` prove that `leafHash` is leaf `index` of the tree of
    /// `size` leaves whose root is `root`?
    public static func verifyInclusion(
        leafHash: MerkleHash, index: Int, size: Int, path: [MerkleHash], root: MerkleHash
    ) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in path {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = .node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = .node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// §2.1.4.2: does `path` prove that the tree of `oldSize` leaves with root
    /// `oldRoot` is a prefix of the tree of `newSize` leaves with root `newRoot`?
    /// Equal sizes are consistent exactly when the roots are equal and the path is empty.
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: MerkleHash, newRoot: MerkleHash, path: [MerkleHash]
    ) -> Bool {
        guard oldSize > 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return path.isEmpty && oldRoot == newRoot }
        if path.isEmpty { return false }
        var proof = path
        // An old tree that is a complete subtree is not repeated in the proof.
        if oldSize & (oldSize - 1) == 0 { proof.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = proof[0]
        var sr = proof[0]
        for c in proof.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = .node(c, fr)
                sr = .node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = .node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
