import Canonical
import Foundation
import GRDB
import Identity
import Logging
import RoomConfig
import Store
import Testing

@testable import RoomDaemon

struct RoomStoreTests {
    @Test func evidenceIsWrittenWithSynchronousFullAndEventsAreAppendOnly() throws {
        let dir = try TemporaryDirectory("store")
        let store = try RoomStore(path: dir.path + "/roomd.sqlite")
        // The writer connection — the one that commits evidence — runs at FULL (2), in WAL mode.
        let (level, mode) = try store.pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        #expect(level == 2)
        #expect(mode == "wal")
        // Every migration this build knows has run, and nothing else.
        #expect(try store.pool.read { db in try RoomStore.migrator.hasCompletedMigrations(db) && !RoomStore.migrator.hasBeenSuperseded(db) })

        try store.appendEventNow(kind: "test", severity: "info", subject: nil, detail: ["a": "b"])
        #expect(throws: (any Error).self) { try store.pool.write { db in try db.execute(sql: "UPDATE events SET kind = 'x'") } }
        #expect(throws: (any Error).self) { try store.pool.write { db in try db.execute(sql: "DELETE FROM events") } }
        #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT kind FROM events") } == "test")
        // …and the event is the ledger's first entry, committed with it.
        #expect(try store.ledger.entry(seq: 0)?.kind == "test")
        try store.close()
    }

