public import CaptureProtocol
import Foundation
public import Logging
internal import CFFmpeg

/// Records one device continuously: its own thread gathers what the source
/// threads capture, encodes, and writes wall-clock-aligned segments through
/// ``FragmentedMP4Writer``. On a device failure the segment is closed cleanly
/// and the device reopened with backoff (≤ 2 s); other recorders never notice.
/// Twice a second the newest frame also goes to the sink as a JPEG still
/// (``Still``, ``StillMaker``), for the live wall; never instead of recording it.
public final class Recorder: @unchecked Sendable {
    public let configuration: RecorderConfiguration
    private let sink: any SegmentSink
    private let logger: Logger
    private let statusLock = NSLock()
    private var _status = RecorderStatus()
    private let control = NSCondition()
    private var stopRequested = false
    private var running = false
    /// The device's latest pictures for the live wall; recorder thread only.
    private let stills: StillMaker

    public init(configuration: RecorderConfiguration, sink: any SegmentSink, logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.logger = logger
        stills = StillMaker(device: configuration.device, sink: sink, logger: logger)
        // FFmpeg prints encoder statistics to stderr by default; roomd reports
        // through its own log and events, so only FFmpeg's errors get through.
        av_log_set_level(AV_LOG_ERROR)
    }

    public var status: RecorderStatus {
        statusLock.lock()
        defer { statusLock.unlock() }
        return _status
    }

    private func update(_ change: (inout RecorderStatus) -> Void) {
        statusLock.lock()
        change(&_status)
        statusLock.unlock()
    }

    public func start() {
        control.lock()
        running = true
        control.unlock()
        let thread = Thread { [self] in
            nameCurrentThread("roomd-rec-\(configuration.device)")
            self.supervise()
            control.lock()
            running = false
            control.broadcast()
            control.unlock()
        }
        thread.name = "roomd-rec-\(configuration.device)"
        thread.start()
    }

    /// Stops capture, closes the open segment durably, and waits.
    public func stop() {
        control.lock()
        stopRequested = true
        control.broadcast()
        while running { control.wait() }
        control.unlock()
        update { $0.state = .stopped }
    }

    private var shouldStop: Bool {
        control.lock()
        defer { control.unlock() }
        return stopRequested
    }

    /// Sleeps up to `seconds`, returning early on stop.
    private func pause(_ seconds: Double) {
        control.lock()
        if !stopRequested { _ = control.wait(until: Date().addingTimeInterval(seconds)) }
        control.unlock()
    }

    // MARK: Supervision

    private func supervise() {
        var backoff = 0.25
        var failing: CaptureError?
        while !shouldStop {
            update { $0.loopMonotonic = MonotonicClock.now() }
            if let waitForSpace = diskSpaceShortfall() {
                if status.state != .diskFull {
                    update { $0.state = .diskFull; $0.detail = waitForSpace }
                    event(.diskFull, ["path": configuration.directory, "detail": waitForSpace])
                    logger.critical("recording paused: disk full / 磁盘空间不足，录像已暂停", metadata: ["device": .string(configuration.device)])
                }
                pause(2)
                continue
            }
            if status.state == .diskFull {
                event(.diskSpaceReturned, ["path": configuration.directory])
            }
            do {
                try session(onStreaming: {
                    if let lost = failing {
                        self.event(.deviceReturned, ["after": lost.description])
                        self.logger.notice("device returned", metadata: ["device": .string(self.configuration.device)])
                        failing = nil
                    }
                    backoff = 0.25
                })
            } catch {
                switch error {
                case .diskFull:
                    continue  // the loop waits for space
                case .deviceMissing, .deviceLost, .unsupportedFormat:
                    if failing == nil {
                        event(error.isMissing ? .deviceMissing : .deviceLost, ["error": error.description])
                        logger.error("device unavailable; retrying / 设备不可用，正在重试",
                                     metadata: ["device": .string(configuration.device), "error": .string(error.description)])
                    }
                    update { $0.state = error.isMissing ? .missing : .reconnecting; $0.detail = error.description }
                default:
                    if failing == nil {
                        event(.recordingError, ["error": error.description])
                        logger.error("recording failed; restarting", metadata: ["device": .string(configuration.device), "error": .string(error.description)])
                    }
                    update { $0.state = .reconnecting; $0.detail = error.description }
                }
                failing = error
                pause(backoff)
                backoff = min(backoff * 2, 2)
            }
        }
    }

    private func diskSpaceShortfall() -> String? {
        var info = statvfs()
        try? RecordingFolder.make(configuration.directory)
        guard statvfs(configuration.directory, &info) == 0 else { return nil }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        return free < configuration.minimumFreeBytes
            ? "\(free / 1_048_576) MiB free, below the \(configuration.minimumFreeBytes / 1_048_576) MiB minimum" : nil
    }

    private func event(_ kind: CaptureEvent.Kind, _ detail: [String: String]) {
        sink.captureEvent(CaptureEvent(kind: kind, device: configuration.device, wallNanoseconds: MonotonicClock.wallNow(), detail: detail))
    }

    // MARK: One streaming session (from open to failure or stop)

