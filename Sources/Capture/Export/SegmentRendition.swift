public import CaptureProtocol
import Glibc
internal import CFFmpeg

/// A copy of one segment that a browser plays: H.264 video and AAC audio are
/// copied as they are; MJPEG (which browsers do not play in MP4) is decoded,
/// scaled to at most `maxWidth` pixels wide and encoded as H.264 (x264
/// ultrafast, CRF 28, 4:2:0, a keyframe a second, no B-frames). The segment
/// is only read; the copy is a fragmented MP4 whose fragments reach the file
/// as they are made, so it can be served while it grows.
public enum SegmentRendition {
    /// Reads `input`; writes the copy to `output` (an open descriptor, written
    /// from its current offset and left open).
    public static func make(input path: String, output descriptor: Int32, maxWidth: Int = 640) throws(CaptureError) -> RenditionReport {
        let input = try MediaInput(path: path)
        let sink = ByteSink({ (bytes: UnsafeRawBufferPointer) throws(CaptureError) in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw errno == ENOSPC || errno == EDQUOT ? CaptureError.diskFull(path: "rendition of \(path)") : CaptureError.system("write rendition of \(path)")
                }
                offset += n
            }
        }, hashing: false)  // a rendition is a convenience copy, not evidence

        var tracks: [OutputTrack] = []
        var videoTrack: Int?, audioTrack: Int?
        var transcoder: MJPEGTranscoder?
        if let stream = input.video {
            let parameters = stream.pointee.codecpar!
            videoTrack = tracks.count
            switch parameters.pointee.codec_id {
            case AV_CODEC_ID_H264:
                tracks.append(OutputTrack(source: .parameters(UnsafePointer(parameters)), timeBase: stream.pointee.time_base,
                                          frameRate: stream.pointee.avg_frame_rate))
            case AV_CODEC_ID_MJPEG:
                let rate = stream.pointee.avg_frame_rate.num > 0 && stream.pointee.avg_frame_rate.den > 0
                    ? stream.pointee.avg_frame_rate : AVRational(num: 15, den: 1)
                let fps = max(1, Int((Double(rate.num) / Double(rate.den)).rounded()))
                let coder = try MJPEGTranscoder(parameters: parameters, inputTimeBase: stream.pointee.time_base, fps: fps, maxWidth: maxWidth)
                transcoder = coder
                tracks.append(OutputTrack(source: .encoder(coder.encoder.context), timeBase: MJPEGTranscoder.timeBase,
                                          frameRate: AVRational(num: Int32(fps), den: 1)))
            default:
                let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
                throw CaptureError.ffmpeg(operation: "rendition of \(path)", code: roomd_averror(EINVAL),
                                          message: "video codec \(name) is neither H.264 nor MJPEG")
            }
        }
        if let stream = input.audio {
            let parameters = stream.pointee.codecpar!
            guard parameters.pointee.codec_id == AV_CODEC_ID_AAC else {
                let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
                throw CaptureError.ffmpeg(operation: "rendition of \(path)", code: roomd_averror(EINVAL), message: "audio codec \(name) is not AAC")
            }
            audioTrack = tracks.count
            tracks.append(OutputTrack(source: .parameters(UnsafePointer(parameters)), timeBase: stream.pointee.time_base))
        }
        guard !tracks.isEmpty else {
            throw CaptureError.ffmpeg(operation: "rendition of \(path)", code: roomd_averror(EINVAL), message: "no video or audio stream")
        }
        let output = try StreamingMP4Output(tracks: tracks, sink: sink)

        var frames: Int64 = 0
        var first = Int64.max, end = Int64.min               // video, ns
        var audioFirst = Int64.max, audioEnd = Int64.min     // audio, ns
        func writeVideo(_ packet: UnsafeMutablePointer<AVPacket>, from base: AVRational) throws(CaptureError) {
            let start = Timestamps.nanoseconds(packet.pointee.pts, base)
            first = min(first, start)
            end = max(end, start + Timestamps.nanoseconds(packet.pointee.duration, base))
            frames += 1
            packet.pointee.stream_index = Int32(videoTrack!)
            av_packet_rescale_ts(packet, base, output.timeBase(videoTrack!))
            packet.pointee.pos = -1
            try output.write(packet)
        }

        let packet = try OwnedPacket()
        while try input.read(into: packet.pointer) {
            defer { av_packet_unref(packet.pointer) }
            let index = Int(packet.pointer.pointee.stream_index)
            guard packet.pointer.pointee.pts != Int64.min else { continue }
            let base = input.stream(index).pointee.time_base
            if index == input.videoIndex {
                if let transcoder {
                    try transcoder.decode(packet.pointer) { (encoded: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in
                        try writeVideo(encoded, from: MJPEGTranscoder.timeBase)
                    }
                } else {
                    try writeVideo(packet.pointer, from: base)
                }
            } else if index == input.audioIndex, let audioTrack {
                let start = Timestamps.nanoseconds(packet.pointer.pointee.pts, base)
                audioFirst = min(audioFirst, start)
                audioEnd = max(audioEnd, start + Timestamps.nanoseconds(packet.pointer.pointee.duration, base))
                packet.pointer.pointee.stream_index = Int32(audioTrack)
                av_packet_rescale_ts(packet.pointer, base, output.timeBase(audioTrack))
                packet.pointer.pointee.pos = -1
                try output.write(packet.pointer)
            }
        }
        try transcoder?.finish { (encoded: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in
            try writeVideo(encoded, from: MJPEGTranscoder.timeBase)
        }
        let (bytes, _) = try output.finish()
        let duration = frames > 0 ? end - first : (audioEnd > audioFirst ? audioEnd - audioFirst : 0)
        return RenditionReport(bytes: bytes, videoFrames: frames, durationNanoseconds: duration, transcoded: transcoder != nil)
    }

    /// The size an MJPEG picture is scaled to: at most `maxWidth` wide, the
    /// aspect kept, both sides even (4:2:0).
    static func scaledSize(width: Int, height: Int, maxWidth: Int) -> (width: Int, height: Int) {
        let w = max(2, min(width, maxWidth) & ~1)
        let h = max(2, Int((Double(height) * Double(w) / Double(max(width, 1))).rounded()) & ~1)
        return (w, h)
    }
}