    @Test func everyEvidenceTableRefusesUpdateAndDelete() async throws {
        let dir = try TemporaryDirectory("store")
        let store = try RoomStore(path: dir.path + "/roomd.sqlite")
        _ = try await store.enroll(station: "S01", fingerprint: String(repeating: "a", count: 64), subject: "CN=S01", notAfter: 0,
                                   pem: "pem", actor: "test")
        _ = try await store.revoke(station: "S01", fingerprint: nil, reason: "test", actor: "test")
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO rosters (session_id, imported_ns, imported_by, entries_json, sha256) VALUES ('s', 0, 't', '[]', 'x');
                INSERT INTO challenges (request_id, nonce, session_id, station_id, roster_entry, purpose, document_sha256,
                                        issued_ms, expires_ms, signed_bytes) VALUES ('r', 'n', 's', 'S01', 'E01', 'checkin', 'd', 0, 1, x'00');
                INSERT INTO signatures (request_id, received_ns, verdict, reason, detail, format, signature, signature_sha256)
                    VALUES ('r', 0, 'rejected', 'x', 'x', 'raw', x'00', 'x');
                INSERT INTO handwritten_signatures (signature_id, received_ns, strokes_json, sha256) VALUES (1, 0, '{}', 'x');
                INSERT INTO session_definitions (session_id, lot, imported_ns, imported_by, source, definition, sha256)
                    VALUES ('s', 'L1', 0, 't', 'operator', x'7b7d', 'x');
                INSERT INTO session_events (session_id, sequence, at_ms, actor, command, event, ledger_seq)
                    VALUES ('s', 1, 0, 'operator', 'openSession', x'7b7d', 0);
                INSERT INTO score_drafts (session_id, member, bidder, station_id, saved_ns, scores_json) VALUES ('s', 'E01', 'A', 'S01', 0, '{}');
                INSERT INTO segments (device, sequence, path, wall_start_ns, wall_end_ns, monotonic_start_ns, bytes, sha256, state)
                    VALUES ('S01', 1, '/r/S01/a.mp4', 0, 1, 0, 1, 'x', 'closed');
                INSERT INTO retention_marks (segment_id, marked_ns, rule, basis) VALUES (1, 0, 'age', 'test');
                INSERT INTO retention_unlinks (segment_id, unlinked_ns, bytes, ledger_seq) VALUES (1, 0, 1, 0);
                INSERT INTO package_acknowledgements (session_id, package_sha256, acknowledged_ns, acknowledged_by) VALUES ('s', 'x', 0, 'p');
                INSERT INTO opening_definitions (opening_id, imported_ns, imported_by, source, definition, sha256) VALUES ('o', 0, 't', 'operator', x'7b7d', 'x');
                INSERT INTO opening_events (opening_id, sequence, at_ms, actor, command, event, ledger_seq) VALUES ('o', 1, 0, 'p', 'signIn', x'7b7d', 0);
                INSERT INTO opening_sealed_bids (opening_id, supplier, sequence, sha256, bytes) VALUES ('o', 'c', 1, 'x', x'00');
                INSERT INTO opening_signatures (opening_id, sequence, purpose, supplier, signed_bytes, signature, certificate_pem, signer_fingerprint)
                    VALUES ('o', 1, 'sign-in', 'c', x'00', x'00', 'pem', 'x');
                """)
        }
        let checkpoint = try store.ledger.makeCheckpoint(
            origin: "test", keyName: "test", key: try RoomSigningKeyFixture.make(), now: 0)
        try store.ledger.storeTimestamp(.init(checkpointID: checkpoint.id, token: [1], time: Date(), tsa: "t"), receivedNs: 0)
        try store.ledger.recordDelivery(checkpointID: checkpoint.id, endpoint: "e", status: 200, response: "", deliveredNs: 0)
        let tables = ["events", "station_certificates", "certificate_revocations", "rosters", "challenges", "signatures",
                      "handwritten_signatures", "ledger_entry", "ledger_checkpoint", "ledger_checkpoint_timestamp",
                      "ledger_checkpoint_delivery", "session_definitions", "session_events", "score_drafts",
                      "retention_marks", "retention_unlinks", "package_acknowledgements",
                      "opening_definitions", "opening_events", "opening_sealed_bids", "opening_signatures"]
        for table in tables {
            let rows = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") } ?? 0
            #expect(rows > 0, "\(table) is empty")
            #expect(throws: (any Error).self, "\(table)") { try store.pool.write { db in try db.execute(sql: "DELETE FROM \(table)") } }
            #expect(throws: (any Error).self, "\(table)") {
                try store.pool.write { db in try db.execute(sql: "UPDATE \(table) SET rowid = rowid") }
            }
        }
        try store.close()
    }
}

enum RoomSigningKeyFixture {
    static func make() throws -> RoomSigningKey { try RoomSigningKey(privateKey: try PrivateKey.generateP256()) }
}

/// The periodic checkpoint schedule, with time driven by a `ManualClock`:
/// each step waits until the service is asleep again, so nothing depends on
/// how quickly the machine runs it.
struct CheckpointScheduleTests {
    @Test func aCheckpointIsSignedEachIntervalOnlyWhenTheLedgerGrew() async throws {
        let dir = try TemporaryDirectory("schedule")
        _ = try DemoPKI(directory: dir.path + "/pki", roomID: "R1").create()
        let config = try ConfigLoader.parse("""
            room: { id: R1, name: 一, agency: 代理, kind: evaluation }
            stations: [ { id: S01 } ]
            storage: { state_dir: state }
            api: { listen: "127.0.0.1:0" }
            \(DemoRoom.tlsYAML)
            """, sourcePath: dir.path + "/roomd.yaml")
        try FileManager.default.createDirectory(atPath: dir.path + "/state", withIntermediateDirectories: true)
        let clock = ManualClock()
        let store = try RoomStore(path: dir.path + "/state/roomd.sqlite", clock: clock)
        let ledger = try RoomLedger(store: store, config: config, logger: Logger(label: "test"))
        try store.appendEventNow(kind: "test.first", severity: "info", subject: nil, detail: [:])
        func checkpoints() async throws -> [Int64] {
            try await store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT created_ns FROM ledger_checkpoint ORDER BY id") }
        }

        let interval = Duration.seconds(600)
        let service = Task { try await CheckpointService(ledger: ledger, interval: interval).run() }
        #expect(await clock.sleepers(atLeast: 1), "the service waits for its first interval")
        clock.advance(by: interval - .seconds(1))
        #expect(try await checkpoints().isEmpty, "nothing before the interval has passed")
        /// One interval: wake the service, and wait until it is asleep again.
        func tick() async {
            clock.advance(by: interval)
            #expect(await clock.sleepers(atLeast: 1))
        }
        clock.advance(by: .seconds(1))
        #expect(await clock.sleepers(atLeast: 1))
        var made = try await checkpoints()
        #expect(made == [clock.now().nanoseconds], "signed when the interval ended, stamped with the clock's time")
        #expect(try ledger.ledger.latestCheckpoint()?.checkpoint.size == 1)

        for _ in 0..<3 { await tick() }
        #expect(try await checkpoints().count == 1, "no new checkpoint while the ledger did not grow")

        try store.appendEventNow(kind: "test.second", severity: "info", subject: nil, detail: [:])
        await tick()
        made = try await checkpoints()
        #expect(made.count == 2 && made.last == clock.now().nanoseconds)
        #expect(try ledger.ledger.latestCheckpoint()?.checkpoint.size == 2)
        service.cancel()
        _ = await service.result
        try store.close()
    }
}
