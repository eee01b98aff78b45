import CaptureProtocol
import Glibc

/// A generated camera for the demo and tests (flagged `synthetic` in the
/// index): a moving bar and a burned-in frame counter, YUV 4:2:0, paced by
/// CLOCK_MONOTONIC at the configured rate.
final class SyntheticCamera: SourceThread, @unchecked Sendable {
    let width: Int, height: Int, fps: Int

    init(name: String, width: Int, height: Int, fps: Int) {
        self.width = width & ~1
        self.height = height & ~1
        self.fps = fps
        super.init(name: name)
    }

    override func body(_ queue: CaptureQueue) {
        // Frames on a fixed grid of the monotonic clock, stamped with their
        // scheduled time, as a camera's sensor clock would.
        let period = Int64(1_000_000_000 / fps)
        var next = (MonotonicClock.now() / period + 1) * period
        var count = 0
        while !shouldStop {
            MonotonicClock.sleep(until: next)
            let flash = next % Self.syncInterval < period
            queue.push(.video(VideoFrame(bytes: Self.picture(width: width, height: height, number: count, flash: flash),
                                         layout: .yuv420p, width: width, height: height,
                                         monotonicNanoseconds: next, droppedBefore: 0)))
            count += 1
            next += period
            let now = MonotonicClock.now()
            if now - next > period * 5 { next = (now / period + 1) * period }  // suspended: do not burst to catch up
        }
    }

    /// Every 2 s of the monotonic clock the picture flashes white and the
    /// synthetic microphone clicks, at the same instant: a marker to measure
    /// audio/video sync in what was recorded.
    static let syncInterval: Int64 = 2_000_000_000

    /// Grey background, a white bar moving one step per frame, and the frame
    /// number in large digits top-left.
    static func picture(width: Int, height: Int, number: Int, flash: Bool = false) -> [UInt8] {
        var bytes = [UInt8](repeating: 128, count: width * height * 3 / 2)
        for i in 0..<(width * height) { bytes[i] = flash ? 235 : 60 }
        let barWidth = max(4, width / 32)
        let x0 = (number * max(1, width / 64)) % max(1, width - barWidth)
        for y in 0..<height { for x in x0..<(x0 + barWidth) { bytes[y * width + x] = 235 } }
        let scale = max(2, height / 60)
        var cursor = 4
        for digit in String(number) {
            let glyph = digitFont[Int(digit.asciiValue! - 48)]
            for (row, bits) in glyph.enumerated() {
                for col in 0..<5 where bits & (1 << (4 - col)) != 0 {
                    for dy in 0..<scale { for dx in 0..<scale {
                        let y = 4 + row * scale + dy, x = cursor + col * scale + dx
                        if y < height, x < width { bytes[y * width + x] = 235 }
                    } }
                }
            }
            cursor += 6 * scale
        }
        return bytes
    }

    /// 5×7 digits, one byte per row, low five bits.
    static let digitFont: [[UInt8]] = [
        [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
    ]
}

/// A generated microphone: a 1 kHz tone at -18 dBFS with a sync click every
/// 2 s, 48 kHz mono, in 10 ms periods paced by CLOCK_MONOTONIC.
final class SyntheticMicrophone: SourceThread, @unchecked Sendable {
    static let periodSamples = 480

    override func body(_ queue: CaptureQueue) {
        let period = Int64(Self.periodSamples) * 1_000_000_000 / 48_000
        var next = (MonotonicClock.now() / period + 1) * period
        let amplitude = 32767.0 * 0.125892541  // -18 dBFS
        while !shouldStop {
            MonotonicClock.sleep(until: next)
            var samples = [Int16](repeating: 0, count: Self.periodSamples)
            // The sample clock is the monotonic clock: sample i is at next + i/48000 s.
            let first = next / 1_000_000_000 * 48_000 + (next % 1_000_000_000) * 48 / 1_000_000
            for i in 0..<Self.periodSamples {
                let n = first + Int64(i)
                let sinceMarker = n % (SyntheticCamera.syncInterval / 1_000_000_000 * 48_000)
                if sinceMarker < 960 {
                    // The sync click: 20 ms of a full-scale 2 kHz square wave.
                    samples[i] = (sinceMarker / 12) % 2 == 0 ? 30_000 : -30_000
                } else {
                    samples[i] = Int16(amplitude * sin(2 * Double.pi * 1000 * Double(n % 48_000) / 48_000))
                }
            }
            queue.push(.audio(AudioChunk(samples: samples, monotonicNanoseconds: next, xrunBefore: false)))
            next += period
            let now = MonotonicClock.now()
            if now - next > period * 50 { next = (now / period + 1) * period }
        }
    }
}
