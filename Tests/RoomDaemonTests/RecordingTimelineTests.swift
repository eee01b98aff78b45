import Canonical
import Foundation
import GRDB
import Identity
import Logging
import RoomConfig
import Store
import Testing

@testable import RoomDaemon

/// The timeline and retention over an index written by hand: every gap's
/// reason and bounds are computed here from the rows and events the test
/// put in, not read back from roomd's own reasoning.
@Suite(.serialized)
struct RecordingTimelineTests {
    static let t0: Int64 = 1_780_000_000_000_000_000
    static func s(_ seconds: Double) -> Int64 { t0 + Int64(seconds * 1e9) }

    /// A room with segment files on disk and their rows, as the recorder leaves them.
    final class Room {
        let dir: TemporaryDirectory
        let store: RoomStore
        let clock: ManualClock
        var nextID: Int64 = 1

        init() throws {
            dir = try TemporaryDirectory("timeline")
            clock = ManualClock(wall: WallTime(nanoseconds: RecordingTimelineTests.s(10_000)))
            store = try RoomStore(path: dir.path + "/roomd.sqlite", clock: clock)
        }

        @discardableResult
        func segment(_ device: String, _ from: Double, _ to: Double, bytes: Int = 1000, dropped: Int64 = 0) throws -> Int64 {
            let folder = dir.path + "/rec/\(device)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let path = folder + "/\(Int(from * 1000)).mp4"
            let data = Data(repeating: UInt8(truncatingIfNeeded: Int(from)), count: bytes)
            try data.write(to: URL(fileURLWithPath: path))
            let sha = Digest.sha256Hex(data)
            let id = try store.segments.opened(device: device, sequence: nextID, path: path, wallStartNs: s(from), monotonicStartNs: 0,
                                               videoCodec: "h264", audioCodec: "aac", synthetic: true)
            nextID += 1
            try store.segments.closed(id: id, wallEndNs: s(to), frames: Int64((to - from) * 15), droppedFrames: dropped, audioXruns: 0,
                                      bytes: Int64(bytes), sha256: sha, reason: "boundary")
            return id
        }

        func event(_ kind: String, _ device: String, at seconds: Double, _ detail: [String: String] = [:]) throws {
            try store.appendEventNow(kind: kind, severity: "warning", subject: device, detail: detail, at: s(seconds))
        }

        func timeline(_ from: Double, _ to: Double, devices: [String] = ["S01"], now: Int64? = nil) async throws -> RecordingTimeline {
            let now = now ?? clock.now().nanoseconds
            return try await store.pool.read { db in try RecordingTimeline.build(db, devices: devices, from: s(from), to: s(to), now: now) }
        }
    }

    @Test func everyGapHasItsReasonAndBounds() async throws {
        let room = try Room()
        try room.segment("S01", 0, 10)
        try room.segment("S01", 10, 20)
        // Helper killed at 20.5 s; a new helper records from 25 s.
        try room.event("capture.helper-exited", "S01", at: 20.5, ["status": "signal 9"])
        try room.segment("S01", 25, 35)
        // Camera unplugged at 35.2 s, back at 50 s.
        try room.event("device.lost", "S01", at: 35.2, ["error": "poll reported an error"])
        try room.segment("S01", 50, 60)
        try room.segment("S01", 60, 70, dropped: 3)
        try room.event("capture.frames-dropped", "S01", at: 66, ["frames": "3", "segment": "5"])
        // roomd down from 70 s to 80 s.
        try room.event("daemon.started", "room", at: 79.5, ["previous_run": "ended uncleanly"])
        try room.segment("S01", 80, 90)
        // 90–95: nothing explains it.
        try room.segment("S01", 95, 100)
        let device = try #require(try await room.timeline(0, 100).devices.first)
        #expect(device.spans.map { [$0.start, $0.end] } == [[0, 20], [25, 35], [50, 70], [80, 90], [95, 100]].map { $0.map { Self.s($0) } })
        #expect(device.spans.map(\.segments) == [2, 1, 2, 1, 1])
        #expect(device.spans[2].droppedFrames == 3)
        let gaps = device.gaps.map { ($0.reason, $0.start, $0.end) }
        let frame = (Self.s(70) - Self.s(50)) / 300
        #expect(gaps.count == 5)
        #expect(gaps[0] == (.helperRestarted, Self.s(20), Self.s(25)))
        #expect(gaps[1] == (.deviceLost, Self.s(35), Self.s(50)))
        #expect(gaps[2] == (.droppedFrames, Self.s(66) - 3 * frame, Self.s(66)))
        #expect(gaps[3] == (.daemonNotRunning, Self.s(70), Self.s(80)))
        #expect(gaps[4] == (.unexplained, Self.s(90), Self.s(95)))
        #expect(device.recordedNanoseconds == Self.s(20) - Self.s(0) + 10_000_000_000 + 20_000_000_000 + 10_000_000_000 + 5_000_000_000)
        // A range that starts inside a segment and runs past now.
        let tail = try #require(try await room.timeline(97, 130, now: Self.s(100)).devices.first)
        #expect(tail.spans.count == 1 && tail.spans[0].start == Self.s(95))
        #expect(tail.gaps.map(\.reason) == [.notYetRecorded])
    }

