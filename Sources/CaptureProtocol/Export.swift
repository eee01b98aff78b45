import Foundation

// What roomd and `roomd-capture export` / `roomd-capture rendition` say to
// each other. The helper parses the segments (FFmpeg); roomd only frames,
// forwards and checks.

/// `roomd-capture export` reads one line of this (JSON) on stdin: the
/// segments of one device, in order, and the wall-clock range wanted.
public struct ExportRequest: Codable, Sendable, Equatable {
    public struct Segment: Codable, Sendable, Equatable {
        public var path: String
        /// The segment's wall-clock start (the index's), ns since the epoch:
        /// its packets' timestamps count from here.
        public var wallStartNanoseconds: Int64
        /// What the index says the segment holds ("mjpeg", "h264"; "aac"),
        /// nil when it has no such track or roomd did not say: lets the
        /// helper open only the segments that define the tracks before the
        /// first byte goes out.
        public var videoCodec: String?
        public var audioCodec: String?

        public init(path: String, wallStartNanoseconds: Int64, videoCodec: String? = nil, audioCodec: String? = nil) {
            self.path = path
            self.wallStartNanoseconds = wallStartNanoseconds
            self.videoCodec = videoCodec
            self.audioCodec = audioCodec
        }
    }

    public var segments: [Segment]
    /// Wall-clock range [from, to), ns since the epoch.
    public var fromNanoseconds: Int64
    public var toNanoseconds: Int64
    /// Hash what is written and put the SHA-256 in the report (tests, tools).
    /// roomd does not ask: it hashes what it relays itself, and that hash is
    /// the one the manifest and the ledger record.
    public var hashOutput: Bool?
    /// The reader can read the segments itself: a whole `mdat` the export
    /// copies unchanged is sent as a 'C' record (which bytes of which
    /// segment) instead of its bytes. roomd asks for it: the media of an
    /// hour's middle segments (97 % of the bytes) then go from the page
    /// cache through roomd's hash to the client once, not through the pipe
    /// too. Ignored when `hashOutput` is set (the helper would have to read
    /// them to hash them).
    public var copyByReference: Bool?

    public init(segments: [Segment], fromNanoseconds: Int64, toNanoseconds: Int64, hashOutput: Bool? = nil,
                copyByReference: Bool? = nil) {
        self.segments = segments
        self.fromNanoseconds = fromNanoseconds
        self.toNanoseconds = toNanoseconds
        self.hashOutput = hashOutput
        self.copyByReference = copyByReference
    }
}

/// What an export held, sent as the last record ('R') once the MP4 is whole.
public struct ExportReport: Codable, Sendable, Equatable {
    /// One source segment's share of the export.
    public struct Segment: Codable, Sendable, Equatable {
        public var path: String
        /// Packets (video frames and audio packets) taken from it.
        public var packets: Int64
        public var firstPacketWallNanoseconds: Int64
        public var lastPacketWallNanoseconds: Int64
        /// True when its movie fragments were copied whole (only sequence
        /// numbers, track IDs and decode times rewritten) rather than remuxed.
        public var copied: Bool?

        public init(path: String, packets: Int64, firstPacketWallNanoseconds: Int64, lastPacketWallNanoseconds: Int64, copied: Bool? = nil) {
            self.path = path
            self.packets = packets
            self.firstPacketWallNanoseconds = firstPacketWallNanoseconds
            self.lastPacketWallNanoseconds = lastPacketWallNanoseconds
            self.copied = copied
        }
    }

    /// Wall clock of the first and last video frame kept (of the first and
    /// last audio packet for an export without video). The clip's time 0 is
    /// the first.
    public var firstFrameWallNanoseconds: Int64
    public var lastFrameWallNanoseconds: Int64
    /// From the first frame's start to the last frame's end (its duration included).
    public var durationNanoseconds: Int64
    public var videoFrames: Int64
    public var audioPackets: Int64
    /// The MP4 as written (the payloads of the 'D' records and the ranges of
    /// the 'C' records, in order): its size, and its
    /// SHA-256 (hex) when the request asked for it (`hashOutput`).
    public var bytes: Int64
    public var sha256: String?
    /// The segments that contributed, in order (those that gave nothing are left out).
    public var segments: [Segment]
    /// "mjpeg", "h264", "aac"; nil when the export has no such stream.
    public var videoCodec: String?
    public var audioCodec: String?

    public init(firstFrameWallNanoseconds: Int64, lastFrameWallNanoseconds: Int64, durationNanoseconds: Int64,
                videoFrames: Int64, audioPackets: Int64, bytes: Int64, sha256: String?, segments: [Segment],
                videoCodec: String?, audioCodec: String?) {
        self.firstFrameWallNanoseconds = firstFrameWallNanoseconds
        self.lastFrameWallNanoseconds = lastFrameWallNanoseconds
        self.durationNanoseconds = durationNanoseconds
        self.videoFrames = videoFrames
        self.audioPackets = audioPackets
        self.bytes = bytes
        self.sha256 = sha256
        self.segments = segments
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
    }
}