/// MJPEG packets → pictures → scaled 4:2:0 → H.264 packets (1/90000 s).
private final class MJPEGTranscoder {
    static let timeBase = AVRational(num: 1, den: 90_000)
    let decoder: CodecHandles
    let encoder: CodecHandles
    private var scaler: OpaquePointer?
    private let inputTimeBase: AVRational
    private let frameDuration: Int64
    private var lastPTS = Int64.min

    init(parameters: UnsafeMutablePointer<AVCodecParameters>, inputTimeBase: AVRational, fps: Int, maxWidth: Int) throws(CaptureError) {
        self.inputTimeBase = inputTimeBase
        frameDuration = Int64(90_000 / fps)
        guard let mjpeg = avcodec_find_decoder(AV_CODEC_ID_MJPEG) else {
            throw CaptureError.ffmpeg("avcodec_find_decoder(mjpeg)", roomd_averror(ENOENT))
        }
        decoder = try CodecHandles(codec: mjpeg)
        try check("avcodec_parameters_to_context", avcodec_parameters_to_context(decoder.context, parameters))
        decoder.context.pointee.pkt_timebase = inputTimeBase
        decoder.context.pointee.thread_count = 1
        try check("avcodec_open2(mjpeg)", avcodec_open2(decoder.context, mjpeg, nil))

        guard let x264 = avcodec_find_encoder_by_name("libx264") else {
            throw CaptureError.ffmpeg(operation: "avcodec_find_encoder_by_name(libx264)", code: roomd_averror(ENOENT),
                                      message: "FFmpeg was built without libx264")
        }
        encoder = try CodecHandles(codec: x264)
        let size = SegmentRendition.scaledSize(width: Int(parameters.pointee.width), height: Int(parameters.pointee.height), maxWidth: maxWidth)
        let ctx = encoder.context
        ctx.pointee.width = Int32(size.width)
        ctx.pointee.height = Int32(size.height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = Self.timeBase
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.gop_size = Int32(fps)
        ctx.pointee.max_b_frames = 0
        ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        av_opt_set(ctx.pointee.priv_data, "preset", "ultrafast", 0)
        av_opt_set(ctx.pointee.priv_data, "crf", "28", 0)
        av_opt_set(ctx.pointee.priv_data, "x264-params", "scenecut=0:keyint=\(fps):min-keyint=\(fps):bframes=0", 0)
        try check("avcodec_open2(libx264)", avcodec_open2(ctx, x264, nil))
        let frame = encoder.frame
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(size.width)
        frame.pointee.height = Int32(size.height)
        try check("av_frame_get_buffer", av_frame_get_buffer(frame, 32))
    }

    deinit {
        if let scaler { sws_freeContext(scaler) }
    }

    func decode(_ packet: UnsafeMutablePointer<AVPacket>, emit: PacketSink) throws(CaptureError) {
        try check("avcodec_send_packet(mjpeg)", avcodec_send_packet(decoder.context, packet))
        try drainDecoder(emit)
    }

    func finish(emit: PacketSink) throws(CaptureError) {
        try check("avcodec_send_packet(mjpeg, flush)", avcodec_send_packet(decoder.context, nil))
        try drainDecoder(emit)
        try check("avcodec_send_frame(flush)", avcodec_send_frame(encoder.context, nil))
        try drainEncoder(emit)
    }

    private func drainDecoder(_ emit: PacketSink) throws(CaptureError) {
        let picture = decoder.frame
        while true {
            let rc = avcodec_receive_frame(decoder.context, picture)
            if rc == roomd_averror(EAGAIN) || rc == roomd_averror_eof() { return }
            try check("avcodec_receive_frame(mjpeg)", rc)
            defer { av_frame_unref(picture) }
            try encode(picture, emit)
        }
    }

    private func encode(_ picture: UnsafeMutablePointer<AVFrame>, _ emit: PacketSink) throws(CaptureError) {
        let target = encoder.frame
        try check("av_frame_make_writable", av_frame_make_writable(target))
        // MJPEG pictures are full range (yuvj4xxp); the H.264 is limited range.
        scaler = sws_getCachedContext(scaler, picture.pointee.width, picture.pointee.height, AVPixelFormat(rawValue: picture.pointee.format),
                                      target.pointee.width, target.pointee.height, AV_PIX_FMT_YUV420P, Int32(SWS_BILINEAR), nil, nil, nil)
        guard let scaler else { throw CaptureError.ffmpeg("sws_getCachedContext", roomd_averror(EINVAL)) }
        let source = UnsafeRawPointer(picture).assumingMemoryBound(to: AVFrame.self)
        var sourcePlanes: [UnsafePointer<UInt8>?] = (0..<4).map { UnsafePointer(source.pointee.data_pointer($0)) }
        var sourceStrides: [Int32] = (0..<4).map { source.pointee.linesize_value($0) }
        var planes: [UnsafeMutablePointer<UInt8>?] = (0..<4).map { target.pointee.data_pointer($0) }
        var strides: [Int32] = (0..<4).map { target.pointee.linesize_value($0) }
        _ = sws_scale(scaler, &sourcePlanes, &sourceStrides, 0, picture.pointee.height, &planes, &strides)
        let timestamp = picture.pointee.best_effort_timestamp != Int64.min ? picture.pointee.best_effort_timestamp : picture.pointee.pts
        var pts = av_rescale_q(timestamp, inputTimeBase, Self.timeBase)
        if pts <= lastPTS { pts = lastPTS + 1 }
        lastPTS = pts
        target.pointee.pts = pts
        target.pointee.pict_type = AV_PICTURE_TYPE_NONE
        try check("avcodec_send_frame(libx264)", avcodec_send_frame(encoder.context, target))
        try drainEncoder(emit)
    }

    private func drainEncoder(_ emit: PacketSink) throws(CaptureError) {
        try drainPackets(encoder.context, encoder.packet) { (packet: UnsafeMutablePointer<AVPacket>) throws(CaptureError) in
            if packet.pointee.duration <= 0 { packet.pointee.duration = frameDuration }
            try emit(packet)
        }
    }
}
