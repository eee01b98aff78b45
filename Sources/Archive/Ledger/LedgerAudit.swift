public import Identity
internal import GRDB
internal import Foundation

/// What a full scan of the stored ledger found.
public struct LedgerAuditReport: Sendable {
    public let treeHead: TreeHead
    public let checkpointsChecked: Int
    /// Empty when every entry, node and checkpoint agrees with the others.
    public let problems: [String]

    public var isIntact: Bool { problems.isEmpty }
}

extension Ledger {
    /// Recomputes the whole tree from the entry bytes and compares every stored
    /// node, then checks every stored checkpoint against the recomputed root at
    /// its size (and its signature, when `key` is given). Runs in one read
    /// transaction, so it sees a consistent snapshot while appends continue.
    /// Linear in the ledger size: run at start-up after a crash and in tests,
    /// not on the request path.
    public func audit(key: RoomVerificationKey? = nil) throws -> LedgerAuditReport {
        try database.read { db in
            var problems: [String] = []
            let stored = try Self.checkpoints(db, sql: "SELECT id, created_ns, note FROM ledger_checkpoint ORDER BY id")
            var wanted: [Int: [StoredCheckpoint]] = [:]
            for c in stored { wanted[c.checkpoint.size, default: []].append(c) }
            let columns = try Row.fetchAll(db, sql: "SELECT id, tree_size, root_hash FROM ledger_checkpoint ORDER BY id")
            for (row, c) in zip(columns, stored) {
                let size: Int = row[1]
                let root: Data = row[2]
                if size != c.checkpoint.size || root != c.checkpoint.root.bytes {
                    problems.append("checkpoint \(c.id): columns disagree with its signed note")
                }
                if let key, !c.checkpoint.isSigned(by: key) {
                    problems.append("checkpoint \(c.id) (size \(c.checkpoint.size)): signature does not verify with the room key")
                }
            }
            for (earlier, later) in zip(stored, stored.dropFirst()) where later.checkpoint.size < earlier.checkpoint.size {
                problems.append("checkpoint \(later.id) has a smaller tree size than checkpoint \(earlier.id)")
            }

            var reader = SubtreeReader(db: db)
            var peaks: [(level: Int, hash: MerkleHash)] = []
            var size = 0
            func checkCheckpoints(at size: Int) {
                guard let due = wanted.removeValue(forKey: size) else { return }
                let root = Ledger.fold(peaks)
                for c in due where c.checkpoint.root != root {
                    problems.append(
                        "checkpoint \(c.id) (size \(size)) root \(c.checkpoint.root.base64) differs from the entries' root \(root.base64)")
                }
            }
            checkCheckpoints(at: 0)
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, entry FROM ledger_entry ORDER BY seq")
            while let row = try cursor.next() {
                let seq: Int = row[0]
                let bytes: Data = row[1]
                if seq != size {
                    problems.append("entry seq \(seq) found where seq \(size) was expected")
                    break
                }
                do {
                    let entry = try LedgerEntry(canonical: bytes)
                    if entry.seq != seq { problems.append("entry at seq \(seq) claims seq \(entry.seq)") }
                } catch {
                    problems.append("entry seq \(seq): \(error)")
                }
                var hash = MerkleHash.leaf(bytes)
                var level = 0
                var index = seq
                func compare(_ hash: MerkleHash, _ level: Int, _ index: Int) {
                    guard level >= Ledger.lowestStoredLevel else { return }
                    do {
                        let stored = try reader.node(level: level, index: index)
                        if stored != hash { problems.append("stored node level \(level) index \(index) does not match the entries") }
                    } catch {
                        problems.append("\(error)")
                    }
                    reader.cache.removeAll(keepingCapacity: true)
                }
                compare(hash, 0, seq)
                while index & 1 == 1 {
                    hash = .node(peaks.removeLast().hash, hash)
                    level += 1
                    index >>= 1
                    compare(hash, level, index)
                }
                peaks.append((level, hash))
                size += 1
                checkCheckpoints(at: size)
                if problems.count > 100 {
                    problems.append("stopped after 100 problems")
                    break
                }
            }
            let nodeCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_node") ?? 0
            let expectedNodes = Ledger.storedNodeCount(size: size)
            if nodeCount != expectedNodes {
                problems.append("ledger_node has \(nodeCount) rows; a tree of \(size) entries has \(expectedNodes)")
            }
            for (coveredSize, due) in wanted {
                for c in due {
                    problems.append("checkpoint \(c.id) covers \(coveredSize) entries but the ledger has only \(size)")
                }
            }
            return LedgerAuditReport(
                treeHead: TreeHead(size: size, root: Ledger.fold(peaks)), checkpointsChecked: stored.count,
                problems: problems)
        }
    }
}
