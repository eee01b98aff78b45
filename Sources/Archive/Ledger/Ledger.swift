import Canonical
public import Foundation
public import GRDB
public import Identity

public enum LedgerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The connection would acknowledge appends that a power cut can still lose.
    case notDurable(synchronous: Int)
    case malformedEntry(String)
    case sizeOutOfRange(requested: Int, size: Int)
    case indexOutOfRange(index: Int, size: Int)
    /// A stored hash is missing or wrong: the database was damaged or edited.
    case corrupt(String)
    /// `append(_:in:)` outside a transaction would commit entries and their
    /// subtree hashes separately; a crash between them would break the tree.
    case notInTransaction

    public var description: String {
        switch self {
        case .notDurable(let level):
            "ledger database has PRAGMA synchronous=\(level); appends must be durable (use FULL = 2)"
        case .malformedEntry(let why): "malformed ledger entry: \(why)"
        case .sizeOutOfRange(let requested, let size): "tree size \(requested) is beyond the ledger's \(size) entries"
        case .indexOutOfRange(let index, let size): "entry \(index) is not in a tree of \(size) entries"
        case .corrupt(let what): "ledger storage is corrupt: \(what)"
        case .notInTransaction: "ledger appends must run inside a transaction"
        }
    }
}

/// The result of one append transaction.
public struct LedgerAppendResult: Sendable {
    public let entries: [LedgerEntry]
    /// The tree after the append; the caller can checkpoint it or hand it out.
    public let treeHead: TreeHead
}

/// A checkpoint as stored in `ledger_checkpoint`.
public struct StoredCheckpoint: Sendable, Hashable {
    public let id: Int64
    public let createdNs: Int64
    public let checkpoint: SignedCheckpoint
}

/// Inclusion proof of leaf `leafIndex` in the tree of `treeSize` leaves (RFC 9162 §2.1.3).
public struct InclusionProof: Sendable, Hashable {
    public let leafIndex: Int
    public let treeSize: Int
    public let path: [MerkleHash]

    public init(leafIndex: Int, treeSize: Int, path: [MerkleHash]) {
        self.leafIndex = leafIndex
        self.treeSize = treeSize
        self.path = path
    }

    public func verify(leafHash: MerkleHash, root: MerkleHash) -> Bool {
        RFC9162.verifyInclusion(leafHash: leafHash, index: leafIndex, size: treeSize, path: path, root: root)
    }
}

/// Consistency proof between two tree sizes (RFC 9162 §2.1.4).
public struct ConsistencyProof: Sendable, Hashable {
    public let oldSize: Int
    public let newSize: Int
    public let path: [MerkleHash]

    public init(oldSize: Int, newSize: Int, path: [MerkleHash]) {
        self.oldSize = oldSize
        self.newSize = newSize
        self.path = path
    }

    public func verify(oldRoot: MerkleHash, newRoot: MerkleHash) -> Bool {
        RFC9162.verifyConsistency(oldSize: oldSize, newSize: newSize, oldRoot: oldRoot, newRoot: newRoot, path: path)
    }
}

/// The audit ledger: an append-only Merkle log in the daemon's SQLite database.
///
/// Every method is synchronous and blocks on disk I/O: call it from the daemon's
/// own threads or actors, never from the cooperative pool. Besides the database
/// it holds only a cache of immutable upper-level hashes, so it is freely
/// shareable; SQLite's single writer serialises appends.
public final class Ledger: Sendable {
    public let database: any DatabaseWriter
    /// Upper-level subtree hashes read before, shared by all proofs of this instance.
    let committedNodes = CommittedNodeCache()

