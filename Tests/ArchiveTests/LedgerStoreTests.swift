import Archive
import Foundation
import GRDB
import Identity
import Testing

@Suite("Ledger storage")
struct LedgerStoreTests {
    @Test(arguments: [
        "UPDATE ledger_entry SET actor = 'someone else' WHERE seq = 3",
        "DELETE FROM ledger_entry WHERE seq = 9",
        "DELETE FROM ledger_entry",
        "INSERT OR REPLACE INTO ledger_entry(seq, time_ns, kind, actor, entry) VALUES (3, 0, 'k', 'a', x'7b7d')",
        "INSERT INTO ledger_entry(seq, time_ns, kind, actor, entry) VALUES (41, 0, 'k', 'a', x'7b7d')",
        // Node id = level << 48 | index; level 4 is the lowest stored level.
        "UPDATE ledger_node SET hash = zeroblob(32) WHERE id = \(4 << 48)",
        "DELETE FROM ledger_node WHERE id = \(4 << 48 | 1)",
        "INSERT OR REPLACE INTO ledger_node(id, hash) VALUES (\(5 << 48), zeroblob(32))",
        "UPDATE ledger_checkpoint SET tree_size = 1",
        "DELETE FROM ledger_checkpoint",
        "INSERT OR REPLACE INTO ledger_checkpoint(id, tree_size, root_hash, created_ns, note) VALUES (1, 0, zeroblob(32), 0, '')",
    ])
    func triggersRefuseChangesToTheRecord(_ sql: String) throws {
        let t = try TestLedger()
        let head = try t.fill(40)
        let room = try TestRoomKey(.ecdsaP256SHA256)
        try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 1)
        let error = #expect(throws: DatabaseError.self) { try t.pool.write { db in try db.execute(sql: sql) } }
        #expect(error?.message?.contains("append-only") == true, "\(String(describing: error))")
        // Nothing changed.
        #expect(try t.ledger.treeHead() == head)
        #expect(try t.ledger.audit(key: room.verificationKey).isIntact)
    }

    @Test func theWriterConnectionIsMadeDurable() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // GRDB's pool puts its writer on synchronous=NORMAL (1) when it enables WAL.
        let pool = try DatabasePool(path: dir.appendingPathComponent("l.sqlite").path)
        try LedgerSchema.migrator().migrate(pool)
        #expect(try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 1)
        _ = try Ledger(database: pool)
        #expect(try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
    }

    @Test func aBatchIsOneTransactionAndReportsTheNewHead() throws {
        let t = try TestLedger()
        let result = try t.ledger.append((0..<100).map { sampleEntry($0) })
        #expect(result.entries.map(\.seq) == Array(0..<100))
        #expect(result.treeHead == (try t.ledger.treeHead()))
        // A batch that fails part-way (invalid payload key collision cannot be built, so use a
        // transaction the caller aborts) leaves nothing behind.
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try t.pool.write { db in
                _ = try Ledger.append((0..<50).map { sampleEntry(100 + $0) }, in: db)
                throw Abort()
            }
        }
        #expect(try t.ledger.treeHead().size == 100)
        #expect(try t.ledger.audit().isIntact)
    }

    @Test func appendingOutsideATransactionIsRefused() throws {
        let t = try TestLedger()
        #expect(throws: LedgerError.notInTransaction) {
            try t.pool.writeWithoutTransaction { db in _ = try Ledger.append([sampleEntry(0)], in: db) }
        }
        #expect(try t.ledger.treeHead().size == 0)
    }

    @Test func entriesReadBackAsAppended() throws {
        let t = try TestLedger()
        try t.fill(20)
        let entry = try #require(try t.ledger.entry(seq: 12))
        #expect(entry == LedgerEntry(seq: 12, draft: sampleEntry(12)))
        #expect(try t.ledger.entry(seq: 20) == nil)
    }

    @Test func auditFindsAnEditMadeBehindTheTriggersBack() throws {
        let t = try TestLedger()
        try t.fill(64)
        let room = try TestRoomKey(.ecdsaP256SHA256)
        try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 1)
        #expect(try t.ledger.audit(key: room.verificationKey).isIntact)
        // An insider with the database file drops the trigger and edits an entry.
        try t.pool.write { db in
            try db.execute(sql: "DROP TRIGGER ledger_entry_no_update")
            let bytes = try #require(try Data.fetchOne(db, sql: "SELECT entry FROM ledger_entry WHERE seq = 17"))
            let edited = Data(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"tag\":\"a\"", with: "\"tag\":\"b\"").utf8)
            #expect(edited != bytes)
            try db.execute(sql: "UPDATE ledger_entry SET entry = ? WHERE seq = 17", arguments: [edited])
        }
        let report = try t.ledger.audit(key: room.verificationKey)
        // Entry 17 lies in the second 16-entry block: its stored subtree no longer matches.
        #expect(report.problems.contains("stored node level 4 index 1 does not match the entries"), "\(report.problems)")
        #expect(report.problems.contains { $0.contains("differs from the entries' root") })
    }
}
