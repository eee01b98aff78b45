import Canonical
import CaptureProtocol
import Foundation
import Logging
internal import CFFmpeg

/// Turns one session's frames and audio into wall-clock-aligned segments.
///
/// Timeline: every timestamp is CLOCK_MONOTONIC. The first item of the
/// session is time zero; video runs at 1/90000 s, audio at 1/48000 s, both
/// from that origin, so A/V stay in step. Each segment stores its own
/// monotonic→wall mapping, sampled when it opens (so NTP corrections show up
/// per segment, not as a drift).
///
/// Cutting: a segment ends at the first video frame at or after the next
/// wall-clock multiple of `segmentSeconds`; that frame is forced to be a
/// keyframe and opens the next segment — no frame is lost or repeated.
/// Audio lags video by an encoder frame or two, so the old segment stays open
/// for audio until an audio packet at or past the cut arrives (≤ 2 s).
///
/// Audio clock drift: a USB microphone's 48 kHz is not the host's. Each
/// chunk's timestamp is compared with where the sample count says it should
/// be; beyond ±15 ms the difference is filled with silence (late: a gap or a
/// slow clock) or trimmed (early: a fast clock). A/V offset therefore stays
/// within ±15 ms at all times, well inside the 40 ms the issue allows.
final class SegmentWriter {
    private let configuration: RecorderConfiguration
    /// Where the segment's wall-clock mapping and the cutting boundary come
    /// from; a test drives it (`ManualClock`) to place a cut exactly.
    private let clock: any RoomClock
    private let sink: any SegmentSink
    private let logger: Logger
    private let layout: PixelLayout?
    private let fps: Int
    private let width: Int, height: Int
    private let videoEncoder: VideoEncoder?
    private var audioEncoder: AudioEncoder?
    private let packet: UnsafeMutablePointer<AVPacket>

    private var origin: Int64?
    private var audioAnchored = false
    private var current: Segment?
    private var closing: Segment?
    private var closingSince: Int64 = 0
    private var forceKeyframe = true

    struct Totals {
        var frames: Int64 = 0, dropped: Int64 = 0, xruns: Int64 = 0, bytes: Int64 = 0, segments: Int64 = 0
        var lastClosedWall: Int64 = 0
        /// The newest fragment's (or closing segment's) write and sync, and
        /// the slowest since ``takeSlowestWrite()``; nanoseconds.
        var lastWrite: Int64 = 0, slowestWrite: Int64 = 0
    }
    private(set) var totals = Totals()

    static let driftTolerance: Int64 = 720         // samples: 15 ms
    static let maximumFill: Int64 = 96_000         // samples: 2 s; beyond, restart the audio timeline

    final class Segment {
        let writer: FragmentedMP4Writer
        let id: Int64
        let opened: SegmentOpened
        let videoStart: Int64   // 1/90000 from origin
        let audioStart: Int64   // 1/48000 from origin
        let boundaryWall: Int64
        let videoIndex: Int?, audioIndex: Int?
        var audioBoundary: Int64 = .max
        var lastFlushVideo: Int64
        var lastFlushAudio: Int64
        /// Capture time of the newest video frame written (or, for a
        /// microphone-only segment, the end of the newest audio written).
        var lastMonotonic: Int64
        var frames: Int64 = 0, dropped: Int64 = 0, xruns: Int64 = 0

        init(writer: FragmentedMP4Writer, id: Int64, opened: SegmentOpened, videoStart: Int64, audioStart: Int64,
             boundaryWall: Int64, videoIndex: Int?, audioIndex: Int?) {
            self.writer = writer; self.id = id; self.opened = opened
            self.videoStart = videoStart; self.audioStart = audioStart; self.boundaryWall = boundaryWall
            self.videoIndex = videoIndex; self.audioIndex = audioIndex
            self.lastFlushVideo = videoStart; self.lastFlushAudio = audioStart
            self.lastMonotonic = opened.monotonicStartNanoseconds
        }

        func wall(_ monotonic: Int64) -> Int64 { opened.wallStartNanoseconds + (monotonic - opened.monotonicStartNanoseconds) }
    }

