import Foundation

// Wire types of the recording routes (docs/formats.md, "Recording routes"),
// shared by roomd (which builds them from the index) and roomctl (which
// prints them).

/// What was recorded, and what was not and why, for a set of devices over a
/// time range (docs/formats.md, "Recording timeline"). Built from the segment
/// index, the retention tables and the event log; read-only.
///
/// - A **span** is a run of segments of one device that follow each other
///   with no hole longer than ``RecordingTimeline/contiguityTolerance``; one
///   span per uninterrupted stretch, however many segments it holds.
/// - A **gap** is a stretch of the range with no recording, or a stretch of
///   a span that lost frames or audio: each has a reason taken from the
///   events around it, and "unexplained" when none fits (never a guess).
public struct RecordingTimeline: Codable, Sendable, Equatable {
    public var from: Int64
    public var to: Int64
    public var devices: [Device]

    public struct Device: Codable, Sendable, Equatable {
        public var device: String
        public var spans: [Span]
        public var gaps: [Gap]
        /// Recorded nanoseconds in the range (spans clipped to it).
        public var recordedNanoseconds: Int64

        public init(device: String, spans: [Span], gaps: [Gap], recordedNanoseconds: Int64) {
            self.device = device
            self.spans = spans
            self.gaps = gaps
            self.recordedNanoseconds = recordedNanoseconds
        }
    }

    public init(from: Int64, to: Int64, devices: [Device]) {
        self.from = from
        self.to = to
        self.devices = devices
    }

    public struct Span: Codable, Sendable, Equatable {
        public var start: Int64
        public var end: Int64
        /// `recorded` (files present), `deleted` (removed by retention; the
        /// index keeps their hashes), `missing` (the file is gone without
        /// retention: an alarm was raised when it was noticed).
        public var state: String
        public var segments: Int
        public var firstSegment: Int64
        public var lastSegment: Int64
        public var frames: Int64
        public var droppedFrames: Int64
        public var audioXruns: Int64
        public var bytes: Int64
        /// True while the last segment is still being written.
        public var open: Bool
        public var videoCodec: String?
        public var audioCodec: String?

        public init(start: Int64, end: Int64, state: String, segments: Int, firstSegment: Int64, lastSegment: Int64, frames: Int64,
                    droppedFrames: Int64, audioXruns: Int64, bytes: Int64, open: Bool, videoCodec: String?, audioCodec: String?) {
            self.start = start; self.end = end; self.state = state; self.segments = segments
            self.firstSegment = firstSegment; self.lastSegment = lastSegment; self.frames = frames
            self.droppedFrames = droppedFrames; self.audioXruns = audioXruns; self.bytes = bytes; self.open = open
            self.videoCodec = videoCodec; self.audioCodec = audioCodec
        }
    }

    public struct Gap: Codable, Sendable, Equatable {
        public var start: Int64
        public var end: Int64
        public var reason: Reason
        /// The event(s) the reason comes from, in words (English), e.g.
        /// "capture.helper-exited at 2026-12-04T10:00:01Z: status 9".
        public var detail: String

        public init(start: Int64, end: Int64, reason: Reason, detail: String) {
            self.start = start
            self.end = end
            self.reason = reason
            self.detail = detail
        }
    }

    public enum Reason: String, Codable, Sendable, CaseIterable {
        case deviceLost = "device-lost"
        case droppedFrames = "dropped-frames"
        case audioXrun = "audio-xrun"
        case helperRestarted = "helper-restarted"
        case daemonNotRunning = "daemon-not-running"
        case diskFull = "disk-full"
        case deletedByRetention = "deleted-by-retention"
        case fileMissing = "file-missing"
        case notYetRecorded = "not-yet-recorded"
        case unexplained

        /// For pages and Chinese reports.
        public var chinese: String {
            switch self {
            case .deviceLost: "设备断开或未找到"
            case .droppedFrames: "丢帧"
            case .audioXrun: "音频溢出"
            case .helperRestarted: "录像进程重启"
            case .daemonNotRunning: "roomd 未运行"
            case .diskFull: "磁盘已满"
            case .deletedByRetention: "按保存期限删除"
            case .fileMissing: "录像文件缺失"
            case .notYetRecorded: "尚未录制"
            case .unexplained: "原因不明"
            }
        }
    }
}


/// `roomctl recordings check`'s report: the index against the disk.
public struct RecordingCheckReport: Codable, Sendable {
    public struct Item: Codable, Sendable, Equatable {
        public var segment: Int64
        public var device: String
        public var path: String
        public var detail: String

        public init(segment: Int64, device: String, path: String, detail: String) {
            self.segment = segment
            self.device = device
            self.path = path
            self.detail = detail
        }
    }

    public var root: String
    public var rows: Int
    public var byState: [String: Int]
    /// Rows whose files retention deleted (kept as evidence of what was recorded).
    public var deletedByRetention: Int
    /// Rows that should have a file on disk.
    public var indexedWithFiles: Int
    public var present: Int
    public var missing: [Item]
    public var sizeMismatches: [Item]
    /// Files under the recordings folder that no row names (nil when not listed).
    public var notIndexed: [String]?
    /// More than half of the files that should be there are not: an unmounted disk, not lost segments.
    public var storageLooksUnavailable: Bool

    public var healthy: Bool { missing.isEmpty && sizeMismatches.isEmpty && (notIndexed?.isEmpty ?? true) && !storageLooksUnavailable }

    public init(root: String, rows: Int, byState: [String: Int], deletedByRetention: Int, indexedWithFiles: Int, present: Int,
                missing: [Item], sizeMismatches: [Item], notIndexed: [String]?, storageLooksUnavailable: Bool) {
        self.root = root
        self.rows = rows
        self.byState = byState
        self.deletedByRetention = deletedByRetention
        self.indexedWithFiles = indexedWithFiles
        self.present = present
        self.missing = missing
        self.sizeMismatches = sizeMismatches
        self.notIndexed = notIndexed
        self.storageLooksUnavailable = storageLooksUnavailable
    }
}
