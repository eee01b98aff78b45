import CaptureProtocol
import CaptureSupervisor
import Foundation
import Glibc
import Logging
import Testing

/// Stills end to end, as roomd runs its recorders: a `CaptureProcess` per
/// device, each helper forked by the real `roomd-capture forkserver` and
/// confined by its sandbox, sends its device's latest picture up the pipe;
/// roomd keeps the newest per device and hands it out without reading any
/// evidence file. Both kinds of camera: a raw one (encoded by the helper)
/// and an MJPEG one (its own frames).
@Suite(.serialized)
struct SupervisedStillTests {
    /// The segment index, in memory: what the helpers' requests need.
    final class MemoryIndex: CaptureIndex, @unchecked Sendable {
        private let lock = NSLock()
        private var sequence: Int64 = 0
        private var id: Int64 = 0

        func nextSequence(device: String) throws -> Int64 {
            lock.lock(); defer { lock.unlock() }
            sequence += 1
            return sequence
        }
        func segmentOpened(_ segment: SegmentOpened) throws -> Int64 {
            lock.lock(); defer { lock.unlock() }
            id += 1
            return id
        }
        func segmentProgressed(id: Int64, _ progress: SegmentProgress) {}
        func segmentClosed(id: Int64, _ closed: SegmentClosed) throws {}
        func segmentRecovered(id: Int64, wallStartNanoseconds: Int64, report: RepairReport) throws {}
        func captureEvent(_ event: CaptureEvent) {}
    }

    @Test func confinedForkedHelpersKeepRoomdsLatestStillOfEachDeviceFresh() throws {
        let dir = try TemporaryDirectory("stills")
        let camera = dir.path + "/camera.mkv"
        let made = try run("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=15", "-t", "2",
                                               "-c:v", "mjpeg", "-q:v", "5", camera])
        #expect(made.status == 0, "\(made.stderr)")
        let recordings = dir.path + "/recordings"
        let configurations = [
            RecorderConfiguration(device: "S31", video: .synthetic(width: 1280, height: 720, fps: 15), audio: .synthetic,
                                  directory: recordings, segmentSeconds: 60, x264Preset: "ultrafast", minimumFreeBytes: 1 << 20),
            RecorderConfiguration(device: "C31", video: .replay(path: camera, paced: true, loops: 1_000), audio: nil,
                                  directory: recordings, segmentSeconds: 60, minimumFreeBytes: 1 << 20),
        ]
        let logger = Logger(label: "stills-test")
        let server = ForkServer(helperPath: Binaries.roomdCapture, logger: logger)
        let index = MemoryIndex()
        let processes = configurations.map {
            CaptureProcess(configurations: [$0], helperPath: Binaries.roomdCapture, launcher: server, sandbox: true, sink: index, logger: logger)
        }
        for process in processes { process.start() }
        defer {
            onThreadsConcurrently(processes, name: "stills-test-stop") { $0.stop() }
            server.stop()
        }
        let deadline = Date().addingTimeInterval(30)
        func waitFor(_ condition: () -> Bool) -> Bool {
            while !condition() {
                if Date() >= deadline { return false }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return true
        }
        for (process, device) in zip(processes, ["S31", "C31"]) {
            #expect(waitFor { process.latestStill(of: device) != nil }, "no still of \(device) within 30 s")
            guard let first = process.latestStill(of: device) else { continue }
            #expect(first.device == device)
            #expect(first.jpeg.prefix(2) == Data([0xFF, 0xD8]) && first.jpeg.suffix(2) == Data([0xFF, 0xD9]), "\(device): not a JPEG")
            #expect(first.isFresh(now: MonotonicClock.wallNow()))
            // Refreshed: a newer picture follows within a second or so.
            #expect(waitFor { (process.latestStill(of: device)?.wallNanoseconds ?? 0) > first.wallNanoseconds },
                    "\(device)'s still was not refreshed")
            // The helper recorded it confined: stills need nothing the sandbox refuses.
            #expect(process.sandboxed?.complete == true, "\(device): \(process.sandboxed?.summary ?? "no hello")")
            #expect(process.unexpectedExits == 0)
            #expect(process.latestStill(of: "S99") == nil)
        }
        // The raw camera's still is scaled to 480 px wide; the MJPEG camera's is its own 640×480 frame.
        for (process, device, width) in [(processes[0], "S31", 480), (processes[1], "C31", 640)] {
            guard let still = process.latestStill(of: device) else { continue }
            let path = dir.path + "/\(device).jpg"
            try still.jpeg.write(to: URL(fileURLWithPath: path))
            let probed = try run("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "stream=width", "-of", "csv=p=0", path])
            #expect(probed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(width), "\(device): \(probed.stdout)\(probed.stderr)")
        }
        for process in processes {
            let device = process.configurations[0].device
            #expect(process.status(of: device).state == .recording, "\(device): \(process.status(of: device))")
        }
    }
}
