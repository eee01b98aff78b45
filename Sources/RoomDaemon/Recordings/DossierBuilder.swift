import Archive
import Canonical
import CaptureSupervisor
import Foundation
import Glibc
import GRDB
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import RoomConfig
import Store

/// The complaint dossier (docs/formats.md, "Complaint dossier"): for a
/// session and a time range, the exported clips, the original segments they
/// were cut from, the session's events in the window, and ledger entries with
/// inclusion proofs against one signed checkpoint for all of it — so that
/// `roomctl recordings verify` (or anyone with the documented format) can check
/// it with no roomd and no database. Streamed as one tar.
extension RecordingArchive {
    struct DossierFile {
        var name: String
        var path: String
        var bytes: Int64
    }

    func dossier(session: String, devices: [String], from: Int64, to: Int64, who: String) async throws -> Response {
        let known = try await store.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM session_definitions WHERE session_id = ?)", arguments: [session]) ?? false
        }
        guard known else {
            throw Refusal(.notFound, code: "unknown-session", chinese: "没有该评审场次：\(session)。", english: "no session \(session) in this room")
        }
        let id = try Digest.randomHex(8)
        let work = config.storage.stateDirectory + "/dossiers/" + id
        try await runBlocking { try FileManager.default.createDirectory(atPath: work + "/clips", withIntermediateDirectories: true) }
        do {
            let files = try await assembleDossier(id: id, work: work, session: session, devices: devices, from: from, to: to, who: who)
            let mtime = store.clock.now().nanoseconds / 1_000_000_000
            let name = "dossier-\(session)-\(Self.compactTime(from)).tar"
            return Response(status: .ok, headers: [
                .contentType: "application/x-tar", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"\(name)\"",
                HTTPField.Name("Roomd-Dossier-Id")!: id,
            ], body: ResponseBody { writer in
                defer { try? FileManager.default.removeItem(atPath: work) }
                for file in files {
                    var header = ByteBuffer()
                    header.writeBytes(Tar.header(name: "dossier/" + file.name, size: file.bytes, mtime: mtime))
                    try await writer.write(header)
                    var offset: Int64 = 0
                    while offset < file.bytes {
                        let path = file.path, at = offset
                        let chunk = try await runBlocking { () throws -> Data in
                            guard let handle = FileHandle(forReadingAtPath: path) else { throw TarFailure(description: "cannot read \(path)") }
                            defer { try? handle.close() }
                            try handle.seek(toOffset: UInt64(at))
                            return try handle.read(upToCount: 1 << 20) ?? Data()
                        }
                        guard !chunk.isEmpty else { throw TarFailure(description: "\(path) is shorter than when the dossier was made") }
                        let part = chunk.prefix(Int(file.bytes - offset))
                        offset += Int64(part.count)
                        var buffer = ByteBuffer()
                        buffer.writeBytes(part)
                        try await writer.write(buffer)
                    }
                    let pad = Tar.padding(size: file.bytes)
                    if pad > 0 { try await writer.write(ByteBuffer(bytes: [UInt8](repeating: 0, count: pad))) }
                }
                try await writer.write(ByteBuffer(bytes: Tar.end))
                try await writer.finish(nil)
            })
        } catch {
            try? await runBlocking { try FileManager.default.removeItem(atPath: work) }
            throw error
        }
    }

    struct TarFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes the dossier's own files into `work` and returns every file of
    /// the tar in order (generated ones and the original segments, which are
    /// read where they lie).
    private func assembleDossier(id: String, work: String, session: String, devices: [String], from: Int64, to: Int64,
                                 who: String) async throws -> [DossierFile] {
        var files: [DossierFile] = []
        var entries: Set<Int> = []
        var deviceDocs: [CanonicalJSON] = []
        func add(_ name: String, _ bytes: Data) throws {
            let path = work + "/" + name.replacingOccurrences(of: "/", with: "__")
            try bytes.write(to: URL(fileURLWithPath: path))
            files.append(DossierFile(name: name, path: path, bytes: Int64(bytes.count)))
        }
        let timeline = try await self.timeline(devices: devices, from: from, to: to)
        for device in devices {
            let sources = try await exportSources(device: device, from: from, to: to)
            var doc: [String: CanonicalJSON] = ["device": .string(device)]
            let gaps = timeline.devices.first { $0.device == device }?.gaps ?? []
            doc["gaps"] = .array(gaps.map { .object(["start_ns": .integer($0.start), "end_ns": .integer($0.end),
                                                      "reason": .string($0.reason.rawValue), "detail": .string($0.detail)]) })
            guard !sources.isEmpty else {
                doc["clip"] = .null
                doc["segments"] = []
                deviceDocs.append(.object(doc))
                continue
            }
            // The clip, exported like any export (its manifest in the ledger).
            let clipPath = work + "/clips/\(device).mp4"
            let (exportID, usedSources, process) = try await startExport(device: device, from: from, to: to, who: who, purpose: "dossier \(id)")
            guard FileManager.default.createFile(atPath: clipPath, contents: nil), let handle = FileHandle(forWritingAtPath: clipPath) else {
                process.process.cancel()
                throw TarFailure(description: "cannot write \(clipPath)")
            }
            let finished: FinishedExport
            do {
                finished = try await relayExport(id: exportID, device: device, from: from, to: to, who: who, sources: usedSources,
                                                 process: process) { data in
                    try await runBlocking { try data.withUnsafeReadableBytes { try handle.write(contentsOf: $0) } }
                }
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            files.append(DossierFile(name: "clips/\(device).mp4", path: clipPath, bytes: finished.bytes))
            try add("clips/\(device).manifest.json", Data(finished.manifest.utf8))
            let exportEntry = try await ledgerEntry(kind: "recording.exported", key: "export", value: exportID)
            if let exportEntry { entries.insert(exportEntry) }
            doc["clip"] = .string("clips/\(device).mp4")
            doc["clip_sha256"] = .string(finished.sha256)
            doc["manifest"] = .string("clips/\(device).manifest.json")
            doc["export"] = .string(exportID)
            doc["export_entry"] = exportEntry.map { .integer(Int64($0)) } ?? .null
            var segmentDocs: [CanonicalJSON] = []
            for row in usedSources {
                let file = "segments/\(device)/" + (row.path as NSString).lastPathComponent
                files.append(DossierFile(name: file, path: row.path, bytes: row.bytes ?? 0))
                // The entry that carries the segment's hash: segment.closed, or the repair's capture.error.
                var entry = try await ledgerEntry(kind: "segment.closed", key: "id", value: String(row.id))
                if entry == nil { entry = try await ledgerEntry(kind: "capture.error", key: "segment", value: String(row.id), requireSHA: true) }
                if let entry { entries.insert(entry) }
                segmentDocs.append(.object([
                    "segment": .integer(row.id), "file": .string(file), "sha256": .string(row.sha256 ?? ""), "bytes": .integer(row.bytes ?? 0),
                    "start_ns": .integer(row.wallStartNs), "end_ns": .integer(row.wallEndNs ?? row.wallStartNs),
                    "entry": entry.map { .integer(Int64($0)) } ?? .null,
                ]))
            }
            doc["segments"] = .array(segmentDocs)
            deviceDocs.append(.object(doc))
        }
        // The session's events in the window, each with its ledger entry.
        struct EventRow: Sendable {
            var sequence: Int64, atMs: Int64, actor: String, command: String, event: Data, ledgerSeq: Int64
        }
        let events = try await store.pool.read { db -> [EventRow] in
            try Row.fetchAll(db, sql: """
                SELECT sequence, at_ms, actor, command, event, ledger_seq FROM session_events
                WHERE session_id = ? AND at_ms >= ? AND at_ms < ? ORDER BY sequence
                """, arguments: [session, from / 1_000_000, (to + 999_999) / 1_000_000]).map {
                EventRow(sequence: $0["sequence"], atMs: $0["at_ms"], actor: $0["actor"], command: $0["command"], event: $0["event"],
                         ledgerSeq: $0["ledger_seq"])
            }
        }
        var lines = Data()
        for row in events {
            let seq = row.ledgerSeq
            entries.insert(Int(seq))
            let line: CanonicalJSON = .object([
                "session": .string(session), "sequence": .integer(row.sequence), "at_ms": .integer(row.atMs),
                "actor": .string(row.actor), "command": .string(row.command),
                "event": try CanonicalJSON(parsing: Array(row.event)), "ledger_seq": .integer(seq),
            ])
            lines += Data(try line.canonicalBytes()) + Data("\n".utf8)
        }
        try add("session/events.jsonl", lines)
        // dossier.json names every file above with its hash; its own hash goes into the ledger.
        var listed: [CanonicalJSON] = []
        for file in files {
            let path = file.path
            let sha = try await runBlocking { try SHA256Hasher.file(path) }
            listed.append(.object(["path": .string(file.name), "sha256": .string(sha), "bytes": .integer(file.bytes)]))
        }
        let createdAt = store.clock.now().nanoseconds
        let index: CanonicalJSON = .object([
            "type": "roomd-dossier", "version": 1, "dossier": .string(id), "room": .string(config.room.id), "session": .string(session),
            "from": .string(Text.iso8601(nanoseconds: from)), "to": .string(Text.iso8601(nanoseconds: to)),
            "from_ns": .integer(from), "to_ns": .integer(to), "created_by": .string(who), "created_at": .string(Text.iso8601(nanoseconds: createdAt)),
            "devices": .array(deviceDocs), "session_events": "session/events.jsonl",
            "checkpoint": "ledger/checkpoint.txt", "room_certificate": "ledger/room-certificate.pem", "proofs": "ledger/proofs/",
            "files": .array(listed),
        ])
        let indexBytes = Data(try index.canonicalBytes())
        let indexSHA = Digest.sha256Hex(indexBytes)
        await audit.record("recording.dossier", who: who, what: [
            "dossier": id, "session": session, "from": Text.iso8601(nanoseconds: from), "to": Text.iso8601(nanoseconds: to),
            "devices": devices.joined(separator: ","), "dossier_sha256": indexSHA,
        ])
        if let entry = try await ledgerEntry(kind: "recording.dossier", key: "dossier", value: id) { entries.insert(entry) }
        // One signed checkpoint covering all of it; every proof is against it.
        let ledger = self.ledger
        let stored = try await runBlocking { try ledger.checkpoint(reason: "recording.dossier", force: true) }
        guard let checkpoint = stored else { throw TarFailure(description: "no checkpoint could be signed") }
        files.insert(DossierFile(name: "dossier.json", path: work + "/dossier.json", bytes: Int64(indexBytes.count)), at: 0)
        try indexBytes.write(to: URL(fileURLWithPath: work + "/dossier.json"))
        try add("ledger/checkpoint.txt", Data(checkpoint.checkpoint.text.utf8))
        try add("ledger/room-certificate.pem", ledger.certificatePEM)
        for seq in entries.sorted() {
            let size = checkpoint.checkpoint.size
            let document = try await runBlocking { try ledger.ledger.inclusionProofDocument(entry: seq, treeSize: size) }
            try add("ledger/proofs/\(seq).json", Data(try document.canonicalBytes()))
        }
        try add("README.txt", Data(Self.dossierReadme.utf8))
        return files
    }

    /// The ledger seq of the newest event `kind` whose detail has `key` = `value`.
    func ledgerEntry(kind: String, key: String, value: String, requireSHA: Bool = false) async throws -> Int? {
        try await store.pool.read { db -> Int? in
            guard let event = try Row.fetchOne(db, sql: """
                SELECT id, time_ns FROM events WHERE kind = ? AND json_extract(detail, '$.' || ?) = ?
                  \(requireSHA ? "AND json_extract(detail, '$.sha256') IS NOT NULL" : "") ORDER BY id DESC LIMIT 1
                """, arguments: [kind, key, value]) else { return nil }
            let eventID: Int64 = event["id"], time: Int64 = event["time_ns"]
            for row in try Row.fetchAll(db, sql: "SELECT seq, entry FROM ledger_entry WHERE kind = ? AND time_ns = ?", arguments: [kind, time]) {
                let bytes: Data = row["entry"]
                if case .object(let entry)? = try? CanonicalJSON(parsing: Array(bytes)),
                   case .object(let payload)? = entry["payload"], payload["event"] == .integer(eventID) {
                    return row["seq"]
                }
            }
            return nil
        }
    }

    static let dossierReadme = """
        roomd complaint dossier / 投诉调查录像材料

        dossier.json             what this is: room, session, range, devices; every file with its SHA-256
        clips/<device>.mp4       the range of each device as one MP4, remuxed from the segments (never re-encoded)
        clips/<device>.manifest.json  the export's manifest: source segments and hashes, cut points, who, when
        segments/<device>/*.mp4  the original segments, byte for byte as recorded
        session/events.jsonl     the session's commands in the window
        ledger/checkpoint.txt    a signed checkpoint of the room's audit ledger (RFC 9162 Merkle tree)
        ledger/room-certificate.pem  the room's signing certificate (check it against the agency's records)
        ledger/proofs/<seq>.json inclusion proofs of the ledger entries that carry the segments' hashes,
                                 the exports' manifests, the session's events and this dossier's index

        Verify offline / 离线核验:  roomctl recordings verify <this folder or tar>
        It checks every hash, every proof against the checkpoint, the checkpoint's signature, that each
        segment's hash is the one the ledger recorded when it was written, that each clip is the one its
        manifest (in the ledger) names, and — when ffmpeg is installed — that each clip's frames are the
        segments' frames byte for byte. docs/formats.md of roomd describes every field.
        """
}
