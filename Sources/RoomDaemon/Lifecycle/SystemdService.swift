import Canonical
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Store

/// Tells systemd how the daemon is: READY=1 once every listener is bound,
/// STATUS= as health changes, WATCHDOG=1 only while every health check passes
/// (a stuck or broken daemon is then restarted by systemd), STOPPING=1 when
/// graceful shutdown begins.
final class SystemdService: Service, Sendable {
    private let notifier: SystemdNotifier
    private let health: HealthRegistry
    private let logger: Logger
    private let pending = NIOLockedValueBox<Set<String>>([])
    private let announced = NIOLockedValueBox(false)
    private let readyStatus: String
    private let clock: any RoomClock

    init(notifier: SystemdNotifier, health: HealthRegistry, logger: Logger, waitFor listeners: Set<String>, readyStatus: String,
         clock: any RoomClock = SystemClock()) {
        self.clock = clock
        self.notifier = notifier
        self.health = health
        self.logger = logger
        self.readyStatus = readyStatus
        pending.withLockedValue { $0 = listeners }
    }

    /// Called by each listener once it is bound; READY=1 goes out after the last.
    func listenerUp(_ name: String) {
        let remaining = pending.withLockedValue { $0.remove(name); return $0.count }
        guard remaining == 0 else { return }
        let first = announced.withLockedValue { was in defer { was = true }; return !was }
        if first {
            notifier.ready(status: readyStatus)
            logger.notice("roomd ready / 已就绪", metadata: ["status": .string(readyStatus)])
        }
    }

    func run() async throws {
        let interval = notifier.watchdogInterval ?? .seconds(5)
        try? await cancelWhenGracefulShutdown {
            var lastStatus = ""
            while true {
                if self.announced.withLockedValue({ $0 }) {
                    let reports = await self.health.evaluate()
                    let failing = reports.filter { !$0.healthy }
                    let status = failing.isEmpty
                        ? self.readyStatus
                        : "degraded: " + failing.map { "\($0.name): \($0.detail)" }.joined(separator: "; ")
                    if status != lastStatus {
                        self.notifier.status(status)
                        if failing.isEmpty {
                            self.logger.notice("all health checks pass")
                        } else {
                            self.logger.error("health check failing / 健康检查未通过", metadata: ["status": .string(status)])
                        }
                        lastStatus = status
                    }
                    if reports.allSatisfy({ $0.healthy || !$0.watchdog }) { self.notifier.watchdog() }
                }
                try await self.clock.sleep(for: interval)
            }
        }
        notifier.stopping(status: "shutting down: flushing writers / 正在安全停止")
        logger.notice("graceful shutdown started")
    }
}
