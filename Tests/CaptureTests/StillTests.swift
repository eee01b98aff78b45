import CaptureProtocol
import Foundation
import Logging
import Testing

@testable import Capture

/// The live wall's pictures: a recorder sends the newest frame as a JPEG
/// still twice a second — a raw camera's scaled to at most 480 px wide and
/// encoded, an MJPEG camera's its own frame, byte for byte — and records
/// exactly as without them.
@Suite(.serialized)
struct StillTests {
    let logger = Logger(label: "test")

    /// Waits (polling, up to `seconds`) until `condition` holds; false if it never did.
    func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    /// (exit status, stdout + stderr) of a tool.
    func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A JPEG: starts with SOI, ends with EOI, and FFmpeg decodes it without a word.
    /// Returns ffprobe's width, height and colour range.
    func checkJPEG(_ jpeg: Data, in dir: String) throws -> (width: Int, height: Int, range: String)? {
        #expect(jpeg.count > 100)
        #expect(jpeg.prefix(2) == Data([0xFF, 0xD8]), "no SOI marker")
        #expect(jpeg.suffix(2) == Data([0xFF, 0xD9]), "no EOI marker")
        let path = dir + "/still-\(UUID().uuidString).jpg"
        try jpeg.write(to: URL(fileURLWithPath: path))
        let decoded = try run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"])
        #expect(decoded.status == 0 && decoded.output.isEmpty, "ffmpeg: \(decoded.output)")
        let probed = try run("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height,color_range",
                                                  "-of", "csv=p=0", path])
        let fields = probed.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map(String.init)
        guard probed.status == 0, fields.count == 4, fields[0] == "mjpeg", let width = Int(fields[1]), let height = Int(fields[2]) else {
            Issue.record("ffprobe: \(probed.output)")
            return nil
        }
        return (width, height, fields[3])
    }

    @Test func stillSizesKeepTheAspectWithEvenDimensionsAtMost480Wide() {
        #expect(StillEncoder.stillSize(width: 1920, height: 1080) == (480, 270))
        #expect(StillEncoder.stillSize(width: 1280, height: 720) == (480, 270))
        #expect(StillEncoder.stillSize(width: 640, height: 480) == (480, 360))
        #expect(StillEncoder.stillSize(width: 640, height: 360) == (480, 270))
        #expect(StillEncoder.stillSize(width: 320, height: 240) == (320, 240))
        #expect(StillEncoder.stillSize(width: 480, height: 270) == (480, 270))
        #expect(StillEncoder.stillSize(width: 1000, height: 1001) == (480, 480))
        #expect(StillEncoder.stillSize(width: 2592, height: 1944) == (480, 360))
    }

    @Test func syntheticCameraGivesSmallJPEGStillsTwiceASecondAndRecordsAsBefore() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "S21", video: .synthetic(width: 640, height: 360, fps: 15), audio: nil,
                                                     directory: dir, segmentSeconds: 60, x264Preset: "ultrafast", minimumFreeBytes: 1 << 20),
                                sink: sink, logger: logger)
        recorder.start()
        defer { recorder.stop() }
        #expect(wait(seconds: 20) { !sink.stills.isEmpty }, "no still within 20 s")
        let first = sink.stills.count
        let started = Date()
        #expect(wait(seconds: 20) { sink.stills.count >= first + 6 }, "stills stopped coming: \(sink.stills.count)")
        // Six intervals of 500 ms (each still within a frame, 67 ms, of when it was due).
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed > 2.6 && elapsed < 3.6, "six more stills took \(elapsed) s")
        recorder.stop()

        let stills = sink.stills
        #expect(stills.allSatisfy { $0.device == "S21" })
        let stamps = stills.map(\.wallNanoseconds)
        #expect(zip(stamps, stamps.dropFirst()).allSatisfy { $1 > $0 }, "stamps go forward")
        let gaps = zip(stamps, stamps.dropFirst()).map { Double($1 - $0) / 1e9 }
        // Capture-time gaps: 500 ms, give or take a frame (more if the machine stalled the recorder).
        #expect(gaps.allSatisfy { $0 > 0.2 && $0 < 0.9 }, "gaps between stills: \(gaps)")
        let now = MonotonicClock.wallNow()
        #expect(stills.last!.isFresh(now: now) && abs(now - stills.last!.wallNanoseconds) < 3_000_000_000)
        #expect(!stills.last!.isFresh(now: now + Still.staleAfter + 1_000_000_000))
        for still in [stills.first!, stills.last!] {
            let info = try checkJPEG(still.jpeg, in: dir)
            #expect(info?.width == 480 && info?.height == 270, "\(String(describing: info))")
            #expect(info?.range == "pc", "full-range JPEG levels: \(String(describing: info))")
            #expect(still.jpeg.count < 100_000, "\(still.jpeg.count) bytes")
        }
        // Recording went on as ever: what was opened was closed, hashed, with frames.
        let (opened, closed, _) = sink.snapshot
        #expect(!opened.isEmpty && opened.keys.allSatisfy { closed[$0] != nil })
        #expect(closed.values.reduce(Int64(0)) { $0 + $1.frames } >= 45)
        #expect(recorder.status.droppedFrames == 0)
    }

    @Test func mjpegCameraStillsAreItsOwnFramesByteForByte() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/camera.mkv"
        _ = try tool("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=15", "-t", "4",
                                         "-c:v", "mjpeg", "-q:v", "5", input])
        // The camera's frames, as the demuxer hands them over.
        try FileManager.default.createDirectory(atPath: dir + "/frames", withIntermediateDirectories: true)
        _ = try tool("/usr/bin/ffmpeg", ["-v", "error", "-i", input, "-map", "0:v", "-c", "copy", "-f", "image2", dir + "/frames/%03d.jpg"])
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/frames")
        #expect(names.count == 60)
        let frames = Set(try names.map { try Data(contentsOf: URL(fileURLWithPath: dir + "/frames/" + $0)) })
        #expect(frames.count == 60, "testsrc2's frames all differ")

        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "C21", video: .replay(path: input, paced: true, loops: 1), audio: nil,
                                                     directory: dir + "/rec", segmentSeconds: 60, minimumFreeBytes: 1 << 20),
                                sink: sink, logger: logger)
        recorder.start()
        defer { recorder.stop() }
        #expect(wait(seconds: 20) { sink.stills.count >= 4 }, "stills: \(sink.stills.count)")
        recorder.stop()
        let stills = sink.stills
        #expect(stills.count >= 4)
        for still in stills {
            #expect(frames.contains(still.jpeg), "a still of \(still.jpeg.count) bytes is no frame of the camera")
        }
        // Different frames, as time went on: not the first frame over and over.
        #expect(Set(stills.map(\.jpeg)).count == stills.count)
        // Full size: an MJPEG camera's still is not scaled.
        let info = try checkJPEG(stills.last!.jpeg, in: dir)
        #expect(info?.width == 640 && info?.height == 480)
    }

    /// What a still costs the recorder thread (scaling + encoding), printed
    /// for docs/benchmarks.md; bounded generously so a busy machine passes.
    @Test func stillEncodingCost() throws {
        let cases: [(Int, Int, PixelLayout)] = [(320, 240, .yuv420p), (640, 480, .yuyv), (1280, 720, .yuyv),
                                                (1920, 1080, .yuyv), (1920, 1080, .nv12)]
        for (width, height, layout) in cases {
            let encoder = try StillEncoder(width: width, height: height, layout: layout)
            var bytes = [UInt8](repeating: 0, count: layout == .yuyv ? width * height * 2 : width * height * 3 / 2)
            // A busy picture (the synthetic one, in the layout's byte order), not a flat one.
            let picture = SyntheticCamera.picture(width: width, height: height, number: 12345)
            for i in 0..<bytes.count { bytes[i] = picture[i % picture.count] &+ UInt8(truncatingIfNeeded: i / 7) }
            let frame = VideoFrame(bytes: bytes, layout: layout, width: width, height: height, monotonicNanoseconds: 0, droppedBefore: 0)
            _ = try encoder.encode(frame)  // first use: tables, caches
            let rounds = 20
            var size = 0
            let start = MonotonicClock.now()
            for _ in 0..<rounds { size = try encoder.encode(frame).count }
            let perStill = Double(MonotonicClock.now() - start) / Double(rounds) / 1e6
            print("still \(width)×\(height) \(layout.rawValue) → \(encoder.width)×\(encoder.height): \(String(format: "%.2f", perStill)) ms, \(size) bytes")
            #expect(perStill < 100, "\(width)×\(height) \(layout): \(perStill) ms a still")
        }
    }
}