    init(configuration: RecorderConfiguration, sink: any SegmentSink, logger: Logger, layout: PixelLayout?,
         size: (Int, Int, Int), encoder: VideoEncoder?, audio: AudioEncoder?, clock: any RoomClock = SystemClock()) {
        self.clock = clock
        self.configuration = configuration
        self.sink = sink
        self.logger = logger
        self.layout = layout
        self.width = size.0
        self.height = size.1
        self.fps = max(size.2, 1)
        self.videoEncoder = encoder
        self.audioEncoder = audio
        self.packet = av_packet_alloc()
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    var isRecording: Bool { current != nil }

    // MARK: Timeline

    private func video90(_ monotonic: Int64) -> Int64 { (monotonic - origin!) * 9 / 100_000 }
    private func samples(_ monotonic: Int64) -> Int64 { (monotonic - origin!) * 6 / 125_000 }

    private func boundary(after wall: Int64) -> Int64 {
        let length = Int64(configuration.segmentSeconds) * 1_000_000_000
        return (wall / length + 1) * length
    }

    // MARK: Input

    func video(_ frame: VideoFrame) throws(CaptureError) {
        if origin == nil { origin = frame.monotonicNanoseconds }
        if current == nil {
            try open(at: frame.monotonicNanoseconds)
        } else if let segment = current, segment.wall(frame.monotonicNanoseconds) >= segment.boundaryWall {
            try rotate(at: frame.monotonicNanoseconds)
        }
        guard current != nil else { return }
        if frame.droppedBefore > 0 { noteDropped(frame.droppedBefore) }
        let pts = video90(frame.monotonicNanoseconds)
        let keyframe = forceKeyframe
        forceKeyframe = false
        if layout == .mjpeg {
            // The packet references the frame's buffer: the muxer reads the
            // bytes where the source put them, no copy here.
            guard let buffer = frame.buffer else { noteDropped(1); return }
            try buffer.attach(to: packet)
            defer { av_packet_unref(packet) }
            packet.pointee.pts = pts
            packet.pointee.dts = pts
            packet.pointee.flags |= AV_PKT_FLAG_KEY
            try writeVideo(packet, monotonic: frame.monotonicNanoseconds)
        } else if let encoder = videoEncoder {
            // A raw frame the encoder would read past the end of (a driver's
            // short buffer), or of another size than the stream's, is lost —
            // counted as a drop, never handed to the scaler. Longer is fine:
            // the encoder reads only what one frame holds.
            guard frame.width == width, frame.height == height, frame.bytes.count >= frame.requiredBytes else {
                noteDropped(1)
                forceKeyframe = forceKeyframe || keyframe
                return
            }
            try encoder.encode(frame, pts: pts, keyframe: keyframe) { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in
                try self.writeVideo(p, monotonic: frame.monotonicNanoseconds)
            }
        }
    }

    func audio(_ chunk: AudioChunk) throws(CaptureError) {
        if origin == nil { origin = chunk.monotonicNanoseconds }
        guard let encoder = audioEncoder else { return }
        if layout == nil {
            if current == nil {
                try open(at: chunk.monotonicNanoseconds)
            } else if let segment = current, segment.wall(chunk.monotonicNanoseconds) >= segment.boundaryWall {
                try rotate(at: chunk.monotonicNanoseconds)
            }
        } else if current == nil {
            try open(at: chunk.monotonicNanoseconds)
        }
        if chunk.xrunBefore { noteXrun() }
        var pcm = chunk.samples
        let actual = samples(chunk.monotonicNanoseconds)
        if !audioAnchored {
            encoder.anchor(at: actual)
            audioAnchored = true
        } else {
            let difference = actual - encoder.nextPTS
            if difference > Self.maximumFill {
                // A long gap (the microphone stalled): end this audio run and start anew.
                try encoder.finish { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in try self.writeAudio(p) }
                let fresh = try AudioEncoder()
                fresh.anchor(at: actual)
                audioEncoder = fresh
                try fresh.push(pcm) { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in try self.writeAudio(p) }
                return
            } else if difference > Self.driftTolerance {
                pcm = [Int16](repeating: 0, count: Int(difference)) + pcm
            } else if difference < -Self.driftTolerance {
                pcm.removeFirst(min(pcm.count, Int(-difference)))
            }
        }
        try encoder.push(pcm) { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in try self.writeAudio(p) }
    }

    private var unreportedDrops: Int64 = 0
    private var lastDropReport: Int64 = 0

    /// Counts lost frames; reports them as an event at most every 10 s.
    func noteDropped(_ count: Int) {
        totals.dropped += Int64(count)
        current?.dropped += Int64(count)
        unreportedDrops += Int64(count)
        let now = clock.monotonic()
        if now - lastDropReport >= 10_000_000_000 {
            sink.captureEvent(CaptureEvent(kind: .framesDropped, device: configuration.device, wallNanoseconds: clock.now().nanoseconds,
                                           detail: ["frames": String(unreportedDrops), "segment": current.map { String($0.id) } ?? ""]))
            unreportedDrops = 0
            lastDropReport = now
        }
    }

    func noteAudioOverflow() { noteXrun() }

    private func noteXrun() {
        totals.xruns += 1
        current?.xruns += 1
        sink.captureEvent(CaptureEvent(kind: .audioXrun, device: configuration.device, wallNanoseconds: clock.now().nanoseconds,
                                       detail: ["segment": current.map { String($0.id) } ?? ""]))
    }

    /// Called when nothing arrived for a while: finish a segment still
    /// waiting for audio that is not coming.
    func idle() throws(CaptureError) {
        if closing != nil, clock.monotonic() - closingSince > 2_000_000_000 {
            try finishClosing(reason: "boundary")
        }
    }

    // MARK: Packets

    private func writeVideo(_ p: UnsafeMutablePointer<AVPacket>, monotonic: Int64) throws(CaptureError) {
        guard let segment = current, let index = segment.videoIndex else { return }
        // A fragment is cut once it holds a second less one frame, so a crash
        // loses less than a second even with the encoder's latency. Fragments
        // need not start on a keyframe: a file cut back to any fragment
        // boundary is a prefix of one stream that began with a keyframe.
        if p.pointee.pts - segment.lastFlushVideo >= 90_000 - Int64(90_000 / fps) {
            try flush(segment)
            segment.lastFlushVideo = p.pointee.pts
        }
        p.pointee.pts -= segment.videoStart
        p.pointee.dts -= segment.videoStart
        p.pointee.duration = Int64(90_000 / fps)
        p.pointee.stream_index = Int32(index)
        av_packet_rescale_ts(p, VideoEncoder.timeBase, segment.writer.streams[index].pointee.time_base)
        try segment.writer.write(p)
        segment.frames += 1
        segment.lastMonotonic = max(segment.lastMonotonic, monotonic)
        totals.frames += 1
        if closing != nil, audioEncoder == nil { try finishClosing(reason: "boundary") }
    }

    private func writeAudio(_ p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) {
        if let old = closing {
            if p.pointee.pts < old.audioBoundary {
                try writeAudio(p, into: old)
                return
            }
            try finishClosing(reason: "boundary")
        }
        guard let segment = current else { return }
        try writeAudio(p, into: segment)
    }

    private func writeAudio(_ p: UnsafeMutablePointer<AVPacket>, into segment: Segment) throws(CaptureError) {
        guard let index = segment.audioIndex else { return }
        // The encoder's first packet carries its priming (pts before the
        // timeline start): it holds no recorded sound of this segment.
        guard p.pointee.pts >= segment.audioStart else { return }
        if segment.videoIndex == nil, p.pointee.pts - segment.lastFlushAudio >= 48_000 {
            try flush(segment)
            segment.lastFlushAudio = p.pointee.pts
        }
        let end = p.pointee.pts + p.pointee.duration
        p.pointee.pts -= segment.audioStart
        p.pointee.dts -= segment.audioStart
        p.pointee.stream_index = Int32(index)
        av_packet_rescale_ts(p, AudioEncoder.timeBase, segment.writer.streams[index].pointee.time_base)
        try segment.writer.write(p)
        if segment.videoIndex == nil {
            segment.lastMonotonic = max(segment.lastMonotonic, origin! + end * 125_000 / 6)
        }
    }

    /// The slowest write since the last call; starts a new window.
    func takeSlowestWrite() -> Int64 {
        defer { totals.slowestWrite = 0 }
        return totals.slowestWrite
    }

    private func timed<T>(_ work: () throws(CaptureError) -> T) throws(CaptureError) -> T {
        let began = MonotonicClock.now()
        let result = try work()
        let took = MonotonicClock.now() - began
        totals.lastWrite = took
        totals.slowestWrite = max(totals.slowestWrite, took)
        return result
    }

    private func flush(_ segment: Segment) throws(CaptureError) {
        try timed { () throws(CaptureError) in try segment.writer.flushFragment() }
        sink.segmentProgressed(id: segment.id, SegmentProgress(durableBytes: segment.writer.file.durableBytes,
                                                               wallEndNanoseconds: segment.wall(segment.lastMonotonic),
                                                               frames: segment.frames))
        var info = statvfs()
        if statvfs(configuration.directory, &info) == 0,
           Int64(info.f_bavail) * Int64(info.f_frsize) < configuration.minimumFreeBytes {
            throw CaptureError.diskFull(path: configuration.directory)
        }
    }

    // MARK: Segments

    private func open(at monotonic: Int64) throws(CaptureError) {
        // Sample the monotonic→wall mapping now, for this segment.
        let nowMono = clock.monotonic(), nowWall = clock.now().nanoseconds
        let wall = nowWall - (nowMono - monotonic)
        let sequence: Int64
        do { sequence = try sink.nextSequence(device: configuration.device) } catch {
            throw CaptureError.system(operation: "segment index: \(error)", errno: EIO)
        }
        let path = Self.path(root: configuration.directory, device: configuration.device, wall: wall, sequence: sequence)
        var streams: [StreamDescription] = []
        var videoIndex: Int?, audioIndex: Int?
        if let layout {
            videoIndex = streams.count
            if layout == .mjpeg {
                streams.append(StreamDescription(kind: .video, codecID: AV_CODEC_ID_MJPEG, timeBase: VideoEncoder.timeBase,
                                                 encoder: nil, width: Int32(width), height: Int32(height),
                                                 frameRate: AVRational(num: Int32(fps), den: 1)))
            } else {
                streams.append(StreamDescription(kind: .video, codecID: AV_CODEC_ID_H264, timeBase: VideoEncoder.timeBase,
                                                 encoder: videoEncoder!.context, frameRate: AVRational(num: Int32(fps), den: 1)))
            }
        }
        if let audioEncoder {
            audioIndex = streams.count
            streams.append(StreamDescription(kind: .audio, codecID: AV_CODEC_ID_AAC, timeBase: AudioEncoder.timeBase,
                                             encoder: audioEncoder.context))
        }
        let opened = SegmentOpened(device: configuration.device, sequence: sequence, path: path,
                                   wallStartNanoseconds: wall, monotonicStartNanoseconds: monotonic,
                                   videoCodec: layout.map { $0 == .mjpeg ? "mjpeg" : "h264" },
                                   audioCodec: audioEncoder == nil ? nil : "aac", synthetic: configuration.synthetic)
        // The index row exists (state `writing`) before the file's first byte.
        let id: Int64
        do { id = try sink.segmentOpened(opened) } catch {
            throw CaptureError.system(operation: "segment index: \(error)", errno: EIO)
        }
        let writer = try FragmentedMP4Writer(path: path, streams: streams)
        current = Segment(writer: writer, id: id, opened: opened, videoStart: video90(monotonic), audioStart: samples(monotonic),
                          boundaryWall: boundary(after: wall), videoIndex: videoIndex, audioIndex: audioIndex)
        forceKeyframe = true
    }

    private func rotate(at monotonic: Int64) throws(CaptureError) {
        if closing != nil { try finishClosing(reason: "boundary") }
        guard let old = current else { return }
        old.audioBoundary = samples(monotonic)
        closing = old
        closingSince = clock.monotonic()
        current = nil
        try open(at: monotonic)
        if audioEncoder == nil || layout == nil {
            try finishClosing(reason: "boundary")
        }
    }

    private func finishClosing(reason: String) throws(CaptureError) {
        guard let segment = closing else { return }
        closing = nil
        try finish(segment, reason: reason)
    }

    private func finish(_ segment: Segment, reason: String) throws(CaptureError) {
        let (bytes, sha) = try timed { () throws(CaptureError) in try segment.writer.finish() }
        try report(segment, bytes: bytes, sha256: sha, reason: reason)
    }

    private func report(_ segment: Segment, bytes: Int64, sha256: String, reason: String) throws(CaptureError) {
        let end = segment.audioBoundary != .max
            ? segment.wall(origin! + segment.audioBoundary * 125_000 / 6)
            : segment.videoIndex == nil ? segment.wall(segment.lastMonotonic)
            : segment.wall(segment.lastMonotonic + Int64(1_000_000_000 / fps))
        let closed = SegmentClosed(wallEndNanoseconds: end, frames: segment.frames, droppedFrames: segment.dropped,
                                   audioXruns: segment.xruns, bytes: bytes, sha256: sha256, reason: reason)
        do { try sink.segmentClosed(id: segment.id, closed) } catch {
            throw CaptureError.system(operation: "segment index: \(error)", errno: EIO)
        }
        totals.bytes += bytes
        totals.segments += 1
        totals.lastClosedWall = clock.now().nanoseconds
        sink.captureEvent(CaptureEvent(kind: .segmentClosed, device: configuration.device, wallNanoseconds: totals.lastClosedWall,
                                       detail: ["id": String(segment.id), "path": segment.opened.path, "sha256": sha256,
                                                "bytes": String(bytes), "frames": String(segment.frames), "dropped": String(segment.dropped),
                                                "xruns": String(segment.xruns), "reason": reason]))
    }

    /// Stops cleanly: drains the encoders into the segments, closes them.
    func close(reason: String) throws(CaptureError) {
        try videoEncoder?.finish { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in
            try self.writeVideo(p, monotonic: self.current?.lastMonotonic ?? 0)
        }
        try audioEncoder?.finish { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in try self.writeAudio(p) }
        try finishClosing(reason: "boundary")
        if let segment = current {
            current = nil
            try finish(segment, reason: reason)
        }
    }

    /// After a failure: close what is open as well as it can be. A segment
    /// whose writer still works is finished normally; one whose file failed
    /// (disk full, I/O error) is cut back to its last durable fragment and
    /// hashed from disk. Nothing is left in state `writing`.
    func abandon(reason: String) {
        for segment in [closing, current].compactMap({ $0 }) {
            do {
                try finish(segment, reason: reason)
            } catch {
                do {
                    let repaired = try SegmentRepair.truncate(path: segment.opened.path, to: segment.writer.file.durableBytes)
                    try report(segment, bytes: repaired.bytes, sha256: repaired.sha256, reason: reason)
                } catch {
                    logger.critical("segment could not be closed; it will be repaired at next start",
                                    metadata: ["path": .string(segment.opened.path), "error": .string("\(error)")])
                }
            }
        }
        closing = nil
        current = nil
    }

    static func path(root: String, device: String, wall: Int64, sequence: Int64) -> String {
        var seconds = time_t(wall / 1_000_000_000)
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        let day = "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))"
        let stamp = "\(pad(t.tm_year + 1900, 4))\(pad(t.tm_mon + 1, 2))\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2))\(pad(t.tm_min, 2))\(pad(t.tm_sec, 2))Z"
        let seq = String(sequence)
        return "\(root)/\(device)/\(day)/\(pad(t.tm_hour, 2))/\(stamp)_\(String(repeating: "0", count: max(0, 6 - seq.count)))\(seq).mp4"
    }
}
