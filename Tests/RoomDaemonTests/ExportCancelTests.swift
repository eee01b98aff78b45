import CaptureProtocol
import CaptureSupervisor
import Foundation
import Glibc
import Testing

/// An export whose client goes away: roomd stops relaying and the helper is
/// killed at once (it writes nothing to disk, so nothing is left behind);
/// a slow client holds the helper back instead of filling roomd's memory.
struct ExportCancelTests {
    @Test func aConsumerThatStopsEndsTheHelperAndASlowOneHoldsItBack() async throws {
        let dir = try TemporaryDirectory("export-cancel")
        let file = dir.path + "/segment.mp4"
        let made = try run("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=15", "-t", "60", "-c:v", "mjpeg",
                                               "-q:v", "3", "-movflags", "frag_keyframe+empty_moov+default_base_moof", file])
        #expect(made.status == 0, "\(made.stderr)")
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
        let t0: Int64 = 1_780_000_000_000_000_000
        // The same file as three consecutive minutes: ~3 × its size to relay.
        let request = ExportRequest(segments: (0..<3).map { ExportRequest.Segment(path: file, wallStartNanoseconds: t0 + Int64($0) * 60_000_000_000) },
                                    fromNanoseconds: t0, toNanoseconds: t0 + 180_000_000_000)
        let process = try ExportProcess(helperPath: Binaries.roomdCapture, sandbox: false, request: request, window: 2)
        var received = 0
        for try await chunk in process.chunks {
            if case .data(let data) = chunk { received += data.count }
            // A slow client: take nothing more for a moment; the helper must wait, not run ahead.
            break
        }
        #expect(received > 0)
        #expect(kill(process.pid, 0) == 0, "the helper should still be there, held back by the slow consumer")
        #expect(size * 3 > 8 << 20, "the export must be larger than the pipe and the window for this test to mean anything")
        // The client goes away.
        process.cancel()
        let deadline = Date().addingTimeInterval(20)
        while kill(process.pid, 0) == 0, Date() < deadline { usleep(20_000) }
        #expect(kill(process.pid, 0) == -1 && errno == ESRCH, "the export helper is still running")
    }
}
