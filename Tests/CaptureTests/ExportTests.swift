import Capture
import CaptureProtocol
import Foundation
import Logging
import Testing

/// `roomd-capture export` and `rendition`, run as roomd runs them: the
/// built helper beside this test bundle, on segments a Recorder made.
@Suite(.serialized)
struct ExportTests {
    static let helper = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("roomd-capture").path

    // MARK: Fixtures (recorded once, shared by the tests)

    struct Segment: Sendable {
        var path: String
        var wallStart: Int64
        var wallEnd: Int64
        var frames: Int64
        var request: ExportRequest.Segment { ExportRequest.Segment(path: path, wallStartNanoseconds: wallStart) }
    }

    struct Recording: Sendable {
        var segments: [Segment] = []
        var failure: String?
    }

    static let root: String = {
        let path = temporaryDirectory()
        atexit { try? FileManager.default.removeItem(atPath: ExportTests.root) }
        return path
    }()

    /// Records until `done` says so (checked every 50 ms, 30 s at most), stops, and lists the segments in order.
    static func record(_ configuration: RecorderConfiguration, until done: (Recorder, MemorySink) -> Bool) -> Recording {
        let sink = MemorySink()
        let recorder = Recorder(configuration: configuration, sink: sink, logger: Logger(label: "test"))
        recorder.start()
        let deadline = Date().addingTimeInterval(30)
        while !done(recorder, sink), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        recorder.stop()
        let (opened, closed, _) = sink.snapshot
        let ids = opened.keys.sorted { opened[$0]!.sequence < opened[$1]!.sequence }
        var recording = Recording()
        for id in ids {
            guard let c = closed[id] else { recording.failure = "segment \(id) not closed"; continue }
            recording.segments.append(Segment(path: opened[id]!.path, wallStart: opened[id]!.wallStartNanoseconds,
                                              wallEnd: c.wallEndNanoseconds, frames: c.frames))
        }
        return recording
    }