    private func makeSources() throws(CaptureError)
        -> (video: SourceThread?, audio: SourceThread?, layout: PixelLayout?, size: (Int, Int, Int), hasAudio: Bool)
    {
        var video: SourceThread?
        var layout: PixelLayout?
        var size = (0, 0, 0)
        var replayAudio = false
        switch configuration.video {
        case .synthetic(let w, let h, let fps)?:
            video = SyntheticCamera(name: "\(configuration.device)-cam", width: w, height: h, fps: fps)
            layout = .yuv420p
            size = (w & ~1, h & ~1, fps)
        case .v4l2(let path, let preferred, let w, let h, let fps)?:
            let camera = try V4L2Camera(name: "\(configuration.device)-cam", path: path, preferred: preferred,
                                        width: w, height: h, fps: fps)
            video = camera
            layout = camera.layout
            size = (camera.width, camera.height, camera.fps)
        case .replay(let path, let paced, let loops)?:
            let replay = try ReplaySource(name: "\(configuration.device)-replay", path: path, paced: paced, loops: loops)
            video = replay
            layout = .mjpeg
            size = (replay.width, replay.height, replay.fps)
            replayAudio = replay.hasAudio
        case nil:
            break
        }
        var audio: SourceThread?
        switch configuration.audio {
        case .synthetic?: audio = SyntheticMicrophone(name: "\(configuration.device)-mic")
        case .alsa(let device)?: audio = try ALSAMicrophone(name: "\(configuration.device)-mic", device: device)
        case nil: break
        }
        return (video, audio, layout, size, audio != nil || replayAudio)
    }

    private func session(onStreaming: () -> Void) throws(CaptureError) {
        let (videoSource, audioSource, layout, size, hasAudio) = try makeSources()
        let queue = CaptureQueue()
        videoSource?.start(into: queue)
        audioSource?.start(into: queue)
        var writer: SegmentWriter?
        defer {
            queue.close()
            videoSource?.stop()
            audioSource?.stop()
        }
        let encoder: VideoEncoder? = (layout != nil && layout != .mjpeg)
            ? try VideoEncoder(width: size.0, height: size.1, fps: size.2, preset: configuration.x264Preset) : nil
        writer = SegmentWriter(configuration: configuration, sink: sink, logger: logger, layout: layout,
                               size: size, encoder: encoder, audio: hasAudio ? try AudioEncoder() : nil)
        update { $0.state = .starting; $0.detail = "" }
        var announced = false
        var fpsWindow: (start: Int64, frames: Int64) = (MonotonicClock.now(), 0)
        var writeWindowStart = MonotonicClock.now(), previousSlowest: Int64 = 0
        do throws(CaptureError) {
            while !shouldStop {
                let drops = queue.takeDrops()
                if drops.video > 0 { writer!.noteDropped(drops.video) }
                if drops.audio > 0 { writer!.noteAudioOverflow() }
                guard let item = queue.pop(timeout: 0.25) else {
                    update { $0.loopMonotonic = MonotonicClock.now() }
                    try writer!.idle()
                    continue
                }
                switch item {
                case .video(let frame):
                    try writer!.video(frame)
                    update { $0.lastVideoMonotonic = frame.monotonicNanoseconds }
                    // Recorded first; then, twice a second, the live wall's picture of it.
                    stills.offer(frame)
                case .audio(let chunk):
                    try writer!.audio(chunk)
                    update { $0.lastAudioMonotonic = chunk.monotonicNanoseconds }
                case .sourceFailed(let error, _):
                    throw error
                }
                if !announced, writer!.isRecording {
                    announced = true
                    update { $0.state = .recording; $0.detail = "" }
                    onStreaming()
                }
                let totals = writer!.totals
                let now = MonotonicClock.now()
                if now - fpsWindow.start >= 2_000_000_000 {
                    let fps = Double(totals.frames - fpsWindow.frames) * 1e9 / Double(now - fpsWindow.start)
                    fpsWindow = (now, totals.frames)
                    update { $0.framesPerSecond = fps }
                }
                update {
                    $0.loopMonotonic = now
                    $0.frames = totals.frames; $0.droppedFrames = totals.dropped; $0.audioXruns = totals.xruns
                    $0.bytesWritten = totals.bytes; $0.segmentsClosed = totals.segments
                    $0.lastSegmentClosedWall = totals.lastClosedWall
                    $0.fragmentWriteSeconds = Double(totals.lastWrite) / 1e9
                    $0.slowestFragmentWriteSeconds = Double(max(previousSlowest, totals.slowestWrite)) / 1e9
                }
                if now - writeWindowStart >= 10_000_000_000 {
                    // The slowest over the last 10 to 20 s: this window and the one before.
                    writeWindowStart = now
                    previousSlowest = writer!.takeSlowestWrite()
                }
            }
            try writer!.close(reason: "stop")
        } catch {
            let reason: String
            switch error {
            case .diskFull: reason = "disk-full"
            case .deviceLost, .deviceMissing: reason = "device-lost"
            default: reason = "error"
            }
            writer!.abandon(reason: reason)
            throw error
        }
    }
}

extension CaptureError {
    var isMissing: Bool {
        if case .deviceMissing = self { return true }
        return false
    }
}
