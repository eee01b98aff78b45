import Archive
import Canonical
import Evaluation
import Foundation
import Glibc
import GRDB
import Identity
import Logging
import RoomConfig
import Store

/// Seals a session — or an opening (`OpeningPackage.swift`) — into a BagIt package (docs/formats.md,
/// "Sealed packages", "An opening's package"). Both go through ``sealBag``: the kind's own files,
/// then the parts every package shares.
///
/// Everything is assembled in `packages/.sealing-<name>-<random>` — the
/// report, results, signatures, check-ins and the ledger export written and
/// fsynced, the recordings hard-linked (never copied, never read: their
/// SHA-256 is the one taken while they were written) — then the manifests,
/// the seal (CMS by the room key) and the timestamp are written, the folder
/// is synced and renamed to `packages/<name>` in one step, and only then is
/// the package recorded (row + `package.sealed` ledger entry). A crash
/// anywhere before leaves a `.sealing-*` folder that start-up removes, or a
/// renamed folder with no row, which the next seal of that session moves
/// aside: no half package is ever visible, and sealing again works.
struct PackageSealer: Sendable {
    let store: RoomStore
    let config: RoomConfiguration
    let ledger: RoomLedger
    let witness: LedgerWitness
    let reports: SessionReports
    let registry: SessionRegistry
    let openings: OpeningRegistry
    let logger: Logger
    let sealKey: PrivateKey
    let sealCertificate: Certificate
    /// One seal at a time (the automatic one and roomctl's must not race for the same folder).
    let gate = AsyncGate(permits: 1)

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    init(store: RoomStore, config: RoomConfiguration, ledger: RoomLedger, witness: LedgerWitness, reports: SessionReports,
         registry: SessionRegistry, openings: OpeningRegistry, logger: Logger) throws {
        self.store = store
        self.config = config
        self.ledger = ledger
        self.witness = witness
        self.reports = reports
        self.registry = registry
        self.openings = openings
        self.logger = logger
        let keyPath = config.packages.signingKey ?? config.ledger.signingKey
        let certificatePath = config.packages.signingCertificate ?? config.ledger.signingCertificate
        do {
            sealKey = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: keyPath))))
            sealCertificate = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: certificatePath))))
        } catch {
            throw Refused(description: "the package seal key or certificate is unusable (packages.signing_key/certificate, else ledger's): \(error) / 封包签名密钥无法使用")
        }
        // Fail at start, not at the first seal.
        _ = try SealSigner.sign(content: Array("roomd seal self-check".utf8), key: sealKey, certificate: sealCertificate)
    }

    var packagesDirectory: String { config.storage.packagesDirectory }

    /// `<room>_<session>`, `<room>_opening_<id>` for an opening: the folder and the tar's top folder.
    func name(session key: String) -> String {
        let id = PackageKey.openingID(key).map { "opening_" + $0 } ?? key
        let safe = String(id.map { $0 == "/" || $0 == " " || $0 == "\\" || $0 == ":" ? "_" : $0 })
        return "\(config.room.id)_\(safe)"
    }

    /// Removes unfinished seals (`.sealing-*`) a crash left behind. They hold
    /// hard links and copies only: the originals are untouched.
    static func sweepUnfinished(in directory: String, logger: Logger) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(".sealing-") || name.hasPrefix(".stale-") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
            logger.notice("removed an unfinished package seal left by a crash / 清除未完成的封包", metadata: ["folder": .string(name)])
        }
    }

    struct SegmentRow: Sendable {
        var id: Int64, device: String, path: String, start: Int64, end: Int64, bytes: Int64, sha256: String, state: String
    }

    struct Window: Sendable {
        var start: Int64
        var end: Int64
        var ended: Bool
    }

    /// The session's recording window (its first command minus the margin to its last plus the margin).
    func window(session: String, now: Int64) async throws -> Window? {
        let margin = Int64(config.retention.sessionMarginMinutes) * 60_000_000_000
        let windows = try await store.pool.read { db in try RetentionStore.sessionWindows(db, margin: margin) }
        guard let found = windows.first(where: { $0.session == session }) else { return nil }
        return Window(start: found.start, end: min(found.end ?? now, now), ended: found.end != nil)
    }

    /// Segments overlapping the window, oldest first. `writing`: those still open.
    func segments(devices: [String], window: Window) async throws -> (closed: [SegmentRow], writing: Int) {
        try await store.pool.read { db in
            var closed: [SegmentRow] = []
            var writing = 0
            for row in try Row.fetchAll(db, sql: """
                SELECT s.id, s.device, s.path, s.wall_start_ns, COALESCE(s.wall_end_ns, s.wall_start_ns) AS end_ns,
                       COALESCE(s.bytes, 0) AS bytes, COALESCE(s.sha256, '') AS sha256, s.state
                FROM segments s INDEXED BY segments_time
                WHERE s.wall_start_ns < ? AND COALESCE(s.wall_end_ns, ?) > ?
                  AND NOT EXISTS (SELECT 1 FROM retention_unlinks u WHERE u.segment_id = s.id)
                ORDER BY s.wall_start_ns, s.device
                """, arguments: [window.end, Int64.max, window.start]) {
                let segment = SegmentRow(id: row[0], device: row[1], path: row[2], start: row[3], end: row[4], bytes: row[5], sha256: row[6], state: row[7])
                guard devices.contains(segment.device) else { continue }
                if segment.state == "writing" {
                    writing += 1
                } else if segment.state != "missing", !segment.sha256.isEmpty {
                    closed.append(segment)
                }
            }
            return (closed, writing)
        }
    }

    /// All the room's devices (station cameras and room cameras).
    var devices: [String] { config.stations.map(\.id) + config.roomCameras.map(\.id) }

    // MARK: Sealing

    /// Seals `session` (idempotent: an existing package is returned as it is).
    /// `force`: seal now even if the session has not ended or segments of its
    /// window are still being written (those are left out and the timeline
    /// says so); otherwise such a session is refused.
    func seal(session: String, actor: String, force: Bool) async throws -> RoomStore.PackageRow {
        try await gate.run { try await sealAlone(session: session, actor: actor, force: force) }
    }

    /// Seals what a package key names: a session, or an opening (`opening:<id>`).
    func seal(key: String, actor: String, force: Bool) async throws -> RoomStore.PackageRow {
        if let opening = PackageKey.openingID(key) { return try await seal(opening: opening, actor: actor, force: force) }
        return try await seal(session: key, actor: actor, force: force)
    }

    private func sealAlone(session: String, actor: String, force: Bool) async throws -> RoomStore.PackageRow {
        if let existing = try await store.package(session: session) { return existing }
        guard let live = try? await registry.state(session) else {
            throw Refused(description: "no session \(session) in this room / 没有该评审场次")
        }
        let state = live.session.state
        return try await sealBag(key: session, actor: actor, force: force, phase: state.phase.rawValue,
                                 notEnded: "session \(session) has not ended (phase \(state.phase.rawValue)); seal it after it closes, or with --force / 场次尚未结束",
                                 labels: [("Roomd-Lot", live.stored.lot)],
                                 description: "roomd sealed session package: session \(session) of room \(config.room.id) / 评审场次封包") { bag in
            try await sessionPayload(session: session, live: live, bag: bag)
        }
    }

    /// One package being assembled in its work folder: each file written (fsync) with its hash.
    final class BagWriter {
        let work: String
        var files: [Bag.File] = []

        init(work: String) { self.work = work }

        /// Writes `bytes` as `path` (relative to the bag) and records its hash.
        func put(_ path: String, _ bytes: [UInt8]) async throws {
            let target = work + "/" + path
            try await runBlocking {
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try SecureFile.write(bytes, to: target, mode: 0o644)
            }
            files.append(Bag.file(path, bytes))
        }

        /// A JSON value as one canonical line.
        func json(_ value: CanonicalJSON) throws -> [UInt8] { try value.canonicalBytes() + [0x0A] }
    }

    /// Seals what `key` names (a session, or `opening:<id>`) with the parts every package shares:
    /// `payload` writes its own files, then the ledger export from the window's start, the
    /// recordings of the window (hard links), the timeline, the tag files, the seal and the
    /// timestamp; the folder is renamed into place and the row recorded.
    func sealBag(key: String, actor: String, force: Bool, phase: String, notEnded: String, labels: [(String, String)],
                 description: String, payload: (BagWriter) async throws -> Void) async throws -> RoomStore.PackageRow {
        let now = store.clock.now().nanoseconds
        let subject = PackageKey.openingID(key).map { "opening \($0)" } ?? "session \(key)"
        guard let window = try await window(session: key, now: now) else {
            throw Refused(description: "\(subject) has no commands yet: nothing to seal / 尚未开始，无可封包内容")
        }
        if !window.ended, !force { throw Refused(description: notEnded) }
        let (segments, writing) = try await segments(devices: devices, window: window)
        if writing > 0, !force {
            throw Refused(description: "\(writing) segment(s) of the \(subject)'s window are still being written; sealing waits for them / 录像分段尚未写完")
        }
        let name = name(session: key)
        if let other = try await store.packages().first(where: { $0.name == name && $0.session != key }) {
            throw Refused(description: "the package folder \(name) belongs to \(other.session) already / 封包目录名称已被占用")
        }
        let final = packagesDirectory + "/" + name
        let work = packagesDirectory + "/.sealing-\(name)-\(try Digest.randomHex(4))"
        try await runBlocking {
            try FileManager.default.createDirectory(atPath: work + "/data", withIntermediateDirectories: true)
            // A folder from a seal that crashed after its rename but before its row: not a package (never recorded); set aside.
            if FileManager.default.fileExists(atPath: final) {
                try FileManager.default.moveItem(atPath: final, toPath: packagesDirectory + "/.stale-\(name)-\(try Digest.randomHex(4))")
            }
        }
        do {
            let bag = BagWriter(work: work)
            try await payload(bag)
            let info = [("Roomd-Kind", PackageKey.openingID(key) == nil ? "session" : "opening"), ("Roomd-Session", key)] + labels
                + [("Roomd-Phase", phase)]
            return try await assemble(key: key, bag: bag, window: window, segments: segments, writing: writing, name: name, final: final,
                                      labels: info, description: description, actor: actor, now: now)
        } catch {
            try? await runBlocking { try FileManager.default.removeItem(atPath: work) }
            throw error
        }
    }

    /// The session's own files: report, results, definition and events, signatures, check-ins.
    private func sessionPayload(session: String, live: SessionRegistry.Live, bag: BagWriter) async throws {
        func put(_ path: String, _ bytes: [UInt8]) async throws { try await bag.put(path, bytes) }
        func json(_ value: CanonicalJSON) throws -> [UInt8] { try bag.json(value) }
        // data/report: the report (body and signed), results, OCDS release, bidder notices.
        let state = live.session.state
        let result = state.result()
        try await put("data/report/results.json", Array(try CanonicalJSON.encode(result)) + [0x0A])
        try await put("data/report/ocds-release.json", try json(OCDSExport.release(state, ocidPrefix: "ocds-roomd-\(config.room.id)")))
        if let body = try await reports.body(session: session, state: state, definition: live.definition) {
            try await put("data/report/report-body.pdf", body.bytes)
        }
        if let signed = try await reports.signed(session: session, state: state, definition: live.definition) {
            try await put("data/report/report-signed.pdf", signed.bytes)
        }
        for bidder in result.current.bidders {
            if let notice = state.notice(for: bidder.id) {
                try await put("data/report/notices/\(Self.fileSafe(bidder.id)).json", Array(try CanonicalJSON.encode(notice)) + [0x0A])
            }
        }
        // data/session: the definition as received (and the platform's signature), every accepted command.
        try await put("data/session/definition.json", Array(live.stored.bytes))
        struct EventLine: Sendable { var line: CanonicalJSON }
        let (definitionSignature, eventLines) = try await store.pool.read { db -> (Data?, [EventLine]) in
            let signature = try Data.fetchOne(db, sql: "SELECT signature FROM session_definitions WHERE id = ?", arguments: [live.stored.id])
            let lines = try Row.fetchAll(db, sql: """
                SELECT sequence, at_ms, actor, command, event, ledger_seq FROM session_events WHERE session_id = ? ORDER BY sequence
                """, arguments: [session]).map { row -> EventLine in
                let event: Data = row["event"]
                return EventLine(line: .object([
                    "sequence": .integer(row["sequence"]), "at_ms": .integer(row["at_ms"]), "actor": .string(row["actor"]),
                    "command": .string(row["command"]), "event": (try? CanonicalJSON(parsing: Array(event))) ?? .string(String(decoding: event, as: UTF8.self)),
                    "ledger_seq": .integer(row["ledger_seq"]),
                ]))
            }
            return (signature, lines)
        }
        if let definitionSignature { try await put("data/session/definition.json.p7s", Array(definitionSignature)) }
        var lines: [UInt8] = []
        for event in eventLines { lines += try json(event.line) }
        try await put("data/session/events.jsonl", lines)

        // data/signatures and data/checkins: every answer to a signing challenge (accepted or not), as received.
        for record in try await signatureRecords(session: session) {
            let base = "data/signatures/\(record.id)"
            try await put(base + ".json", try json(record.document))
            try await put(base + ".signed", record.signedBytes)
            try await put(base + (record.format == "cms" ? ".p7s" : ".sig"), record.signature)
            if let pem = record.certificatePEM { try await put(base + ".crt.pem", Array(pem.utf8)) }
            if let strokes = record.handwriting {
                try await put("data/checkins/handwriting-\(record.id).json", Array(strokes))
                if let png = try? HandwrittenSignature(json: strokes).png(scale: 1) {
                    try await put("data/checkins/handwriting-\(record.id).png", png)
                }
            }
        }
        let checkIns = try await store.checkIns(session: session)
        try await put("data/checkins/checkins.json", try json(.array(checkIns.map {
            .object(["entry": .string($0.entry), "station": .string($0.station)])
        })))
        if let roster = try await store.roster(session: session) {
            // Names and protected IDs (HMAC and last four) only, as stored.
            try await put("data/checkins/roster.json", Array(try CanonicalJSON.encode(roster.roster.entries)) + [0x0A])
        }
    }

    private func assemble(key: String, bag: BagWriter, window: Window, segments: [SegmentRow], writing: Int, name: String, final: String,
                          labels: [(String, String)], description: String, actor: String, now: Int64) async throws -> RoomStore.PackageRow {
        let work = bag.work
        func put(_ path: String, _ bytes: [UInt8]) async throws { try await bag.put(path, bytes) }
        func json(_ value: CanonicalJSON) throws -> [UInt8] { try bag.json(value) }
        // data/ledger: the entries since the window began, with inclusion proofs against a fresh checkpoint.
        let ledgerFolder = work + "/data/ledger"
        let ledgerFiles = try await runBlocking { () throws -> [Bag.File] in
            let checkpoint = try ledger.currentCheckpoint()
            let first = try ledger.ledger.database.read { db in
                try Int.fetchOne(db, sql: "SELECT MIN(seq) FROM ledger_entry WHERE time_ns >= ?", arguments: [window.start])
            } ?? 0
            try ledger.ledger.export(firstSeq: min(first, max(0, checkpoint.checkpoint.size - 1)), checkpoint: checkpoint.checkpoint,
                                     to: URL(fileURLWithPath: ledgerFolder), keyName: ledger.origin, key: ledger.key,
                                     certificatePEM: ledger.certificatePEM, withholdPersonalData: true)
            if let timestamp = try ledger.ledger.timestamp(checkpointID: checkpoint.id) {
                try SecureFile.write(timestamp.token, to: ledgerFolder + "/checkpoint.tsr", mode: 0o644)
            }
            var out: [Bag.File] = []
            for name in try FileManager.default.contentsOfDirectory(atPath: ledgerFolder).sorted() {
                let path = ledgerFolder + "/" + name
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 { fsync(fd); close(fd) }
                let size = ((try FileManager.default.attributesOfItem(atPath: path))[.size] as? NSNumber)?.int64Value ?? 0
                out.append(Bag.File(path: "data/ledger/" + name, sha256: try SHA256Hasher.file(path), bytes: size))
            }
            return out
        }
        bag.files += ledgerFiles

        // data/recordings: hard links to every segment of the window; hashes from the index, sizes checked.
        var segmentDocs: [CanonicalJSON] = []
        for segment in segments {
            let file = (segment.path as NSString).lastPathComponent
            let relative = "data/recordings/\(segment.device)/\(file)"
            let target = work + "/" + relative
            let source = segment.path
            let size = try await runBlocking { () throws -> Int64 in
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard link(source, target) == 0 else {
                    throw Refused(description: "cannot hard-link \(source) into the package: \(String(cString: strerror(errno))) (recordings and packages must be on one file system) / 无法链接录像文件")
                }
                return ((try FileManager.default.attributesOfItem(atPath: target))[.size] as? NSNumber)?.int64Value ?? -1
            }
            guard size == segment.bytes else {
                throw Refused(description: "\(source) is \(size) bytes, the index says \(segment.bytes): the file changed after it was closed; investigate before sealing / 录像文件与索引不符")
            }
            bag.files.append(Bag.File(path: relative, sha256: segment.sha256, bytes: segment.bytes))
            segmentDocs.append(.object([
                "segment": .integer(segment.id), "device": .string(segment.device), "file": .string(relative),
                "start": .string(Text.iso8601(nanoseconds: segment.start)), "end": .string(Text.iso8601(nanoseconds: segment.end)),
                "start_ns": .integer(segment.start), "end_ns": .integer(segment.end),
                "bytes": .integer(segment.bytes), "sha256": .string(segment.sha256), "state": .string(segment.state),
            ]))
        }
        try await put("data/recordings/segments.json", try json(.array(segmentDocs)))
        // Test hook: hold the half-made package here so a test can kill roomd mid-seal.
        if let pause = ProcessInfo.processInfo.environment["ROOMD_TEST_SEAL_PAUSE_MS"].flatMap(Int.init), pause > 0 {
            try await Task.sleep(for: .milliseconds(pause))
        }
        let devices = self.devices
        let timeline = try await store.pool.read { db in
            try RecordingTimeline.build(db, devices: devices, from: window.start, to: window.end, now: now)
        }
        try await put("data/recordings/timeline.json", Array(try CanonicalJSON.encode(timeline)) + [0x0A])

        // The tag files: declaration, bag-info, manifest, tag manifest; then the seal and the timestamp.
        let files = bag.files
        let payloadBytes = files.reduce(0) { $0 + $1.bytes }
        let info: [(String, String)] = [
            ("Source-Organization", config.room.agency),
            ("Organization-Address", config.room.name),
            ("External-Identifier", name),
            ("External-Description", description),
            ("Bagging-Date", String(Text.iso8601(nanoseconds: now).prefix(10))),
            ("Payload-Oxum", Bag.oxum(files)),
            ("Bag-Size", "\(payloadBytes) bytes"),
            ("Roomd-Room", config.room.id),
        ] + labels + [
            ("Roomd-Window-Start", Text.iso8601(nanoseconds: window.start)),
            ("Roomd-Window-End", Text.iso8601(nanoseconds: window.end)),
            ("Roomd-Recordings", "\(segments.count) segments" + (writing > 0 ? "; \(writing) still being written were left out (sealed with --force)" : "")),
            ("Roomd-Sealed-At", Text.iso8601(nanoseconds: now)),
            ("Roomd-Sealed-By", actor),
            ("Roomd-Version", StatusReporter.version),
        ]
        // The timestamp is fetched first (network), then the tag files and seal are written on a blocking thread.
        let signingKey = sealKey, certificate = sealCertificate
        let signingTime = Date(timeIntervalSince1970: TimeInterval(now) / 1e9)
        let draftManifest = Array(Bag.manifest([
            Bag.file(Bag.declarationFile, Array(Bag.declaration.utf8)), Bag.file(Bag.infoFile, Array(Bag.info(info).utf8)),
            Bag.file(Bag.manifestFile, Array(Bag.manifest(files).utf8)),
        ]).utf8)
        let signature = try SealSigner.sign(content: draftManifest, key: signingKey, certificate: certificate, signingTime: signingTime)
        var timestamp: [UInt8]?
        var timestampNote = "none configured"
        do {
            timestamp = try await witness.timestampResponse(for: signature)
            if timestamp != nil { timestampNote = "RFC 3161 token obtained" }
        } catch {
            timestampNote = "TSA unreachable: \(error)"
            logger.error("package sealed without a timestamp: the TSA did not answer / 封包未取得时间戳", metadata: [
                "package": .string(key), "error": .string("\(error)"),
            ])
        }
        let stamp = timestamp, packagesDirectory = self.packagesDirectory, bagFiles = files
        let tagManifest = try await runBlocking { () throws -> [UInt8] in
            let written = try Bag.writeTagFiles(folder: work, files: bagFiles, info: info, sign: { _ in signature }, timestamp: { _ in stamp })
            guard written == draftManifest else { throw Refused(description: "the tag manifest changed while it was sealed") }
            try SecureFile.syncFolders(below: work)
            guard rename(work, final) == 0 else {
                throw Refused(description: "cannot move the sealed package into place: \(String(cString: strerror(errno)))")
            }
            try SecureFile.syncFolder(packagesDirectory)
            return written
        }
        let tar = try await runBlocking { try PackageTar(folder: final, name: name, mtime: now / 1_000_000_000) }
        let row = RoomStore.PackageRow(
            session: key, name: name, sealedNs: now, windowStartNs: window.start, windowEndNs: window.end,
            tagManifestSHA256: Digest.sha256Hex(tagManifest), payloadOxum: Bag.oxum(files), tarBytes: tar.size)
        try await store.recordSeal(row, detail: [
            "session": key, "kind": PackageKey.openingID(key) == nil ? "session" : "opening", "package": name, "tagmanifest_sha256": row.tagManifestSHA256, "payload_oxum": row.payloadOxum,
            "files": String(files.count), "segments": String(segments.count), "left_out_writing": String(writing),
            "window_start": Text.iso8601(nanoseconds: window.start), "window_end": Text.iso8601(nanoseconds: window.end),
            "seal_certificate_sha256": (try? sealCertificate.sha256Fingerprint()) ?? "", "timestamp": timestampNote,
        ], actor: actor, now: now)
        logger.notice("package sealed / 已封包", metadata: [
            "package_key": .string(key), "package": .string(name), "files": .string(String(files.count)),
            "bytes": .string(String(payloadBytes)), "tagmanifest_sha256": .string(row.tagManifestSHA256),
        ])
        return try await store.package(session: key) ?? row
    }

    // MARK: Pieces

    struct SignatureFiles: Sendable {
        var id: Int64
        var format: String
        var signature: [UInt8]
        var signedBytes: [UInt8]
        var certificatePEM: String?
        var handwriting: Data?
        var document: CanonicalJSON
    }

    func signatureRecords(session: String) async throws -> [SignatureFiles] {
        try await store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.id, s.request_id, s.received_ns, s.verdict, s.reason, s.format, s.algorithm, s.signer_fingerprint, s.signer_name,
                       s.certificate_pem, s.signature, s.signature_sha256, c.station_id, c.roster_entry, c.purpose, c.document_sha256,
                       c.signed_bytes, (SELECT h.strokes_json FROM handwritten_signatures h WHERE h.signature_id = s.id ORDER BY h.id DESC LIMIT 1) AS strokes
                FROM signatures s JOIN challenges c ON c.request_id = s.request_id
                WHERE c.session_id = ? ORDER BY s.id
                """, arguments: [session]).map { row in
                let id: Int64 = row["id"]
                let format: String = row["format"]
                let signature: Data = row["signature"]
                let signed: Data = row["signed_bytes"]
                let strokes: String? = row["strokes"]
                var document: [String: CanonicalJSON] = [
                    "signature_id": .integer(id), "request": .string(row["request_id"]),
                    "received": .string(Text.iso8601(nanoseconds: row["received_ns"])), "verdict": .string(row["verdict"]),
                    "reason": .string(row["reason"]), "format": .string(format), "station": .string(row["station_id"]),
                    "roster_entry": .string(row["roster_entry"]), "purpose": .string(row["purpose"]),
                    "document_sha256": .string(row["document_sha256"]), "signature_sha256": .string(row["signature_sha256"]),
                    "signed_bytes": .string("\(id).signed"), "signature": .string("\(id)" + (format == "cms" ? ".p7s" : ".sig")),
                ]
                if let algorithm: String = row["algorithm"] { document["algorithm"] = .string(algorithm) }
                if let fingerprint: String = row["signer_fingerprint"] { document["signer_certificate_sha256"] = .string(fingerprint) }
                if let name: String = row["signer_name"] { document["signer_name"] = .string(name) }
                let pem: String? = row["certificate_pem"]
                if pem != nil { document["certificate"] = .string("\(id).crt.pem") }
                if strokes != nil { document["handwriting"] = .string("../checkins/handwriting-\(id).json") }
                return SignatureFiles(id: id, format: format, signature: Array(signature), signedBytes: Array(signed), certificatePEM: pem,
                                      handwriting: strokes.map { Data($0.utf8) }, document: .object(document))
            }
        }
    }

    static func fileSafe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}
