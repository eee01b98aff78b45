import Archive
import Canonical
import CaptureProtocol
import CaptureSupervisor
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import NIOCore
import RoomConfig
import Store
import Synchronization

/// Recordings on demand (docs/formats.md, "Recording routes"): the timeline,
/// stored segments as they are (with Range), browser renditions, exports
/// remuxed by `roomd-capture export` and streamed while they are made, the
/// live pictures, and the disk check. Every view, download and export is
/// written to the ledger with who asked (``RecordingAccessAudit``).
struct RecordingRoutes: Sendable {
    let archive: RecordingArchive

    /// Ranges a timeline may span (a month and a day: one bar per device per month).
    static let maximumTimelineNanoseconds: Int64 = 32 * 86_400_000_000_000
    /// Ranges one export or dossier may span: four hours of one device is ~15 GB of 1080p MJPEG.
    static let maximumExportNanoseconds: Int64 = 4 * 3_600_000_000_000

    func register<Routes: RouteRegistrar>(on routes: Routes, who: @escaping @Sendable (Routes.Context) -> String) {
        let archive = self.archive
        routes.get("/v1/recordings/devices", roles: [.supervisor, .operator],
                   purpose: "the room's recorded devices: configuration, first and last recording") { _, _ in
            try Response.json(try await archive.devices())
        }
        routes.get("/v1/recordings/timeline", roles: [.supervisor, .operator],
                   purpose: "recorded spans and gaps with reasons, per device, over a time range") { request, _ in
            let (from, to) = try Self.range(request, limit: Self.maximumTimelineNanoseconds, what: "timeline")
            let devices = try await archive.resolve(devices: request.uri.queryParameters.get("devices"))
            return try Response.json(try await archive.timeline(devices: devices, from: from, to: to))
        }
        routes.get("/v1/recordings/segments", roles: [.supervisor, .operator, .platform],
                   purpose: "the stored segments of one device overlapping a time range (index rows)") { request, _ in
            let (from, to) = try Self.range(request, limit: Self.maximumTimelineNanoseconds, what: "segment list")
            guard let asked = request.uri.queryParameters.get("device"), !asked.isEmpty, !asked.contains(","),
                  let device = try await archive.resolve(devices: asked).first else {
                throw Refusal.badQuery("query parameter device (one device) is required")
            }
            return try Response.json(try await archive.segments(device: device, from: from, to: to, limit: 10_000))
        }
        routes.get("/v1/recordings/check", roles: [.supervisor, .operator],
                   purpose: "disk against index: present, missing, changed and unindexed segment files") { _, _ in
            try Response.json(try await archive.check())
        }
        routes.get("/v1/recordings/exports/:export/manifest.json", roles: [.supervisor, .operator],
                   purpose: "the manifest of a finished export (source segments and hashes, cut points, who, when)") { _, context in
            let id = try context.parameters.require("export")
            guard let manifest = try await archive.manifest(export: id) else {
                throw Refusal(.notFound, code: "no-such-export", chinese: "没有该导出记录（导出未完成或编号有误）。",
                              english: "no finished export \(id)")
            }
            return LedgerRoutes.text(manifest, type: "application/json; charset=utf-8")
        }
        routes.get("/v1/recordings/export.mp4", roles: [.supervisor, .operator],
                   purpose: "one device's recording over a range as one MP4, remuxed (never re-encoded), streamed while it is made") { request, context in
            let (from, to) = try Self.range(request, limit: Self.maximumExportNanoseconds, what: "export")
            guard let asked = request.uri.queryParameters.get("device"), !asked.isEmpty,
                  let device = try await archive.resolve(devices: asked).first else {
                throw Refusal.badQuery("query parameter device is required")
            }
            guard !asked.contains(",") else {
                throw Refusal.badQuery("one device per export (one MP4 each); ask once per device (roomctl recordings export --device A,B does)")
            }
            return try await archive.export(device: device, from: from, to: to, who: who(context))
        }
        routes.get("/v1/recordings/dossier.tar", roles: [.supervisor],
                   purpose: "a complaint dossier: clips, original segments, session events, ledger proofs against a signed checkpoint (tar)") { request, context in
            let (from, to) = try Self.range(request, limit: Self.maximumExportNanoseconds, what: "dossier")
            guard let session = request.uri.queryParameters.get("session"), !session.isEmpty, session.utf8.count <= 128 else {
                throw Refusal.badQuery("query parameter session is required")
            }
            let devices = try await archive.resolve(devices: request.uri.queryParameters.get("devices"))
            return try await archive.dossier(session: session, devices: devices, from: from, to: to, who: who(context))
        }
        routes.get("/v1/recordings/segments/:segment", roles: [.supervisor, .platform],
                   purpose: "one stored segment exactly as recorded (HTTP Range)") { request, context in
            let row = try await archive.segment(try Self.segmentID(context))
            await archive.audit.record("recording.downloaded", who: who(context), what: ["segment": String(row.id), "device": row.device,
                                                                                       "sha256": row.sha256 ?? ""], dedupe: true)
            return try await archive.serveFile(row.path, request: request, context: context, type: "video/mp4",
                                               filename: (row.path as NSString).lastPathComponent)
        }
        routes.get("/v1/recordings/segments/:segment/rendition.mp4", roles: [.supervisor, .operator],
                   purpose: "a browser-playable copy of one segment (H.264), made on first request and cached") { request, context in
            let row = try await archive.segment(try Self.segmentID(context))
            await archive.audit.record("recording.viewed", who: who(context), what: ["segment": String(row.id), "device": row.device], dedupe: true)
            return try await archive.rendition(row, request: request, context: context)
        }
        routes.get("/v1/recordings/live/:device", roles: [.supervisor, .operator],
                   purpose: "the latest picture of a device (JPEG), at most a second old while it records") { _, context in
            let device = try context.parameters.require("device")
            let name = device.hasSuffix(".jpg") ? String(device.dropLast(4)) : device
            await archive.audit.record("recording.live-viewed", who: who(context), what: ["device": name], dedupe: true)
            return try await archive.still(device: name)
        }
    }