    /// - Parameter requireDurable: make the writer connection durable
    ///   (`PRAGMA synchronous=FULL`, kept if already FULL or EXTRA) and refuse
    ///   to run if that does not take, because an acknowledged entry must
    ///   survive a power cut. GRDB's `DatabasePool` sets synchronous=NORMAL on
    ///   its writer when it enables WAL, after `prepareDatabase` runs, so a
    ///   configuration-time pragma is not enough. The setting applies to the
    ///   whole pool's writer, which is what the daemon wants anyway.
    ///   Read-only tools (roomctl) pass false.
    public init(database: any DatabaseWriter, requireDurable: Bool = true) throws {
        self.database = database
        if requireDurable {
            let level = try database.writeWithoutTransaction { db in
                if try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 0 < 2 {
                    try db.execute(sql: "PRAGMA synchronous = FULL")
                }
                return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 0
            }
            guard level >= 2 else { throw LedgerError.notDurable(synchronous: level) }
        }
    }

    /// Opens a ledger database read-only, for offline tools (roomctl) that must
    /// not write to the room's database while the daemon runs. WAL lets them
    /// read a consistent snapshot alongside the daemon's writes.
    public static func openReadOnly(path: String) throws -> Ledger {
        var config = Configuration()
        config.readonly = true
        return try Ledger(database: try DatabasePool(path: path, configuration: config), requireDurable: false)
    }

    // MARK: Appending

    /// Appends `drafts` in one transaction: all or none. Durable when it returns.
    public func append(_ drafts: [LedgerDraft]) throws -> LedgerAppendResult {
        try database.write { db in try Self.append(drafts, in: db) }
    }

    public func append(_ draft: LedgerDraft) throws -> LedgerEntry {
        try append([draft]).entries[0]
    }

    /// Appends inside a transaction the caller already holds, so a fact and its
    /// ledger entry commit together (e.g. a score row and "session.score").
    public static func append(_ drafts: [LedgerDraft], in db: Database) throws -> LedgerAppendResult {
        guard db.isInsideTransaction else { throw LedgerError.notInTransaction }
        var size = try currentSize(db)
        var peaks = try Self.peaks(db, size: size)
        let insertEntry = try db.cachedStatement(
            sql: "INSERT INTO ledger_entry(seq, time_ns, kind, actor, entry) VALUES (?, ?, ?, ?, ?)")
        let insertNode = try db.cachedStatement(sql: "INSERT INTO ledger_node(id, hash) VALUES (?, ?)")
        var appended: [LedgerEntry] = []
        appended.reserveCapacity(drafts.count)
        for draft in drafts {
            let entry = LedgerEntry(seq: size, draft: draft)
            let bytes = try entry.canonicalBytes()
            var hash = MerkleHash.leaf(bytes)
            // Unchecked: the argument count is fixed by the code above, not by input.
            insertEntry.setUncheckedArguments([
                size, draft.time, CanonicalJSON.nfc(draft.kind), CanonicalJSON.nfc(draft.actor), Data(bytes),
            ])
            try insertEntry.execute()
            // Each odd index completes a subtree with the peak to its left; only
            // subtrees of 16 leaves and up are stored (see `lowestStoredLevel`).
            var level = 0
            var index = size
            while index & 1 == 1 {
                let left = peaks.removeLast()
                hash = .node(left.hash, hash)
                level += 1
                index >>= 1
                if level >= lowestStoredLevel {
                    insertNode.setUncheckedArguments([nodeID(level: level, index: index), hash.bytes])
                    try insertNode.execute()
                }
            }
            peaks.append((level, hash))
            size += 1
            appended.append(entry)
        }
        return LedgerAppendResult(entries: appended, treeHead: TreeHead(size: size, root: fold(peaks)))
    }

    // MARK: Reading

    public func treeHead() throws -> TreeHead {
        try database.read { db in
            let size = try Self.currentSize(db)
            return TreeHead(size: size, root: Self.fold(try Self.peaks(db, size: size, shared: committedNodes)))
        }
    }

    public static func treeHead(_ db: Database) throws -> TreeHead {
        let size = try currentSize(db)
        return TreeHead(size: size, root: fold(try peaks(db, size: size)))
    }

    /// The root the tree had when it held `size` entries.
    public func rootHash(size: Int) throws -> MerkleHash {
        try database.read { db in
            let current = try Self.currentSize(db)
            guard size >= 0, size <= current else { throw LedgerError.sizeOutOfRange(requested: size, size: current) }
            return Self.fold(try Self.peaks(db, size: size, shared: committedNodes))
        }
    }

