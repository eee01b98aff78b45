import Glibc
internal import CFFmpeg

/// 48 kHz mono 16-bit PCM → AAC-LC (FFmpeg's native encoder). Samples are
/// gathered into the encoder's 1024-sample frames; `pts` counts samples on
/// the recorder's timeline (1/48000 s).
final class AudioEncoder {
    static let sampleRate: Int32 = 48_000
    static let timeBase = AVRational(num: 1, den: 48_000)

    private let handles: CodecHandles
    var context: UnsafeMutablePointer<AVCodecContext> { handles.context }
    private var frame: UnsafeMutablePointer<AVFrame> { handles.frame }
    private var packet: UnsafeMutablePointer<AVPacket> { handles.packet }
    private var pending: [Int16] = []
    /// Timeline position of `pending[0]`.
    private(set) var pendingPTS: Int64 = 0
    let frameSize: Int

    init(bitRate: Int64 = 64_000) throws(CaptureError) {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw CaptureError.ffmpeg("avcodec_find_encoder(aac)", roomd_averror(ENOENT))
        }
        handles = try CodecHandles(codec: codec)
        let ctx = handles.context
        ctx.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        ctx.pointee.sample_rate = Self.sampleRate
        av_channel_layout_default(&ctx.pointee.ch_layout, 1)
        ctx.pointee.bit_rate = bitRate
        ctx.pointee.profile = FF_PROFILE_AAC_LOW
        ctx.pointee.time_base = Self.timeBase
        ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        try check("avcodec_open2(aac)", avcodec_open2(ctx, codec, nil))
        frameSize = Int(ctx.pointee.frame_size)
        frame.pointee.nb_samples = ctx.pointee.frame_size
        frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointee.sample_rate = Self.sampleRate
        try check("av_channel_layout_copy", av_channel_layout_copy(&frame.pointee.ch_layout, &ctx.pointee.ch_layout))
        try check("av_frame_get_buffer", av_frame_get_buffer(frame, 0))
    }

    /// Samples buffered but not yet handed to the encoder.
    var pendingCount: Int { pending.count }

    /// The timeline position the next pushed sample will get.
    var nextPTS: Int64 { pendingPTS + Int64(pending.count) }

    /// Starts the timeline at `pts` (only while nothing is pending).
    func anchor(at pts: Int64) {
        precondition(pending.isEmpty)
        pendingPTS = pts
    }

    func push(_ samples: [Int16], emit: (UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Void) throws(CaptureError) {
        pending += samples
        while pending.count >= frameSize {
            try encodeFrame(count: frameSize, emit)
        }
    }

    /// Encodes what is pending (padded with silence by the encoder) and drains.
    func finish(emit: (UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Void) throws(CaptureError) {
        if !pending.isEmpty {
            pending += [Int16](repeating: 0, count: frameSize - pending.count)
            try encodeFrame(count: frameSize, emit)
        }
        try check("avcodec_send_frame(flush)", avcodec_send_frame(context, nil))
        try drain(emit)
    }

    private func encodeFrame(count: Int, _ emit: (UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Void) throws(CaptureError) {
        try check("av_frame_make_writable", av_frame_make_writable(frame))
        let out = UnsafeMutableRawPointer(frame.pointee.data_pointer(0)!).assumingMemoryBound(to: Float.self)
        for index in 0..<count { out[index] = Float(pending[index]) / 32768 }
        frame.pointee.pts = pendingPTS
        pending.removeFirst(count)
        pendingPTS += Int64(count)
        try check("avcodec_send_frame", avcodec_send_frame(context, frame))
        try drain(emit)
    }

    private func drain(_ emit: PacketSink) throws(CaptureError) {
        try drainPackets(context, packet, emit)
    }
}
