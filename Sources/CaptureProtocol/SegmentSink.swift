/// A segment about to receive its first byte.
public struct SegmentOpened: Sendable, Equatable {
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
}

/// A segment closed: fsync'ed, its folder fsync'ed, hashed.
public struct SegmentClosed: Sendable, Equatable {
    public var wallEndNanoseconds: Int64
    public var frames: Int64
    public var droppedFrames: Int64
    public var audioXruns: Int64
    public var bytes: Int64
    public var sha256: String
    /// Why it closed: `boundary`, `stop`, `device-lost`, `disk-full`, `error`.
    public var reason: String
}

/// A fragment made durable in a segment still being written (progress, so a
/// crash can be bounded and repaired precisely).
public struct SegmentProgress: Sendable, Equatable {
    public var durableBytes: Int64
    public var wallEndNanoseconds: Int64
    public var frames: Int64
}

/// Something that happened to a device, for the event log and the ledger.
public struct CaptureEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case deviceMissing = "device.missing"
        case deviceLost = "device.lost"
        case deviceReturned = "device.returned"
        case framesDropped = "capture.frames-dropped"
        case audioXrun = "capture.audio-xrun"
        case segmentClosed = "segment.closed"
        case diskFull = "storage.disk-full"
        case diskSpaceReturned = "storage.space-returned"
        case recordingError = "capture.error"
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
}
