import Canonical
import CaptureProtocol
import CaptureSupervisor
import Foundation
import Glibc
import GRDB
import HTTPTypes
import Hummingbird
import Identity
import Logging
import NIOCore
import RoomConfig
import Store
import Synchronization

/// The recordings as supervisors reach them: reads of the index, files served
/// as they are, exports and renditions made by `roomd-capture`. Originals are
/// only ever read.
final class RecordingArchive: Sendable {
    let store: RoomStore
    let config: RoomConfiguration
    let recording: RecordingService
    let ledger: RoomLedger
    let audit: RecordingAccessAudit
    let logger: Logger
    let helperPath: String
    let sandbox: Bool
    let renditions: RenditionCache
    /// Spans of closed segments between timeline queries (a month is ~390,000 rows).
    let spanCache = TimelineSpanCache()

    struct DeviceInfo: Codable, Sendable {
        var device: String
        var kind: String
        var name: String
        var video: String?
        var audio: String?
        var configured: Bool
        var firstRecordedNs: Int64?
        var lastRecordedNs: Int64?
        var recording: Bool
    }

    init(store: RoomStore, config: RoomConfiguration, recording: RecordingService, ledger: RoomLedger, events: EventRecorder, logger: Logger) {
        self.store = store
        self.ledger = ledger
        self.config = config
        self.recording = recording
        self.logger = logger
        audit = RecordingAccessAudit(events: events, clock: store.clock)
        helperPath = recording.helperPath
        sandbox = config.storage.captureSandbox
        renditions = RenditionCache(directory: config.storage.stateDirectory + "/renditions", limitBytes: 2 << 30,
                                    runner: RenditionRunner(helperPath: recording.helperPath, sandbox: config.storage.captureSandbox),
                                    logger: logger)
    }

