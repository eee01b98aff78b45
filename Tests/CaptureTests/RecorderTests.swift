import CaptureProtocol
import Capture
import Foundation
import Logging
import Testing

/// A SegmentSink that keeps everything in memory, as the daemon's index would.
final class MemorySink: SegmentSink, @unchecked Sendable {
    private let lock = NSLock()
    private var nextID: Int64 = 0
    private var sequences: [String: Int64] = [:]
    private(set) var opened: [Int64: SegmentOpened] = [:]
    private(set) var closed: [Int64: SegmentClosed] = [:]
    private(set) var progress: [Int64: [SegmentProgress]] = [:]
    private(set) var events: [CaptureEvent] = []
    private var _stills: [Still] = []

    func nextSequence(device: String) throws -> Int64 {
        lock.lock(); defer { lock.unlock() }
        sequences[device, default: 0] += 1
        return sequences[device]!
    }

    func segmentOpened(_ segment: SegmentOpened) throws -> Int64 {
        lock.lock(); defer { lock.unlock() }
        // The row must exist before the file's first byte.
        #expect(!FileManager.default.fileExists(atPath: segment.path))
        nextID += 1
        opened[nextID] = segment
        return nextID
    }

    func segmentProgressed(id: Int64, _ p: SegmentProgress) {
        lock.lock(); defer { lock.unlock() }
        progress[id, default: []].append(p)
    }

    func segmentClosed(id: Int64, _ segment: SegmentClosed) throws {
        lock.lock(); defer { lock.unlock() }
        closed[id] = segment
    }

    func captureEvent(_ event: CaptureEvent) {
        lock.lock(); defer { lock.unlock() }
        events.append(event)
    }

    func still(_ still: Still) {
        lock.lock(); defer { lock.unlock() }
        _stills.append(still)
    }

    var stills: [Still] {
        lock.lock(); defer { lock.unlock() }
        return _stills
    }

    var snapshot: (opened: [Int64: SegmentOpened], closed: [Int64: SegmentClosed], events: [CaptureEvent]) {
        lock.lock(); defer { lock.unlock() }
        return (opened, closed, events)
    }
}

