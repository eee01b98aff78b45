import CaptureProtocol
import Glibc
internal import CFFmpeg

/// Where a ``StreamingMP4Output`` hands its bytes, in order: counted, and
/// hashed (SHA-256) on the way when asked. A `deliver` that throws (a closed
/// pipe, a full disk) fails the output; nothing is delivered after that.
final class ByteSink {
    private let deliver: (UnsafeRawBufferPointer) throws(CaptureError) -> Void
    private let hash: SHA256Stream?
    private(set) var bytes: Int64 = 0
    private(set) var failure: CaptureError?
    /// While set, what is written is dropped (the header of a muxer that
    /// continues a stream already begun): not delivered, counted or hashed.
    var discarding = false
    /// The stream's top-level boxes as they pass: how many fragments so far.
    private var boxes = TopLevelBoxCounter()
    var fragments: UInt32 { boxes.fragments }

    /// Names a range of a segment that comes next instead of its bytes (the
    /// 'C' record); nil when every byte is to be delivered.
    let referrer: ((ExportRecord.FileRange) throws(CaptureError) -> Void)?

    /// `refer` is kept only without hashing: a hash needs the bytes.
    init(_ deliver: @escaping (UnsafeRawBufferPointer) throws(CaptureError) -> Void, hashing: Bool,
         refer: ((ExportRecord.FileRange) throws(CaptureError) -> Void)? = nil) {
        self.deliver = deliver
        hash = hashing ? SHA256Stream() : nil
        referrer = hashing ? nil : refer
    }

    /// A whole box of `path` (from `offset`, `length` bytes) passes by reference.
    func refer(path: String, offset: Int64, length: Int64) throws(CaptureError) {
        if let failure { throw failure }
        guard let referrer, !discarding, boxes.atBoxBoundary else {
            throw CaptureError.system(operation: "referring to \(path) at \(offset) in the middle of a box", errno: EINVAL)
        }
        do throws(CaptureError) { try referrer(ExportRecord.FileRange(path: path, offset: offset, length: length)) } catch {
            failure = error
            throw error
        }
        bytes += length
    }

    func write(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        guard chunk.count > 0, !discarding else { return true }
        do { try deliver(chunk) } catch { failure = error; return false }
        boxes.scan(chunk)
        hash?.update(chunk)
        bytes += Int64(chunk.count)
        return true
    }

    /// `write` for callers that throw: the delivery's own error.
    func deliverOrThrow(_ chunk: UnsafeRawBufferPointer) throws(CaptureError) {
        if !write(chunk), let failure { throw failure }
    }

    /// The SHA-256 (hex) of everything delivered when hashing; call once, at the end.
    func finish() -> String? { hash?.finish() }
}

/// What one track of a ``StreamingMP4Output`` carries: parameters copied
/// from a source stream (remux) or from an open encoder (transcode).
struct OutputTrack {
    enum Source {
        case parameters(UnsafePointer<AVCodecParameters>)
        case encoder(UnsafeMutablePointer<AVCodecContext>)
    }
    var source: Source
    var timeBase: AVRational
    var frameRate = AVRational(num: 0, den: 1)
}

/// A fragmented MP4 written front to back through a custom AVIO callback —
/// for a pipe or a file that is read while it grows: `movflags
/// frag_keyframe+empty_moov+default_base_moof+skip_trailer`. The moov (no
/// samples) comes first, then one moof+mdat per fragment; a fragment starts
/// at a video keyframe at least `minimumFragment` after the previous one (so
/// MJPEG, all keyframes, gets ~1 s fragments rather than one per frame).
/// skip_trailer: the mfra index would be patched by seeking back, which a
/// pipe cannot do; players find fragments by walking the boxes.
///
/// The muxer gathers a fragment in memory and writes it whole; the AVIO
/// buffer is flushed after every packet, so each fragment reaches the sink
/// as soon as it is complete, in chunks of at most 64 KiB.
final class StreamingMP4Output {
    let sink: ByteSink
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var io: UnsafeMutablePointer<AVIOContext>?
    private var unmanagedSink: Unmanaged<ByteSink>?
    private(set) var streams: [UnsafeMutablePointer<AVStream>] = []
    private var lastDTS: [Int64]
    private var finished = false

    /// One record per fragment (a second of 1080p MJPEG is ~3 MB, of 640×480 ~300 kB):
    /// fewer, larger writes for roomd to relay.
    static let chunkSize: Int32 = 1 << 20

    /// Where a muxer takes over a stream that earlier muxers (and copied
    /// fragments) began: its fragments are numbered on from `fragmentIndex`,
    /// keep their absolute decode times (`frag_discont` without an edit list,
    /// no shift to zero), its own header (ftyp + moov, the same as the first
    /// muxer's for the same tracks) is dropped, and decode times go on
    /// increasing from `lastDTS`.
    struct Continuation {
        var fragmentIndex: UInt32
        var lastDTS: [Int64]
    }