    /// At start: dossiers being assembled when roomd stopped are working
    /// copies (clips exported again on request), and partial renditions
    /// are unfinished: both go. Evidence never lives in either folder.
    func sweepLeftovers() {
        let dossiers = config.storage.stateDirectory + "/dossiers"
        if let names = try? FileManager.default.contentsOfDirectory(atPath: dossiers), !names.isEmpty {
            for name in names { try? FileManager.default.removeItem(atPath: dossiers + "/" + name) }
            logger.notice("removed unfinished dossier folders", metadata: ["count": .string(String(names.count))])
        }
        let renditions = renditions.directory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: renditions)) ?? [] where name.hasSuffix(".partial.mp4") {
            unlink(renditions + "/" + name)
        }
    }

    // MARK: Index reads

    func devices() async throws -> [DeviceInfo] {
        var list: [DeviceInfo] = config.stations.compactMap { station in
            guard station.camera != nil || station.microphone != nil else { return nil }
            return DeviceInfo(device: station.id, kind: "station", name: station.id, video: station.camera?.label,
                              audio: station.microphone?.label, configured: true, recording: false)
        }
        list += config.roomCameras.map {
            DeviceInfo(device: $0.id, kind: "room-camera", name: $0.name, video: $0.camera.label, audio: $0.microphone?.label,
                       configured: true, recording: false)
        }
        // Every device in the index with its first and last recording, by
        // index seeks only (a loose index scan: one seek per device), never
        // a scan of the month's rows.
        let recorded = try await store.pool.read { db -> [(String, Int64, Int64)] in
            let devices = try String.fetchAll(db, sql: """
                WITH RECURSIVE d(device) AS (
                    SELECT MIN(device) FROM segments
                    UNION ALL
                    SELECT (SELECT MIN(device) FROM segments WHERE device > d.device) FROM d WHERE d.device IS NOT NULL)
                SELECT device FROM d WHERE device IS NOT NULL
                """)
            return try devices.map { device in
                let first = try Int64.fetchOne(db, sql: "SELECT wall_start_ns FROM segments WHERE device = ? ORDER BY wall_start_ns LIMIT 1",
                                               arguments: [device]) ?? 0
                let last = try Int64.fetchOne(db, sql: """
                    SELECT COALESCE(wall_end_ns, wall_start_ns) FROM segments WHERE device = ? ORDER BY wall_start_ns DESC LIMIT 1
                    """, arguments: [device]) ?? first
                return (device, first, last)
            }
        }
        for (device, first, last) in recorded {
            if let i = list.firstIndex(where: { $0.device == device }) {
                list[i].firstRecordedNs = first
                list[i].lastRecordedNs = last
            } else {
                list.append(DeviceInfo(device: device, kind: "no longer configured", name: device, configured: false,
                                       firstRecordedNs: first, lastRecordedNs: last, recording: false))
            }
        }
        let live = Dictionary(recording.devices.map { ($0.configuration.device, $0.status.state == .recording) }, uniquingKeysWith: { a, _ in a })
        for i in list.indices { list[i].recording = live[list[i].device] ?? false }
        return list
    }

    /// A comma-separated device list (nil: every device), each one known.
    func resolve(devices text: String?) async throws -> [String] {
        let known = try await devices().map(\.device)
        guard let text, !text.isEmpty else { return known }
        let asked = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard asked.count <= 64 else { throw Refusal.badQuery("at most 64 devices per request") }
        let unknown = asked.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw Refusal(.notFound, code: "unknown-device", chinese: "设备不存在：\(unknown.joined(separator: "、"))。",
                          english: "unknown device(s) \(unknown.joined(separator: ", ")); this room has \(known.joined(separator: ", "))")
        }
        return asked
    }

    func timeline(devices: [String], from: Int64, to: Int64) async throws -> RecordingTimeline {
        let now = store.clock.now().nanoseconds, cache = spanCache
        return try await store.pool.read { db in try RecordingTimeline.build(db, devices: devices, from: from, to: to, now: now, cache: cache) }
    }

    struct SegmentInfo: Codable, Sendable {
        var id: Int64
        var device: String
        var sequence: Int64
        var file: String
        var startNs: Int64
        var endNs: Int64?
        var state: String
        var frames: Int64
        var bytes: Int64?
        var sha256: String?
        var videoCodec: String?
        var audioCodec: String?
        var deleted: Bool
    }

    /// Segments of `device` overlapping [from, to), oldest first.
    func segments(device: String, from: Int64, to: Int64, limit: Int) async throws -> [SegmentInfo] {
        try await store.pool.read { db in try Self.segmentRows(db, device: device, from: from, to: to, limit: limit) }
    }

    static func segmentRows(_ db: Database, device: String, from: Int64, to: Int64, limit: Int) throws -> [SegmentInfo] {
        try overlapping(db, device: device, from: from, to: to, limit: limit).map { row, deleted in
            SegmentInfo(id: row.id, device: row.device, sequence: row.sequence, file: (row.path as NSString).lastPathComponent,
                        startNs: row.wallStartNs, endNs: row.wallEndNs, state: row.state.rawValue, frames: row.frames, bytes: row.bytes,
                        sha256: row.sha256, videoCodec: row.videoCodec, audioCodec: row.audioCodec, deleted: deleted)
        }
    }

    /// The index rows of `device` overlapping [from, to), oldest first, each
    /// with whether retention marked it (gone, or about to be).
    static func overlapping(_ db: Database, device: String, from: Int64, to: Int64, limit: Int) throws
        -> [(row: SegmentIndex.Row, deleted: Bool)] {
        let rows = try SegmentIndex.Row.fetchAll(db, sql: """
            SELECT * FROM (SELECT * FROM segments WHERE device = ? AND wall_start_ns < ? ORDER BY wall_start_ns DESC LIMIT 1)
            WHERE COALESCE(wall_end_ns, wall_start_ns) > ?
            UNION ALL
            SELECT * FROM (SELECT * FROM segments WHERE device = ? AND wall_start_ns >= ? AND wall_start_ns < ? ORDER BY wall_start_ns LIMIT ?)
            """, arguments: [device, from, from, device, from, to, limit])
        let ids = rows.map(\.id)
        let deleted = ids.isEmpty ? [] : Set(try Int64.fetchAll(db, sql: "SELECT segment_id FROM retention_marks WHERE segment_id IN (\(databaseQuestionMarks(count: ids.count)))",
                                                              arguments: StatementArguments(ids)))
        return rows.map { ($0, deleted.contains($0.id)) }
    }

    /// One segment whose file may be read: closed (or recovered, orphan) and not deleted.
    func segment(_ id: Int64) async throws -> SegmentIndex.Row {
        let (row, deleted) = try await store.pool.read { db in
            (try SegmentIndex.Row.fetchOne(db, sql: "SELECT * FROM segments WHERE id = ?", arguments: [id]),
             try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM retention_marks WHERE segment_id = ?)", arguments: [id]) ?? false)
        }
        guard let row else {
            throw Refusal(.notFound, code: "no-such-segment", chinese: "没有该录像片段。", english: "no segment \(id) in the index")
        }
        guard !deleted else {
            throw Refusal(.gone, code: "segment-deleted", chinese: "该录像片段已按保存期限删除（其哈希仍保留在索引和账本中）。",
                          english: "segment \(id) was deleted by retention; its hash stays in the index and the ledger")
        }
        switch row.state {
        case .closed, .recovered, .orphan: return row
        case .writing:
            throw Refusal(.conflict, code: "segment-open", chinese: "该录像片段仍在写入，请稍后（片段结束后）再试。",
                          english: "segment \(id) is still being written; it can be read once it is closed")
        case .missing:
            throw Refusal(.gone, code: "segment-missing", chinese: "该录像片段的文件缺失，已记录告警。", english: "segment \(id)'s file is missing")
        }
    }

    func check() async throws -> RecordingCheck.Report {
        let index = store.segments, root = config.storage.recordingsDirectory
        return try await runBlocking { try RecordingCheck.run(index: index, root: root) }
    }

    // MARK: Files

    /// A file as it is, with a single HTTP Range when asked.
    func serveFile(_ path: String, request: Request, context: some RequestContext, type: String, filename: String? = nil) async throws -> Response {
        let size = try await runBlocking { () -> Int in
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw Refusal(.gone, code: "file-missing", chinese: "文件缺失。", english: "\(path) is missing")
            }
            return Int(info.st_size)
        }
        var headers: HTTPFields = [.contentType: type, .acceptRanges: "bytes", .cacheControl: "private, max-age=3600"]
        if let filename { headers[.contentDisposition] = "inline; filename=\"\(filename)\"" }
        let io = FileIO(threadPool: BlockingWork.pool)
        guard let header = request.headers[.range] else {
            headers[.contentLength] = String(size)
            guard size > 0 else { return Response(status: .ok, headers: headers) }
            return Response(status: .ok, headers: headers, body: try await io.loadFile(path: path, range: 0...(size - 1), context: context))
        }
        guard let range = Self.byteRange(header, size: size) else {
            headers[.contentRange] = "bytes */\(size)"
            var refusal = Refusal(.rangeNotSatisfiable, code: "bad-range", chinese: "请求的字节范围无效。",
                                  english: "Range \(header) does not fit a file of \(size) bytes (one range, bytes=a-b)")
            refusal.headers = [.contentRange: "bytes */\(size)"]
            throw refusal
        }
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        headers[.contentLength] = String(range.count)
        return Response(status: .partialContent, headers: headers, body: try await io.loadFile(path: path, range: range, context: context))
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range; several are refused).
    static func byteRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int(last), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let a = Int(first), a >= 0, a < size else { return nil }
        if last.isEmpty { return a...(size - 1) }
        guard let b = Int(last), b >= a else { return nil }
        return a...min(b, size - 1)
    }

    // MARK: Live pictures

    func still(device: String) async throws -> Response {
        _ = try await resolve(devices: device)
        guard let still = recording.latestStill(device: device) else {
            throw Refusal(.notFound, code: "no-picture", chinese: "该设备暂无画面（未在录像或刚刚启动），请稍候。",
                          english: "no picture from \(device) yet (not recording, or just started)")
        }
        let age = store.clock.now().nanoseconds - still.wallNanoseconds
        var buffer = ByteBuffer()
        buffer.writeBytes(still.jpeg)
        return Response(status: .ok, headers: [
            .contentType: "image/jpeg", .cacheControl: "no-store",
            HTTPField.Name("Roomd-Picture-Time")!: Text.iso8601(nanoseconds: still.wallNanoseconds),
            HTTPField.Name("Roomd-Picture-Age-Ms")!: String(max(0, age / 1_000_000)),
        ], body: .init(byteBuffer: buffer))
    }

    // MARK: Renditions

    func rendition(_ row: SegmentIndex.Row, request: Request, context: some RequestContext) async throws -> Response {
        // H.264 (and audio-only AAC) segments already play in a browser: served as they are.
        if row.videoCodec != "mjpeg" {
            return try await serveFile(row.path, request: request, context: context, type: "video/mp4")
        }
        switch try await renditions.lookup(segment: row.id, source: row.path) {
        case .ready(let path):
            return try await serveFile(path, request: request, context: context, type: "video/mp4")
        case .growing(let path, let job):
            // Being made: the fragments written so far, then the rest as they come.
            return Response(status: .ok, headers: [.contentType: "video/mp4", .cacheControl: "no-store"],
                            body: ResponseBody { writer in
                                var offset = 0
                                while true {
                                    let at = offset
                                    let (chunk, done) = try await runBlocking { () -> (Data, Bool) in
                                        let done = job.isDone
                                        guard let handle = FileHandle(forReadingAtPath: path) else { return (Data(), true) }
                                        defer { try? handle.close() }
                                        try handle.seek(toOffset: UInt64(at))
                                        return (try handle.read(upToCount: 256 << 10) ?? Data(), done)
                                    }
                                    if chunk.isEmpty {
                                        if done { break }
                                        try await Task.sleep(for: .milliseconds(40))
                                        continue
                                    }
                                    offset += chunk.count
                                    var buffer = ByteBuffer()
                                    buffer.writeBytes(chunk)
                                    try await writer.write(buffer)
                                }
                                try await writer.finish(nil)
                            })
        }
    }
}

