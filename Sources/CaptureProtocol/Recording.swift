import Foundation
internal import CProcess
import Glibc

// The vocabulary shared by the capture helper (`roomd-capture`, which links
// FFmpeg, V4L2 and ALSA) and the daemon (which links none of them): what a
// recorder records, what it reports, and the clock both sides read.

/// Pixel layouts roomd records. MJPEG is stream-copied; the rest are encoded.
public enum PixelLayout: String, Sendable, Codable, CaseIterable {
    case mjpeg, yuyv, nv12, yuv420p
}


/// What one recorder records: a camera and/or a microphone of a station or a
/// room camera, into segments under `directory/<device>/…`.
public struct RecorderConfiguration: Sendable, Equatable, Codable {
    public enum Video: Sendable, Equatable, Codable {
        case synthetic(width: Int, height: Int, fps: Int)
        case v4l2(path: String, preferred: PixelLayout?, width: Int, height: Int, fps: Int)
        /// A recorded MJPEG(+PCM) file played back as a camera (and microphone):
        /// benchmarks and tests only.
        case replay(path: String, paced: Bool, loops: Int)
    }

    public enum Audio: Sendable, Equatable, Codable {
        case synthetic
        case alsa(device: String)
    }

    public var device: String
    public var video: Video?
    public var audio: Audio?
    public var directory: String
    public var segmentSeconds: Int
    public var x264Preset: String
    /// Below this many free bytes a segment is closed cleanly and recording pauses.
    public var minimumFreeBytes: Int64

    public init(device: String, video: Video?, audio: Audio?, directory: String, segmentSeconds: Int,
                x264Preset: String = "veryfast", minimumFreeBytes: Int64 = 256 << 20) {
        self.device = device
        self.video = video
        self.audio = audio
        self.directory = directory
        self.segmentSeconds = segmentSeconds
        self.x264Preset = x264Preset
        self.minimumFreeBytes = minimumFreeBytes
    }

    /// Synthetic sources are flagged in the index: never evidence of a real room.
    public var synthetic: Bool {
        if case .synthetic? = video { return true }
        if case .replay? = video { return true }
        if video == nil, case .synthetic? = audio { return true }
        return false
    }
}

/// A recorder's state, as health checks, metrics and `roomctl status` see it.
public struct RecorderStatus: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case starting, recording, missing, reconnecting, diskFull = "disk-full", stopped }
    public var state: State = .starting
    public var detail = ""
    public var frames: Int64 = 0
    public var droppedFrames: Int64 = 0
    public var audioXruns: Int64 = 0
    public var bytesWritten: Int64 = 0
    public var segmentsClosed: Int64 = 0
    /// CLOCK_MONOTONIC of the newest video frame / audio chunk (0: none yet).
    public var lastVideoMonotonic: Int64 = 0
    public var lastAudioMonotonic: Int64 = 0
    public var lastSegmentClosedWall: Int64 = 0
    public var framesPerSecond: Double = 0
    /// How long the newest fragment took to reach the disk (written and
    /// fdatasync'd), and the slowest over the last 10–20 s: a disk
    /// that stalls shows here before frames are lost.
    public var fragmentWriteSeconds: Double = 0
    public var slowestFragmentWriteSeconds: Double = 0
    /// CLOCK_MONOTONIC of the recorder thread's latest loop turn: a hung thread stops moving it.
    public var loopMonotonic: Int64 = MonotonicClock.now()

    public init() {}

    /// Adds the running totals of `other` (frames, drops, xruns, bytes, segments).
    public mutating func addCounters(of other: RecorderStatus) {
        frames += other.frames
        droppedFrames += other.droppedFrames
        audioXruns += other.audioXruns
        bytesWritten += other.bytesWritten
        segmentsClosed += other.segmentsClosed
        lastSegmentClosedWall = max(lastSegmentClosedWall, other.lastSegmentClosedWall)
    }

    public mutating func resetCounters() {
        frames = 0
        droppedFrames = 0
        audioXruns = 0
        bytesWritten = 0
        segmentsClosed = 0
    }
}


public enum MonotonicClock {
    /// CLOCK_MONOTONIC now, in nanoseconds.
    public static func nowNanoseconds() -> Int64 { now() }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public static func wallNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Sleeps until an absolute CLOCK_MONOTONIC time (paced sources).
    public static func sleep(until nanoseconds: Int64) {
        var ts = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
}

/// Runs `work` for every item at once, each on a thread of its own (device
/// work blocks; never the concurrency pool), and returns when all are done:
/// stopping many recorders or helpers, so one slow device does not keep the
/// others' segments open.
public func onThreadsConcurrently<Item: Sendable>(_ items: [Item], name: String, _ work: @escaping @Sendable (Item) -> Void) {
    let done = DispatchGroup()
    for item in items {
        done.enter()
        let thread = Thread {
            nameCurrentThread(name)
            work(item)
            done.leave()
        }
        thread.name = name
        thread.start()
    }
    done.wait()
}

/// Gives the calling thread a name the kernel knows: what `top -H`, `ps -L`,
/// gdb, perf and /proc/PID/task/TID/comm show. Foundation's `Thread.name`
/// does not reach the kernel on Linux. Cut to the kernel's 15 bytes.
@discardableResult
public func nameCurrentThread(_ name: String) -> Bool {
    // pthread_setname_np is a GNU extension Swift's Glibc module leaves out,
    // and prctl is variadic: the shim calls prctl(PR_SET_NAME). (Not by
    // writing /proc/thread-self/comm: a confined capture helper may not write /proc.)
    roomd_name_thread(name) == 0
}
