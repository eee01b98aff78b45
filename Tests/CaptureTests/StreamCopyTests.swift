import Capture
import Foundation
import Logging
import Testing

/// Evidence is never re-encoded: an MJPEG camera's frames land in the
/// segment byte for byte. The camera here is a replayed MJPEG file made by
/// FFmpeg; FFmpeg's framemd5 compares the frames on both sides.
struct StreamCopyTests {
    func framePackets(_ path: String) throws -> [String] {
        try tool("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"])
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { line in line.split(separator: ",").suffix(2).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ") }
    }

    @Test func mjpegFramesAreStoredByteForByte() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/camera.mkv"
        _ = try tool("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi",
                                         "-i", "sine=frequency=1000:sample_rate=48000", "-t", "4", "-c:v", "mjpeg", "-q:v", "5",
                                         "-c:a", "pcm_s16le", "-ac", "1", input])
        let expected = try framePackets(input)
        #expect(expected.count == 60)

        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "C02", video: .replay(path: input, paced: false, loops: 1), audio: nil,
                                                     directory: dir + "/rec", segmentSeconds: 60, minimumFreeBytes: 1 << 20),
                                sink: sink, logger: Logger(label: "test"))
        recorder.start()
        let deadline = Date().addingTimeInterval(20)
        while recorder.status.frames < 60, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        recorder.stop()
        // A wall-clock boundary may fall inside the run: take the segments in order.
        let (opened, closed, _) = sink.snapshot
        let ids = opened.keys.sorted { opened[$0]!.sequence < opened[$1]!.sequence }
        #expect(!ids.isEmpty)
        var recorded: [String] = []
        for id in ids {
            #expect(opened[id]!.videoCodec == "mjpeg" && opened[id]!.audioCodec == "aac")
            recorded += try framePackets(opened[id]!.path)
            #expect(try probe(opened[id]!.path).audio > 0)
        }
        #expect(ids.reduce(Int64(0)) { $0 + closed[$1]!.frames } == 60)
        #expect(recorded == expected, "MJPEG frames were altered")
    }

    /// Stopping a recorder whose source is blocked on a full queue (an
    /// unpaced replay outrunning the writer) returns, and what was written
    /// is closed like any segment.
    @Test func stoppingWhileTheSourceWaitsForRoomReturns() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/camera.mkv"
        _ = try tool("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "2",
                                         "-c:v", "mjpeg", "-q:v", "5", input])
        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "C03", video: .replay(path: input, paced: false, loops: 1_000_000), audio: nil,
                                                     directory: dir + "/rec", segmentSeconds: 60, minimumFreeBytes: 1 << 20),
                                sink: sink, logger: Logger(label: "test"))
        recorder.start()
        let deadline = Date().addingTimeInterval(20)
        while recorder.status.frames < 300, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let stopped = DispatchSemaphore(value: 0)
        let stopper = Thread { recorder.stop(); stopped.signal() }
        stopper.start()
        #expect(stopped.wait(timeout: .now() + 20) == .success, "stop() did not return")
        let (opened, closed, _) = sink.snapshot
        #expect(!opened.isEmpty && opened.keys.allSatisfy { closed[$0] != nil })
    }
}
