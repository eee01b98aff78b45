import Glibc
internal import CFFmpeg

/// Raw pictures → H.264 (libx264 through libavcodec). One encoder lives
/// across segment boundaries; the first frame of a segment is forced to be an
/// IDR picture, so segments cut cleanly with no frame lost or repeated.
final class VideoEncoder {
    private let handles: CodecHandles
    var context: UnsafeMutablePointer<AVCodecContext> { handles.context }
    private var frame: UnsafeMutablePointer<AVFrame> { handles.frame }
    private var packet: UnsafeMutablePointer<AVPacket> { handles.packet }
    private var scaler: OpaquePointer?
    private let width: Int32
    private let height: Int32
    /// Encoder time base: 1/90000 s, the MP4 video clock.
    static let timeBase = AVRational(num: 1, den: 90_000)

    init(width: Int, height: Int, fps: Int, preset: String) throws(CaptureError) {
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw CaptureError.ffmpeg(operation: "avcodec_find_encoder_by_name(libx264)", code: roomd_averror(ENOENT),
                                      message: "FFmpeg was built without libx264; install Debian's libavcodec59 with x264 support")
        }
        handles = try CodecHandles(codec: codec)
        let ctx = handles.context
        self.width = Int32(width)
        self.height = Int32(height)
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = Self.timeBase
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.gop_size = Int32(fps)          // a keyframe a second: ~1 s fragments
        ctx.pointee.max_b_frames = 0               // no reordering: dts == pts, nothing held back
        ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        ctx.pointee.thread_count = 1               // one thread per device, by design
        av_opt_set(ctx.pointee.priv_data, "preset", preset, 0)
        av_opt_set(ctx.pointee.priv_data, "tune", "zerolatency", 0)
        av_opt_set(ctx.pointee.priv_data, "forced-idr", "1", 0)
        // Keyframes exactly once a second (no scene-cut extras): every
        // fragment is one second and starts with a keyframe.
        av_opt_set(ctx.pointee.priv_data, "x264-params", "scenecut=0:keyint=\(fps):min-keyint=\(fps)", 0)
        try check("avcodec_open2(libx264)", avcodec_open2(ctx, codec, nil))
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        try check("av_frame_get_buffer", av_frame_get_buffer(frame, 32))
    }

    deinit {
        if let scaler { sws_freeContext(scaler) }
    }

    /// Encodes one picture at `pts` (1/90000 s); `keyframe` forces an IDR.
    /// Calls `emit` for every packet the encoder produces.
    func encode(_ input: VideoFrame, pts: Int64, keyframe: Bool,
                emit: (UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Void) throws(CaptureError) {
        try check("av_frame_make_writable", av_frame_make_writable(frame))
        try convert(input)
        frame.pointee.pts = pts
        frame.pointee.pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
        try check("avcodec_send_frame", avcodec_send_frame(context, frame))
        try drain(emit)
    }

    /// Flushes the encoder at the end of recording.
    func finish(emit: (UnsafeMutablePointer<AVPacket>) throws(CaptureError) -> Void) throws(CaptureError) {
        try check("avcodec_send_frame(flush)", avcodec_send_frame(context, nil))
        try drain(emit)
    }

    private func drain(_ emit: PacketSink) throws(CaptureError) {
        try drainPackets(context, packet, emit)
    }

    private func convert(_ input: VideoFrame) throws(CaptureError) {
        // The scaler and the plane copies read width × height of the input:
        // never hand them less (SegmentWriter drops such frames before here).
        guard input.width == Int(width), input.height == Int(height), input.bytes.count >= input.requiredBytes else {
            throw CaptureError.ffmpeg("encode: frame of \(input.bytes.count) bytes, \(input.width)×\(input.height)", roomd_averror(EINVAL))
        }
        let source: AVPixelFormat
        switch input.layout {
        case .yuv420p:
            // Copy planes directly.
            input.bytes.withUnsafeBufferPointer { src in
                let w = Int(width), h = Int(height)
                var offset = 0
                let planes: [(Int, Int)] = [(w, h), (w / 2, h / 2), (w / 2, h / 2)]
                for (plane, (pw, ph)) in planes.enumerated() {
                    let dst: UnsafeMutablePointer<UInt8> = frame.pointee.data_pointer(plane)
                    let stride = Int(frame.pointee.linesize_value(plane))
                    let base: UnsafePointer<UInt8> = src.baseAddress! + offset
                    for row in 0..<ph {
                        let target: UnsafeMutablePointer<UInt8> = dst + row * stride
                        target.update(from: base + row * pw, count: pw)
                    }
                    offset += pw * ph
                }
            }
            return
        case .yuyv: source = AV_PIX_FMT_YUYV422
        case .nv12: source = AV_PIX_FMT_NV12
        case .mjpeg: throw CaptureError.ffmpeg("encode", roomd_averror(EINVAL))
        }
        if scaler == nil {
            scaler = sws_getContext(Int32(input.width), Int32(input.height), source, width, height, AV_PIX_FMT_YUV420P,
                                    Int32(SWS_BILINEAR), nil, nil, nil)
        }
        guard let scaler else { throw CaptureError.ffmpeg("sws_getContext", roomd_averror(EINVAL)) }
        input.bytes.withUnsafeBufferPointer { src in
            let base = UnsafeMutablePointer(mutating: src.baseAddress!)
            var planes: [UnsafePointer<UInt8>?] = [UnsafePointer(base), nil, nil, nil]
            var strides: [Int32] = [Int32(input.width * 2), 0, 0, 0]
            if input.layout == .nv12 {
                planes[1] = UnsafePointer(base + input.width * input.height)
                strides = [Int32(input.width), Int32(input.width), 0, 0]
            }
            var dstPlanes: [UnsafeMutablePointer<UInt8>?] = (0..<4).map { frame.pointee.data_pointer($0) }
            var dstStrides: [Int32] = (0..<4).map { frame.pointee.linesize_value($0) }
            _ = sws_scale(scaler, &planes, &strides, 0, Int32(input.height), &dstPlanes, &dstStrides)
        }
    }
}

extension AVFrame {
    /// `data` and `linesize` are C arrays, imported as tuples.
    func data_pointer(_ plane: Int) -> UnsafeMutablePointer<UInt8>! {
        withUnsafeBytes(of: data) { $0.load(fromByteOffset: plane * MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride,
                                             as: UnsafeMutablePointer<UInt8>?.self) }
    }

    func linesize_value(_ plane: Int) -> Int32 {
        withUnsafeBytes(of: linesize) { $0.load(fromByteOffset: plane * MemoryLayout<Int32>.stride, as: Int32.self) }
    }
}
