import Archive
public import CaptureProtocol
public import CaptureSupervisor
import Foundation
import Glibc
public import Logging

/// Connects recorders to the segment index and the event log. Called on
/// recorder threads; GRDB's synchronous API blocks only that thread.
public final class IndexSink: CaptureIndex, Sendable {
    public let index: SegmentIndex
    public let store: RoomStore
    public let logger: Logger

    public init(index: SegmentIndex, store: RoomStore, logger: Logger) {
        self.index = index
        self.store = store
        self.logger = logger
    }

    public func nextSequence(device: String) throws -> Int64 { try index.nextSequence(device: device) }

    public func segmentOpened(_ segment: SegmentOpened) throws -> Int64 {
        try index.opened(device: segment.device, sequence: segment.sequence, path: segment.path,
                         wallStartNs: segment.wallStartNanoseconds, monotonicStartNs: segment.monotonicStartNanoseconds,
                         videoCodec: segment.videoCodec, audioCodec: segment.audioCodec, synthetic: segment.synthetic)
    }

    public func segmentProgressed(id: Int64, _ progress: SegmentProgress) {
        do {
            try index.progressed(id: id, durableBytes: progress.durableBytes, wallEndNs: progress.wallEndNanoseconds, frames: progress.frames)
        } catch {
            logger.error("segment progress not recorded", metadata: ["id": .string(String(id)), "error": .string("\(error)")])
        }
    }

    public func segmentClosed(id: Int64, _ closed: SegmentClosed) throws {
        try index.closed(id: id, wallEndNs: closed.wallEndNanoseconds, frames: closed.frames, droppedFrames: closed.droppedFrames,
                         audioXruns: closed.audioXruns, bytes: closed.bytes, sha256: closed.sha256, reason: closed.reason)
        if let path = try index.path(id: id) { seal(path) }
    }

    public func segmentRecovered(id: Int64, wallStartNanoseconds: Int64, report: RepairReport) throws {
        try index.recovered(id: id, wallEndNs: wallStartNanoseconds + report.durationNanoseconds, frames: report.videoFrames,
                            bytes: report.bytes, sha256: report.sha256, reason: "crash-recovered")
        if let path = try index.path(id: id) { seal(path) }
    }

    /// A segment whose hash is in the index is never written again: its file
    /// becomes read-only (0440). roomd's user owns it, and a capture helper —
    /// the only writer of segments, running as that user — may not chmod it
    /// back (its seccomp filter), so the file system itself keeps the helper
    /// from rewriting it. (Root would not be stopped; the service never runs as root.)
    public func seal(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & 0o222 != 0 else { return }
        if chmod(path, info.st_mode & 0o7777 & ~0o222) != 0 {
            logger.warning("closed segment could not be made read-only / 录像片段未能设为只读",
                           metadata: ["path": .string(path), "error": .string(String(cString: strerror(errno)))])
        }
    }

    public func captureEvent(_ event: CaptureEvent) {
        let severity: String = switch event.kind {
        case .segmentClosed, .deviceReturned, .diskSpaceReturned: "info"
        case .framesDropped, .audioXrun: "warning"
        case .deviceMissing, .deviceLost, .recordingError, .helperExited: "error"
        case .diskFull: "critical"
        }
        do {
            try store.appendEventNow(kind: event.kind.rawValue, severity: severity, subject: event.device,
                                     detail: event.detail, at: event.wallNanoseconds)
        } catch {
            logger.critical("could not store capture event; evidence may be incomplete / 录像事件未能写入",
                            metadata: ["kind": .string(event.kind.rawValue), "error": .string("\(error)")])
        }
    }
}

/// Start-up agreement between the index and the disk (Moonfire-NVR's rule:
/// nothing is dropped silently).
public struct IndexRecovery {
    public let index: SegmentIndex
    public let sink: IndexSink
    public let logger: Logger
    public let root: String
    /// Cuts a file back to its last whole fragment and hashes it (`roomd-capture repair`).
    public let repair: (String) throws -> RepairReport

    public init(index: SegmentIndex, sink: IndexSink, logger: Logger, root: String, repair: @escaping (String) throws -> RepairReport) {
        self.index = index
        self.sink = sink
        self.logger = logger
        self.root = root
        self.repair = repair
    }

    /// What the start-up pass did; `refused` when the disk looked unmounted.
    public struct Outcome: Sendable {
        public var recovered = 0
        public var markedMissing = 0
        public var orphansIndexed = 0
        public var refused: RecordingCheck.Report?
    }

