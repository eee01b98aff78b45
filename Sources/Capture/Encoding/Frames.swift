import CaptureProtocol
import Glibc
internal import CFFmpeg

/// One captured picture, copied out of the driver's buffer so the buffer can
/// go back to the driver at once.
struct VideoFrame {
    /// Raw layouts (handed to the encoder); empty for MJPEG.
    var bytes: [UInt8] = []
    /// MJPEG: the compressed frame, handed to the muxer by reference.
    var buffer: FrameBuffer?
    var layout: PixelLayout
    var width: Int
    var height: Int
    /// CLOCK_MONOTONIC capture time.
    var monotonicNanoseconds: Int64
    /// Frames the source lost just before this one (sequence gaps, error buffers).
    var droppedBefore: Int

    /// Bytes a whole raw frame of this size holds, packed (no row padding); 0 for MJPEG.
    var requiredBytes: Int {
        switch layout {
        case .mjpeg: 0
        case .yuyv: width * height * 2
        case .nv12, .yuv420p: width * height * 3 / 2
        }
    }
}

/// A period of 16-bit mono PCM at 48 kHz.
struct AudioChunk {
    var samples: [Int16]
    /// CLOCK_MONOTONIC time of the first sample.
    var monotonicNanoseconds: Int64
    /// Set when the device overran (xrun) before this chunk: a gap in time.
    var xrunBefore: Bool
}

/// What a device thread hands the recorder thread.
enum CaptureItem {
    case video(VideoFrame)
    case audio(AudioChunk)
    /// The source failed; the recorder closes the segment and the supervisor reopens.
    case sourceFailed(CaptureError, video: Bool)
}

/// An encoder's three C handles (codec context, reusable input frame,
/// reusable output packet), allocated together and released together.
final class CodecHandles {
    let context: UnsafeMutablePointer<AVCodecContext>
    let frame: UnsafeMutablePointer<AVFrame>
    let packet: UnsafeMutablePointer<AVPacket>

    init(codec: UnsafePointer<AVCodec>) throws(CaptureError) {
        guard let context = avcodec_alloc_context3(codec) else { throw CaptureError.ffmpeg("avcodec_alloc_context3", roomd_averror(ENOMEM)) }
        self.context = context
        frame = av_frame_alloc()
        packet = av_packet_alloc()
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }
}

/// Where encoders hand their packets (valid only during the call).
typealias PacketSink = (UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Void

/// Hands every packet an encoder has ready to `emit`, then returns when it
/// wants more input (EAGAIN) or is done (EOF).
func drainPackets(_ context: UnsafeMutablePointer<AVCodecContext>, _ packet: UnsafeMutablePointer<AVPacket>,
                  _ emit: PacketSink) throws(CaptureError) {
    while true {
        let rc = avcodec_receive_packet(context, packet)
        if rc == roomd_averror(EAGAIN) || rc == roomd_averror_eof() { return }
        try check("avcodec_receive_packet", rc)
        defer { av_packet_unref(packet) }
        try emit(packet)
    }
}