/// Browser renditions of MJPEG segments, made by `roomd-capture rendition`
/// on first request into `<state>/renditions/`, kept under a size bound
/// (least recently used go first). Never in the recordings folder.
final class RenditionCache: Sendable {
    let directory: String
    let limitBytes: Int64
    let runner: RenditionRunner
    let logger: Logger
    private let jobs = Mutex<[Int64: Job]>([:])

    final class Job: Sendable {
        private let state = Mutex<(done: Bool, failure: String?)>((false, nil))
        var isDone: Bool { state.withLock { $0.done } }
        var failure: String? { state.withLock { $0.failure } }
        func finish(_ failure: String?) { state.withLock { $0 = (true, failure) } }
    }

    enum Lookup {
        case ready(String)
        case growing(String, Job)
    }

    init(directory: String, limitBytes: Int64, runner: RenditionRunner, logger: Logger) {
        self.directory = directory
        self.limitBytes = limitBytes
        self.runner = runner
        self.logger = logger
    }

    func lookup(segment: Int64, source: String) async throws -> Lookup {
        let final = "\(directory)/\(segment).mp4", partial = "\(directory)/\(segment).partial.mp4"
        let cached = try await runBlocking { () -> Bool in
            guard FileManager.default.fileExists(atPath: final) else { return false }
            utime(final, nil)
            return true
        }
        if cached { return .ready(final) }
        let (job, start) = jobs.withLock { jobs -> (Job, Bool) in
            if let job = jobs[segment] { return (job, false) }
            let job = Job()
            jobs[segment] = job
            return (job, true)
        }
        if start {
            let runner = self.runner, directory = self.directory, logger = self.logger
            try await runBlocking {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                unlink(partial)
            }
            let started: (pid: pid_t, stdout: Int32)
            do {
                started = try await runBlocking { try runner.start(input: source, output: partial, width: 640) }
            } catch {
                job.finish("\(error)")
                _ = jobs.withLock { $0.removeValue(forKey: segment) }
                throw error
            }
            // The helper runs on; its end is waited for on a thread of its own.
            let thread = Thread { [self] in
                do {
                    _ = try runner.finish(pid: started.pid, stdout: started.stdout)
                    rename(partial, final)
                    job.finish(nil)
                    evict()
                } catch {
                    logger.error("rendition failed / 转码失败", metadata: ["segment": .string(String(segment)), "error": .string("\(error)")])
                    unlink(partial)
                    job.finish("\(error)")
                }
                _ = jobs.withLock { $0.removeValue(forKey: segment) }
            }
            thread.name = "roomd-rendition"
            thread.start()
        }
        // Wait until the helper created the file (or failed).
        let path = partial
        for _ in 0..<200 {
            if let failure = job.failure {
                throw Refusal(.internalServerError, code: "rendition-failed", chinese: "无法生成可播放的视频，请稍后重试或下载原始片段。",
                              english: "rendition of segment \(segment) failed: \(failure)")
            }
            let done = job.isDone
            let (whole, growing) = try await runBlocking {
                (FileManager.default.fileExists(atPath: final), FileManager.default.fileExists(atPath: path))
            }
            if done, whole { return .ready(final) }
            if growing { return .growing(path, job) }
            if whole { return .ready(final) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Refusal(.serviceUnavailable, code: "rendition-slow", chinese: "视频转码尚未开始，请稍后重试。",
                      english: "rendition of segment \(segment) did not start within 4 s")
    }

    /// Keeps the folder under its bound: least recently served first.
    func evict() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        var files: [(path: String, size: Int64, used: Int)] = names.filter { $0.hasSuffix(".mp4") && !$0.contains(".partial") }.compactMap {
            var info = stat()
            let path = directory + "/" + $0
            guard stat(path, &info) == 0 else { return nil }
            return (path, Int64(info.st_size), max(info.st_atim.tv_sec, info.st_mtim.tv_sec))
        }
        var total = files.reduce(Int64(0)) { $0 + $1.size }
        files.sort { $0.used < $1.used }
        for file in files where total > limitBytes {
            unlink(file.path)
            total -= file.size
        }
    }
}
