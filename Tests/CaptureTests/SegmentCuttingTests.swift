import Canonical
import CaptureProtocol
import Foundation
import Logging
import Testing

@testable import Capture

/// Where segments are cut, with time driven by a `ManualClock`: the cut is at
/// the first frame at or after the next wall-clock multiple of
/// `segment_seconds`, whatever the machine's clock says while the test runs.
struct SegmentCuttingTests {
    static let fps = 15
    /// 2026-12-04T10:00:58Z.
    static let start = WallTime(nanoseconds: CivilTime.unixSeconds(year: 2026, month: 12, day: 4, hour: 10, minute: 0, second: 58)! * 1_000_000_000)

    func record(frames: Int, clock: ManualClock, stepWallAt: Int? = nil, step: Duration = .zero)
        throws -> (opened: [SegmentOpened], closed: [SegmentClosed], firstMonotonic: Int64, dir: String)
    {
        let dir = temporaryDirectory()
        let (width, height) = (160, 120)
        let configuration = RecorderConfiguration(device: "S07", video: .synthetic(width: width, height: height, fps: Self.fps), audio: nil,
                                                  directory: dir, segmentSeconds: 60, minimumFreeBytes: 1 << 20)
        let sink = MemorySink()
        let writer = SegmentWriter(configuration: configuration, sink: sink, logger: Logger(label: "test"), layout: .yuyv,
                                   size: (width, height, Self.fps),
                                   encoder: try VideoEncoder(width: width, height: height, fps: Self.fps, preset: "ultrafast"),
                                   audio: nil, clock: clock)
        let first = clock.monotonic()
        for index in 0..<frames {
            // The frame is stamped by the device at the moment it is read.
            let stamp = first + Int64(index) * 1_000_000_000 / Int64(Self.fps)
            clock.advance(by: .nanoseconds(stamp - clock.monotonic()))
            if index == stepWallAt { clock.setWall(clock.now() + step) }
            var frame = VideoFrame(layout: .yuyv, width: width, height: height, monotonicNanoseconds: stamp, droppedBefore: 0)
            frame.bytes = [UInt8](repeating: 0x80, count: width * height * 2)
            try writer.video(frame)
        }
        try writer.close(reason: "stopped")
        let (opened, closed, _) = sink.snapshot
        return (opened.sorted { $0.key < $1.key }.map(\.value), closed.sorted { $0.key < $1.key }.map(\.value), first, dir)
    }

    @Test func aSegmentIsCutAtTheFirstFrameOnTheMinute() throws {
        let clock = ManualClock(wall: Self.start)
        // 4 s of video from 10:00:58: frame 30 is exactly 10:01:00.
        let (opened, closed, first, dir) = try record(frames: 60, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(opened.count == 2 && closed.count == 2)
        #expect(opened[0].wallStartNanoseconds == Self.start.nanoseconds)
        #expect(opened[0].path.hasSuffix("/S07/2026-12-04/10/20261204T100058Z_000001.mp4"), "\(opened[0].path)")
        #expect(opened[1].monotonicStartNanoseconds == first + 2_000_000_000, "cut at frame 30, not before or after")
        #expect(opened[1].wallStartNanoseconds == Self.start.nanoseconds + 2_000_000_000)
        #expect(opened[1].path.hasSuffix("/S07/2026-12-04/10/20261204T100100Z_000002.mp4"), "\(opened[1].path)")
        // The first ends where its last frame does (frame 29 + 1/15 s, in whole ns).
        #expect((0...1_000).contains(opened[1].wallStartNanoseconds - closed[0].wallEndNanoseconds), "no gap, no overlap between the two")
        #expect(closed.map(\.frames).reduce(0, +) == 60, "every frame in exactly one segment: \(closed.map(\.frames))")
        #expect(try probe(opened[0].path).video + probe(opened[1].path).video == 60)
    }

    @Test func aWallClockStepMovesTheNextSegmentNotTheCurrentCut() throws {
        // NTP steps the clock back an hour a second into the segment. The open
        // segment keeps the mapping it sampled when it opened, so the cut stays
        // at frame 30; the next segment samples the stepped clock.
        let clock = ManualClock(wall: Self.start)
        let (opened, closed, first, dir) = try record(frames: 60, clock: clock, stepWallAt: 15, step: .seconds(-3600))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(opened.count == 2 && closed.count == 2)
        #expect(opened[1].monotonicStartNanoseconds == first + 2_000_000_000)
        #expect(opened[1].wallStartNanoseconds == Self.start.nanoseconds + 2_000_000_000 - 3_600_000_000_000)
        #expect(opened[1].path.contains("/2026-12-04/09/20261204T090100Z_000002.mp4"), "\(opened[1].path)")
    }

    @Test func noCutWithinTheMinute() throws {
        // The same four seconds starting at 10:00:10 stay in one segment, on
        // any machine and at any time of day the test happens to run.
        let clock = ManualClock(wall: Self.start - .seconds(48))
        let (opened, closed, _, dir) = try record(frames: 60, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(opened.count == 1 && closed.count == 1)
        #expect(closed.first?.frames == 60)
    }
}