    /// An MJPEG camera (a replayed 320×240, 15 fps file with sound), paced, in 2 s segments: ≥ 3 of them.
    static let mjpeg: Recording = {
        let input = root + "/camera.mkv"
        _ = try? tool("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi",
                                          "-i", "sine=frequency=1000:sample_rate=48000", "-t", "7", "-c:v", "mjpeg", "-q:v", "5",
                                          "-c:a", "pcm_s16le", "-ac", "1", input])
        return record(.init(device: "M01", video: .replay(path: input, paced: true, loops: 1), audio: nil,
                            directory: root + "/rec", segmentSeconds: 2, minimumFreeBytes: 1 << 20)) { recorder, _ in
            recorder.status.frames >= 105
        }
    }()

    /// A synthetic camera encoded as H.264 (and a synthetic microphone), in 2 s segments: ≥ 5 of them.
    static let h264: Recording = {
        record(.init(device: "H01", video: .synthetic(width: 320, height: 240, fps: 15), audio: .synthetic,
                     directory: root + "/rec", segmentSeconds: 2, x264Preset: "ultrafast", minimumFreeBytes: 1 << 20)) { _, sink in
            sink.snapshot.closed.count >= 4
        }
    }()

    /// The same MJPEG camera at another size: a segment an export cannot join to the others.
    static let smaller: Recording = {
        let input = root + "/small.mkv"
        _ = try? tool("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15", "-f", "lavfi",
                                          "-i", "sine=frequency=1000:sample_rate=48000", "-t", "1", "-c:v", "mjpeg", "-q:v", "5",
                                          "-c:a", "pcm_s16le", "-ac", "1", input])
        return record(.init(device: "M02", video: .replay(path: input, paced: false, loops: 1), audio: nil,
                            directory: root + "/rec", segmentSeconds: 3600, minimumFreeBytes: 1 << 20)) { recorder, _ in
            recorder.status.frames >= 15
        }
    }()

    // MARK: Running the helper

    struct Exported {
        var status: Int32
        var mp4: [UInt8] = []
        var report: ExportReport?
        var failure: ExportFailure?
        var kinds: [UInt8] = []
        /// The 'C' records: ranges of segments read here as roomd reads them.
        var references = 0
        var seconds: Double
    }

    static func export(_ request: ExportRequest, sandbox: Bool = true) throws -> Exported {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = ["export"] + (sandbox ? [] : ["--no-sandbox"])
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let started = Date()
        try process.run()
        input.fileHandleForWriting.write(try JSONEncoder().encode(request) + Data("\n".utf8))
        try input.fileHandleForWriting.close()
        let bytes = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        var result = Exported(status: process.terminationStatus, seconds: Date().timeIntervalSince(started))
        let records = try #require(ExportRecord.decode(bytes), "stdout is not whole records")
        for record in records {
            result.kinds.append(record.kind)
            switch record.kind {
            case ExportRecord.data: result.mp4 += record.payload
            case ExportRecord.report: result.report = try JSONDecoder().decode(ExportReport.self, from: Data(record.payload))
            case ExportRecord.error: result.failure = try JSONDecoder().decode(ExportFailure.self, from: Data(record.payload))
            case ExportRecord.copy:
                let range = try #require(ExportRecord.FileRange(payload: record.payload))
                #expect(request.segments.contains { $0.path == range.path }, "a reference outside the request: \(range.path)")
                let file = try #require(FileHandle(forReadingAtPath: range.path))
                try file.seek(toOffset: UInt64(range.offset))
                let bytes = try #require(try file.read(upToCount: Int(range.length)))
                #expect(bytes.count == Int(range.length))
                result.mp4 += bytes
                result.references += 1
            default: Issue.record("unknown record kind \(record.kind)")
            }
        }
        return result
    }

    // MARK: Inspecting media

    /// A stream's packets in order: (pts in 1/90000 or 1/48000, keyframe, "size md5").
    static func packets(_ path: String, stream: String = "v") throws -> [(pts: Int64, key: Bool, frame: String)] {
        let info = try tool("/usr/bin/ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts,flags",
                                                 "-of", "csv=p=0", path])
            .split(separator: "\n").map { $0.split(separator: ",") }
        let frames = try tool("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-map", "0:\(stream)", "-c", "copy", "-f", "framemd5", "-"])
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { line in line.split(separator: ",").suffix(2).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ") }
        #expect(info.count == frames.count, "\(path): \(info.count) packets, \(frames.count) frames")
        return zip(info, frames).map { (Int64($0[0]) ?? -1, $0.count > 1 && $0[1].hasPrefix("K"), $1) }
    }

    /// The video frames of `segments` an export of [from, to) must hold, in order, with their wall-clock times.
    static func expectedFrames(_ segments: [Segment], from: Int64, to: Int64) throws -> [(wall: Int64, frame: String, segment: String)] {
        var all: [(wall: Int64, key: Bool, frame: String, segment: String)] = []
        for segment in segments {
            all += try packets(segment.path).map { (segment.wallStart + $0.pts * 1_000_000_000 / 90_000, $0.key, $0.frame, segment.path) }
        }
        // The frame showing at `from`, back to its keyframe; through the last frame before `to`.
        var first = all.lastIndex { $0.wall <= from } ?? 0
        while first > 0, !all[first].key { first -= 1 }
        let last = try #require(all.lastIndex { $0.wall < to })
        return all[first...last].map { ($0.wall, $0.frame, $0.segment) }
    }

    static func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = root + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: Export

    func checkExport(of recording: Recording, name: String, fps: Int64) throws {
        #expect(recording.failure == nil, "\(recording.failure ?? "")")
        let segments = recording.segments
        // Three segments in a row with frames (a recording's first may have
        // none: the camera can start after the microphone).
        let i = try #require(segments.indices.first { i in i + 2 < segments.count && segments[i...(i + 2)].allSatisfy { $0.frames >= 5 } },
                             "no three segments in a row with frames: \(segments.map(\.frames))")
        // From inside the first of them to inside the third.
        let from = segments[i].wallStart + (segments[i].wallEnd - segments[i].wallStart) / 2 + 12_345_678
        let to = segments[i + 2].wallStart + min(700_000_000, (segments[i + 2].wallEnd - segments[i + 2].wallStart) / 2)
        let request = ExportRequest(segments: segments.map(\.request), fromNanoseconds: from, toNanoseconds: to, hashOutput: true)
        let result = try Self.export(request)
        #expect(result.status == 0)
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        let report = try #require(result.report)
        #expect(result.kinds.last == ExportRecord.report && result.kinds.dropLast().allSatisfy { $0 == ExportRecord.data })
        // Records as the MP4 is made (≤ 64 KiB each), not one at the end.
        #expect(result.kinds.count > 2)

        // The bytes received are the bytes reported.
        #expect(report.bytes == Int64(result.mp4.count))
        #expect(report.sha256 == result.mp4.withUnsafeBytes { SegmentDigest.sha256($0) })
        let path = try Self.write(result.mp4, name + ".mp4")

        // Its video frames are the segments' frames in range, byte for byte.
        let expected = try Self.expectedFrames(segments, from: from, to: to)
        let exported = try Self.packets(path)
        #expect(exported.map(\.frame) == expected.map(\.frame), "frames differ from the source's")
        #expect(report.videoFrames == Int64(expected.count))
        // (The helper rounds ticks to ns; this test truncates: within a microsecond.)
        #expect(abs(report.firstFrameWallNanoseconds - expected.first!.wall) < 1_000)
        #expect(abs(report.lastFrameWallNanoseconds - expected.last!.wall) < 1_000)
        // Wall-clock faithful: each frame at its own time from the first.
        for (frame, source) in zip(exported, expected) {
            let at = frame.pts * 1_000_000_000 / 90_000
            #expect(abs(at - (source.wall - expected[0].wall)) <= 1_000_000, "frame at \(at) ns, recorded at \(source.wall - expected[0].wall)")
        }

        // It decodes, for as long as the frames last (± one frame).
        let frame = 1_000_000_000 / fps
        let decoded = try probe(path)
        #expect(decoded.video == expected.count)
        #expect(decoded.audio > 0)
        let duration = expected.last!.wall + frame - expected.first!.wall
        #expect(abs(report.durationNanoseconds - duration) <= frame)
        #expect(abs(Int64(decoded.duration * 1e9) - duration) <= frame, "ffprobe: \(decoded.duration) s, expected \(duration) ns")

        // Which segments gave what.
        let contributing = expected.map(\.segment).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
        #expect(report.segments.map(\.path) == contributing)
        #expect(contributing.count == 3)
        #expect(report.segments.reduce(0) { $0 + $1.packets } == report.videoFrames + report.audioPackets)
        for entry in report.segments {
            let frames = expected.filter { $0.segment == entry.path }
            #expect(entry.firstPacketWallNanoseconds <= frames.first!.wall && entry.lastPacketWallNanoseconds >= frames.last!.wall)
        }
        #expect(report.audioCodec == "aac")
        // The middle segment lies wholly in range: its fragments were copied
        // as they are; the first and last were cut, so remuxed.
        #expect(report.segments.map { $0.copied == true } == [false, true, false])
        try Self.checkFragments(path)
        print("export \(name): \(contributing.count) segments, \(report.videoFrames) frames, \(report.bytes) bytes in \(result.seconds) s")
    }

    /// The MP4's fragments, walked box by box as a player does: one ftyp and
    /// one moov first, then moof + mdat pairs whose sequence numbers rise and
    /// whose decode times (tfdt) rise per track.
    /// The types of a file's top-level boxes, in order.
    static func topLevelBoxes(_ path: String) throws -> [String] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var types: [String] = []
        var at = 0
        while at + 8 <= bytes.count {
            let size = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard size >= 8 else { Issue.record("\(path): a box of \(size) bytes at \(at)"); break }
            types.append(String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self))
            at += size
        }
        return types
    }

    static func checkFragments(_ path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func be32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        func boxes(_ range: Range<Int>) -> [(type: String, start: Int, end: Int)] {
            var result: [(String, Int, Int)] = []
            var at = range.lowerBound
            while at + 8 <= range.upperBound {
                let size = be32(at)
                guard size >= 8, at + size <= range.upperBound else { Issue.record("\(path): bad box at \(at)"); break }
                result.append((String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self), at, at + size))
                at += size
            }
            return result
        }
        let top = boxes(0..<bytes.count)
        #expect(top.prefix(2).map(\.type) == ["ftyp", "moov"])
        #expect(top.filter { $0.type == "moov" || $0.type == "ftyp" }.count == 2, "a second header inside the stream")
        var sequence = 0
        var times: [Int: Int] = [:]
        for (index, box) in top.enumerated() where box.type == "moof" {
            #expect(index + 1 < top.count && top[index + 1].type == "mdat")
            for child in boxes((box.start + 8)..<box.end) {
                if child.type == "mfhd" {
                    let number = be32(child.start + 12)
                    #expect(number > sequence, "fragment number \(number) after \(sequence)")
                    sequence = number
                }
                guard child.type == "traf" else { continue }
                let parts = boxes((child.start + 8)..<child.end)
                let track = parts.first { $0.type == "tfhd" }.map { be32($0.start + 12) } ?? -1
                guard let tfdt = parts.first(where: { $0.type == "tfdt" }) else { Issue.record("a traf without tfdt"); continue }
                let time = bytes[tfdt.start + 8] == 1 ? be32(tfdt.start + 12) << 32 | be32(tfdt.start + 16) : be32(tfdt.start + 12)
                #expect(time > times[track, default: -1], "track \(track): tfdt \(time) after \(times[track, default: -1])")
                times[track] = time
            }
        }
        #expect(sequence > 0)
    }

    @Test func exportOfWholeSegmentsCopiesTheirFragments() throws {
        let recording = Self.h264
        #expect(recording.failure == nil, "\(recording.failure ?? "")")
        let segments = recording.segments
        try #require(segments.count >= 4)
        // From the first segment's start to the last one's end: all but the last are whole in range.
        let from = segments[0].wallStart, to = segments.last!.wallEnd
        let result = try Self.export(ExportRequest(segments: segments.map(\.request), fromNanoseconds: from, toNanoseconds: to, hashOutput: true))
        let report = try #require(result.report, "\(String(describing: result.failure))")
        #expect(report.sha256 == result.mp4.withUnsafeBytes { SegmentDigest.sha256($0) })
        let path = try Self.write(result.mp4, "whole.mp4")
        // The clip begins in the first segment with frames (the camera may
        // start after the microphone) and is remuxed there and in the last;
        // every segment between them with frames is copied whole.
        let first = try #require(segments.firstIndex { $0.frames > 0 })
        let copied = report.segments.filter { $0.copied == true }.map(\.path)
        let whole = segments[(first + 1)...].dropLast().filter { $0.frames > 0 }.map(\.path)
        // (A segment whose audio was re-anchored on a starved machine may
        // overlap its neighbour's and is then remuxed, which is right: at
        // least one must be copied, and only whole ones may be.)
        #expect(!copied.isEmpty && Set(copied).isSubset(of: whole),
                "copied: \(copied); whole: \(whole); frames per segment: \(segments.map(\.frames))")
        if copied != whole { print("exportOfWholeSegments: copied \(copied.count) of \(whole.count) whole segments") }

        // Every video frame and every audio packet of the sources, byte for byte, in order.
        let expected = try Self.expectedFrames(segments, from: from, to: to)
        let exported = try Self.packets(path)
        #expect(exported.map(\.frame) == expected.map(\.frame))
        for (frame, source) in zip(exported, expected) {
            let at = frame.pts * 1_000_000_000 / 90_000
            #expect(abs(at - (source.wall - expected[0].wall)) <= 1_000_000, "frame at \(at) ns, recorded at \(source.wall - expected[0].wall)")
        }
        let sourceAudio = try segments.flatMap { try Self.packets($0.path, stream: "a").map(\.frame) }
        let exportedAudio = try Self.packets(path, stream: "a").map(\.frame)
        // Audio before the first frame or after the last frame's end is left out.
        #expect(!exportedAudio.isEmpty)
        let start = try #require(sourceAudio.firstIndex(of: exportedAudio[0]))
        #expect(Array(sourceAudio[start..<min(sourceAudio.count, start + exportedAudio.count)]) == exportedAudio)
        #expect(report.audioPackets == Int64(exportedAudio.count))
        #expect(report.segments.reduce(0) { $0 + $1.packets } == report.videoFrames + report.audioPackets)
        try Self.checkFragments(path)
        let decoded = try probe(path)
        #expect(decoded.video == expected.count)

        // As roomd asks for it: the copied fragments' mdat boxes named, not
        // sent — the same bytes once read from the segments, one reference
        // per copied fragment; with a hash asked for, every byte is sent.
        let referred = try Self.export(ExportRequest(segments: segments.map(\.request), fromNanoseconds: from, toNanoseconds: to,
                                                     copyByReference: true))
        #expect(referred.status == 0 && referred.report?.sha256 == nil)
        #expect(referred.mp4 == result.mp4, "the export by reference differs from the one sent whole")
        #expect(referred.report?.bytes == Int64(result.mp4.count))
        let copiedFragments = try copied.reduce(0) { $0 + (try Self.topLevelBoxes($1).filter { $0 == "mdat" }.count) }
        #expect(referred.references == copiedFragments && copiedFragments > 0)
        let hashed = try Self.export(ExportRequest(segments: segments.map(\.request), fromNanoseconds: from, toNanoseconds: to, hashOutput: true,
                                                   copyByReference: true))
        #expect(hashed.references == 0 && hashed.mp4 == result.mp4 && hashed.report?.sha256 == report.sha256)
    }

    @Test func copyRecordsCarryTheirRange() throws {
        let range = ExportRecord.FileRange(path: "/var/lib/roomd/recordings/C01/000001.mp4", offset: 1 << 33, length: 300_000)
        #expect(ExportRecord.FileRange(payload: range.payload) == range)
        #expect(ExportRecord.FileRange(payload: range.payload.prefix(16)) == nil, "a range without a path")
        var negative = range.payload
        negative[8] = 0x80
        #expect(ExportRecord.FileRange(payload: negative) == nil, "a negative length")
    }

    @Test func exportOfMJPEGSpansThreeSegments() throws {
        try checkExport(of: Self.mjpeg, name: "mjpeg", fps: 15)
        #expect(try Self.export(ExportRequest(segments: Self.mjpeg.segments.map(\.request), fromNanoseconds: Self.mjpeg.segments[0].wallStart,
                                              toNanoseconds: Self.mjpeg.segments.last!.wallEnd)).report?.videoCodec == "mjpeg")
    }

    @Test func exportOfH264SpansThreeSegments() throws {
        try checkExport(of: Self.h264, name: "h264", fps: 15)
    }

    @Test func exportWithoutTheSandboxGivesTheSameBytes() throws {
        let segments = Self.mjpeg.segments
        try #require(segments.count >= 2)
        let request = ExportRequest(segments: segments.map(\.request), fromNanoseconds: segments[0].wallStart + 500_000_000,
                                    toNanoseconds: segments[1].wallStart + 500_000_000)
        let confined = try Self.export(request), open = try Self.export(request, sandbox: false)
        #expect(confined.status == 0 && open.status == 0)
        #expect(confined.report != nil && confined.report == open.report)
    }

    @Test func badRangesAreRefused() throws {
        let segments = Self.mjpeg.segments.map(\.request)
        try #require(!segments.isEmpty)
        let start = segments[0].wallStartNanoseconds
        let cases: [(ExportRequest, String)] = [
            (ExportRequest(segments: segments, fromNanoseconds: start + 2_000_000_000, toNanoseconds: start + 1_000_000_000), ExportFailure.reversedRange),
            (ExportRequest(segments: segments, fromNanoseconds: start + 1_000_000_000, toNanoseconds: start + 1_000_000_000), ExportFailure.emptyRange),
            (ExportRequest(segments: segments, fromNanoseconds: start - 60_000_000_000, toNanoseconds: start - 30_000_000_000), ExportFailure.emptyRange),
            (ExportRequest(segments: [], fromNanoseconds: start, toNanoseconds: start + 1_000_000_000), ExportFailure.noSegments),
            (ExportRequest(segments: [.init(path: Self.root + "/missing.mp4", wallStartNanoseconds: start)], fromNanoseconds: start,
                           toNanoseconds: start + 1_000_000_000), ExportFailure.unreadableSegment),
        ]
        for (request, code) in cases {
            let result = try Self.export(request)
            #expect(result.status != 0)
            #expect(result.failure?.code == code, "\(String(describing: result.failure))")
            #expect(result.kinds.last == ExportRecord.error && result.report == nil)
        }
    }

    @Test func aSegmentWithOtherParametersStopsTheExport() throws {
        let first = try #require(Self.mjpeg.segments.first)
        let other = try #require(Self.smaller.segments.first)
        // As if the camera had been swapped for a smaller one right after the first segment.
        let request = ExportRequest(segments: [first.request, .init(path: other.path, wallStartNanoseconds: first.wallEnd)],
                                    fromNanoseconds: first.wallStart, toNanoseconds: first.wallEnd + 500_000_000)
        let result = try Self.export(request)
        #expect(result.status != 0)
        #expect(result.failure?.code == ExportFailure.parametersChanged)
        #expect(result.failure?.message.contains(other.path) == true, "\(String(describing: result.failure))")
        #expect(result.report == nil)
    }

    // MARK: Rendition

    static func rendition(_ input: String, _ output: String, _ extra: [String] = []) throws -> (status: Int32, report: RenditionReport?, seconds: Double) {
        let started = Date()
        let out = try tool(helper, ["rendition"] + extra + [input, output])
        let seconds = Date().timeIntervalSince(started)
        let line = out.split(separator: "\n").last.map(String.init) ?? ""
        let report = try? JSONDecoder().decode(RenditionReport.self, from: Data(line.utf8))
        return (report == nil ? 1 : 0, report, seconds)
    }

    @Test func renditionOfMJPEGIsH264OfTheSameLength() throws {
        let segments = Self.mjpeg.segments
        try #require(segments.count >= 2)
        let source = segments[1]   // a whole 2 s segment
        let output = Self.root + "/rendition-mjpeg.mp4"
        let before = try sha256sum(source.path)
        let result = try Self.rendition(source.path, output)
        let report = try #require(result.report)
        #expect(report.transcoded)
        #expect(report.videoFrames == source.frames)
        #expect(try sha256sum(source.path) == before, "the original was changed")
        let codec = try tool("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "stream=codec_name,width,height,pix_fmt",
                                                  "-of", "csv=p=0", output])
        #expect(codec.trimmingCharacters(in: .whitespacesAndNewlines) == "h264,320,240,yuv420p")
        let decoded = try probe(output), original = try probe(source.path)
        #expect(Int64(decoded.video) == source.frames)
        #expect(decoded.audio == original.audio)
        let frame = 1.0 / 15
        #expect(abs(decoded.duration - original.duration) <= frame, "\(decoded.duration) s vs \(original.duration) s")
        #expect(abs(Double(report.durationNanoseconds) / 1e9 - original.duration) <= frame)
        #expect(Int64(report.bytes) == (try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int64))
        // Keyframes once a second.
        let keys = try Self.packets(output).enumerated().filter { $0.element.key }.map(\.offset)
        #expect(keys.first == 0 && zip(keys, keys.dropFirst()).allSatisfy { $1 - $0 == 15 }, "\(keys)")
        print("rendition (transcode) of a \(original.duration) s segment: \(result.seconds) s")

        // Narrower on request, aspect kept; an existing OUT is never overwritten.
        let narrow = Self.root + "/rendition-narrow.mp4"
        _ = try Self.rendition(source.path, narrow, ["--width", "160"])
        #expect(try tool("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "stream=width,height", "-of", "csv=p=0", narrow])
            .trimmingCharacters(in: .whitespacesAndNewlines) == "160,120")
        let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int64
        #expect(try Self.rendition(source.path, output).report == nil)
        #expect(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int64 == size)
    }

    @Test func renditionOfH264IsAStreamCopy() throws {
        let segments = Self.h264.segments
        try #require(segments.count >= 2)
        let source = segments[1]
        let output = Self.root + "/rendition-h264.mp4"
        let result = try Self.rendition(source.path, output, ["--no-sandbox"])
        let report = try #require(result.report)
        #expect(!report.transcoded)
        #expect(report.videoFrames == source.frames)
        #expect(try Self.packets(output).map(\.frame) == (try Self.packets(source.path).map(\.frame)))
        #expect(try Self.packets(output, stream: "a").map(\.frame) == (try Self.packets(source.path, stream: "a").map(\.frame)))
        let decoded = try probe(output), original = try probe(source.path)
        #expect(abs(decoded.duration - original.duration) <= 1.0 / 15)
        print("rendition (copy) of a \(original.duration) s segment: \(result.seconds) s")
    }
}