    public func entry(seq: Int) throws -> LedgerEntry? {
        try database.read { db in
            guard let bytes = try Data.fetchOne(db, sql: "SELECT entry FROM ledger_entry WHERE seq = ?", arguments: [seq])
            else { return nil }
            return try LedgerEntry(canonical: bytes)
        }
    }

    /// SQLite's `PRAGMA quick_check` of the whole database file: `["ok"]` when
    /// the file is sound, else what is wrong (`roomctl doctor`).
    public func quickCheck() throws -> [String] {
        try database.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
    }

    /// The stored canonical bytes of entries in `range`, in order.
    public func entryBytes(_ range: Range<Int>) throws -> [Data] {
        try database.read { db in
            try Data.fetchAll(
                db, sql: "SELECT entry FROM ledger_entry WHERE seq >= ? AND seq < ? ORDER BY seq",
                arguments: [range.lowerBound, range.upperBound])
        }
    }

    // MARK: Proofs

    public func inclusionProof(leafIndex: Int, treeSize: Int) throws -> InclusionProof {
        try database.read { db in
            try Self.inclusionProof(leafIndex: leafIndex, treeSize: treeSize, in: db, shared: committedNodes)
        }
    }

    /// Inside a transaction the caller holds (which may be a write transaction).
    public static func inclusionProof(leafIndex: Int, treeSize: Int, in db: Database) throws -> InclusionProof {
        try inclusionProof(leafIndex: leafIndex, treeSize: treeSize, in: db, shared: nil)
    }

    static func inclusionProof(
        leafIndex: Int, treeSize: Int, in db: Database, shared: CommittedNodeCache?
    ) throws -> InclusionProof {
        let current = try currentSize(db)
        guard treeSize > 0, treeSize <= current else { throw LedgerError.sizeOutOfRange(requested: treeSize, size: current) }
        guard leafIndex >= 0, leafIndex < treeSize else { throw LedgerError.indexOutOfRange(index: leafIndex, size: treeSize) }
        var reader = SubtreeReader(db: db, shared: shared)
        let path = try RFC9162.inclusionPath(index: leafIndex, size: treeSize) { lo, hi in try reader.hash(lo, hi) }
        return InclusionProof(leafIndex: leafIndex, treeSize: treeSize, path: path)
    }

    public func consistencyProof(oldSize: Int, newSize: Int) throws -> ConsistencyProof {
        try database.read { db in
            try Self.consistencyProof(oldSize: oldSize, newSize: newSize, in: db, shared: committedNodes)
        }
    }

    /// Inside a transaction the caller holds (which may be a write transaction).
    public static func consistencyProof(oldSize: Int, newSize: Int, in db: Database) throws -> ConsistencyProof {
        try consistencyProof(oldSize: oldSize, newSize: newSize, in: db, shared: nil)
    }

    static func consistencyProof(
        oldSize: Int, newSize: Int, in db: Database, shared: CommittedNodeCache?
    ) throws -> ConsistencyProof {
        let current = try currentSize(db)
        guard newSize <= current else { throw LedgerError.sizeOutOfRange(requested: newSize, size: current) }
        guard oldSize > 0, oldSize <= newSize else { throw LedgerError.sizeOutOfRange(requested: oldSize, size: newSize) }
        var reader = SubtreeReader(db: db, shared: shared)
        let path = try RFC9162.consistencyPath(oldSize: oldSize, newSize: newSize) { lo, hi in try reader.hash(lo, hi) }
        return ConsistencyProof(oldSize: oldSize, newSize: newSize, path: path)
    }

    // MARK: Checkpoints

