public import Foundation

/// A segment about to receive its first byte.
public struct SegmentOpened: Sendable, Equatable, Codable {
    public var device: String
    public var sequence: Int64
    public var path: String
    /// Wall-clock time (ns since the Unix epoch) of the first frame.
    public var wallStartNanoseconds: Int64
    /// CLOCK_MONOTONIC time of the first frame: with `wallStartNanoseconds`
    /// this is the segment's monotonic→wall mapping.
    public var monotonicStartNanoseconds: Int64
    public var videoCodec: String?
    public var audioCodec: String?
    public var synthetic: Bool

    public init(device: String, sequence: Int64, path: String, wallStartNanoseconds: Int64, monotonicStartNanoseconds: Int64,
                videoCodec: String?, audioCodec: String?, synthetic: Bool) {
        self.device = device
        self.sequence = sequence
        self.path = path
        self.wallStartNanoseconds = wallStartNanoseconds
        self.monotonicStartNanoseconds = monotonicStartNanoseconds
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
        self.synthetic = synthetic
    }
}

/// A segment closed: fsync'ed, its folder fsync'ed, hashed.
public struct SegmentClosed: Sendable, Equatable, Codable {
    public var wallEndNanoseconds: Int64
    public var frames: Int64
    public var droppedFrames: Int64
    public var audioXruns: Int64
    public var bytes: Int64
    public var sha256: String
    /// Why it closed: `boundary`, `stop`, `device-lost`, `disk-full`, `error`.
    public var reason: String

    public init(wallEndNanoseconds: Int64, frames: Int64, droppedFrames: Int64, audioXruns: Int64, bytes: Int64, sha256: String,
                reason: String) {
        self.wallEndNanoseconds = wallEndNanoseconds
        self.frames = frames
        self.droppedFrames = droppedFrames
        self.audioXruns = audioXruns
        self.bytes = bytes
        self.sha256 = sha256
        self.reason = reason
    }
}

/// A fragment made durable in a segment still being written (progress, so a
/// crash can be bounded and repaired precisely).
public struct SegmentProgress: Sendable, Equatable, Codable {
    public var durableBytes: Int64
    public var wallEndNanoseconds: Int64
    public var frames: Int64

    public init(durableBytes: Int64, wallEndNanoseconds: Int64, frames: Int64) {
        self.durableBytes = durableBytes
        self.wallEndNanoseconds = wallEndNanoseconds
        self.frames = frames
    }
}

/// Something that happened to a device, for the event log and the ledger.
public struct CaptureEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case deviceMissing = "device.missing"
        case deviceLost = "device.lost"
        case deviceReturned = "device.returned"
        case framesDropped = "capture.frames-dropped"
        case audioXrun = "capture.audio-xrun"
        case segmentClosed = "segment.closed"
        case diskFull = "storage.disk-full"
        case diskSpaceReturned = "storage.space-returned"
        case recordingError = "capture.error"
        /// The capture helper process of a device ended without being asked to.
        case helperExited = "capture.helper-exited"
    }
    public var kind: Kind
    public var device: String
    public var wallNanoseconds: Int64
    public var detail: [String: String]

    public init(kind: Kind, device: String, wallNanoseconds: Int64, detail: [String: String]) {
        self.kind = kind
        self.device = device
        self.wallNanoseconds = wallNanoseconds
        self.detail = detail
    }
}

/// Where a recorder reports: the daemon implements it over the SQLite segment
/// index and the event log. Called on recorder threads; must be thread-safe,
/// and `segmentOpened` must be durable before it returns (the index row comes
/// before the first byte of the file).
public protocol SegmentSink: AnyObject, Sendable {
    func nextSequence(device: String) throws -> Int64
    func segmentOpened(_ segment: SegmentOpened) throws -> Int64
    func segmentProgressed(id: Int64, _ progress: SegmentProgress)
    func segmentClosed(id: Int64, _ closed: SegmentClosed) throws
    func captureEvent(_ event: CaptureEvent)
    /// The newest picture of a device (``Still``), about every
    /// ``Still/interval``. Must return at once: it is called on the recorder
    /// thread, between frames. Sinks that show no pictures need not implement it.
    func still(_ still: Still)
}

extension SegmentSink {
    /// Sinks that show no pictures (the segment index, tests) ignore stills.
    public func still(_ still: Still) {}
}

/// The latest picture of a device, as a JPEG: what the live wall and the
/// check-in page show, refreshed about twice a second without reading the
/// evidence files. Never evidence itself: it is neither stored nor hashed.
///
/// An MJPEG camera's still is one of its own frames, byte for byte; a raw
/// camera's is scaled to at most ``maximumWidth`` pixels wide and encoded
/// by the capture helper.
public struct Still: Sendable, Equatable {
    public var device: String
    /// Wall-clock time (ns since the Unix epoch) the picture was captured.
    public var wallNanoseconds: Int64
    public var jpeg: Data

    public init(device: String, wallNanoseconds: Int64, jpeg: Data) {
        self.device = device
        self.wallNanoseconds = wallNanoseconds
        self.jpeg = jpeg
    }

    /// How often a recorder makes one (of wall time, ±one frame): twice a
    /// second, so a page refreshing once a second always has a new picture.
    public static let interval: Int64 = 500_000_000
    /// Raw pictures are scaled down to at most this width (aspect kept, even
    /// dimensions): enough for a tile of the live wall, cheap to encode.
    public static let maximumWidth = 480
    /// A still older than this shows a device that stopped delivering
    /// pictures (lost, or its helper restarting): shown as stale, not live.
    public static let staleAfter: Int64 = 5_000_000_000

    /// Whether the picture is recent enough to show as live at wall time `now`
    /// (ns since the Unix epoch). A picture stamped in the future (the wall
    /// clock stepped back) counts as fresh.
    public func isFresh(now: Int64 = MonotonicClock.wallNow()) -> Bool {
        now - wallNanoseconds <= Self.staleAfter
    }
}
