import NIOConcurrencyHelpers

/// What one part of the daemon says about itself.
struct HealthReport: Sendable, Codable, Equatable {
    var name: String
    var healthy: Bool
    var detail: String
}

/// The registered health checks. The watchdog is fed only while all of them
/// pass; `/readyz` and `roomctl status` show them.
///
/// A check is a cheap async closure; each module registers its own (the
/// store, the API listeners, and, once recording lands, every capture device).
final class HealthRegistry: Sendable {
    typealias Check = @Sendable () async -> HealthReport

    private let checks = NIOLockedValueBox<[(String, Check)]>([])

    func register(_ name: String, _ check: @escaping Check) {
        checks.withLockedValue { $0.append((name, check)) }
    }

    func evaluate() async -> [HealthReport] {
        let current = checks.withLockedValue { $0 }
        var reports: [HealthReport] = []
        for (_, check) in current { reports.append(await check()) }
        return reports
    }
}

/// A flag a component sets when it is up (e.g. "the HTTPS listener is bound").
final class ReadinessFlag: Sendable {
    private let state = NIOLockedValueBox<(up: Bool, detail: String)>((false, "starting"))

    func set(_ up: Bool, _ detail: String) { state.withLockedValue { $0 = (up, detail) } }
    var current: (up: Bool, detail: String) { state.withLockedValue { $0 } }
}
