import CaptureProtocol
import Foundation
import Glibc
import Logging
internal import CFFmpeg

/// Raw pictures → small JPEG stills (``Still``) for the live wall: scaled by
/// swscale to at most ``Still/maximumWidth`` pixels wide (aspect kept, even
/// dimensions, limited-range video levels widened to JPEG's full range) and
/// encoded by libavcodec's `mjpeg` encoder at a fixed quantiser. Made once
/// per input size and layout and reused; its C handles go with it.
///
/// Runs on the recorder thread, single-threaded: 0.5 ms from 320×240, about
/// 3 ms from 1080p, twice a second (docs/benchmarks.md, "Stills").
final class StillEncoder {
    /// JPEG quantiser (FFmpeg's `-q:v`): 2 is near-lossless, 31 blocky; 5
    /// reads fine on a wall tile at a fraction of the bytes.
    static let quantiser: Int32 = 5
    /// The same in the encoder's unit; with a fixed quantiser the MPEG-family
    /// encoders read it from each frame (as `ffmpeg -q:v` sets it).
    static let lambda = quantiser * Int32(FF_QP2LAMBDA)

    let inputWidth: Int, inputHeight: Int
    let layout: PixelLayout
    /// The still's own size.
    let width: Int, height: Int
    private let handles: CodecHandles
    private var context: UnsafeMutablePointer<AVCodecContext> { handles.context }
    private var frame: UnsafeMutablePointer<AVFrame> { handles.frame }
    private var packet: UnsafeMutablePointer<AVPacket> { handles.packet }
    private let scaler: OpaquePointer
    private var pts: Int64 = 0

    /// The size a still of a `width` × `height` picture has: as large as the
    /// picture up to `maximumWidth`, the aspect kept, both dimensions even (4:2:0).
    static func stillSize(width: Int, height: Int, maximumWidth: Int = Still.maximumWidth) -> (width: Int, height: Int) {
        guard width > maximumWidth else { return (max(2, width & ~1), max(2, height & ~1)) }
        let scaledHeight = (height * maximumWidth + width / 2) / width
        return (maximumWidth & ~1, max(2, scaledHeight & ~1))
    }

    init(width: Int, height: Int, layout: PixelLayout) throws(CaptureError) {
        let source: AVPixelFormat
        switch layout {
        case .yuv420p: source = AV_PIX_FMT_YUV420P
        case .yuyv: source = AV_PIX_FMT_YUYV422
        case .nv12: source = AV_PIX_FMT_NV12
        case .mjpeg: throw CaptureError.ffmpeg("still: an MJPEG frame is its own still", roomd_averror(EINVAL))
        }
        guard width >= 2, height >= 2 else { throw CaptureError.ffmpeg("still: \(width)×\(height)", roomd_averror(EINVAL)) }
        guard let codec = avcodec_find_encoder_by_name("mjpeg") else {
            throw CaptureError.ffmpeg(operation: "avcodec_find_encoder_by_name(mjpeg)", code: roomd_averror(ENOENT),
                                      message: "FFmpeg was built without its MJPEG encoder")
        }
        inputWidth = width
        inputHeight = height
        self.layout = layout
        (self.width, self.height) = Self.stillSize(width: width, height: height)
        handles = try CodecHandles(codec: codec)
        let ctx = handles.context
        ctx.pointee.width = Int32(self.width)
        ctx.pointee.height = Int32(self.height)
        // Plain 4:2:0 marked full range: the JPEG (JFIF) levels. The
        // deprecated yuvj420p would say the same with a warning from swscale.
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.color_range = AVCOL_RANGE_JPEG
        ctx.pointee.time_base = AVRational(num: 1, den: 2)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        ctx.pointee.global_quality = Self.lambda
        ctx.pointee.thread_count = 1               // the recorder's thread, nothing else
        try check("avcodec_open2(mjpeg)", avcodec_open2(ctx, codec, nil))
        let picture = handles.frame
        picture.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        picture.pointee.width = Int32(self.width)
        picture.pointee.height = Int32(self.height)
        picture.pointee.color_range = AVCOL_RANGE_JPEG
        try check("av_frame_get_buffer", av_frame_get_buffer(picture, 32))
        // Last: nothing can throw after it (deinit frees it).
        guard let scaler = sws_getContext(Int32(width), Int32(height), source, Int32(self.width), Int32(self.height),
                                          AV_PIX_FMT_YUV420P, Int32(SWS_BILINEAR), nil, nil, nil) else {
            throw CaptureError.ffmpeg("sws_getContext(still)", roomd_averror(EINVAL))
        }
        self.scaler = scaler
        // Cameras deliver video levels (16–235); JPEG means 0–255.
        let coefficients = sws_getCoefficients(SWS_CS_ITU601)
        _ = sws_setColorspaceDetails(scaler, coefficients, 0, coefficients, 1, 0, 1 << 16, 1 << 16)
    }

    deinit { sws_freeContext(scaler) }