    init(tracks: [OutputTrack], sink: ByteSink, minimumFragmentMicroseconds: Int64 = 900_000,
         continuing: Continuation? = nil) throws(CaptureError) {
        self.sink = sink
        lastDTS = continuing?.lastDTS ?? Array(repeating: .min, count: tracks.count)
        unmanagedSink = Unmanaged.passRetained(sink)
        do {
            try open(tracks, minimumFragment: minimumFragmentMicroseconds, continuing: continuing)
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    private func open(_ tracks: [OutputTrack], minimumFragment: Int64, continuing: Continuation?) throws(CaptureError) {
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        try check("avformat_alloc_output_context2", avformat_alloc_output_context2(&ctx, nil, "mp4", nil))
        context = ctx
        guard let ctx else { throw CaptureError.ffmpeg("avformat_alloc_output_context2", roomd_averror(ENOMEM)) }

        guard let buffer = av_malloc(Int(Self.chunkSize))?.assumingMemoryBound(to: UInt8.self) else {
            throw CaptureError.ffmpeg("av_malloc", roomd_averror(ENOMEM))
        }
        let write: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = { opaque, bytes, count in
            let sink = Unmanaged<ByteSink>.fromOpaque(opaque!).takeUnretainedValue()
            return sink.write(UnsafeRawBufferPointer(start: bytes, count: Int(count))) ? count : roomd_averror(EPIPE)
        }
        guard let avio = avio_alloc_context(buffer, Self.chunkSize, 1, unmanagedSink!.toOpaque(), nil, write, nil) else {
            av_free(buffer)
            throw CaptureError.ffmpeg("avio_alloc_context", roomd_averror(ENOMEM))
        }
        io = avio
        ctx.pointee.pb = avio
        ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        // We flush after each packet ourselves; no flush markers.
        ctx.pointee.flush_packets = 0

        for track in tracks {
            guard let stream = avformat_new_stream(ctx, nil) else { throw CaptureError.ffmpeg("avformat_new_stream", roomd_averror(ENOMEM)) }
            switch track.source {
            case .parameters(let parameters):
                try check("avcodec_parameters_copy", avcodec_parameters_copy(stream.pointee.codecpar, parameters))
            case .encoder(let encoder):
                try check("avcodec_parameters_from_context", avcodec_parameters_from_context(stream.pointee.codecpar, encoder))
            }
            // The source's tag was the source container's; the muxer picks its own.
            stream.pointee.codecpar.pointee.codec_tag = 0
            // An MP4 demuxer leaves AAC's frame size unset; the muxer wants it.
            if stream.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_AAC, stream.pointee.codecpar.pointee.frame_size == 0 {
                stream.pointee.codecpar.pointee.frame_size = 1024
            }
            stream.pointee.time_base = track.timeBase
            if track.frameRate.num > 0 { stream.pointee.avg_frame_rate = track.frameRate }
            streams.append(stream)
        }

        var options: OpaquePointer?
        var flags = "frag_keyframe+empty_moov+default_base_moof+skip_trailer"
        if let continuing {
            flags += "+frag_discont"
            av_dict_set(&options, "fragment_index", String(continuing.fragmentIndex), 0)
            av_dict_set(&options, "use_editlist", "0", 0)
            ctx.pointee.avoid_negative_ts = AVFMT_AVOID_NEG_TS_MAKE_NON_NEGATIVE
        }
        av_dict_set(&options, "movflags", flags, 0)
        av_dict_set(&options, "min_frag_duration", String(minimumFragment), 0)
        defer { av_dict_free(&options) }
        sink.discarding = continuing != nil
        defer { sink.discarding = false }
        try check("avformat_write_header", avformat_write_header(ctx, &options))
        try flushIO()
    }

    /// Each track's last decode time written (its time base).
    var lastDecodeTimes: [Int64] { lastDTS }

    /// The time base the muxer settled on for a track (it may differ from the one asked).
    func timeBase(_ index: Int) -> AVRational { streams[index].pointee.time_base }

    /// Writes one packet (stream index and timestamps in the track's time
    /// base); takes the packet's reference. Timestamps that would not
    /// increase (a wall-clock mapping rounding down) are nudged forward.
    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(CaptureError) {
        guard let context else { return }
        let index = Int(packet.pointee.stream_index)
        if packet.pointee.dts == Int64.min { packet.pointee.dts = packet.pointee.pts }
        if packet.pointee.dts <= lastDTS[index] { packet.pointee.dts = lastDTS[index] + 1 }
        if packet.pointee.pts < packet.pointee.dts { packet.pointee.pts = packet.pointee.dts }
        lastDTS[index] = packet.pointee.dts
        let rc = av_interleaved_write_frame(context, packet)
        if let failure = sink.failure { throw failure }
        try check("av_interleaved_write_frame", rc)
        try flushIO()
    }

    /// Writes what is still gathered (the last fragment); returns the bytes
    /// written and their SHA-256 (when the sink hashes).
    func finish() throws(CaptureError) -> (bytes: Int64, sha256: String?) {
        try finishFragments()
        return (sink.bytes, sink.finish())
    }

    /// Writes what is still gathered as the last fragment; the sink stays
    /// open for what follows (copied fragments, another muxer).
    func finishFragments() throws(CaptureError) {
        guard let context, !finished else { throw CaptureError.ffmpeg("finish", roomd_averror(EINVAL)) }
        finished = true
        let rc = av_write_trailer(context)
        if let failure = sink.failure { throw failure }
        try check("av_write_trailer", rc)
        try flushIO()
    }

    private func flushIO() throws(CaptureError) {
        guard let io else { return }
        avio_flush(io)
        if let failure = sink.failure { throw failure }
        if io.pointee.error < 0 { throw CaptureError.ffmpeg("avio_flush", io.pointee.error) }
    }

    private func release() {
        if let ctx = context {
            avformat_free_context(ctx)
            context = nil
        }
        if let avio = io {
            av_freep(&avio.pointee.buffer)
            var optional: UnsafeMutablePointer<AVIOContext>? = avio
            avio_context_free(&optional)
            io = nil
        }
        unmanagedSink?.release()
        unmanagedSink = nil
    }
}
