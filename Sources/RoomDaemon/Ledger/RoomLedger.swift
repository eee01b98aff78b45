import Archive
import Canonical
import Foundation
import Identity
import Logging
import RoomConfig
import ServiceLifecycle
import Store

/// The daemon's side of the audit ledger: the room key that signs checkpoints,
/// the checkpoint policy, and exports. Entries themselves are appended by
/// ``RoomStore`` together with the event they record.
///
/// Checkpoints are signed every `ledger.checkpoint_minutes` when something was
/// appended since the last one, and always at milestones (start, stop,
/// operator request; later: scores locked, report signed, session closed).
/// Signing a checkpoint appends no entry — otherwise every checkpoint would
/// make the next one necessary.
final class RoomLedger: Sendable {
    let ledger: Ledger
    let origin: String
    let key: RoomSigningKey
    let certificatePEM: Data
    let exportsDirectory: String
    let logger: Logger
    /// The store's clock: what checkpoints are stamped with and scheduled by.
    let clock: any RoomClock

    struct KeyProblem: Error, CustomStringConvertible {
        var description: String
    }

    init(store: RoomStore, config: RoomConfiguration, logger: Logger) throws {
        ledger = store.ledger
        clock = store.clock
        origin = config.ledger.origin
        do {
            key = try RoomSigningKey(pemFile: URL(fileURLWithPath: config.ledger.signingKey))
            certificatePEM = try Data(contentsOf: URL(fileURLWithPath: config.ledger.signingCertificate))
            let certificateKey = try RoomVerificationKey(certificatePEM: certificatePEM)
            guard certificateKey.subjectPublicKeyInfo == key.publicKey.subjectPublicKeyInfo else {
                throw KeyProblem(description: "the certificate \(config.ledger.signingCertificate) is not for the key \(config.ledger.signingKey)")
            }
        } catch {
            throw KeyProblem(description: "ledger signing key unusable (ledger.signing_key / tls.key): \(error) / 账本签名密钥无法使用")
        }
        exportsDirectory = config.storage.stateDirectory + "/exports"
        self.logger = logger
    }

    /// Signs and stores a checkpoint of the current tree. Unless `force`, only
    /// when entries were appended since the latest one. Blocking: call from a
    /// dedicated thread.
    @discardableResult
    func checkpoint(reason: String, force: Bool) throws -> StoredCheckpoint? {
        if !force, try !ledger.hasUncheckpointedEntries() { return nil }
        let stored = try ledger.makeCheckpoint(origin: origin, keyName: origin, key: key, now: clock.now().nanoseconds)
        logger.info("ledger checkpoint signed", metadata: [
            "size": .string(String(stored.checkpoint.size)), "root": .string(stored.checkpoint.root.base64),
            "reason": .string(reason),
        ])
        return stored
    }

    /// The latest checkpoint, signing one first if none exists or it is stale.
    func currentCheckpoint() throws -> StoredCheckpoint {
        if let latest = try ledger.latestCheckpoint(), latest.checkpoint.size == (try ledger.treeHead().size) {
            return latest
        }
        guard let made = try checkpoint(reason: "requested", force: true) else {
            throw KeyProblem(description: "no checkpoint could be made")
        }
        return made
    }

    /// Exports entries `[firstSeq, size)` under a fresh checkpoint into a new
    /// folder below the state directory (the daemon may write nowhere else) and
    /// returns its path. Format: docs/formats.md, "Ledger export". Entries an
    /// older roomd wrote with an ID number in them are withheld (seq and leaf
    /// hash only) unless `includePersonalData`.
    func export(firstSeq: Int, includePersonalData: Bool = false) throws -> String {
        let checkpoint = try currentCheckpoint()
        try FileManager.default.createDirectory(atPath: exportsDirectory, withIntermediateDirectories: true)
        let stamp = Self.stamp(clock.now().nanoseconds)
        // Two exports in one second (a withheld and a full one) get folders of their own.
        let base = "\(exportsDirectory)/ledger-\(stamp)-\(firstSeq)-\(checkpoint.checkpoint.size)" + (includePersonalData ? "-full" : "")
        var path = base
        var attempt = 1
        while FileManager.default.fileExists(atPath: path) {
            attempt += 1
            path = "\(base)-\(attempt)"
        }
        try ledger.export(firstSeq: firstSeq, checkpoint: checkpoint.checkpoint, to: URL(fileURLWithPath: path),
                          keyName: origin, key: key, certificatePEM: certificatePEM, withholdPersonalData: !includePersonalData)
        // The checkpoint's RFC 3161 token, when the TSA has answered already:
        // `openssl ts -verify -data checkpoint.txt -in checkpoint.tsr -token_in -CAfile <TSA CA>`.
        if let timestamp = try ledger.timestamp(checkpointID: checkpoint.id) {
            try SecureFile.write(timestamp.token, to: path + "/checkpoint.tsr", mode: 0o644)
        }
        return path
    }

    static func stamp(_ nanoseconds: Int64) -> String { CivilTime.compact(seconds: nanoseconds / 1_000_000_000) }
}

/// Signs a checkpoint every `interval` when the ledger grew, until shutdown.
struct CheckpointService: Service {
    let ledger: RoomLedger
    let interval: Duration

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await ledger.clock.sleep(for: interval)
                    do {
                        _ = try await runBlocking { try ledger.checkpoint(reason: "periodic", force: false) }
                    } catch {
                        ledger.logger.error("periodic ledger checkpoint failed; will retry / 账本检查点签名失败",
                                            metadata: ["error": .string("\(error)")])
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: the daemon signs a final checkpoint after its last event.
        }
    }
}