    /// roomd keeps the spans of closed segments between queries; whatever
    /// happens to the index (segments closing, one written while another is
    /// open, a row arriving out of order, retention deleting), a query
    /// through the kept spans answers exactly what a fresh read does.
    @Test func keptSpansAnswerLikeAFreshRead() async throws {
        let room = try Room()
        let cache = TimelineSpanCache()
        func check(_ step: String) async throws {
            let now = room.clock.now().nanoseconds
            let (kept, fresh) = try await room.store.pool.read { db in
                (try RecordingTimeline.build(db, devices: ["S01", "S02"], from: Self.s(0), to: Self.s(1000), now: now, cache: cache),
                 try RecordingTimeline.build(db, devices: ["S01", "S02"], from: Self.s(0), to: Self.s(1000), now: now))
            }
            #expect(kept == fresh, "after \(step)")
        }
        try await check("nothing")
        for i in 0..<5 { try room.segment("S01", Double(i * 10), Double(i * 10 + 10)) }
        try await check("five segments")
        // One open (writing) while another device's closes.
        let open = try room.store.segments.opened(device: "S01", sequence: 100, path: room.dir.path + "/open.mp4", wallStartNs: Self.s(50),
                                                  monotonicStartNs: 0, videoCodec: "h264", audioCodec: "aac", synthetic: true)
        try room.segment("S02", 0, 10)
        try await check("an open segment")
        try room.segment("S02", 10, 20)
        try room.store.segments.closed(id: open, wallEndNs: Self.s(60), frames: 150, droppedFrames: 0, audioXruns: 0, bytes: 10,
                                       sha256: String(repeating: "0", count: 64), reason: "boundary")
        try await check("the open one closed")
        try room.segment("S01", 70, 80)
        try await check("a gap")
        // A row that belongs before what is kept (an orphan found at start).
        try room.segment("S01", 62, 66)
        try await check("an out-of-order row")
        // Retention deletes the first two.
        let retention = RetentionStore(store: room.store)
        for id in try room.store.segments.rows(device: "S01").map(\.id).sorted().prefix(2) {
            let path = try #require(try room.store.segments.path(id: id))
            let candidate = RetentionStore.Candidate(segment: id, device: "S01", path: path, start: 0, end: 0, bytes: 0, sha256: "")
            try await retention.mark([(candidate, rule: "age", basis: "test")], now: Self.s(2000))
            try await retention.recordUnlink(candidate, rule: "age", existed: true, now: Self.s(2000))
        }
        try await check("a retention deletion")
        for i in 8..<12 { try room.segment("S01", Double(i * 10), Double(i * 10 + 10)) }
        try await check("more after the deletion")
    }

