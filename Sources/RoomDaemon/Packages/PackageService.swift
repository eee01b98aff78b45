import Archive
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Logging
import NIOCore
import RoomConfig
import ServiceLifecycle
import Store
import Synchronization

/// The life of sealed packages after the seal (docs/formats.md, "Sealed
/// packages", "Delivery"):
///
/// - **check**: every byte of the package's tar is read once — its SHA-256
///   (what the platform must acknowledge) and each payload file's SHA-256
///   against the manifest (a recording changed on disk is caught here) — and
///   the seal, tag manifest and ledger are verified by ``PackageVerifier``.
///   Only a package that passes is **offered**: given the next pull cursor and
///   queued in the outbox. One that fails is never offered; a critical event
///   says why.
/// - **auto-seal**: a session that has ended, or an opening that was
///   concluded, is sealed once its recording margin has passed and the
///   segments of its window are closed.
/// - **acknowledge**: the platform's SHA-256 of what it received must be the
///   tar's; then the session's recordings become eligible for retention.
final class PackageService: Service, Sendable {
    let sealer: PackageSealer
    let store: RoomStore
    let config: RoomConfiguration
    let events: EventRecorder
    let logger: Logger
    let anchors: [Certificate]
    let tsaAnchors: [Certificate]
    let wake = WakeSignal()
    let outbox: PackageOutbox?
    /// One check at a time: each reads a whole package.
    let checkGate = AsyncGate(permits: 1)

