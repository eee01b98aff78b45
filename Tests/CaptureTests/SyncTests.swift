import Capture
import Foundation
import Logging
import Testing

/// Audio and video stay in step: the synthetic camera flashes white and the
/// synthetic microphone clicks at the same monotonic instant every 2 s; in
/// the recorded segment (decoded by FFmpeg) flash and click must be within
/// 40 ms of each other.
struct SyncTests {
    static let analysis = #"""
    import json, struct, subprocess, sys
    path = sys.argv[1]
    def run(args): return subprocess.run(args, capture_output=True).stdout
    # Video: presentation time and mean luma of every frame.
    out = run(["ffprobe", "-v", "error", "-f", "lavfi", "-i", "movie=%s,signalstats" % path, "-show_entries",
               "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"]).decode()
    flashes, prev = [], False
    for line in out.split():
        t, y = line.split(",")[:2]
        bright = float(y) > 200
        if bright and not prev: flashes.append(float(t))
        prev = bright
    # Audio: decoded samples from the stream's own start time.
    start = float(run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "stream=start_time",
                       "-of", "csv=p=0", path]).decode().strip() or 0)
    pcm = run(["ffmpeg", "-v", "error", "-i", path, "-vn", "-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
    x = struct.unpack("<%dh" % (len(pcm) // 2), pcm[: len(pcm) // 2 * 2])
    clicks, quiet = [], 48000
    for i, v in enumerate(x):
        if abs(v) > 20000:
            if quiet > 24000: clicks.append(start + i / 48000)
            quiet = 0
        else:
            quiet += 1
    print(json.dumps({"flashes": flashes, "clicks": clicks}))
    """#

    @Test func flashAndClickAreWithin40Milliseconds() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = MemorySink()
        let recorder = Recorder(configuration: .init(device: "S07", video: .synthetic(width: 320, height: 240, fps: 25),
                                                     audio: .synthetic, directory: dir, segmentSeconds: 60, x264Preset: "ultrafast",
                                                     minimumFreeBytes: 1 << 20),
                                sink: sink, logger: Logger(label: "test"))
        recorder.start()
        Thread.sleep(forTimeInterval: 7.5)
        recorder.stop()
        // A wall-clock boundary may fall inside the run: check every segment.
        let opened = sink.snapshot.opened
        var pairs = 0
        for segment in opened.values {
            let output = try tool("/usr/bin/env", ["python3", "-c", Self.analysis, segment.path])
            let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [Double]] ?? [:]
            let flashes = report["flashes"] ?? [], clicks = report["clicks"] ?? []
            for flash in flashes {
                guard let nearest = clicks.min(by: { abs($0 - flash) < abs($1 - flash) }) else {
                    Issue.record("flash at \(flash) s in \(segment.path) has no click: \(report)")
                    continue
                }
                // ≤ 40 ms inclusive: the flash is drawn on the first frame at or after the
                // click's instant, so one frame period (40 ms at 25 fps) is the designed worst
                // case; the epsilon absorbs binary floating point (0.04 is not exact).
                #expect(abs(nearest - flash) <= 0.040 + 1e-9, "flash at \(flash) s, click at \(nearest) s")
                pairs += 1
            }
        }
        #expect(pairs >= 3)
    }
}
