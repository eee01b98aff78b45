import Archive
import Canonical
import Delivery
import Foundation
import Logging
import RoomConfig
import ServiceLifecycle
import Store
import Synchronization

/// Pushes offered packages to the configured target (docs/formats.md,
/// "Delivery"): one at a time, oldest first, resuming from the state saved
/// after every confirmed part (in the database, so a restart resumes too),
/// with exponential backoff and jitter between attempts. A permanent failure
/// (credentials, a refused package) stops retries and raises a critical
/// event until `roomctl package retry`.
final class PackageOutbox: Service, Sendable {
    let store: RoomStore
    let config: RoomConfiguration
    let uploader: any PackageUploader
    let target: String
    let events: EventRecorder
    let logger: Logger
    let wake = WakeSignal()
    /// Bytes confirmed of the upload in progress (for status and metrics).
    let progress = Progress()

    final class Progress: Sendable {
        private let value = Mutex<(session: String, confirmed: Int64, total: Int64)?>(nil)
        func set(_ new: (session: String, confirmed: Int64, total: Int64)?) { value.withLock { $0 = new } }
        var current: (session: String, confirmed: Int64, total: Int64)? { value.withLock { $0 } }
    }

    init(store: RoomStore, config: RoomConfiguration, uploader: any PackageUploader, target: String, events: EventRecorder, logger: Logger) {
        self.store = store
        self.config = config
        self.uploader = uploader
        self.target = target
        self.events = events
        self.logger = logger
    }

    var partSize: Int64 { Int64(config.packages.partSizeMB) * 1_048_576 }

    /// The outbox row a newly offered package starts with.
    func initialState() -> (target: String, state: String) {
        let state = UploadState(partSize: partSize)
        let json = (try? String(decoding: JSONEncoder().encode(state), as: UTF8.self)) ?? "{}"
        return (target, json)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            while true {
                await pass()
                await wake.wait(timeout: .seconds(5))
            }
        }
    }

    func pass() async {
        let rows: [RoomStore.OutboxRow]
        do { rows = try await store.outbox() } catch {
            logger.error("cannot read the outbox", metadata: ["error": .string("\(error)")])
            return
        }
        for row in rows where row.deliveredNs == nil && !row.permanent {
            guard row.nextAttemptNs <= store.clock.now().nanoseconds else { continue }
            await deliver(row)
        }
    }

    func deliver(_ row: RoomStore.OutboxRow) async {
        let folder = config.storage.packagesDirectory + "/" + row.name
        let session = row.session
        var state = (try? JSONDecoder().decode(UploadState.self, from: Data(row.stateJSON.utf8))) ?? UploadState(partSize: partSize)
        if state.partSize <= 0 { state.partSize = partSize }
        do {
            guard let package = try await store.package(session: session) else { return }
            let name = row.name, mtime = package.sealedNs / 1_000_000_000
            let tar = try await runBlocking { try PackageTar(folder: folder, name: name, mtime: mtime) }
            guard tar.size == row.tarBytes else {
                throw PackageSealer.Refused(description: "the package on disk is \(tar.size) bytes, it was \(row.tarBytes) when offered")
            }
            let source = UploadSource(size: tar.size, sha256: row.tarSHA256) { offset, count in
                try await runBlocking { try tar.read(offset: offset, count: count) }
            }
            let store = self.store
            progress.set((session, state.bytesConfirmed, tar.size))
            let receipt = try await uploader.upload(
                name: "\(config.room.id)/\(row.name).tar", source: source, state: state,
                persist: { state in
                    let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
                    try await store.saveOutboxState(session: session, stateJSON: json, bytesConfirmed: state.bytesConfirmed)
                },
                progress: { [progress] confirmed, total in progress.set((session, confirmed, total)) })
            let receiptJSON = String(decoding: try JSONEncoder().encode(receipt), as: UTF8.self)
            try await store.recordDelivery(session: session, target: target, receiptJSON: receiptJSON, detail: [
                "session": session, "target": target, "location": receipt.location, "tar_sha256": row.tarSHA256,
                "bytes": String(row.tarBytes), "reference": receipt.targetReference ?? "",
            ], now: store.clock.now().nanoseconds)
            progress.set(nil)
            logger.notice("package delivered to the platform / 封包已送达平台", metadata: [
                "session": .string(session), "target": .string(target), "location": .string(receipt.location),
            ])
        } catch {
            progress.set(nil)
            let permanent = (error as? any PermanentDeliveryFailure)?.isPermanent ?? false
            let delay = Self.backoff(attempt: row.attempts, initial: config.packages.retryInitialSeconds,
                                     maximum: config.packages.retryMaximumSeconds, random: Double.random(in: 0...1))
            let next = store.clock.now().nanoseconds + Int64(delay * 1e9)
            try? await store.recordOutboxFailure(session: session, error: "\(error)", permanent: permanent, nextAttemptNs: next)
            if permanent {
                logger.critical("package delivery failed for good; fix the cause, then roomctl package retry / 封包推送失败，需人工处理", metadata: [
                    "session": .string(session), "target": .string(target), "error": .string("\(error)"),
                ])
                await events.record(kind: "package.delivery-failed", severity: "critical", subject: session,
                                    detail: ["session": session, "target": target, "error": String("\(error)".prefix(500))])
            } else {
                logger.warning("package delivery interrupted; will resume / 封包推送中断，稍后续传", metadata: [
                    "session": .string(session), "target": .string(target), "error": .string("\(error)"),
                    "retry_in_seconds": .string(String(Int(delay))),
                ])
            }
        }
    }

    /// Exponential backoff with full jitter: a uniformly random delay up to
    /// `initial·2^attempt`, capped at `maximum` (and at least a second).
    static func backoff(attempt: Int, initial: Int, maximum: Int, random: Double) -> Double {
        let ceiling = min(Double(maximum), Double(initial) * pow(2, Double(min(attempt, 30))))
        return max(1, ceiling * random)
    }
}

extension PackageOutbox {
    /// The S3 target (packages.s3) — wired once the S3 uploader is in.
    static func s3(store: RoomStore, config: RoomConfiguration, events: EventRecorder, logger: Logger) throws -> PackageOutbox? {
        throw PackageSealer.Refused(description: "S3 delivery is not available in this build")
    }
}