    init(sealer: PackageSealer, store: RoomStore, config: RoomConfiguration, events: EventRecorder, logger: Logger, outbox: PackageOutbox?) throws {
        self.sealer = sealer
        self.store = store
        self.config = config
        self.events = events
        self.logger = logger
        self.outbox = outbox
        // roomd checks its own seal against the CAs it trusts for its clients (the room CA).
        var anchors: [Certificate] = []
        for file in config.tls.clientCAs {
            anchors += (try? Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: file))))) ?? []
        }
        self.anchors = anchors
        if let tsa = config.ledger.tsaCertificates {
            tsaAnchors = (try? Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: tsa))))) ?? []
        } else {
            tsaAnchors = []
        }
    }

    func run() async throws {
        // A command that ends a session wakes the loop (it still waits for the margin and open segments).
        let wake = self.wake
        let subscription = sealer.registry.updates.subscribe { _ in wake.open() }
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                await pass()
                await wake.wait(timeout: .seconds(5))
            }
        }
        sealer.registry.updates.unsubscribe(subscription)
    }

    /// One pass: seal ended sessions that are due, check sealed packages not yet checked.
    func pass() async {
        if config.packages.sealOnClose {
            do {
                let now = store.clock.now().nanoseconds
                let margin = Int64(config.retention.sessionMarginMinutes) * 60_000_000_000
                let windows = try await store.pool.read { db in try RetentionStore.sessionWindows(db, margin: margin) }
                let sealed = Set(try await store.packages().map(\.session))
                for window in windows where !sealed.contains(window.session) {
                    guard let end = window.end, end <= now else { continue }
                    do {
                        _ = try await sealer.seal(key: window.session, actor: "system:packages", force: false)
                    } catch let refused as PackageSealer.Refused where refused.description.contains("still being written") {
                        continue  // the next pass
                    } catch {
                        logger.error("automatic seal failed; will retry / 自动封包失败，稍后重试", metadata: [
                            "session": .string(window.session), "error": .string("\(error)"),
                        ])
                    }
                }
            } catch {
                logger.error("package pass failed", metadata: ["error": .string("\(error)")])
            }
        }
        do {
            for row in try await store.packages() where row.checkedNs == nil {
                await check(row)
            }
        } catch {
            logger.error("package check pass failed", metadata: ["error": .string("\(error)")])
        }
    }

    /// Seals now (roomctl, operator) and checks at once. `key`: a session id, or `opening:<id>`.
    func seal(key: String, actor: String, force: Bool) async throws -> RoomStore.PackageRow {
        let row = try await sealer.seal(key: key, actor: actor, force: force)
        if row.checkedNs == nil { await check(row) }
        return try await store.package(session: key) ?? row
    }

    func folder(_ row: RoomStore.PackageRow) -> String { config.storage.packagesDirectory + "/" + row.name }

    func tar(_ row: RoomStore.PackageRow) async throws -> PackageTar {
        let folder = folder(row), name = row.name, mtime = row.sealedNs / 1_000_000_000
        return try await runBlocking { try PackageTar(folder: folder, name: name, mtime: mtime) }
    }

    /// Reads the whole tar once: its SHA-256 and every payload file's, then the verifier (without re-hashing).
    func check(_ row: RoomStore.PackageRow) async {
        await checkGate.run { await checkAlone(row) }
    }

    private func checkAlone(_ row: RoomStore.PackageRow) async {
        // Checked meanwhile (roomctl's seal and the pass loop both ask): once is enough.
        if let current = try? await store.package(session: row.session), current.checkedNs != nil { return }
        let folder = folder(row)
        let options = PackageVerifier.Options(anchors: anchors, tsaAnchors: tsaAnchors, hashPayload: false)
        var failure: String?
        var tarSHA: String?
        do {
            let tar = try await tar(row)
            guard tar.size == row.tarBytes else {
                throw PackageSealer.Refused(description: "the package's tar is \(tar.size) bytes, it was \(row.tarBytes) when sealed: files were added or removed")
            }
            let (sha, mismatches, report) = try await runBlocking { () throws -> (String, [String], PackageVerifier.Report) in
                let manifest = try Bag.parseManifest(String(decoding: try Data(contentsOf: URL(fileURLWithPath: folder + "/" + Bag.manifestFile)), as: UTF8.self),
                                                     name: Bag.manifestFile)
                let whole = SHA256Hasher()
                var mismatches: [String] = []
                for entry in tar.entries {
                    // Header, data, padding: hashed as the tar stream; the data also on its own.
                    let own = SHA256Hasher()
                    var offset = entry.offset
                    let header = try tar.read(offset: entry.offset, count: Int(entry.dataOffset - entry.offset))
                    whole.update(header)
                    offset += Int64(header.count)
                    var left = entry.bytes
                    while left > 0 {
                        let chunk = try tar.read(offset: offset, count: Int(min(left, 4 << 20)))
                        whole.update(chunk)
                        own.update(chunk)
                        offset += Int64(chunk.count)
                        left -= Int64(chunk.count)
                    }
                    let padding = Tar.padding(size: entry.bytes)
                    if padding > 0 { whole.update([UInt8](repeating: 0, count: padding)) }
                    let digest = own.finishHex()
                    if let expected = manifest[entry.path], expected != digest {
                        mismatches.append("\(entry.path): SHA-256 \(digest), sealed as \(expected)")
                    }
                }
                whole.update(Tar.end)
                return (whole.finishHex(), mismatches, PackageVerifier.verify(folder: folder, options: options))
            }
            if !mismatches.isEmpty {
                failure = "payload changed since it was written: " + mismatches.prefix(5).joined(separator: "; ")
            } else if !report.passed {
                failure = report.failures.prefix(5).map(\.description).joined(separator: "; ")
            } else {
                tarSHA = sha
            }
        } catch {
            failure = "\(error)"
        }
        let now = store.clock.now().nanoseconds
        do {
            let initial = outbox.map { $0.initialState(size: row.tarBytes) }
            try await store.recordCheck(session: row.session, tarSHA256: tarSHA, error: failure, outboxTarget: initial?.target,
                                        initialState: initial?.state, now: now)
        } catch {
            logger.error("cannot record the package check", metadata: ["session": .string(row.session), "error": .string("\(error)")])
            return
        }
        if let failure {
            logger.critical("sealed package failed its check and is NOT offered to the platform / 封包校验失败，未提交平台", metadata: [
                "session": .string(row.session), "package": .string(row.name), "error": .string(failure),
            ])
        } else {
            logger.notice("package checked and offered to the platform / 封包已校验并提交", metadata: [
                "session": .string(row.session), "package": .string(row.name), "tar_sha256": .string(tarSHA ?? ""),
            ])
            outbox?.wake.open()
        }
    }

    // MARK: Acknowledgement

    func acknowledge(session: String, sha256: String, by: String) async throws -> Int64 {
        let now = store.clock.now().nanoseconds
        guard let row = try await store.package(session: session), row.cursor != nil, let expected = row.tarSHA256 else {
            try await store.recordRefusedAcknowledgement(session: session, claimed: sha256, expected: nil, by: by, reason: "not offered", now: now)
            throw Refusal(.notFound, code: "package-not-offered", chinese: "该场次没有已提交的封包。", english: "no offered package for session \(session)")
        }
        if let acknowledged = row.acknowledgedNs {
            guard row.acknowledgedSHA256 == sha256.lowercased() else {
                try await store.recordRefusedAcknowledgement(session: session, claimed: sha256, expected: expected, by: by, reason: "sha256 mismatch", now: now)
                throw Refusal(.conflict, code: "sha256-mismatch", chinese: "确认的哈希值与封包不符。",
                              english: "the package's SHA-256 is \(expected), not \(sha256)")
            }
            return acknowledged
        }
        guard sha256.lowercased() == expected else {
            try await store.recordRefusedAcknowledgement(session: session, claimed: sha256, expected: expected, by: by, reason: "sha256 mismatch", now: now)
            logger.warning("platform acknowledgement refused: wrong SHA-256 / 平台确认的哈希值不符", metadata: [
                "session": .string(session), "claimed": .string(sha256), "expected": .string(expected), "by": .string(by),
            ])
            throw Refusal(.conflict, code: "sha256-mismatch", chinese: "确认的哈希值与封包不符，请重新下载后再确认。",
                          english: "the package's SHA-256 is \(expected), not \(sha256): download it again (with Range to resume) and acknowledge what you verified")
        }
        try await RetentionStore(store: store).acknowledge(session: session, packageSHA256: expected, by: by, now: now)
        logger.notice("platform acknowledged the package / 平台已确认接收封包", metadata: ["session": .string(session), "by": .string(by)])
        return now
    }
}