func tool(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Frames of each stream as FFmpeg decodes them: (video frames, audio frames, video duration s).
func probe(_ path: String) throws -> (video: Int, audio: Int, duration: Double) {
    let out = try tool("/usr/bin/ffprobe", ["-v", "error", "-count_frames", "-show_entries",
                                            "stream=codec_type,nb_read_frames,duration", "-of", "csv=p=0", path])
    var video = 0, audio = 0, duration = 0.0
    for line in out.split(separator: "\n") {
        let f = line.split(separator: ",")
        guard f.count >= 3 else { continue }
        // A segment cut before its first video frame (audio only: a starved machine's camera
        // started late) has no frames to count: ffprobe says N/A, the index says 0.
        if f[0] == "video" { video = Int(f[2]) ?? (f[2] == "N/A" ? 0 : -1); duration = Double(f[1]) ?? 0 }
        if f[0] == "audio" { audio = Int(f[2]) ?? -1 }
    }
    return (video, audio, duration)
}

func sha256sum(_ path: String) throws -> String {
    String(try tool("/usr/bin/sha256sum", [path]).prefix(64))
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "capture-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite(.serialized)
struct RecorderTests {
    let logger = Logger(label: "test")

    @Test func syntheticRecordingGivesDecodableHashedContiguousAlignedSegments() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = MemorySink()
        let fps = 15
        let recorder = Recorder(configuration: .init(device: "S01", video: .synthetic(width: 320, height: 240, fps: fps),
                                                     audio: .synthetic, directory: dir, segmentSeconds: 2, x264Preset: "ultrafast",
                                                     minimumFreeBytes: 1 << 20),
                                sink: sink, logger: logger)
        recorder.start()
        Thread.sleep(forTimeInterval: 7.5)
        recorder.stop()
        let (opened, closed, events) = sink.snapshot
        #expect(opened.count == closed.count, "every opened segment is closed after stop")
        #expect(closed.count >= 4)
        #expect(events.filter { $0.kind == .segmentClosed }.count == closed.count)
        let ids = opened.keys.sorted()
        var totalFrames: Int64 = 0
        for (position, id) in ids.enumerated() {
            let o = opened[id]!, c = closed[id]!
            #expect(o.synthetic && o.videoCodec == "h264" && o.audioCodec == "aac")
            // The hash computed while writing is the file's.
            #expect(c.sha256 == (try sha256sum(o.path)), "\(o.path)")
            #expect(c.bytes == (try FileManager.default.attributesOfItem(atPath: o.path)[.size] as? Int64))
            // FFmpeg decodes exactly the frames the index claims, and the audio.
            let decoded = try probe(o.path)
            #expect(Int64(decoded.video) == c.frames, "\(o.path)")
            #expect(decoded.audio > 0)
            totalFrames += c.frames
            if position > 0 {
                // Cut on a wall-clock multiple of 2 s (within one frame after it).
                let offset = o.wallStartNanoseconds % 2_000_000_000
                #expect(offset < 1_000_000_000 / Int64(fps) + 5_000_000, "segment \(id) starts \(offset) ns after the boundary")
                // Contiguous with the previous segment: it ends where this one starts.
                let previous = closed[ids[position - 1]]!
                #expect(abs(previous.wallEndNanoseconds - o.wallStartNanoseconds) < 1_000_000_000 / Int64(fps))
                #expect(c.reason == "boundary" || position == ids.count - 1)
                // Audio starts where it was recorded: its first AAC frame within one
                // frame (1024 samples) of the segment's start, and back to back with
                // the next — not moved to 0 with a hole after it.
                let audio = try tool("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "a", "-show_entries", "packet=pts",
                                                          "-of", "csv=p=0", o.path])
                    .split(separator: "\n").prefix(4).compactMap { Int($0) }
                // (The last segment, cut by stop, may be shorter than four AAC frames.)
                let expected = position == ids.count - 1 ? 1...4 : 4...4
                #expect(expected.contains(audio.count) && (0..<1024).contains(audio[0]), "\(o.path): \(audio)")
                #expect(zip(audio, audio.dropFirst()).allSatisfy { $1 - $0 == 1024 }, "\(o.path): \(audio)")
            }
        }
        #expect(closed[ids.last!]!.reason == "stop")
        // No frame lost or duplicated at the boundaries: frames match elapsed time.
        // Elapsed capture time: the segments' own durations (each on its own monotonic→wall mapping).
        let elapsed = ids.reduce(Int64(0)) { $0 + closed[$1]!.wallEndNanoseconds - opened[$1]!.wallStartNanoseconds }
        let expected = Double(elapsed) / 1e9 * Double(fps)
        #expect(abs(Double(totalFrames) - expected) <= 1.5, "frames \(totalFrames), elapsed × fps \(expected)")
        #expect(recorder.status.state == .stopped)
    }

    @Test func repairCutsACrashedSegmentToItsLastWholeFragment() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "C01", video: .synthetic(width: 320, height: 240, fps: 15),
                                                     audio: .synthetic, directory: dir, segmentSeconds: 3600, x264Preset: "ultrafast",
                                                     minimumFreeBytes: 1 << 20),
                                sink: sink, logger: logger)
        recorder.start()
        Thread.sleep(forTimeInterval: 4.5)
        recorder.stop()
        let (opened, closed, _) = sink.snapshot
        let id = try #require(opened.keys.first)
        let path = opened[id]!.path
        let whole = try probe(path)

        // A crash mid-fragment: the tail of the file is half a fragment.
        let crashed = dir + "/crashed.mp4"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 700).write(to: URL(fileURLWithPath: crashed))
        let repaired = try SegmentRepair.repair(path: crashed)
        #expect(repaired.removedBytes > 0)
        #expect(repaired.bytes < Int64(data.count))
        #expect(repaired.sha256 == (try sha256sum(crashed)))
        let after = try probe(crashed)
        #expect(after.video == Int(repaired.videoFrames))
        #expect(after.video > 0 && after.video < whole.video)
        // At most about a second (one fragment) is lost.
        #expect(whole.duration - after.duration <= 1.2, "lost \(whole.duration - after.duration) s")
        #expect(abs(Double(repaired.durationNanoseconds) / 1e9 - after.duration) < 0.1)

        // An intact file is left as it is.
        let intact = try SegmentRepair.repair(path: path)
        #expect(intact.removedBytes == 0)
        #expect(intact.sha256 == closed[id]!.sha256)
    }

    @Test func missingCameraIsReportedOnceAndRetried() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "S05", video: .v4l2(path: "/dev/v4l/by-path/nothing-here", preferred: nil,
                                                                                width: 640, height: 480, fps: 15),
                                                     audio: nil, directory: dir, segmentSeconds: 60),
                                sink: sink, logger: logger)
        recorder.start()
        Thread.sleep(forTimeInterval: 3)
        let status = recorder.status
        recorder.stop()
        #expect(status.state == .missing)
        #expect(status.detail.contains("/dev/v4l/by-path/nothing-here"))
        let missing = sink.snapshot.events.filter { $0.kind == .deviceMissing }
        #expect(missing.count == 1, "reported once, retried quietly")
        #expect(sink.snapshot.opened.isEmpty)
    }

    @Test func alsaNullDeviceRecordsAudioOnlySegments() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "S06", video: nil, audio: .alsa(device: "null"), directory: dir,
                                                     segmentSeconds: 60, minimumFreeBytes: 1 << 20),
                                sink: sink, logger: logger)
        recorder.start()
        Thread.sleep(forTimeInterval: 2)
        recorder.stop()
        let (opened, closed, _) = sink.snapshot
        let id = try #require(opened.keys.first)
        #expect(opened[id]!.videoCodec == nil && opened[id]!.audioCodec == "aac")
        #expect(closed[id]!.sha256 == (try sha256sum(opened[id]!.path)))
        #expect(try probe(opened[id]!.path).audio > 0)
    }
}