    @discardableResult
    public func run() throws -> Outcome {
        var outcome = Outcome()
        // 0. The disk as a whole: if more than half of the indexed files are
        //    gone, the recordings disk is probably not mounted. Then nothing is
        //    marked missing, nothing re-indexed (retention refuses too): an
        //    operator must look first.
        let check = try RecordingCheck.run(index: index, root: root, listFiles: false)
        if check.storageLooksUnavailable {
            outcome.refused = check
            sink.captureEvent(CaptureEvent(kind: .recordingError, device: "storage", wallNanoseconds: wallNow(), detail: [
                "problem": "recording.storage-unavailable",
                "missing": String(check.missing.count), "indexed": String(check.indexedWithFiles),
                "action": "more than half of the indexed segment files are missing: is the recordings disk mounted? Nothing was marked missing or re-indexed, and retention is refused until this is resolved / 半数以上录像文件缺失，请检查录像磁盘是否挂载",
            ]))
            logger.critical("more than half of the indexed segment files are missing; refusing to mark or re-index / 半数以上录像文件缺失", metadata: [
                "missing": .string(String(check.missing.count)), "indexed": .string(String(check.indexedWithFiles)), "root": .string(root),
            ])
        }
        // 1. Segments being written when roomd stopped: cut back to the last
        //    whole fragment, rehash, mark recovered.
        for row in try index.rows(state: .writing) {
            guard FileManager.default.fileExists(atPath: row.path) else {
                guard outcome.refused == nil else { continue }
                try index.markMissing(id: row.id)
                outcome.markedMissing += 1
                sink.captureEvent(CaptureEvent(kind: .recordingError, device: row.device, wallNanoseconds: wallNow(),
                                               detail: ["segment": String(row.id), "path": row.path, "problem": "file of a writing segment is missing"]))
                continue
            }
            let repaired = try repair(row.path)
            try sink.segmentRecovered(id: row.id, wallStartNanoseconds: row.wallStartNs, report: repaired)
            outcome.recovered += 1
            logger.warning("segment recovered after unclean stop", metadata: [
                "path": .string(row.path), "kept": .string(String(repaired.bytes)), "removed": .string(String(repaired.removedBytes)),
            ])
            sink.captureEvent(.segmentRepaired(id: row.id, device: row.device, path: row.path, report: repaired,
                                               problem: "recovered after unclean stop"))
        }
        guard outcome.refused == nil else { return outcome }
        // 2. Rows whose file is gone (not by retention); the files of the
        //    others read-only (those closed before roomd sealed them, or sealed
        //    by hand and reopened).
        let deleted = try index.retentionMarked()
        for state in [SegmentIndex.State.closed, .recovered, .orphan] {
            for row in try index.rows(state: state) where !deleted.contains(row.id) {
                guard !FileManager.default.fileExists(atPath: row.path) else {
                    sink.seal(row.path)
                    continue
                }
                try index.markMissing(id: row.id)
                outcome.markedMissing += 1
                sink.captureEvent(CaptureEvent(kind: .recordingError, device: row.device, wallNanoseconds: wallNow(),
                                               detail: ["segment": String(row.id), "path": row.path, "problem": "segment file is missing"]))
            }
        }
        // 3. Files with no row.
        let known = try index.allPaths()
        guard let walker = FileManager.default.enumerator(atPath: root) else { return outcome }
        for case let relative as String in walker where relative.hasSuffix(".mp4") {
            let path = root + "/" + relative
            guard !known.contains(path) else { continue }
            let device = String(relative.split(separator: "/").first ?? "unknown")
            let repaired = try repair(path)
            let start = Self.wallStart(fromName: path) ?? 0
            let id = try index.indexOrphan(device: device, path: path, wallStartNs: start, wallEndNs: start + repaired.durationNanoseconds,
                                           frames: repaired.videoFrames, bytes: repaired.bytes, sha256: repaired.sha256)
            outcome.orphansIndexed += 1
            sink.seal(path)
            sink.captureEvent(CaptureEvent(kind: .recordingError, device: device, wallNanoseconds: wallNow(),
                                           detail: ["segment": String(id), "path": path, "problem": "file found without an index row; indexed as orphan"]))
        }
        return outcome
    }

    private func wallNow() -> Int64 { sink.store.clock.now().nanoseconds }

    /// `…/20261126T175800Z_000012.mp4` → ns since the epoch.
    public static func wallStart(fromName path: String) -> Int64? {
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        let stamp = Array(name.prefix(16))
        guard stamp.count == 16, stamp[8] == "T", stamp[15] == "Z" else { return nil }
        func num(_ range: Range<Int>) -> Int32? { Int32(String(stamp[range])) }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8), let h = num(9..<11), let mi = num(11..<13), let s = num(13..<15)
        else { return nil }
        var t = tm()
        t.tm_year = y - 1900; t.tm_mon = mo - 1; t.tm_mday = d; t.tm_hour = h; t.tm_min = mi; t.tm_sec = s
        return Int64(timegm(&t)) * 1_000_000_000
    }
}
