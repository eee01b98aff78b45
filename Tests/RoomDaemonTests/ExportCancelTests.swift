import CaptureProtocol
import CaptureSupervisor
import Foundation
import Glibc
import NIOCore
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
            if case .data(let data) = chunk { received += data.readableBytes }
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

/// roomd reads what a 'C' record names itself (docs/formats.md, "Export"):
/// only the request's segments and only within their size, whatever the
/// helper — which parses untrusted media in its sandbox — claims.
struct ExportReferenceTests {
    /// A stand-in for `roomd-capture export` that sends `records` (kind, payload) and ends.
    func fakeHelper(_ dir: TemporaryDirectory, _ records: [(UInt8, [UInt8])]) throws -> String {
        let path = dir.path + "/fake-export"
        let stream = records.flatMap { ExportRecord.encode(kind: $0.0, $0.1) }
        try Data(stream).write(to: URL(fileURLWithPath: dir.path + "/records"))
        try "#!/bin/sh\nhead -n 1 > /dev/null\nexec cat '\(dir.path)/records'\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func relay(_ helper: String, _ request: ExportRequest) async -> (bytes: [UInt8], failure: String?) {
        var bytes: [UInt8] = []
        do {
            let process = try ExportProcess(helperPath: helper, sandbox: false, request: request)
            for try await chunk in process.chunks {
                if case .data(let data) = chunk { bytes += data.readableBytesView; process.consumed() }
            }
            return (bytes, nil)
        } catch {
            return (bytes, "\(error)")
        }
    }

    @Test func referencesAreReadOnlyFromTheRequestsSegmentsAndWithinThem() async throws {
        let dir = try TemporaryDirectory("export-reference")
        let segment = dir.path + "/segment.mp4"
        let content = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(content).write(to: URL(fileURLWithPath: segment))
        let request = ExportRequest(segments: [.init(path: segment, wallStartNanoseconds: 0)], fromNanoseconds: 0, toNanoseconds: 1,
                                    copyByReference: true)
        let report = try JSONEncoder().encode(ExportReport(firstFrameWallNanoseconds: 0, lastFrameWallNanoseconds: 0, durationNanoseconds: 1,
                                                           videoFrames: 1, audioPackets: 0, bytes: 70_003, sha256: nil, segments: [],
                                                           videoCodec: "mjpeg", audioCodec: nil))
        // A faithful helper: data, a range, data, the report.
        let good = try fakeHelper(dir, [(ExportRecord.data, [1, 2, 3]),
                                        (ExportRecord.copy, ExportRecord.FileRange(path: segment, offset: 30_000, length: 70_000).payload),
                                        (ExportRecord.report, Array(report))])
        let relayed = await relay(good, request)
        #expect(relayed.failure == nil)
        #expect(relayed.bytes == [1, 2, 3] + content[30_000..<100_000])

        // A file the request does not name.
        let outside = try fakeHelper(dir, [(ExportRecord.copy, ExportRecord.FileRange(path: "/etc/passwd", offset: 0, length: 10).payload),
                                           (ExportRecord.report, Array(report))])
        let refused = await relay(outside, request)
        #expect(refused.bytes.isEmpty)
        #expect(refused.failure?.contains("outside its request") == true, "\(refused.failure ?? "accepted")")

        // Bytes past the segment's end.
        let beyond = try fakeHelper(dir, [(ExportRecord.copy, ExportRecord.FileRange(path: segment, offset: 99_000, length: 2_000).payload),
                                          (ExportRecord.report, Array(report))])
        let past = await relay(beyond, request)
        #expect(past.bytes.isEmpty)
        #expect(past.failure?.contains("beyond the end") == true, "\(past.failure ?? "accepted")")
    }
}