    /// The JPEG of `input`, which must be of this encoder's size and layout
    /// with a whole frame's bytes (the recorder checks before calling).
    func encode(_ input: VideoFrame) throws(CaptureError) -> Data {
        guard input.layout == layout, input.width == inputWidth, input.height == inputHeight,
              input.bytes.count >= input.requiredBytes else {
            throw CaptureError.ffmpeg("still: frame of \(input.bytes.count) bytes, \(input.width)×\(input.height)", roomd_averror(EINVAL))
        }
        try check("av_frame_make_writable", av_frame_make_writable(frame))
        let (w, h) = (inputWidth, inputHeight)
        input.bytes.withUnsafeBufferPointer { src in
            let base = src.baseAddress!
            var planes: [UnsafePointer<UInt8>?] = [base, nil, nil, nil]
            var strides: [Int32] = [0, 0, 0, 0]
            switch layout {
            case .yuv420p:
                planes[1] = base + w * h
                planes[2] = base + w * h + (w / 2) * (h / 2)
                strides = [Int32(w), Int32(w / 2), Int32(w / 2), 0]
            case .nv12:
                planes[1] = base + w * h
                strides = [Int32(w), Int32(w), 0, 0]
            case .yuyv, .mjpeg:
                strides = [Int32(w * 2), 0, 0, 0]
            }
            var dstPlanes: [UnsafeMutablePointer<UInt8>?] = (0..<4).map { frame.pointee.data_pointer($0) }
            var dstStrides: [Int32] = (0..<4).map { frame.pointee.linesize_value($0) }
            _ = sws_scale(scaler, &planes, &strides, 0, Int32(h), &dstPlanes, &dstStrides)
        }
        frame.pointee.pts = pts
        frame.pointee.quality = Self.lambda
        pts += 1
        try check("avcodec_send_frame(mjpeg)", avcodec_send_frame(context, frame))
        var jpeg = Data()
        try drainPackets(context, packet) { (p: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in
            jpeg.append(p.pointee.data, count: Int(p.pointee.size))
        }
        guard !jpeg.isEmpty else { throw CaptureError.ffmpeg("still: the mjpeg encoder gave no picture", roomd_averror(EINVAL)) }
        return jpeg
    }
}

/// Makes a recorder's stills: every ``Still/interval`` of elapsed time, the
/// frame that has just been recorded becomes the device's latest picture and
/// goes to the sink. An MJPEG camera's frame is its own still, byte for
/// byte; a raw frame is scaled down and encoded (``StillEncoder``).
///
/// Lives on the recorder thread and is called between frames, after the
/// frame is written: a still never holds up or alters what is recorded. If
/// making one fails, that is logged once and this device makes no more
/// stills; recording carries on regardless.
final class StillMaker {
    private let device: String
    private let sink: any SegmentSink
    private let logger: Logger
    private var encoder: StillEncoder?
    /// CLOCK_MONOTONIC time the next still is due.
    private var due: Int64 = 0
    private(set) var failed = false

    init(device: String, sink: any SegmentSink, logger: Logger) {
        self.device = device
        self.sink = sink
        self.logger = logger
    }

    /// Offers the frame just recorded; a still of it is made if one is due.
    func offer(_ frame: VideoFrame) {
        guard !failed else { return }
        let now = MonotonicClock.now()
        guard now >= due else { return }
        let jpeg: Data
        switch frame.layout {
        case .mjpeg:
            guard let buffer = frame.buffer else { return }
            jpeg = Data(bytes: buffer.data, count: buffer.count)
        case .yuyv, .nv12, .yuv420p:
            // A short or resized frame was not recorded either: wait for the next.
            guard frame.bytes.count >= frame.requiredBytes, frame.width >= 2, frame.height >= 2 else { return }
            do throws(CaptureError) {
                // Made on the first raw frame, again only if a new session's size or layout differs.
                let fits = encoder.map { $0.inputWidth == frame.width && $0.inputHeight == frame.height && $0.layout == frame.layout }
                if fits != true {
                    encoder = nil
                    encoder = try StillEncoder(width: frame.width, height: frame.height, layout: frame.layout)
                }
                jpeg = try encoder!.encode(frame)
            } catch {
                failed = true
                encoder = nil
                logger.error("cannot make stills of this device; it records as before, the live wall shows no picture of it / 无法生成实时画面，录像不受影响",
                             metadata: ["device": .string(device), "error": .string(error.description)])
                return
            }
        }
        let finished = MonotonicClock.now()
        // Due again an interval after the last one was due: two a second
        // however the camera's frames fall; after a gap (no frames), an
        // interval from now rather than a burst.
        due = due + Still.interval > finished ? due + Still.interval : finished + Still.interval
        // Stamped with when the frame was captured, not when it was encoded.
        // (An unpaced replay's frames are stamped ahead of the clock: never later than now.)
        let age = max(0, now - frame.monotonicNanoseconds)
        sink.still(Still(device: device, wallNanoseconds: MonotonicClock.wallNow() - age, jpeg: jpeg))
    }
}
