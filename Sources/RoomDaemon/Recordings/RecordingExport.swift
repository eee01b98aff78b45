import Canonical
import CaptureProtocol
import CaptureSupervisor
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import RoomConfig
import Store

extension RecordingArchive {
    /// The closed segments of `device` an export of [from, to) reads, oldest first.
    func exportSources(device: String, from: Int64, to: Int64) async throws -> [SegmentIndex.Row] {
        try await store.pool.read { db in
            // A segment cut back to nothing by a crash repair (its helper was
            // killed before its first fragment) holds no media: nothing to remux.
            try Self.overlapping(db, device: device, from: from, to: to, limit: 2_000).filter { row, deleted in
                !deleted && [.closed, .recovered, .orphan].contains(row.state) && (row.wallEndNs ?? row.wallStartNs) > row.wallStartNs
            }.map(\.row)
        }
    }

    struct FinishedExport: Sendable {
        var id: String
        var sha256: String
        var bytes: Int64
        var manifest: String
        var report: ExportReport
    }

    /// Starts `roomd-capture export` for [from, to) of `device` (after the
    /// checks a caller needs: sources exist), recording `recording.export-started`.
    func startExport(device: String, from: Int64, to: Int64, who: String, purpose: String) async throws
        -> (id: String, sources: [SegmentIndex.Row], process: ExportRun) {
        let sources = try await exportSources(device: device, from: from, to: to)
        guard !sources.isEmpty else {
            throw Refusal(.notFound, code: "nothing-recorded", chinese: "该时间范围内没有可导出的录像（请查看时间轴上的录像与中断）。",
                          english: "\(device) has no closed segment between \(Text.iso8601(nanoseconds: from)) and \(Text.iso8601(nanoseconds: to)); see the timeline")
        }
        let id = try Digest.randomHex(8)
        let request = ExportRequest(segments: sources.map { ExportRequest.Segment(path: $0.path, wallStartNanoseconds: $0.wallStartNs, videoCodec: $0.videoCodec, audioCodec: $0.audioCodec) },
                                    fromNanoseconds: from, toNanoseconds: to, copyByReference: true)
        let process: ExportProcess
        let digest = RelayDigest()
        do {
            process = try ExportProcess(helperPath: helperPath, sandbox: sandbox, request: request) { digest.hasher.update($0) }
        } catch {
            throw Refusal(.serviceUnavailable, code: "export-unavailable", chinese: "导出程序无法启动，请联系代理机构管理员。",
                          english: "roomd-capture export could not start: \(error)")
        }
        await audit.record("recording.export-started", who: who, what: [
            "export": id, "device": device, "from": Text.iso8601(nanoseconds: from), "to": Text.iso8601(nanoseconds: to),
            "segments": sources.map { String($0.id) }.joined(separator: ","), "purpose": purpose,
        ])
        return (id, sources, ExportRun(process: process, digest: digest))
    }

    /// Relays the export's bytes to `sink` while hashing them, then checks
    /// them against the helper's report and records the manifest
    /// (`recording.exported`). A failure or a cancelled client kills the
    /// helper and is recorded as `recording.export-cancelled`.
    func relayExport(id: String, device: String, from: Int64, to: Int64, who: String, sources: [SegmentIndex.Row], process run: ExportRun,
                     sink: (ByteBuffer) async throws -> Void) async throws -> FinishedExport {
        let process = run.process
        var sent: Int64 = 0
        var report: ExportReport?
        do {
            for try await chunk in process.chunks {
                switch chunk {
                case .data(let data):
                    sent += Int64(data.readableBytes)
                    try await sink(data)
                    process.consumed()
                case .report(let final):
                    report = final
                }
            }
        } catch {
            process.cancel()
            await audit.record("recording.export-cancelled", who: who, what: [
                "export": id, "device": device, "bytes_sent": String(sent), "why": "\(error)",
            ])
            throw error
        }
        guard let report else { throw ExportProcess.Failure(code: "helper-failed", message: "no report") }
        // The stream ended: the reader thread has hashed every chunk it handed on.
        let sha = run.digest.hasher.finishHex()
        // roomd's own hash of what it relayed is the clip's hash (manifest, ledger); the helper's
        // count guards against a relay that lost or gained bytes.
        guard sent == report.bytes, report.sha256 == nil || report.sha256 == sha else {
            await audit.record("recording.export-cancelled", who: who, what: [
                "export": id, "device": device, "why": "relayed bytes (\(sent), \(sha)) differ from the helper's report (\(report.bytes), \(report.sha256 ?? "-"))",
            ])
            throw ExportProcess.Failure(code: "export-corrupted", message: "relayed bytes differ from what the helper wrote")
        }
        let manifest = try Self.manifest(id: id, room: config.room.id, device: device, from: from, to: to, sources: sources,
                                         report: report, sha256: sha, who: who, at: store.clock.now().nanoseconds)
        await audit.record("recording.exported", who: who, what: [
            "export": id, "device": device, "sha256": sha, "bytes": String(sent), "manifest": manifest,
        ])
        return FinishedExport(id: id, sha256: sha, bytes: sent, manifest: manifest, report: report)
    }