    /// Signs the current tree head with the room key and stores the checkpoint.
    /// Signing happens inside the write transaction so no append can slip
    /// between reading the head and storing its checkpoint. The scheduler
    /// (every N minutes, milestones) decides when; `latestCheckpoint()` tells it
    /// whether anything was appended since.
    @discardableResult
    public func makeCheckpoint(origin: String, keyName: String, key: RoomSigningKey, now: Int64) throws -> StoredCheckpoint {
        try database.write { db in
            let head = try Self.treeHead(db)
            let checkpoint = try SignedCheckpoint.sign(origin: origin, treeHead: head, keyName: keyName, key: key)
            try db.execute(
                sql: "INSERT INTO ledger_checkpoint(tree_size, root_hash, created_ns, note) VALUES (?, ?, ?, ?)",
                arguments: [head.size, head.root.bytes, now, checkpoint.text])
            return StoredCheckpoint(id: db.lastInsertedRowID, createdNs: now, checkpoint: checkpoint)
        }
    }

    /// True when entries were appended since the latest checkpoint (or there is
    /// none yet): the periodic scheduler signs only then, milestones always.
    public func hasUncheckpointedEntries() throws -> Bool {
        try database.read { db in
            let checkpointed = try Int.fetchOne(db, sql: "SELECT tree_size FROM ledger_checkpoint ORDER BY id DESC LIMIT 1")
            return try Self.currentSize(db) > (checkpointed ?? -1)
        }
    }

    public func latestCheckpoint() throws -> StoredCheckpoint? {
        try database.read { db in
            try Self.checkpoints(db, sql: "SELECT id, created_ns, note FROM ledger_checkpoint ORDER BY id DESC LIMIT 1").first
        }
    }

    /// Stored checkpoints whose tree size lies in `sizes`, oldest first.
    public func checkpoints(treeSizes sizes: ClosedRange<Int>) throws -> [StoredCheckpoint] {
        try database.read { db in
            try Self.checkpoints(
                db, sql: "SELECT id, created_ns, note FROM ledger_checkpoint WHERE tree_size BETWEEN ? AND ? ORDER BY id",
                arguments: [sizes.lowerBound, sizes.upperBound])
        }
    }