/// Why an export failed: the last record ('E'), and the helper exits nonzero.
public struct ExportFailure: Codable, Sendable, Equatable, Error, CustomStringConvertible {
    /// Machine-readable: see the constants below.
    public var code: String
    /// For the log and the operator (English).
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The request line was missing or not an ExportRequest.
    public static let badRequest = "bad-request"
    /// No segments were given.
    public static let noSegments = "no-segments"
    /// `to` is before `from`.
    public static let reversedRange = "reversed-range"
    /// Nothing to export: `from == to`, or no frame (no audio packet) lies in the range.
    public static let emptyRange = "empty-range"
    /// A segment's codec parameters (codec, size, extradata, sample rate,
    /// channels) differ from the earlier segments': an MP4 track cannot
    /// change them midway. (A segment without video or without audio is
    /// fine: a gap in that track.)
    public static let parametersChanged = "parameters-changed"
    /// A segment could not be opened or read.
    public static let unreadableSegment = "unreadable-segment"
    /// Muxing or writing the output failed.
    public static let outputFailed = "output-failed"
}

/// The framing of `roomd-capture export`'s stdout: records of
/// `[kind: 1 byte][length: 4 bytes, big-endian][payload]`.
public enum ExportRecord {
    /// MP4 bytes, in order (payloads concatenated are the file).
    public static let data: UInt8 = 0x44      // "D"
    /// The `ExportReport` (JSON): exactly once, last, on success.
    public static let report: UInt8 = 0x52    // "R"
    /// An `ExportFailure` (JSON): last, on failure.
    public static let error: UInt8 = 0x45     // "E"
    /// A range of a segment's bytes that comes next in the MP4 as it is
    /// (``FileRange``), only when the request asked for `copyByReference`.
    public static let copy: UInt8 = 0x43      // "C"

    /// The payload of a 'C' record: `length` bytes of the segment at `path`
    /// (one of the request's), from `offset`.
    public struct FileRange: Sendable, Equatable {
        public var path: String
        public var offset: Int64
        public var length: Int64

        public init(path: String, offset: Int64, length: Int64) {
            self.path = path
            self.offset = offset
            self.length = length
        }

        /// offset (8 bytes, big-endian), length (8), the path (UTF-8).
        public var payload: [UInt8] {
            Self.bigEndian(UInt64(bitPattern: offset)) + Self.bigEndian(UInt64(bitPattern: length)) + Array(path.utf8)
        }

        /// nil for a payload too short, negative numbers or an empty path.
        public init?(payload: some Collection<UInt8>) {
            let bytes = Array(payload)
            guard bytes.count > 16 else { return nil }
            let number = { (at: Int) in bytes[at..<(at + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            let offset = Int64(bitPattern: number(0)), length = Int64(bitPattern: number(8))
            guard offset >= 0, length > 0 else { return nil }
            self.init(path: String(decoding: bytes[16...], as: UTF8.self), offset: offset, length: length)
        }

        private static func bigEndian(_ value: UInt64) -> [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
        }
    }

    /// The 5 bytes before a payload of `length` bytes.
    public static func header(kind: UInt8, length: Int) -> [UInt8] {
        let n = UInt32(length)
        return [kind, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
    }

    /// The payload length a header announces.
    public static func length(ofHeader h: some Collection<UInt8>) -> Int {
        h.dropFirst().prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    /// A record's bytes.
    public static func encode(kind: UInt8, _ payload: some Collection<UInt8>) -> [UInt8] {
        header(kind: kind, length: payload.count) + payload
    }

    /// Splits a complete stream into its records; nil if it is cut short.
    public static func decode(_ bytes: [UInt8]) -> [(kind: UInt8, payload: ArraySlice<UInt8>)]? {
        var records: [(kind: UInt8, payload: ArraySlice<UInt8>)] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 5 <= bytes.count else { return nil }
            let n = length(ofHeader: bytes[offset..<(offset + 5)])
            guard offset + 5 + n <= bytes.count else { return nil }
            records.append((bytes[offset], bytes[(offset + 5)..<(offset + 5 + n)]))
            offset += 5 + n
        }
        return records
    }
}

/// `roomd-capture rendition`'s one line on stdout (JSON) once OUT is whole.
public struct RenditionReport: Codable, Sendable, Equatable {
    public var bytes: Int64
    public var videoFrames: Int64
    /// First frame's start to last frame's end (audio's, for a file without video).
    public var durationNanoseconds: Int64
    /// true: MJPEG decoded and encoded as H.264; false: streams copied.
    public var transcoded: Bool

    public init(bytes: Int64, videoFrames: Int64, durationNanoseconds: Int64, transcoded: Bool) {
        self.bytes = bytes
        self.videoFrames = videoFrames
        self.durationNanoseconds = durationNanoseconds
        self.transcoded = transcoded
    }
}