    /// An export as one streamed MP4; its manifest is stored (event and
    /// ledger entry `recording.exported`) once the last byte went out, and
    /// served at `/v1/recordings/exports/<id>/manifest.json`.
    func export(device: String, from: Int64, to: Int64, who: String) async throws -> Response {
        let (id, sources, process) = try await startExport(device: device, from: from, to: to, who: who, purpose: "download")
        let archive = self
        let name = "\(device)_\(Self.compactTime(from))-\(Self.compactTime(to)).mp4"
        return Response(status: .ok, headers: [
            .contentType: "video/mp4", .cacheControl: "no-store",
            .contentDisposition: "attachment; filename=\"\(name)\"",
            HTTPField.Name("Roomd-Export-Id")!: id,
        ], body: ResponseBody { writer in
            let finished = try await archive.relayExport(id: id, device: device, from: from, to: to, who: who, sources: sources,
                                                         process: process) { try await writer.write($0) }
            try await writer.finish([HTTPField.Name("Roomd-Export-Sha256")!: finished.sha256])
        })
    }

    /// The manifest of a finished export, as stored in its ledger entry.
    func manifest(export id: String) async throws -> String? {
        guard id.utf8.count == 16, id.allSatisfy(\.isHexDigit) else { return nil }
        return try await store.pool.read { db in
            try String.fetchOne(db, sql: """
                SELECT json_extract(detail, '$.manifest') FROM events
                WHERE kind = 'recording.exported' AND json_extract(detail, '$.export') = ? ORDER BY id DESC LIMIT 1
                """, arguments: [id])
        }
    }

    /// Canonical JSON (docs/formats.md, "Export manifest").
    static func manifest(id: String, room: String, device: String, from: Int64, to: Int64, sources: [SegmentIndex.Row],
                         report: ExportReport, sha256: String, who: String, at: Int64) throws -> String {
        let used = Dictionary(report.segments.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let document: CanonicalJSON = .object([
            "type": "roomd-export", "version": 1, "export": .string(id), "room": .string(room), "device": .string(device),
            "requested": .object(["from": .string(Text.iso8601(nanoseconds: from)), "to": .string(Text.iso8601(nanoseconds: to)),
                                  "from_ns": .integer(from), "to_ns": .integer(to)]),
            "cut": .object([
                "first_frame": .string(Text.iso8601(nanoseconds: report.firstFrameWallNanoseconds)),
                "first_frame_ns": .integer(report.firstFrameWallNanoseconds),
                "last_frame_ns": .integer(report.lastFrameWallNanoseconds),
                "duration_ns": .integer(report.durationNanoseconds),
                "video_frames": .integer(report.videoFrames), "audio_packets": .integer(report.audioPackets),
            ]),
            "clip": .object([
                "sha256": .string(sha256), "bytes": .integer(report.bytes),
                "video_codec": report.videoCodec.map(CanonicalJSON.string) ?? .null,
                "audio_codec": report.audioCodec.map(CanonicalJSON.string) ?? .null,
                "container": "fragmented MP4, moov first (frag_keyframe+empty_moov+default_base_moof), never re-encoded: whole segments' fragments copied, the ends remuxed",
            ]),
            "sources": .array(sources.map { row in
                var source: [String: CanonicalJSON] = [
                    "segment": .integer(row.id), "sequence": .integer(row.sequence), "file": .string((row.path as NSString).lastPathComponent),
                    "sha256": .string(row.sha256 ?? ""), "bytes": .integer(row.bytes ?? 0), "start_ns": .integer(row.wallStartNs),
                    "end_ns": .integer(row.wallEndNs ?? row.wallStartNs), "state": .string(row.state.rawValue),
                ]
                if let use = used[row.path] {
                    source["packets_used"] = .integer(use.packets)
                    source["first_used_ns"] = .integer(use.firstPacketWallNanoseconds)
                    source["last_used_ns"] = .integer(use.lastPacketWallNanoseconds)
                    source["taken"] = use.copied == true ? "copied" : "remuxed"
                }
                return .object(source)
            }),
            "exported_by": .string(who), "exported_at": .string(Text.iso8601(nanoseconds: at)),
        ])
        return String(decoding: try document.canonicalBytes(), as: UTF8.self)
    }

    static func compactTime(_ ns: Int64) -> String {
        CivilTime.iso8601(seconds: ns / 1_000_000_000).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
    }
}

/// An export's helper and the hash of what roomd relayed (computed on the
/// reader thread; read once the stream has ended).
struct ExportRun: Sendable {
    let process: ExportProcess
    let digest: RelayDigest
}

final class RelayDigest: @unchecked Sendable {
    let hasher = SHA256Hasher()
}
