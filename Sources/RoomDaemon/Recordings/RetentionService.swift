import Foundation
import Identity
import Glibc
import Logging
import RoomConfig
import ServiceLifecycle
import Store

/// Frees disk space without losing undelivered evidence (docs/operations.md,
/// "Retention"). Each pass: finish marks a crash left unlinked, plan by the
/// policy, mark (durable, one ledger entry), unlink and sync the folder,
/// record every unlink (one ledger entry per segment). Segments of a session
/// not yet sealed, delivered and acknowledged are never chosen: when they are
/// due, a critical `retention.blocked` event says so instead.
final class RetentionService: Service, Sendable {
    let store: RoomStore
    let retention: RetentionStore
    let policy: RetentionPolicy
    let root: String
    let interval: Int64
    let logger: Logger
    let events: EventRecorder
    /// The start-up check's verdict (nil: not run yet). True when most
    /// indexed files were missing (an unmounted disk): nothing is deleted
    /// until roomd restarts with the disk back.
    let refused: @Sendable () -> Bool?

    init(config: RoomConfiguration, store: RoomStore, events: EventRecorder, logger: Logger, refused: @escaping @Sendable () -> Bool?) {
        self.store = store
        retention = RetentionStore(store: store)
        let r = config.retention
        let day: Int64 = 86_400_000_000_000
        policy = RetentionPolicy(keepDeliveredNanoseconds: Int64(r.keepDeliveredDays) * day,
                                 keepUnassignedNanoseconds: Int64(r.keepUnassignedDays) * day,
                                 freeSpaceBytes: Int64(r.freeSpaceMB) * 1_048_576,
                                 unassignedMinimumNanoseconds: Int64(r.unassignedMinimumHours) * 3_600_000_000_000,
                                 sessionMarginNanoseconds: Int64(r.sessionMarginMinutes) * 60_000_000_000)
        root = config.storage.recordingsDirectory
        interval = Int64(r.intervalSeconds) * 1_000_000_000
        self.events = events
        self.logger = logger
        self.refused = refused
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [self] in
                // The start-up check first: it decides whether the disk can be trusted.
                while refused() == nil { try await store.clock.sleep(for: .milliseconds(200)) }
                if refused() == true {
                    logger.critical("retention is off until the recordings disk is back (most indexed files are missing) / 录像磁盘异常，暂停自动清理")
                }
                var lastBlocked = ""
                while true {
                    if refused() == false {
                        do {
                            lastBlocked = try await pass(lastBlocked: lastBlocked).blockedKey
                        } catch {
                            logger.error("retention pass failed / 录像清理失败", metadata: ["error": .string("\(error)")])
                        }
                    }
                    try await store.clock.sleep(for: .nanoseconds(interval))
                }
            }
        } catch is CancellationError {}
    }

    struct PassResult: Sendable {
        var deleted: Int
        var freedBytes: Int64
        var blocked: Int
        var blockedKey: String
    }

    /// One pass; `lastBlocked` keeps the same alarm from being raised every pass.
    @discardableResult
    func pass(lastBlocked: String = "") async throws -> PassResult {
        var deleted = 0
        var freed: Int64 = 0
        // 1. Marks a crash left between mark and unlink.
        for (candidate, rule) in try await retention.pendingMarks() {
            freed += try await unlink(candidate, rule: rule)
            deleted += 1
        }
        // 2. This pass's choice.
        let free = try Self.freeBytes(root)
        let now = store.clock.now().nanoseconds
        let plan = try await retention.plan(policy: policy, now: now, freeBytes: free)
        var key = ""
        if !plan.blocked.isEmpty {
            let sessions = Set(plan.blocked.map(\.session)).sorted()
            key = sessions.joined(separator: ",")
            if key != lastBlocked {
                await events.record(kind: "retention.blocked", severity: "critical", subject: key, detail: [
                    "sessions": key, "segments": String(plan.blocked.count),
                    "free_bytes": String(free), "free_space_target_bytes": String(policy.freeSpaceBytes),
                    "action": "recordings of sessions not yet sealed, delivered and acknowledged are due but kept; seal and deliver the sessions or add disk space / 未交付场次的录像已到清理条件但不会删除：请封存并交付场次，或扩充磁盘",
                ])
                logger.critical("retention blocked: undelivered sessions' recordings are due but kept / 未交付场次录像不得删除", metadata: [
                    "sessions": .string(key), "segments": .string(String(plan.blocked.count)),
                ])
            }
        }
        guard !plan.delete.isEmpty else { return PassResult(deleted: deleted, freedBytes: freed, blocked: plan.blocked.count, blockedKey: key) }
        try await retention.mark(plan.delete, now: now)
        // For the crash test only (docs/operations.md, "Retention"): hold
        // between the two phases so a test can kill roomd there.
        if let pause = ProcessInfo.processInfo.environment["ROOMD_TEST_RETENTION_PAUSE_AFTER_MARK_MS"].flatMap(Int.init), pause > 0 {
            logger.warning("retention pauses between mark and unlink (ROOMD_TEST_RETENTION_PAUSE_AFTER_MARK_MS)")
            try await Task.sleep(for: .milliseconds(pause))
        }
        for (candidate, rule, _) in plan.delete {
            freed += try await unlink(candidate, rule: rule)
            deleted += 1
        }
        logger.notice("retention deleted segments", metadata: ["segments": .string(String(deleted)), "bytes": .string(String(freed))])
        return PassResult(deleted: deleted, freedBytes: freed, blocked: plan.blocked.count, blockedKey: key)
    }

    /// Phase 2 for one segment: unlink, sync its folder, then the row and ledger entry.
    private func unlink(_ candidate: RetentionStore.Candidate, rule: String) async throws -> Int64 {
        let path = candidate.path
        let existed = try await runBlocking { () throws -> Bool in
            if Glibc.unlink(path) != 0 {
                guard errno == ENOENT else { throw RetentionFailure(description: "unlink \(path): \(String(cString: strerror(errno)))") }
                return false
            }
            try? SecureFile.syncFolder((path as NSString).deletingLastPathComponent)
            return true
        }
        try await retention.recordUnlink(candidate, rule: rule, existed: existed, now: store.clock.now().nanoseconds)
        return existed ? candidate.bytes : 0
    }

    static func freeBytes(_ path: String) throws -> Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw RetentionFailure(description: "statvfs \(path): \(String(cString: strerror(errno)))") }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}

struct RetentionFailure: Error, CustomStringConvertible {
    var description: String
}
