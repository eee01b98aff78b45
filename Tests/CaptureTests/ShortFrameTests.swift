import Canonical
import CaptureProtocol
import Foundation
import Logging
import Testing

@testable import Capture

/// A raw frame shorter than width × height × bytes per pixel (a driver's
/// short buffer) never reaches the scaler: it is counted as dropped. A longer
/// one is encoded from its first frame's worth. Frames of another size than
/// the stream's are dropped too.
struct ShortFrameTests {
    @Test(arguments: [PixelLayout.yuyv, .nv12])
    func shortFramesAreDroppedAndOversizedOnesEncoded(_ layout: PixelLayout) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (width, height, fps) = (320, 240, 15)
        let configuration = RecorderConfiguration(device: "S09", video: .synthetic(width: width, height: height, fps: fps), audio: nil,
                                                  directory: dir, segmentSeconds: 60, minimumFreeBytes: 1 << 20)
        let sink = MemorySink()
        // Mid-minute, so the three seconds of frames never straddle a cut.
        let clock = ManualClock(wall: SegmentCuttingTests.start - .seconds(48))
        let writer = SegmentWriter(configuration: configuration, sink: sink, logger: Logger(label: "test"), layout: layout,
                                   size: (width, height, fps), encoder: try VideoEncoder(width: width, height: height, fps: fps, preset: "ultrafast"),
                                   audio: nil, clock: clock)
        let whole = layout == .yuyv ? width * height * 2 : width * height * 3 / 2
        let start = clock.monotonic()
        var expected = (written: 0, dropped: 0)
        for index in 0..<45 {
            let bytes: [UInt8]
            var frameWidth = width
            switch index % 5 {
            case 1: bytes = [UInt8](repeating: 0x80, count: whole - 1); expected.dropped += 1            // one byte short
            case 2: bytes = [UInt8](repeating: 0x80, count: 1000); expected.dropped += 1                 // a scrap
            case 3: bytes = [UInt8](repeating: 0x80, count: whole + 65_536); expected.written += 1       // oversized
            case 4: bytes = [UInt8](repeating: 0x80, count: whole); frameWidth = 640; expected.dropped += 1  // another size
            default: bytes = [UInt8](repeating: 0x80, count: whole); expected.written += 1
            }
            var frame = VideoFrame(layout: layout, width: frameWidth, height: height,
                                   monotonicNanoseconds: start + Int64(index) * 1_000_000_000 / Int64(fps), droppedBefore: 0)
            frame.bytes = bytes
            try writer.video(frame)
        }
        try writer.close(reason: "stopped")
        let (opened, closed, _) = sink.snapshot
        #expect(opened.count == 1 && closed.count == 1)
        let segment = try #require(closed.values.first)
        #expect(segment.droppedFrames == Int64(expected.dropped), "\(segment)")
        // x264 holds a few frames back until the end; all that were whole are there.
        #expect(segment.frames == Int64(expected.written), "\(segment)")
        #expect(try probe(opened.values.first!.path).video == expected.written)
    }
}
