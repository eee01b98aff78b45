import Glibc
internal import CFFmpeg

/// What a stream of a segment carries, for the MP4 header.
struct StreamDescription {
    enum Kind { case video, audio }
    var kind: Kind
    var codecID: AVCodecID
    var timeBase: AVRational
    /// Copied from an encoder (extradata, profile, sizes), or nil for stream copy.
    var encoder: UnsafeMutablePointer<AVCodecContext>?
    var width: Int32 = 0
    var height: Int32 = 0
    var frameRate: AVRational = AVRational(num: 0, den: 1)
}

/// Fragmented MP4 through libavformat, written via a custom AVIO callback into
/// a ``SegmentFile`` (sequential writes, SHA-256 on the fly).
///
/// `movflags=frag_custom+empty_moov+delay_moov+default_base_moof+skip_trailer`: the header
/// carries no samples, and a fragment (moof+mdat) is emitted only when ``flushFragment()``
/// asks, after which the bytes are fdatasync'ed. A crash therefore loses at
/// most the fragment being gathered (~1 s); everything before it is a valid,
/// playable file once truncated to the last whole fragment.
final class FragmentedMP4Writer {
    let file: SegmentFile
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var io: UnsafeMutablePointer<AVIOContext>?
    private(set) var streams: [UnsafeMutablePointer<AVStream>] = []
    /// Retained for the AVIO callback's opaque pointer; released in `release()`.
    private var unmanagedFile: Unmanaged<SegmentFile>?
    private var finished = false

    init(path: String, streams descriptions: [StreamDescription]) throws(CaptureError) {
        file = try SegmentFile(path: path)
        unmanagedFile = Unmanaged.passRetained(file)
        do {
            try open(descriptions)
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    private func open(_ descriptions: [StreamDescription]) throws(CaptureError) {
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        try check("avformat_alloc_output_context2", avformat_alloc_output_context2(&ctx, nil, "mp4", nil))
        context = ctx
        guard let ctx else { throw CaptureError.ffmpeg("avformat_alloc_output_context2", roomd_averror(ENOMEM)) }

        let bufferSize: Int32 = 1 << 16
        guard let buffer = av_malloc(Int(bufferSize))?.assumingMemoryBound(to: UInt8.self) else {
            throw CaptureError.ffmpeg("av_malloc", roomd_averror(ENOMEM))
        }
        let write: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = { opaque, bytes, count in
            let file = Unmanaged<SegmentFile>.fromOpaque(opaque!).takeUnretainedValue()
            return file.write(UnsafeRawBufferPointer(start: bytes, count: Int(count))) ? count : roomd_averror(EIO)
        }
        guard let avio = avio_alloc_context(buffer, bufferSize, 1, unmanagedFile!.toOpaque(), nil, write, nil) else {
            av_free(buffer)
            throw CaptureError.ffmpeg("avio_alloc_context", roomd_averror(ENOMEM))
        }
        io = avio
        ctx.pointee.pb = avio
        ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO

        for description in descriptions {
            guard let stream = avformat_new_stream(ctx, nil) else { throw CaptureError.ffmpeg("avformat_new_stream", roomd_averror(ENOMEM)) }
            if let encoder = description.encoder {
                try check("avcodec_parameters_from_context", avcodec_parameters_from_context(stream.pointee.codecpar, encoder))
            } else {
                let par = stream.pointee.codecpar!
                par.pointee.codec_type = description.kind == .video ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO
                par.pointee.codec_id = description.codecID
                par.pointee.width = description.width
                par.pointee.height = description.height
                par.pointee.format = AV_PIX_FMT_YUVJ422P.rawValue
            }
            stream.pointee.time_base = description.timeBase
            if description.kind == .video, description.frameRate.num > 0 {
                stream.pointee.avg_frame_rate = description.frameRate
            }
            streams.append(stream)
        }

        var options: OpaquePointer?
        // skip_trailer: no mfra index at the end. The muxer writes it with a
        // placeholder size and seeks back to patch it; with our sequential,
        // hashed, seek-less AVIO that only works while the whole box still
        // fits the 64 KiB buffer — past ~25 minutes of 1 s fragments it would
        // not, and the patch would land as garbage after the box. Players and
        // our repair find fragments by walking the boxes; the index knows a
        // clean close from a recovered one.
        //
        // delay_moov: the moov is written with the first fragment, not before
        // any sample, so it can carry an edit list for a stream that starts
        // after the segment does. A segment's first AAC frame starts up to one
        // frame (21 ms) after its first video frame; written before the first
        // sample, the moov cannot say so, and the muxer moved that frame to 0
        // and stretched it, so ~20 ms of sound sat early with a hole after it.
        // Until the first fragment the file holds only its ftyp, which a
        // repair cuts to nothing (it held no sample anyway).
        av_dict_set(&options, "movflags", "frag_custom+empty_moov+delay_moov+default_base_moof+skip_trailer", 0)
        defer { av_dict_free(&options) }
        try check("avformat_write_header", avformat_write_header(ctx, &options))
        try flushIO()
        try file.syncData()
    }

    /// Writes one packet (its stream index and timestamps already in the stream's time base).
    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(CaptureError) {
        guard let context else { return }
        let rc = av_write_frame(context, packet)
        if let failure = file.failure { throw failure }
        try check("av_write_frame", rc)
    }

    /// Emits the gathered samples as one fragment and makes it durable.
    func flushFragment() throws(CaptureError) {
        guard let context else { return }
        let rc = av_write_frame(context, nil)
        if let failure = file.failure { throw failure }
        try check("av_write_frame(flush)", rc)
        try flushIO()
        try file.syncData()
    }

    /// Writes the last fragment and the trailer, closes the file durably,
    /// and returns (bytes, SHA-256).
    func finish() throws(CaptureError) -> (bytes: Int64, sha256: String) {
        guard let context, !finished else { throw CaptureError.ffmpeg("finish", roomd_averror(EINVAL)) }
        finished = true
        let rc = av_write_trailer(context)
        if let failure = file.failure { throw failure }
        try check("av_write_trailer", rc)
        try flushIO()
        let sha = try file.finish()
        return (file.bytesWritten, sha)
    }

    private func flushIO() throws(CaptureError) {
        guard let io else { return }
        avio_flush(io)
        if let failure = file.failure { throw failure }
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
        unmanagedFile?.release()
        unmanagedFile = nil
    }
}
