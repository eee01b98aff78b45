import Foundation
import GRDB
import Testing

@testable import RoomDaemon

struct StateStoreTests {
    @Test func evidenceIsWrittenWithSynchronousFullAndEventsAreAppendOnly() throws {
        let dir = try TemporaryDirectory("store")
        let store = try StateStore(path: dir.path + "/roomd.sqlite")
        // The writer connection — the one that commits evidence — runs at FULL (2), in WAL mode.
        let (level, mode) = try store.pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        #expect(level == 2)
        #expect(mode == "wal")
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") } == StateStore.schemaVersion)

        try store.appendEventNow(kind: "test", severity: "info", subject: nil, detail: ["a": "b"])
        #expect(throws: (any Error).self) { try store.pool.write { db in try db.execute(sql: "UPDATE events SET kind = 'x'") } }
        #expect(throws: (any Error).self) { try store.pool.write { db in try db.execute(sql: "DELETE FROM events") } }
        #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT kind FROM events") } == "test")
        try store.close()
    }
}
