import NIOConcurrencyHelpers
import Store

/// What one part of the daemon says about itself.
struct HealthReport: Sendable, Codable, Equatable {
    var name: String
    var healthy: Bool
    var detail: String
    /// Whether a failure here starves the systemd watchdog (a restart could
    /// help), or only marks the room degraded (a restart would not: e.g. an
    /// unplugged camera, which the recorder keeps retrying on its own).
    var watchdog: Bool = true
}

/// The registered health checks. The watchdog is fed only while every
/// watchdog-relevant check passes; `/readyz`, `STATUS=` and `roomctl status`
/// show them all.
final class HealthRegistry: Sendable {
    typealias Check = @Sendable () async -> [HealthReport]

    private let checks = NIOLockedValueBox<[Check]>([])

    func register(_ name: String, _ check: @escaping @Sendable () async -> HealthReport) {
        checks.withLockedValue { $0.append({ [await check()] }) }
    }

    /// A check that reports on several things at once (e.g. every recorder).
    func registerMany(_ check: @escaping Check) {
        checks.withLockedValue { $0.append(check) }
    }

    func evaluate() async -> [HealthReport] {
        let current = checks.withLockedValue { $0 }
        var reports: [HealthReport] = []
        for check in current { reports += await check() }
        return reports
    }
}

/// A flag a component sets when it is up (e.g. "the HTTPS listener is bound").
final class ReadinessFlag: Sendable {
    private let state = NIOLockedValueBox<(up: Bool, detail: String)>((false, "starting"))

    func set(_ up: Bool, _ detail: String) { state.withLockedValue { $0 = (up, detail) } }
    var current: (up: Bool, detail: String) { state.withLockedValue { $0 } }
}
