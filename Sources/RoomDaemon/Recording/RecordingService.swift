import Archive
import Canonical
import CaptureProtocol
import CaptureSupervisor
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import RoomConfig
import ServiceLifecycle
import Store
import Synchronization

/// Records every configured camera/microphone through a capture helper
/// process per device (``CaptureProcess``), and owns the start-up repair of
/// the segment index.
final class RecordingService: Service, Sendable {
    /// A device as health checks, metrics and `roomctl status` see it.
    struct Device {
        var configuration: RecorderConfiguration
        var status: RecorderStatus
        var helperPID: Int32?
        var helperExits: Int
        var helperSandbox: SandboxReport?
    }

    let processes: [CaptureProcess]
    let helperPath: String
    /// With a helper per device: the `roomd-capture forkserver` that forks them.
    let forkServer: ForkServer?
    private let index: SegmentIndex
    private let sink: IndexSink
    private let logger: Logger
    private let recordingsDirectory: String
    private let sandbox: Bool
    /// The start-up check's verdict, for retention: nil until it ran; true
    /// when most indexed files were missing (an unmounted disk?).
    private let storageRefused = Mutex<Bool?>(nil)

    /// nil while the start-up check has not run; then whether it refused to touch the recordings.
    var storageRefusedAtStart: Bool? { storageRefused.withLock { $0 } }

    init(config: RoomConfiguration, store: RoomStore, logger: Logger, helperPath: String? = nil) {
        let helperPath = helperPath ?? ChildProcess.helperPath(configured: config.storage.captureHelper)
        self.logger = logger
        let index = store.segments
        let sink = IndexSink(index: index, store: store, logger: logger)
        self.index = index
        self.sink = sink
        self.helperPath = helperPath
        recordingsDirectory = config.storage.recordingsDirectory
        sandbox = config.storage.captureSandbox
        let recorders = Self.configurations(config)
        switch config.storage.captureIsolation {
        case .device:
            // One exec of roomd-capture, forked per device: the helpers share
            // its loaded libraries instead of each relocating its own copy.
            let server = recorders.isEmpty ? nil : ForkServer(helperPath: helperPath, logger: logger)
            forkServer = server
            processes = recorders.map {
                CaptureProcess(configurations: [$0], helperPath: helperPath, launcher: server, sandbox: config.storage.captureSandbox,
                               sink: sink, logger: logger)
            }
        case .shared:
            forkServer = nil
            processes = recorders.isEmpty ? [] : [CaptureProcess(configurations: recorders, helperPath: helperPath,
                                                                 sandbox: config.storage.captureSandbox, sink: sink, logger: logger)]
        }
    }

    var devices: [Device] {
        processes.flatMap { process in
            process.configurations.map {
                Device(configuration: $0, status: process.status(of: $0.device), helperPID: process.helperPID,
                       helperExits: process.unexpectedExits, helperSandbox: process.sandboxed)
            }
        }
    }

    /// The newest picture of `device` (a JPEG its capture helper made, about
    /// twice a second), for the live wall and the check-in page: never read
    /// from the evidence files. Nil for a device not configured or with no
    /// picture yet; a stale one (``Still/isFresh(now:)``) is a device that stopped.
    func latestStill(device: String) -> Still? {
        for process in processes where process.configurations.contains(where: { $0.device == device }) {
            return process.latestStill(of: device)
        }
        return nil
    }

    /// Why recording cannot run on this installation (the configuration
    /// names devices but `roomd-capture` is missing), or nil.
    static func installationProblem(_ config: RoomConfiguration, helperPath: String? = nil) -> String? {
        let helperPath = helperPath ?? ChildProcess.helperPath(configured: config.storage.captureHelper)
        guard !configurations(config).isEmpty, access(helperPath, X_OK) != 0 else { return nil }
        return """
            the capture helper \(helperPath) is missing or not executable; install roomd-capture \
            (\(ChildProcess.installedHelperPath), or beside roomd) or name it in storage.capture_helper \
            / 录像程序 roomd-capture 缺失，请与 roomd 一同安装
            """
    }

