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

    /// Exponential backoff with full jitter between attempts (packages.retry_initial_seconds … retry_max_seconds).
    let retry: RetryPolicy
    /// For uploaders that hold connections: called at shutdown.
    let shutdown: @Sendable () async -> Void

    init(store: RoomStore, config: RoomConfiguration, uploader: any PackageUploader, target: String, events: EventRecorder, logger: Logger,
         shutdown: @escaping @Sendable () async -> Void = {}) {
        retry = RetryPolicy(initial: .seconds(config.packages.retryInitialSeconds), maximum: .seconds(config.packages.retryMaximumSeconds))
        self.shutdown = shutdown
        self.store = store
        self.config = config
        self.uploader = uploader
        self.target = target
        self.events = events
        self.logger = logger
    }

    var partSize: Int64 { Int64(config.packages.partSizeMB) * 1_048_576 }

    /// The outbox row a newly offered package starts with.
    func initialState(size: Int64) -> (target: String, state: String) {
        // Each protocol's own bounds: S3 grows parts past 10,000 of them; the HTTPS protocol takes at most 64 MiB a part.
        let state = target == "s3" ? S3Uploader.initialState(size: size, partSize: partSize)
            : UploadState(partSize: min(partSize, HTTPSUploadProtocol.maximumPartSize))
        let json = (try? String(decoding: JSONEncoder().encode(state), as: UTF8.self)) ?? "{}"
        return (target, json)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                await pass()
                await wake.wait(timeout: .seconds(5))
            }
        }
        await shutdown()
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
            let permanent = DeliveryErrorClass.of(error) == .permanent
            let wait = retry.delay(afterAttempt: row.attempts + 1)
            let delay = max(1, Double(wait.components.seconds) + Double(wait.components.attoseconds) * 1e-18)
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
}

extension PackageOutbox {
    /// Uploads share one bandwidth cap (packages.bandwidth_mbit; 0: none).
    static func limiter(_ config: RoomConfiguration) -> BandwidthLimiter? {
        config.packages.bandwidthMbit > 0 ? BandwidthLimiter(bytesPerSecond: config.packages.bandwidthMbit * 125_000) : nil
    }

    static func https(store: RoomStore, config: RoomConfiguration, events: EventRecorder, logger: Logger) throws -> PackageOutbox {
        guard let platform = config.platform else { throw PackageSealer.Refused(description: "https delivery needs platform.endpoint") }
        var pace: (@Sendable (Int) async -> Void)?
        if let shared = limiter(config) {
            pace = { bytes in try? await shared.acquire(bytes) }
        }
        let uploader = try HTTPSUploader(endpoint: platform.endpoint, certificate: config.tls.certificate, key: config.tls.key,
                                         trustRoots: platform.caCertificate, pace: pace, logger: logger)
        return PackageOutbox(store: store, config: config, uploader: uploader, target: "https", events: events, logger: logger,
                             shutdown: { try? await uploader.shutdown() })
    }

    static func s3(store: RoomStore, config: RoomConfiguration, events: EventRecorder, logger: Logger) throws -> PackageOutbox {
        guard let s3 = config.packages.s3, let endpoint = URL(string: s3.endpoint) else {
            throw PackageSealer.Refused(description: "s3 delivery needs packages.s3 with an endpoint URL")
        }
        let secret = try String(contentsOfFile: s3.secretAccessKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let configuration = S3Configuration(endpoint: endpoint, region: s3.region, bucket: s3.bucket, keyPrefix: s3.prefix,
                                            addressing: s3.pathStyle ? .path : .virtualHosted,
                                            credentials: S3Credentials(accessKeyID: s3.accessKeyID, secretAccessKey: secret),
                                            caFile: s3.caCertificate, objectLockDays: s3.objectLockDays)
        let uploader = try S3Uploader(configuration: configuration, limiter: limiter(config), logger: logger)
        return PackageOutbox(store: store, config: config, uploader: uploader, target: "s3", events: events, logger: logger,
                             shutdown: { try? await uploader.shutdown() })
    }
}