extension PackageSummary {
    init(_ row: RoomStore.PackageRow, outbox: RoomStore.OutboxRow? = nil) {
        let state = row.acknowledgedNs != nil ? "acknowledged" : row.checkError != nil ? "check-failed"
            : row.cursor != nil ? (outbox?.deliveredNs != nil ? "delivered" : "offered") : "checking"
        self.init(session: row.session, name: row.name, cursor: row.cursor, sealed_at: Text.iso8601(nanoseconds: row.sealedNs),
                  size: row.tarBytes, sha256: row.tarSHA256, tagmanifest_sha256: row.tagManifestSHA256, payload_oxum: row.payloadOxum,
                  state: state, check_error: row.checkError, acknowledged_at: row.acknowledgedNs.map(Text.iso8601(nanoseconds:)),
                  delivery: outbox.map {
                      Delivery(target: $0.target, bytes_confirmed: $0.bytesConfirmed, attempts: $0.attempts, last_error: $0.lastError,
                               permanent: $0.permanent, delivered_at: $0.deliveredNs.map(Text.iso8601(nanoseconds:)))
                  }, kind: PackageKey.openingID(row.session) == nil ? "session" : "opening")
    }
}

/// Wakes a background loop early (a seal, a check, a retry request); the loop
/// also wakes on its own after a timeout.
final class WakeSignal: Sendable {
    private let flag = Mutex(false)

    func open() { flag.withLock { $0 = true } }

    func wait(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if flag.withLock({ let was = $0; $0 = false; return was }) { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