    static func configurations(_ config: RoomConfiguration) -> [RecorderConfiguration] {
        func video(_ source: RoomConfiguration.VideoSource?, _ format: RoomConfiguration.CaptureFormat) -> RecorderConfiguration.Video? {
            switch source {
            case .synthetic?: return .synthetic(width: format.width, height: format.height, fps: format.fps)
            case .v4l2(let path)?:
                let preferred: PixelLayout? = switch format.pixelFormat {
                case .auto: nil
                case .mjpeg: .mjpeg
                case .yuyv: .yuyv
                case .nv12: .nv12
                }
                return .v4l2(path: path, preferred: preferred, width: format.width, height: format.height, fps: format.fps)
            case nil: return nil
            }
        }
        func audio(_ source: RoomConfiguration.AudioSource?) -> RecorderConfiguration.Audio? {
            switch source {
            case .synthetic?: .synthetic
            case .alsa(let device)?: .alsa(device: device)
            case nil: nil
            }
        }
        let storage = config.storage
        let stations = config.stations.compactMap { station -> RecorderConfiguration? in
            guard station.camera != nil || station.microphone != nil else { return nil }
            return RecorderConfiguration(device: station.id, video: video(station.camera, station.format), audio: audio(station.microphone),
                                         directory: storage.recordingsDirectory, segmentSeconds: storage.segmentSeconds,
                                         x264Preset: storage.x264Preset, minimumFreeBytes: storage.minimumFreeBytes)
        }
        let cameras = config.roomCameras.map { camera in
            RecorderConfiguration(device: camera.id, video: video(camera.camera, camera.format), audio: audio(camera.microphone),
                                  directory: storage.recordingsDirectory, segmentSeconds: storage.segmentSeconds,
                                  x264Preset: storage.x264Preset, minimumFreeBytes: storage.minimumFreeBytes)
        }
        return stations + cameras
    }

    /// Brings the index and the disk into agreement after an unclean stop.
    /// Runs before any recorder starts; blocking file work, so on its own thread.
    func recover() async throws {
        let index = self.index, sink = self.sink, logger = self.logger, root = recordingsDirectory
        let repairer = SegmentRepairRunner(helperPath: helperPath, sandbox: sandbox)
        let outcome = try await runBlocking {
            try IndexRecovery(index: index, sink: sink, logger: logger, root: root, repair: repairer.repair(path:)).run()
        }
        storageRefused.withLock { $0 = outcome.refused != nil }
    }

    func run() async throws {
        try await recover()
        for process in processes { process.start() }
        logger.notice("recording started", metadata: ["devices": .string(devices.map(\.configuration.device).joined(separator: ",")),
                                                      "helper": .string(helperPath)])
        try? await gracefulShutdown()
        let processes = self.processes
        // Every helper closes its segments at the same time.
        let forkServer = self.forkServer
        await runBlocking {
            onThreadsConcurrently(processes, name: "roomd-capture-stop") { $0.stop() }
            forkServer?.stop()
        }
        logger.notice("recording stopped; every open segment closed and synced")
    }

    /// Health: devices that should be producing data are. A device that is
    /// missing or reconnecting makes the room degraded (readyz, roomctl
    /// status, STATUS=) but does not starve the watchdog; a recorder whose
    /// thread stopped making progress does.
    func health() -> [HealthReport] {
        let now = sink.store.clock.monotonic()
        return devices.map { recorder in
            let s = recorder.status
            let name = "recording \(recorder.configuration.device)"
            switch s.state {
            case .recording:
                let fresh = [recorder.configuration.video != nil ? s.lastVideoMonotonic : now,
                             recorder.configuration.audio != nil ? s.lastAudioMonotonic : now].allSatisfy { now - $0 < 5_000_000_000 }
                return HealthReport(name: name, healthy: fresh,
                                    detail: fresh ? String(format: "%.1f fps, %lld frames, %lld dropped", s.framesPerSecond, s.frames, s.droppedFrames)
                                        : "no data for 5 s")
            case .starting:
                return HealthReport(name: name, healthy: true, detail: "starting")
            default:
                return HealthReport(name: name, healthy: false, detail: "\(s.state.rawValue): \(s.detail)")
            }
        }
    }

    /// True while every recorder is alive and progressing (the watchdog's
    /// condition): its helper reports twice a second, and a helper that goes
    /// silent is killed and replaced well before this trips.
    func recordersAlive() -> Bool {
        let now = sink.store.clock.monotonic()
        return devices.allSatisfy { now - $0.status.loopMonotonic < 20_000_000_000 }
    }

    func refreshMetrics() {
        let wall = sink.store.clock.now().nanoseconds
        for recorder in devices {
            let s = recorder.status
            let dims = [("device", recorder.configuration.device)]
            Gauge(label: "roomd_capture_fps", dimensions: dims).record(s.framesPerSecond)
            Gauge(label: "roomd_capture_frames", dimensions: dims).record(s.frames)
            Gauge(label: "roomd_capture_dropped_frames", dimensions: dims).record(s.droppedFrames)
            Gauge(label: "roomd_capture_audio_xruns", dimensions: dims).record(s.audioXruns)
            Gauge(label: "roomd_capture_bytes_written", dimensions: dims).record(s.bytesWritten)
            Gauge(label: "roomd_capture_fragment_write_seconds", dimensions: dims).record(s.fragmentWriteSeconds)
            Gauge(label: "roomd_capture_fragment_write_slowest_seconds", dimensions: dims).record(s.slowestFragmentWriteSeconds)
            Gauge(label: "roomd_capture_recording", dimensions: dims).record(s.state == .recording ? 1 : 0)
            if s.lastSegmentClosedWall > 0 {
                Gauge(label: "roomd_capture_last_segment_age_seconds", dimensions: dims).record(Double(wall - s.lastSegmentClosedWall) / 1e9)
            }
        }
    }
}
