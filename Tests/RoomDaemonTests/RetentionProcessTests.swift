import Foundation
import Glibc
import Testing

/// Retention in the real roomd, under a disk "quota" it can never meet (it
/// wants more free space than the disk has, so every pass is under
/// pressure): recordings outside sessions go, oldest first, each with a
/// ledger entry; a session that is open (not sealed, delivered and
/// acknowledged) keeps every one of its segments and raises a critical
/// alarm; and roomd killed with SIGKILL between marking and unlinking
/// finishes the job when it comes back. Checked with Python's sqlite3.
@Suite(.serialized)
struct RetentionProcessTests {
    @Test func undeliveredSessionsAreKeptAndAKillBetweenMarkAndUnlinkIsFinishedOnRestart() throws {
        let room = try DemoRoom(extraYAML: """
            sessions: { discipline_minimum_seconds: 0 }
            retention: { free_space_mb: 100000000, unassigned_minimum_hours: 0, session_margin_minutes: 0, interval_seconds: 1 }

            """, storageYAML: "segment_seconds: 2")
        let database = room.dir.path + "/state/roomd.sqlite", socket = room.dir.path + "/state/admin.sock"
        func query(_ sql: String) throws -> [[Any]] { try RecordingsProcessTests.sqlite(database, sql) }
        func count(_ sql: String) throws -> Int64 { (try query(sql).first?.first as? NSNumber)?.int64Value ?? -1 }
        func start(_ name: String, environment: [String: String] = [:]) throws -> RunningDaemon {
            let notify = try NotifyListener(directory: room.dir.path, name: name + ".sock")
            let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path + "/" + name,
                                           environment: environment)
            daemon.keep(notify)
            guard notify.wait(for: "READY=1", timeout: 90) else { throw TestFailure("no READY=1:\n\(daemon.log)") }
            return daemon
        }
        for name in ["first", "second"] { try FileManager.default.createDirectory(atPath: room.dir.path + "/" + name, withIntermediateDirectories: true) }

        // 1. A roomd that stops between the two phases: marks, no unlinks; killed there.
        let first = try start("first", environment: ["ROOMD_TEST_RETENTION_PAUSE_AFTER_MARK_MS": "600000"])
        try waitFor("a retention mark", first) { try count("SELECT count(*) FROM retention_marks") > 0 }
        #expect(try count("SELECT count(*) FROM retention_unlinks") == 0)
        let marked = try query("SELECT s.id, s.path FROM retention_marks m JOIN segments s ON s.id = m.segment_id")
        for row in marked { #expect(FileManager.default.fileExists(atPath: row[1] as? String ?? ""), "unlinked before its mark was durable?") }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()

        // 2. Back: the marks are finished first, each with its ledger entry, and the files are gone.
        let second = try start("second")
        defer { _ = second.terminate() }
        try waitFor("the marks of the killed run to be unlinked", second) {
            try count("SELECT count(*) FROM retention_marks m WHERE NOT EXISTS (SELECT 1 FROM retention_unlinks u WHERE u.segment_id = m.segment_id) AND m.segment_id <= \((marked.compactMap { ($0[0] as? NSNumber)?.int64Value }.max() ?? 0))") == 0
        }
        for row in marked { #expect(!FileManager.default.fileExists(atPath: row[1] as? String ?? "")) }
        #expect(try count("SELECT count(*) FROM ledger_entry WHERE kind = 'recording.segment-deleted'") == (try count("SELECT count(*) FROM retention_unlinks")))
        // Their rows (and hashes) stay: the index is evidence of what was recorded.
        #expect(try count("SELECT count(*) FROM segments s JOIN retention_unlinks u ON u.segment_id = s.id WHERE s.sha256 IS NOT NULL") >= Int64(marked.count))

        // 3. A session opens: from then on nothing may go, and roomd says so loudly.
        let definition = try room.dir.write("definition.json", SessionProcessTests.definition)
        #expect(try run(Binaries.roomctl, ["session", "import", definition, "--session", "ZC-KEEP", "--socket", socket]).status == 0)
        let opened = try run(Binaries.roomctl, ["session", "command", "ZC-KEEP", #"{"openSession":{}}"#, "--socket", socket])
        #expect(opened.status == 0, "\(opened.stderr)")
        let openedAtMs = try count("SELECT MIN(at_ms) FROM session_events WHERE session_id = 'ZC-KEEP'")
        try waitFor("the retention.blocked alarm", second) {
            try count("SELECT count(*) FROM events WHERE kind = 'retention.blocked' AND severity = 'critical' AND subject = 'ZC-KEEP'") > 0
        }
        // Two more passes, then: no segment that reaches into the session was deleted, and its files are all there.
        let passes = try count("SELECT count(*) FROM events")
        try waitFor("more retention passes", second) { try count("SELECT count(*) FROM events") > passes + 4 }
        let deletedInSession = try count("""
            SELECT count(*) FROM retention_marks m JOIN segments s ON s.id = m.segment_id WHERE s.wall_end_ns > \(openedAtMs) * 1000000
            """)
        #expect(deletedInSession == 0)
        let kept = try query("SELECT path FROM segments WHERE state = 'closed' AND wall_end_ns > \(openedAtMs) * 1000000")
        #expect(!kept.isEmpty)
        for row in kept { #expect(FileManager.default.fileExists(atPath: row[0] as? String ?? "")) }
        // And the timeline shows what retention removed as such.
        let from = try count("SELECT MIN(wall_start_ns) FROM segments WHERE device = 'S01'")
        let listed = try run(Binaries.roomctl, ["recordings", "list", "--from", String(from), "--to", String(Int64(Date().timeIntervalSince1970 * 1e9)),
                                                "--devices", "S01", "--socket", socket])
        #expect(listed.stdout.contains("deleted-by-retention"), "\(listed.stdout)")
    }
}