    /// The station page's own camera (check-in: the expert sees what is recorded).
    func registerStation(on routes: APIRouteTable) {
        let archive = self.archive
        routes.get("/v1/station/picture", roles: [.station],
                   purpose: "the calling station's own camera: its latest picture (JPEG) for the check-in page") { _, context in
            guard let station = context.peer?.stationID else {
                throw Refusal(.forbidden, code: "not-a-station", chinese: "仅评审终端可查看本机摄像头画面。", english: "not a station")
            }
            return try await archive.still(device: station)
        }
    }

    static func segmentID(_ context: some RequestContext) throws -> Int64 {
        let text = try context.parameters.require("segment")
        guard text.utf8.count <= 18, let id = Int64(text), id > 0 else {
            throw Refusal.badQuery("segment must be a positive integer (the index row's id)")
        }
        return id
    }

    /// `from` and `to`: ISO 8601 (`2026-12-04T10:00:00Z`, `+08:00`, fractions) or nanoseconds since the epoch.
    static func range(_ request: Request, limit: Int64, what: String) throws -> (Int64, Int64) {
        let query = request.uri.queryParameters
        guard let fromText = query.get("from"), let toText = query.get("to") else {
            throw Refusal.badQuery("query parameters from and to are required (ISO 8601 or nanoseconds since the epoch)")
        }
        guard let from = RecordingTime.parse(fromText), let to = RecordingTime.parse(toText) else {
            throw Refusal.badQuery("from/to must be ISO 8601 (2026-12-04T10:00:00+08:00) or nanoseconds since the epoch")
        }
        guard from < to else {
            throw Refusal(.badRequest, code: "reversed-range", chinese: "时间范围有误：开始时间必须早于结束时间。",
                          english: "from (\(Text.iso8601(nanoseconds: from))) must be before to (\(Text.iso8601(nanoseconds: to)))")
        }
        guard to - from <= limit else {
            throw Refusal(.badRequest, code: "range-too-large",
                          chinese: "时间范围过大：单次\(what == "timeline" || what == "segment list" ? "查询" : "导出")最多 \(limit / 3_600_000_000_000) 小时，请缩小范围或分段进行。",
                          english: "a \(what) may span at most \(limit / 3_600_000_000_000) h; ask for smaller ranges")
        }
        return (from, to)
    }
}

/// Times in recording queries.
enum RecordingTime {
    static func parse(_ text: String) -> Int64? {
        guard text.utf8.count <= 40 else { return nil }
        if let ns = Int64(text), ns >= 0, ns < 4_102_444_800_000_000_000 { return ns }
        guard let wall = CivilTime.parseRFC3339(text), wall.nanoseconds >= 0 else { return nil }
        return wall.nanoseconds
    }
}

/// Who looked at, downloaded or exported what, and when: each one a ledger
/// entry (with its event). A player asks for the same segment in many Range
/// requests, and a live wall for a picture a second: those repeat within ten
/// minutes are one entry, not hundreds.
final class RecordingAccessAudit: Sendable {
    let events: EventRecorder
    let clock: any RoomClock
    private let recent = Mutex<[String: Int64]>([:])
    static let dedupeWindow: Int64 = 600_000_000_000

    init(events: EventRecorder, clock: any RoomClock) {
        self.events = events
        self.clock = clock
    }

    func record(_ kind: String, who: String, what: [String: String], dedupe: Bool = false) async {
        let now = clock.monotonic()
        if dedupe {
            let key = kind + "\u{0}" + who + "\u{0}" + what.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            let fresh = recent.withLock { recent -> Bool in
                if recent.count > 10_000 { recent = recent.filter { now - $0.value < Self.dedupeWindow } }
                if let last = recent[key], now - last < Self.dedupeWindow { return false }
                recent[key] = now
                return true
            }
            guard fresh else { return }
        }
        var detail = what
        detail["who"] = who
        await events.record(kind: kind, severity: "info", subject: what["device"] ?? what["session"], detail: detail, actor: who)
    }
}
