import CaptureProtocol
import Glibc
internal import CALSA

/// An ALSA capture device: 48 kHz, 16-bit, mono (stereo devices are mixed
/// down), 10 ms periods, read on its own thread. Each chunk is stamped with
/// the CLOCK_MONOTONIC time of its first sample, computed from
/// `snd_pcm_htimestamp`; overruns are recovered with `snd_pcm_recover` and
/// flagged so the recorder records the gap.
final class ALSAMicrophone: SourceThread, @unchecked Sendable {
    let device: String
    private var pcm: OpaquePointer?
    private var channels: UInt32 = 1
    private var periodFrames: snd_pcm_uframes_t = 480
    private var rate: UInt32 = 48_000

    init(name: String, device: String) throws(CaptureError) {
        self.device = device
        super.init(name: name)
        var handle: OpaquePointer?
        let rc = snd_pcm_open(&handle, device, SND_PCM_STREAM_CAPTURE, 0)
        guard rc >= 0, let handle else {
            let reason = String(cString: snd_strerror(rc))
            throw rc == -ENOENT || rc == -ENODEV ? CaptureError.deviceMissing(device: device, reason: reason)
                : CaptureError.alsa(operation: "snd_pcm_open(\(device))", code: rc, message: reason)
        }
        pcm = handle
        do { try configure() } catch {
            snd_pcm_close(handle)
            pcm = nil
            throw error
        }
    }

    deinit { if let pcm { snd_pcm_close(pcm) } }

    private func check(_ operation: String, _ rc: Int32) throws(CaptureError) {
        if rc < 0 { throw CaptureError.alsa(operation: "\(operation) on \(device)", code: rc, message: String(cString: snd_strerror(rc))) }
    }

    private func configure() throws(CaptureError) {
        var hw: OpaquePointer?
        try check("snd_pcm_hw_params_malloc", roomd_snd_pcm_hw_params_malloc(&hw))
        defer { snd_pcm_hw_params_free(hw) }
        try check("snd_pcm_hw_params_any", snd_pcm_hw_params_any(pcm, hw))
        try check("set_access", snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED))
        try check("set_format(S16_LE)", snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE))
        if snd_pcm_hw_params_set_channels(pcm, hw, 1) < 0 {
            try check("set_channels", snd_pcm_hw_params_set_channels(pcm, hw, 2))
            channels = 2
        }
        var dir: Int32 = 0
        try check("set_rate(48000)", snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, &dir))
        guard rate == 48_000 else {
            throw CaptureError.alsa(operation: "set_rate on \(device)", code: -EINVAL, message: "device offers \(rate) Hz, not 48000 Hz; use plughw:")
        }
        periodFrames = 480
        try check("set_period_size", snd_pcm_hw_params_set_period_size_near(pcm, hw, &periodFrames, &dir))
        var bufferFrames: snd_pcm_uframes_t = periodFrames * 8
        try check("set_buffer_size", snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &bufferFrames))
        try check("snd_pcm_hw_params", snd_pcm_hw_params(pcm, hw))

        var sw: OpaquePointer?
        try check("snd_pcm_sw_params_malloc", roomd_snd_pcm_sw_params_malloc(&sw))
        defer { snd_pcm_sw_params_free(sw) }
        try check("snd_pcm_sw_params_current", snd_pcm_sw_params_current(pcm, sw))
        try check("set_tstamp_mode", snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE))
        try check("set_tstamp_type", snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC))
        try check("snd_pcm_sw_params", snd_pcm_sw_params(pcm, sw))
        try check("snd_pcm_prepare", snd_pcm_prepare(pcm))
    }

    override func body(_ queue: CaptureQueue) {
        guard let pcm else { return }
        defer {
            snd_pcm_close(pcm)
            self.pcm = nil
        }
        var interleaved = [Int16](repeating: 0, count: Int(periodFrames) * Int(channels))
        var xrun = false
        try? check("snd_pcm_start", snd_pcm_start(pcm))
        while !shouldStop {
            let waited = snd_pcm_wait(pcm, 500)
            if waited == 0 { continue }
            let read = waited < 0 ? snd_pcm_sframes_t(waited)
                : interleaved.withUnsafeMutableBytes { snd_pcm_readi(pcm, $0.baseAddress, periodFrames) }
            if read == -snd_pcm_sframes_t(EAGAIN) { continue }
            if read < 0 {
                let code = Int32(read)
                if code == -EPIPE || code == -ESTRPIPE || code == -EINTR {
                    // Overrun: samples were lost; recover and flag the gap.
                    if snd_pcm_recover(pcm, code, 1) >= 0 {
                        xrun = true
                        _ = snd_pcm_start(pcm)
                        continue
                    }
                }
                queue.push(.sourceFailed(.deviceLost(device: device, reason: String(cString: snd_strerror(code))), video: false))
                return
            }
            let frames = Int(read)
            var avail: snd_pcm_uframes_t = 0
            var stamp = timespec()
            let first: Int64
            if snd_pcm_htimestamp(pcm, &avail, &stamp) == 0, stamp.tv_sec != 0 {
                // `stamp` is when `avail` frames (after ours) were waiting:
                // our first sample is (frames + avail) samples before it.
                let at = Int64(stamp.tv_sec) * 1_000_000_000 + Int64(stamp.tv_nsec)
                first = at - Int64(frames + Int(avail)) * 1_000_000_000 / Int64(rate)
            } else {
                first = MonotonicClock.now() - Int64(frames) * 1_000_000_000 / Int64(rate)
            }
            var mono = [Int16](repeating: 0, count: frames)
            if channels == 1 {
                mono = Array(interleaved[0..<frames])
            } else {
                for i in 0..<frames { mono[i] = Int16((Int32(interleaved[2 * i]) + Int32(interleaved[2 * i + 1])) / 2) }
            }
            queue.push(.audio(AudioChunk(samples: mono, monotonicNanoseconds: first, xrunBefore: xrun)))
            xrun = false
        }
    }
}