    @Test func retentionFreesSpaceButNeverAnUndeliveredSession() async throws {
        let room = try Room()
        // Old recordings outside any session, then a session's, then more outside.
        let idle = try (0..<4).map { try room.segment("S01", Double($0 * 60), Double($0 * 60 + 60)) }
        let inSession = try (4..<8).map { try room.segment("S01", Double($0 * 60), Double($0 * 60 + 60)) }
        try await room.store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO session_events (session_id, sequence, at_ms, actor, command, event, ledger_seq) VALUES
                  ('S2026', 1, ?, 'operator', 'openSession', x'7b7d', 0),
                  ('S2026', 2, ?, 'operator', 'leaderConfirm', x'7b7d', 0)
                """, arguments: [Self.s(4 * 60 + 30) / 1_000_000, Self.s(7 * 60 + 30) / 1_000_000])
        }
        let policy = RetentionPolicy(keepDeliveredNanoseconds: 90 * 86_400_000_000_000, keepUnassignedNanoseconds: 30 * 86_400_000_000_000,
                                     freeSpaceBytes: 1 << 40, unassignedMinimumNanoseconds: 3_600_000_000_000,
                                     sessionMarginNanoseconds: 10_000_000_000)
        let retention = RetentionStore(store: room.store)
        // Space is short: the idle ones may go (older than the minimum age), the session's may not.
        let plan = try await retention.plan(policy: policy, now: Self.s(10_000), freeBytes: 0)
        #expect(plan.delete.map(\.0.segment) == idle)
        #expect(Set(plan.blocked.map(\.0.segment)) == Set(inSession))
        #expect(Set(plan.blocked.map(\.session)) == ["S2026"])
        // Phase 1, then a crash before any unlink: the marks survive and are replayed.
        try await retention.mark(plan.delete, now: Self.s(10_000))
        let pending = try await retention.pendingMarks()
        #expect(pending.map(\.0.segment) == idle)
        for (candidate, rule) in pending {
            #expect(unlink(candidate.path) == 0)
            try await retention.recordUnlink(candidate, rule: rule, existed: true, now: Self.s(10_001))
        }
        #expect(try await retention.pendingMarks().isEmpty)
        // Nothing of the session was touched; the timeline shows the deleted span as such.
        for id in inSession {
            let path = try #require(try room.store.segments.path(id: id))
            #expect(FileManager.default.fileExists(atPath: path))
        }
        let device = try #require(try await room.timeline(0, 480).devices.first)
        #expect(device.spans.map(\.state) == ["deleted", "recorded"])
        #expect(device.gaps.first?.reason == .deletedByRetention)
        #expect(device.gaps.first.map { [$0.start, $0.end] } == [Self.s(0), Self.s(240)])
        // Each deletion is a ledger entry naming the segment and its hash.
        let deletions = try await room.store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_entry WHERE kind = 'recording.segment-deleted'")
        }
        #expect(deletions == idle.count)
        // Once the platform acknowledges the session's package, its segments may go too.
        try await retention.acknowledge(session: "S2026", packageSHA256: String(repeating: "a", count: 64), by: "platform",
                                        now: Self.s(10_002))
        let after = try await retention.plan(policy: policy, now: Self.s(10_003), freeBytes: 0)
        #expect(after.delete.map(\.0.segment) == inSession)
        #expect(after.blocked.isEmpty)
    }

    /// An opening's recordings are a session's for retention: kept until the platform acknowledged
    /// the opening's package (key `opening:<id>`), and not deletable while the opening is not concluded.
    @Test func anOpeningsRecordingsAreKeptUntilItsPackageIsAcknowledged() async throws {
        let room = try Room()
        let idle = try (0..<2).map { try room.segment("S01", Double($0 * 60), Double($0 * 60 + 60)) }
        let inOpening = try (2..<5).map { try room.segment("S01", Double($0 * 60), Double($0 * 60 + 60)) }
        func event(_ sequence: Int, _ second: Double, _ command: String) async throws {
            try await room.store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO opening_events (opening_id, sequence, at_ms, actor, command, event, ledger_seq)
                    VALUES ('KB-1', ?, ?, 'operator', ?, x'7b7d', 0)
                    """, arguments: [sequence, Self.s(second) / 1_000_000, command])
            }
        }
        try await event(1, 2 * 60 + 30, "startOpening")
        try await event(2, 4 * 60 + 30, "closeDecryption")
        let policy = RetentionPolicy(keepDeliveredNanoseconds: 60_000_000_000, keepUnassignedNanoseconds: 60_000_000_000,
                                     freeSpaceBytes: 0, unassignedMinimumNanoseconds: 60_000_000_000, sessionMarginNanoseconds: 10_000_000_000)
        let retention = RetentionStore(store: room.store)
        // Not concluded: its window is open-ended, so its segments (and none after) may go.
        let open = try await retention.plan(policy: policy, now: Self.s(10_000), freeBytes: 1 << 40)
        #expect(open.delete.map(\.0.segment) == idle)
        #expect(Set(open.blocked.map(\.session)) == ["opening:KB-1"])
        #expect(Set(open.blocked.map(\.0.segment)) == Set(inOpening))
        // Concluded, not acknowledged: still kept.
        try await event(3, 4 * 60 + 40, "concludeOpening")
        let concluded = try await retention.plan(policy: policy, now: Self.s(10_000), freeBytes: 1 << 40)
        #expect(Set(concluded.blocked.map(\.0.segment)) == Set(inOpening))
        // A session's acknowledgement of the same id frees nothing; the opening package's does.
        try await retention.acknowledge(session: "KB-1", packageSHA256: String(repeating: "a", count: 64), by: "platform", now: Self.s(10_001))
        #expect(Set(try await retention.plan(policy: policy, now: Self.s(10_002), freeBytes: 1 << 40).blocked.map(\.0.segment)) == Set(inOpening))
        try await retention.acknowledge(session: "opening:KB-1", packageSHA256: String(repeating: "a", count: 64), by: "platform",
                                        now: Self.s(10_003))
        let after = try await retention.plan(policy: policy, now: Self.s(10_004), freeBytes: 1 << 40)
        #expect(after.delete.map(\.0.segment) == idle + inOpening)
        #expect(after.blocked.isEmpty)
    }

    @Test func theStartUpCheckRefusesWhenMostFilesAreMissing() async throws {
        let room = try Room()
        let ids = try (0..<6).map { try room.segment("S01", Double($0 * 10), Double($0 * 10 + 10)) }
        for id in ids.prefix(4) { unlink(try #require(try room.store.segments.path(id: id))) }
        let report = try RecordingCheck.run(index: room.store.segments, root: room.dir.path + "/rec")
        #expect(report.storageLooksUnavailable)
        #expect(report.missing.count == 4)
        let sink = IndexSink(index: room.store.segments, store: room.store, logger: Logger(label: "test"))
        let outcome = try IndexRecovery(index: room.store.segments, sink: sink, logger: Logger(label: "test"), root: room.dir.path + "/rec",
                                        repair: { _ in throw TestFailure("no repair expected") }).run()
        #expect(outcome.refused != nil)
        // Nothing was marked missing: the rows are as they were.
        #expect(try room.store.segments.rows(state: .missing).isEmpty)
        // With one file missing (not most), it is marked, and said so.
        let other = try Room()
        let few = try (0..<6).map { try other.segment("S01", Double($0 * 10), Double($0 * 10 + 10)) }
        unlink(try #require(try other.store.segments.path(id: few[2])))
        let otherSink = IndexSink(index: other.store.segments, store: other.store, logger: Logger(label: "test"))
        let fine = try IndexRecovery(index: other.store.segments, sink: otherSink, logger: Logger(label: "test"), root: other.dir.path + "/rec",
                                     repair: { _ in throw TestFailure("no repair expected") }).run()
        #expect(fine.refused == nil && fine.markedMissing == 1)
    }
}
