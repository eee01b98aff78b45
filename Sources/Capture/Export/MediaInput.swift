import Glibc
internal import CFFmpeg

/// One media file opened for reading through libavformat (read-only: the
/// file protocol opens it O_RDONLY), its first video and first audio stream.
/// Closed when the object goes.
final class MediaInput {
    let path: String
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private(set) var videoIndex: Int?
    private(set) var audioIndex: Int?

    init(path: String) throws(CaptureError) {
        self.path = path
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        try check("avformat_open_input(\(path))", avformat_open_input(&ctx, path, nil, nil))
        context = ctx
        // An MP4's sample description holds what we need (codec, size,
        // extradata, rate): no avformat_find_stream_info, which decodes.
        for index in 0..<Int(ctx!.pointee.nb_streams) {
            let type = ctx!.pointee.streams[index]!.pointee.codecpar.pointee.codec_type
            if type == AVMEDIA_TYPE_VIDEO, videoIndex == nil { videoIndex = index }
            if type == AVMEDIA_TYPE_AUDIO, audioIndex == nil { audioIndex = index }
        }
    }

    deinit {
        if context != nil { avformat_close_input(&context) }
    }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context!.pointee.streams[index]! }

    var video: UnsafeMutablePointer<AVStream>? { videoIndex.map(stream) }
    var audio: UnsafeMutablePointer<AVStream>? { audioIndex.map(stream) }

    /// The next packet into `packet` (which must be blank); false at the end.
    func read(into packet: UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Bool {
        let rc = av_read_frame(context, packet)
        if rc == roomd_averror_eof() { return false }
        try check("av_read_frame(\(path))", rc)
        return true
    }
}

/// A copy of a stream's codec parameters, owned by Swift.
final class CodecParameters {
    let pointer: UnsafeMutablePointer<AVCodecParameters>

    init(copying source: UnsafePointer<AVCodecParameters>) throws(CaptureError) {
        guard let p = avcodec_parameters_alloc() else { throw CaptureError.ffmpeg("avcodec_parameters_alloc", roomd_averror(ENOMEM)) }
        pointer = p
        try check("avcodec_parameters_copy", avcodec_parameters_copy(p, source))
    }

    deinit {
        var p: UnsafeMutablePointer<AVCodecParameters>? = pointer
        avcodec_parameters_free(&p)
    }

    var codecName: String { String(cString: avcodec_get_name(pointer.pointee.codec_id)) }

    var extradata: [UInt8] {
        guard let bytes = pointer.pointee.extradata, pointer.pointee.extradata_size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(pointer.pointee.extradata_size)))
    }

    /// What differs from `other` in a way one MP4 track cannot carry, in
    /// words; nil when the two can share a track.
    func difference(from other: CodecParameters) -> String? {
        let a = pointer.pointee, b = other.pointer.pointee
        if a.codec_id != b.codec_id { return "codec \(other.codecName) → \(codecName)" }
        if a.codec_type == AVMEDIA_TYPE_VIDEO, a.width != b.width || a.height != b.height {
            return "size \(b.width)×\(b.height) → \(a.width)×\(a.height)"
        }
        if a.codec_type == AVMEDIA_TYPE_AUDIO {
            if a.sample_rate != b.sample_rate { return "sample rate \(b.sample_rate) → \(a.sample_rate) Hz" }
            if a.ch_layout.nb_channels != b.ch_layout.nb_channels {
                return "channels \(b.ch_layout.nb_channels) → \(a.ch_layout.nb_channels)"
            }
        }
        if extradata != other.extradata { return "\(codecName) extradata (codec configuration) differs" }
        return nil
    }
}

/// An AVPacket owned by Swift (freed in deinit).
final class OwnedPacket {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws(CaptureError) {
        guard let p = av_packet_alloc() else { throw CaptureError.ffmpeg("av_packet_alloc", roomd_averror(ENOMEM)) }
        pointer = p
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }
}

/// Nanoseconds ↔ a stream's time base.
enum Timestamps {
    static let nanosecond = AVRational(num: 1, den: 1_000_000_000)

    static func nanoseconds(_ value: Int64, _ base: AVRational) -> Int64 {
        av_rescale_q(value, base, nanosecond)
    }

    static func ticks(_ nanoseconds: Int64, _ base: AVRational) -> Int64 {
        av_rescale_q(nanoseconds, nanosecond, base)
    }
}
