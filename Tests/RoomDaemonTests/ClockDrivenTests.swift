import Canonical
import Foundation
import GRDB
import Logging
import Store
import Synchronization
import Testing

@testable import RoomDaemon

/// Timers of the daemon driven by a `ManualClock`: each test moves time and
/// waits until the code under test is asleep on the clock again, so no step
/// depends on how fast the machine is or on real seconds passing.
struct SystemdWatchdogTests {
    @Test func theWatchdogIsFedEachIntervalOnlyWhileEveryWatchdogCheckPasses() async throws {
        let dir = try TemporaryDirectory("watchdog")
        let listener = try NotifyListener(directory: dir.path)
        // systemd asked for WatchdogSec=30s: roomd pings every 15 s.
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "30000000"])
        #expect(notifier.watchdogInterval == .seconds(15))
        let store = Mutex((healthy: true, camera: true))
        let health = HealthRegistry()
        health.register("store") { HealthReport(name: "store", healthy: store.withLock { $0.healthy }, detail: "test") }
        // An unplugged camera marks the room degraded but must not starve the
        // watchdog: a restart cannot bring it back.
        health.register("S01") { HealthReport(name: "S01", healthy: store.withLock { $0.camera }, detail: "camera", watchdog: false) }
        let clock = ManualClock()
        let service = SystemdService(notifier: notifier, health: health, logger: Logger(label: "test"),
                                     waitFor: ["api"], readyStatus: "serving", clock: clock)
        let running = Task { try await service.run() }
        defer { running.cancel() }

        /// One watchdog period, and what roomd told systemd in it.
        func period() async -> [String] {
            clock.advance(by: .seconds(15))
            #expect(await clock.sleepers(atLeast: 1))
            return listener.drain()
        }
        #expect(await clock.sleepers(atLeast: 1))
        #expect(listener.drain().isEmpty, "nothing before the listeners are up")
        service.listenerUp("api")
        #expect(listener.drain().first?.hasPrefix("READY=1") == true)
        #expect(await period() == ["STATUS=serving", "WATCHDOG=1"])
        #expect(await period() == ["WATCHDOG=1"])

        store.withLock { $0.healthy = false }
        #expect(await period() == ["STATUS=degraded: store: test"], "a failing check: no ping, so systemd restarts roomd")
        #expect(await period() == [], "still failing: still no ping, and the status is not repeated")
        store.withLock { $0.healthy = true; $0.camera = false }
        #expect(await period() == ["STATUS=degraded: S01: camera", "WATCHDOG=1"], "degraded, but fed")
        store.withLock { $0.camera = true }
        #expect(await period() == ["STATUS=serving", "WATCHDOG=1"])
        #expect(clock.sleeperCount == 1, "one timer, not one per period")
    }
}

struct EventAggregatorWindowTests {
    @Test func aFloodIsOneEventAtOnceAndOneCountWhenTheWindowCloses() async throws {
        let dir = try TemporaryDirectory("aggregator")
        let clock = ManualClock()
        let store = try RoomStore(path: dir.path + "/roomd.sqlite", clock: clock)
        defer { try? store.close() }
        let events = EventRecorder(store: store, logger: Logger(label: "test"))
        let aggregator = EventAggregator(events: events, window: .seconds(60), clock: clock)
        let running = Task { try await aggregator.run() }
        defer { running.cancel() }
        #expect(await clock.sleepers(atLeast: 1))

        func rows() async throws -> [(time: Int64, detail: String)] {
            try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT time_ns, detail FROM events WHERE kind = 'tls.handshake-refused' ORDER BY id")
                    .map { ($0["time_ns"], $0["detail"]) }
            }
        }
        let opened = clock.now()
        func refuse(_ attempt: Int) {
            aggregator.report(kind: "tls.handshake-refused", severity: "warning", subject: "192.0.2.7", code: "not-tls",
                              detail: ["peer": "192.0.2.7", "attempt": String(attempt)])
        }
        for attempt in 0..<499 { refuse(attempt) }
        // The first is recorded at once (on a task of its own), the rest counted.
        var recorded: [(time: Int64, detail: String)] = []
        for _ in 0..<2_000 where recorded.isEmpty {
            recorded = try await rows()
            if recorded.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(recorded.count == 1 && recorded.first?.time == opened.nanoseconds)
        #expect(recorded.first?.detail.contains("\"attempt\":\"0\"") == true)
        clock.advance(by: .seconds(1))
        refuse(499)

        clock.advance(by: .seconds(59))
        #expect(await clock.sleepers(atLeast: 1), "the window closed and the next one began")
        recorded = try await rows()
        #expect(recorded.count == 2, "one summary for the other 499, not 499 events")
        let summary = try #require(recorded.last?.detail)
        #expect(summary.contains("\"repeated\":\"499\""), "\(summary)")
        #expect(summary.contains("\"first\":\"\(opened)\""), "\(summary)")
        #expect(summary.contains("\"last\":\"\(opened + .seconds(1))\""), "\(summary)")

        clock.advance(by: .seconds(60))
        #expect(await clock.sleepers(atLeast: 1))
        #expect(try await rows().count == 2, "a quiet window adds nothing")
    }
}

/// The decryption window of an opening closes on the room clock: nobody has to press anything, and
/// not a moment before the window's last millisecond.
struct OpeningClockTests {
    @Test func decryptionClosesWhenTheWindowHasEndedAndNotBefore() async throws {
        let dir = try TemporaryDirectory("opening-clock")
        // 2026-05-28 (ManualClock's start) is after this deadline.
        let clock = ManualClock()
        let store = try RoomStore(path: dir.path + "/roomd.sqlite", clock: clock)
        defer { try? store.close() }
        let registry = OpeningRegistry(store: store, room: "TEST-ROOM", platformTrust: nil, supplierTrust: nil, creditCodeOID: nil,
                                       logger: Logger(label: "test"))
        let hash = String(repeating: "ab", count: 32)
        let definition = """
            {"version":1,"project":{"number":"NMG-2026-0100","name":"测试项目","purchaser":"测试采购人","agency":"测试代理","method":"publicTender"},\
            "lots":[{"id":"1","name":"包一"}],"bidDeadline":"2026-05-01T09:00:00+08:00","decryptionWindowMinutes":1,\
            "suppliers":[{"name":"福州甲科技有限公司","creditCode":"91350100M000100Y43","lots":["1"],\
            "encryptionCertificateSHA256":"\(hash)","sealedBidSHA256":"\(hash)","summarySHA256":"\(hash)"}]}
            """
        _ = try await registry.importDefinition(opening: "KB-1", bytes: Data(definition.utf8), signature: nil, requireSignature: false,
                                                actor: "operator")
        try await registry.submit("KB-1", .startOpening, actor: "operator")
        let running = Task { try await OpeningClockService(registry: registry, clock: clock).run() }
        defer { running.cancel() }
        func events() async throws -> [String] {
            try await store.openingEvents(opening: "KB-1").map { String(decoding: $0, as: UTF8.self) }
        }

        #expect(await clock.sleepers(atLeast: 1))
        clock.advance(by: .seconds(60))
        #expect(await clock.sleepers(atLeast: 1))
        #expect(try await events().count == 1, "the window's end is inclusive: still decrypting")
        clock.advance(by: .seconds(1))
        #expect(await clock.sleepers(atLeast: 1))
        let stored = try await events()
        #expect(stored.count == 2 && stored[1].contains("closeDecryption") && stored[1].contains("window ended"), "\(stored)")
    }
}