    static func checkpoints(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [StoredCheckpoint] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            StoredCheckpoint(id: row[0], createdNs: row[1], checkpoint: try SignedCheckpoint(parsing: row[2]))
        }
    }

    // MARK: Storage layout

    /// Node ids pack (level, index) so one integer primary key serves all levels.
    static func nodeID(level: Int, index: Int) -> Int { level << 48 | index }

    /// Subtrees below this level (fewer than 16 leaves) are not stored: they are
    /// recomputed from the 16 consecutive entries of their block (one or two
    /// pages, already needed to read an entry). This keeps `ledger_node` at about
    /// n/8 rows, small enough to stay in memory on a 10M-entry ledger, so a
    /// proof costs one entry-block read plus lookups in a hot table, and an
    /// append writes ~1.1 rows per entry instead of ~3.
    static let lowestStoredLevel = 4

    /// Rows `ledger_node` holds for a tree of `size` entries.
    static func storedNodeCount(size: Int) -> Int {
        (lowestStoredLevel..<Int.bitWidth - 1).reduce(0) { $0 + (size >> $1) }
    }

    static func currentSize(_ db: Database) throws -> Int {
        // max() on the INTEGER PRIMARY KEY is a single B-tree descent.
        (try Int.fetchOne(db, sql: "SELECT max(seq) FROM ledger_entry")).map { $0 + 1 } ?? 0
    }

    /// The complete subtrees making up a tree of `size` leaves, left to right
    /// (one per set bit of `size`).
    static func peaks(
        _ db: Database, size: Int, shared: CommittedNodeCache? = nil
    ) throws -> [(level: Int, hash: MerkleHash)] {
        var reader = SubtreeReader(db: db, shared: shared)
        var result: [(level: Int, hash: MerkleHash)] = []
        var offset = 0
        for level in stride(from: 62, through: 0, by: -1) where size & (1 << level) != 0 {
            result.append((level, try reader.node(level: level, index: offset >> level)))
            offset += 1 << level
        }
        return result
    }

    static func fold(_ peaks: [(level: Int, hash: MerkleHash)]) -> MerkleHash {
        guard var root = peaks.last?.hash else { return .emptyTree }
        for peak in peaks.dropLast().reversed() { root = .node(peak.hash, root) }
        return root
    }

    /// Answers RFC 9162's MTH(D[lo:hi]) from stored complete subtrees: an aligned
    /// power-of-two range is one row; any other range the recursion asks for is a
    /// right edge, split at the largest power of two like the tree itself.
    struct SubtreeReader {
        let db: Database
        var cache: [Int: MerkleHash] = [:]
        /// Only for read transactions: what they see is committed, hence final.
        let shared: CommittedNodeCache?

        init(db: Database, shared: CommittedNodeCache? = nil) {
            self.db = db
            self.shared = shared
        }

        /// The leaf hashes of the last 16-entry block read.
        var block: (start: Int, leaves: [MerkleHash]) = (-1, [])

        mutating func node(level: Int, index: Int) throws -> MerkleHash {
            let id = Ledger.nodeID(level: level, index: index)
            if let hit = cache[id] { return hit }
            if level < Ledger.lowestStoredLevel {
                let hash = try computed(level: level, index: index)
                cache[id] = hash
                return hash
            }
            let remembered = level >= CommittedNodeCache.minimumLevel ? shared : nil
            if let hit = remembered?.get(id) { return hit }
            let statement = try db.cachedStatement(sql: "SELECT hash FROM ledger_node WHERE id = ?")
            guard let bytes = try Data.fetchOne(statement, arguments: [id]), let hash = MerkleHash(bytes) else {
                throw LedgerError.corrupt("missing node level \(level) index \(index)")
            }
            remembered?.put(id, hash)
            // Bounded: an export walks every leaf and must not hold the whole tree.
            if cache.count >= 1 << 20 { cache.removeAll(keepingCapacity: true) }
            cache[id] = hash
            return hash
        }

        /// A complete subtree below the stored levels, from its block's entries.
        mutating func computed(level: Int, index: Int) throws -> MerkleHash {
            let width = 1 << Ledger.lowestStoredLevel
            let lo = index << level
            let blockStart = lo & ~(width - 1)
            if block.start != blockStart || block.leaves.count < lo + (1 << level) - blockStart {
                let statement = try db.cachedStatement(
                    sql: "SELECT entry FROM ledger_entry WHERE seq >= ? AND seq < ? ORDER BY seq")
                block = (blockStart, try Data.fetchAll(statement, arguments: [blockStart, blockStart + width]).map { .leaf($0) })
            }
            let from = lo - blockStart
            let to = from + (1 << level)
            guard block.leaves.count >= to else {
                throw LedgerError.corrupt("entries \(lo)..<\(lo + (1 << level)) are missing")
            }
            return RFC9162.rootHash(leaves: Array(block.leaves[from..<to]))
        }

        mutating func hash(_ lo: Int, _ hi: Int) throws -> MerkleHash {
            let width = hi - lo
            if width & (width - 1) == 0 && lo % width == 0 {
                return try node(level: width.trailingZeroBitCount, index: lo / width)
            }
            let k = RFC9162.split(width)
            return .node(try hash(lo, lo + k), try hash(lo + k, hi))
        }
    }
}

/// A committed complete subtree's hash never changes (the rows are append-only
/// and a node is written only once its subtree is full), so the upper levels —
/// shared by every proof — are kept in memory: about n/128 entries at most, and
/// bounded. Filled only from read transactions, never from a write transaction
/// that could still roll back. Assumes the database file is not swapped under a
/// running process.
final class CommittedNodeCache: @unchecked Sendable {
    static let minimumLevel = 8
    static let capacity = 1 << 18
    private let lock = NSLock()
    private var nodes: [Int: MerkleHash] = [:]

    func get(_ id: Int) -> MerkleHash? { lock.withLock { nodes[id] } }

    func put(_ id: Int, _ hash: MerkleHash) {
        lock.withLock {
            if nodes.count >= Self.capacity { nodes.removeAll(keepingCapacity: true) }
            nodes[id] = hash
        }
    }
}
