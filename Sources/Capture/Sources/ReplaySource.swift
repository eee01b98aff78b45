import CaptureProtocol
import Glibc
internal import CFFmpeg

/// Replays a recorded file as if it were a camera and microphone: MJPEG
/// video packets (stream-copied, as from a UVC camera) and 16-bit PCM audio,
/// read with libavformat. For benchmarks and tests, never configured in a
/// room. `paced` replays at the file's own rate (a camera's pace); unpaced
/// replays as fast as the recorder takes it, to measure the write path.
final class ReplaySource: SourceThread, @unchecked Sendable {
    let path: String
    let paced: Bool
    let loops: Int
    private(set) var width = 0, height = 0, fps = 0
    private(set) var hasAudio = false

    init(name: String, path: String, paced: Bool, loops: Int = 1) throws(CaptureError) {
        self.path = path
        self.paced = paced
        self.loops = loops
        super.init(name: name)
        let input = try Input(path: path)
        guard let video = input.video else { throw CaptureError.unsupportedFormat(device: path, offered: ["no video stream"]) }
        let par = video.pointee.codecpar.pointee
        guard par.codec_id == AV_CODEC_ID_MJPEG else {
            throw CaptureError.unsupportedFormat(device: path, offered: [String(cString: avcodec_get_name(par.codec_id))])
        }
        width = Int(par.width)
        height = Int(par.height)
        let rate = video.pointee.avg_frame_rate
        fps = rate.den > 0 ? Int((Double(rate.num) / Double(rate.den)).rounded()) : 30
        hasAudio = input.audio != nil
    }

    /// One open file; closed when it goes away.
    final class Input {
        var context: UnsafeMutablePointer<AVFormatContext>?
        var video: UnsafeMutablePointer<AVStream>?
        var audio: UnsafeMutablePointer<AVStream>?

        init(path: String) throws(CaptureError) {
            try check("avformat_open_input(\(path))", avformat_open_input(&context, path, nil, nil))
            // No avformat_find_stream_info: Matroska's header says everything
            // needed, and probing would keep a 1080p MJPEG decoder alive per
            // source, which is the benchmark's cost, not the recorder's.
            for index in 0..<Int(context!.pointee.nb_streams) {
                let stream = context!.pointee.streams[index]!
                let par = stream.pointee.codecpar.pointee
                if par.codec_type == AVMEDIA_TYPE_VIDEO, video == nil { video = stream }
                if par.codec_type == AVMEDIA_TYPE_AUDIO, audio == nil, par.codec_id == AV_CODEC_ID_PCM_S16LE,
                   par.sample_rate == 48_000, par.ch_layout.nb_channels == 1 { audio = stream }
            }
        }

        deinit { avformat_close_input(&context) }
    }

    override func body(_ queue: CaptureQueue) {
        let packet = av_packet_alloc()!
        defer { var p: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&p) }
        let start = MonotonicClock.now()
        var offset: Int64 = 0   // media time of the loops already played, ns
        var skipped = 0         // empty (or unallocatable) video packets: counted as dropped
        for _ in 0..<loops {
            guard let input = try? Input(path: path), let context = input.context, let video = input.video else {
                queue.push(.sourceFailed(.deviceLost(device: path, reason: "cannot reopen"), video: true))
                return
            }
            var end: Int64 = 0
            while !shouldStop, av_read_frame(context, packet) >= 0 {
                defer { av_packet_unref(packet) }
                let stream = context.pointee.streams[Int(packet.pointee.stream_index)]!
                let tb = stream.pointee.time_base
                let media = packet.pointee.pts * 1_000_000_000 * Int64(tb.num) / Int64(tb.den)
                let at = start + offset + media
                if paced { MonotonicClock.sleep(until: at) }
                if stream == video {
                    end = max(end, media + 1_000_000_000 / Int64(max(fps, 1)))
                    // The demuxed packet's own buffer, referenced: no copy.
                    guard let buffer = FrameBuffer(referencing: packet) else { skipped += 1; continue }
                    queue.push(.video(VideoFrame(buffer: buffer, layout: .mjpeg, width: width, height: height,
                                                 monotonicNanoseconds: at, droppedBefore: skipped)), wait: !paced)
                    skipped = 0
                } else if stream == input.audio, let data = packet.pointee.data {
                    let samples = Array(UnsafeRawBufferPointer(start: data, count: Int(packet.pointee.size)).bindMemory(to: Int16.self))
                    end = max(end, media + Int64(samples.count) * 1_000_000_000 / 48_000)
                    queue.push(.audio(AudioChunk(samples: samples, monotonicNanoseconds: at, xrunBefore: false)), wait: !paced)
                }
            }
            offset += end
            if shouldStop { break }
        }
        // The file is over: park until stopped (a camera that ended would be "lost").
        while !shouldStop { usleep(20_000) }
    }
}
