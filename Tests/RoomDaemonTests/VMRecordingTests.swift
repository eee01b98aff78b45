import Foundation
import Glibc
import GRDB
import RoomConfig
import Store
import Testing

/// Real drivers: roomd records two vivid cameras and two snd-aloop
/// microphones inside a qemu VM (scripts/vm/run-in-vm), with faults injected
/// through vivid's controls; the results are checked here on the host with
/// FFmpeg and Python, independently of roomd.
@Suite(.serialized)
struct VMRecordingTests {
    static var repository: String {
        var url = Binaries.directory
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url.deleteLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath
    }

    static let fps = 15

    static func config(port: Int) -> String {
        """
        room: { id: VM-ROOM, name: 虚拟机评标室, agency: 测试代理机构, kind: evaluation }
        stations:
          - id: S01
            camera: /dev/video0
            format: { pixel_format: yuyv, width: 320, height: 180, fps: \(fps) }
            microphone: "hw:Loopback,1,0"
          - id: S02
            camera: /dev/video1
            format: { pixel_format: yuyv, width: 320, height: 180, fps: \(fps) }
            microphone: "hw:Loopback,1,1"
          - id: S03
            camera: /dev/video2
            format: { pixel_format: mjpeg, width: 320, height: 180, fps: \(fps) }
        storage: { state_dir: state, segment_seconds: 10, min_free_mb: 16 }
        api: { listen: "127.0.0.1:\(port)", admin_socket: /run/roomd-admin.sock }
        \(DemoRoom.tlsYAML)
        """
    }

    /// Runs inside the VM: tone into both loopbacks, roomd recording, then
    /// dropped buffers on camera 0 and a disconnect of camera 1.
    static func guest(roomd: String) -> String {
        """
        #!/bin/bash
        set -u
        W="$VM_WORKDIR"; cd "$W"
        stamp() { date +%s%N > "$W/$1"; }
        # What an installer sees first: roomctl devices (through roomd-capture devices), real drivers.
        "$W/roomctl" devices --json > "$W/devices.json" 2> "$W/devices.err"
        "$W/roomctl" devices > "$W/devices.txt" 2>&1
        aplay -q -D hw:Loopback,0,0 tone.wav &
        aplay -q -D hw:Loopback,0,1 tone.wav &
        # The recordings on a local file system, as on a room server: the
        # shared work folder is 9p, where the helpers' Landlock rules cannot
        # recognise files (they would record unconfined there). Copied back
        # to the same path after the run for the host's checks.
        mkdir -p "$W/state/recordings" && mount -t tmpfs -o size=300m tmpfs "$W/state/recordings"
        \(roomd) --config "$W/roomd.yaml" > "$W/roomd.log" 2>&1 &
        pid=$!
        # Under emulation start-up time varies a lot: the schedule starts once
        # both cameras have opened a segment.
        for i in $(seq 1 120); do
          ls "$W"/state/recordings/S01/*/*/*.mp4 "$W"/state/recordings/S02/*/*/*.mp4 >/dev/null 2>&1 && break
          sleep 1
        done
        stamp recording
        sleep 12
        stamp drop-start
        v4l2-ctl -d /dev/video0 -c percentage_of_dropped_buffers=30
        sleep 3
        v4l2-ctl -d /dev/video0 -c percentage_of_dropped_buffers=0
        sleep 2
        stamp disconnect
        v4l2-ctl -d /dev/video1 -c disconnect=1
        sleep 16
        stamp stop
        kill -TERM $pid
        wait $pid
        echo $? > "$W/roomd.exit"
        mkdir /tmp/recordings && cp -a "$W/state/recordings/." /tmp/recordings/
        umount "$W/state/recordings" && cp -a /tmp/recordings/. "$W/state/recordings/"
        """
    }

    static let checker = #"""
    import hashlib, json, math, os, sqlite3, struct, subprocess, sys
    W, fps = sys.argv[1], int(sys.argv[2])
    c = sqlite3.connect(os.path.join(W, "state/roomd.sqlite"))
    out = {"problems": []}
    def problem(p): out["problems"].append(p)
    segs = {}
    for r in c.execute("select id, device, path, state, bytes, sha256, wall_start_ns, wall_end_ns, frames, dropped_frames, close_reason, monotonic_start_ns from segments order by device, sequence"):
        segs.setdefault(r[1], []).append(r)
        if r[3] != "closed": problem(f"segment {r[0]} {r[1]} state {r[3]}")
        data = open(r[2], "rb").read()
        if hashlib.sha256(data).hexdigest() != r[5]: problem(f"segment {r[0]} sha256")
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v", "-show_entries",
                                "stream=nb_read_frames", "-of", "csv=p=0", r[2]], capture_output=True, text=True).stdout.strip()
        if str(r[8]) != probe: problem(f"segment {r[0]} {r[1]}: index says {r[8]} frames, ffprobe decodes {probe}")
    s1 = segs.get("S01", [])
    out["S01_segments"] = len(s1)
    frames = sum(r[8] for r in s1); dropped = sum(r[9] for r in s1)
    # Elapsed capture time: the sum of the segments' own durations, each on its
    # own monotonic→wall mapping (the emulated machine's wall clock drifts
    # against its monotonic one; contiguity is checked separately below).
    elapsed = sum(r[7] - r[6] for r in s1) / 1e9
    # The camera's own clock: the first and last video frames' V4L2 timestamps
    # (segment monotonic start + the frame's pts in the file). vivid derives
    # sequence numbers and timestamps from one frame counter, so frames+dropped
    # must equal this span; the segments' durations run on the audio clock,
    # which the emulated machine lets drift against vivid's (seen: 20 %).
    def video_pts(path):
        text = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time",
                               "-of", "csv=p=0", path], capture_output=True, text=True).stdout.split()
        return [float(t) for t in text if t not in ("", "N/A")]
    camera = None
    if s1:
        first, last = video_pts(s1[0][2]), video_pts(s1[-1][2])
        if first and last:
            span = (s1[-1][11] / 1e9 + max(last)) - (s1[0][11] / 1e9 + min(first))
            camera = span * fps + 1
    out["S01"] = {"frames": frames, "dropped": dropped, "elapsed_x_fps": elapsed * fps,
                  "camera_frames_spanned": camera if camera is not None else -1}
    out["S01_rows"] = [[r[8], r[9], round((r[7] - r[6]) / 1e9 * fps, 3), r[10]] for r in s1]
    gaps = [(b[6] - a[7]) / 1e6 for a, b in zip(s1, s1[1:])]
    out["S01_boundary_gaps_ms"] = gaps
    # The 1 kHz tone played into the loopback is in the recorded audio.
    mid = s1[len(s1) // 2][2] if s1 else None
    if mid:
        pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", mid, "-vn", "-f", "s16le", "-ac", "1", "-ar", "48000", "-"],
                             capture_output=True).stdout
        n = min(len(pcm) // 2, 48000 * 2)
        x = struct.unpack(f"<{n}h", pcm[len(pcm) // 2 - n: len(pcm) // 2 + n][:2 * n]) if n else ()
        def power(f):
            w = 2 * math.pi * f / 48000; s0 = s1_ = 0.0
            for v in x: s0, s1_ = v + 2 * math.cos(w) * s0 - s1_, s0
            return s0 * s0 + s1_ * s1_ - 2 * math.cos(w) * s0 * s1_
        p = {f: power(f) for f in (500, 1000, 1500, 3000)}
        rms = math.sqrt(sum(v * v for v in x) / max(1, len(x)))
        out["tone"] = {"rms_dbfs": 20 * math.log10(max(rms, 1) / 32768), "dominant": max(p, key=p.get)}
    s2 = segs.get("S02", [])
    lost = c.execute("select count(*) from events where subject='S02' and kind in ('device.lost','device.missing')").fetchone()[0]
    back = c.execute("select count(*) from events where subject='S02' and kind='device.returned'").fetchone()[0]
    disconnect = int(open(os.path.join(W, "disconnect")).read())
    out["S02"] = {"segments": len(s2), "lost_events": lost, "returned_events": back,
                  "frames_after_disconnect": sum(r[8] for r in s2 if r[6] > disconnect),
                  "reasons": [r[10] for r in s2]}
    out["S03_events"] = [d for (d,) in c.execute("select detail from events where subject='S03' and kind in ('device.lost','device.missing')")]
    s1_during = sum(r[8] for r in s1 if r[7] > disconnect and r[6] < disconnect + 10_000_000_000)
    out["S01_frames_around_disconnect"] = s1_during
    print(json.dumps(out))
    """#

    @Test func twoViviCamerasAndLoopbackMicrophonesRecordedWithFaults() async throws {
        let repo = Self.repository
        let work = try TemporaryDirectory("roomd-vm")
        let made = try run(Binaries.roomctl, ["pki", "init", "--dir", work.path + "/pki", "--room-id", "VM-ROOM"])
        #expect(made.status == 0)
        _ = try work.write("roomd.yaml", Self.config(port: 18443))
        // The VM sees the host's root read-only but a fresh /tmp: the binary
        // under test travels in the shared work folder, wherever the build is.
        try FileManager.default.copyItem(atPath: Binaries.roomd, toPath: work.path + "/roomd")
        try FileManager.default.copyItem(atPath: Binaries.roomdCapture, toPath: work.path + "/roomd-capture")
        try FileManager.default.copyItem(atPath: Binaries.roomctl, toPath: work.path + "/roomctl")
        let guest = try work.write("guest.sh", Self.guest(roomd: work.path + "/roomd"))
        chmod(guest, 0o755)
        // 150 s of 1 kHz at -12 dBFS, 48 kHz mono, for both loopback substreams.
        let tone = try run("/usr/bin/env", ["python3", "-c", """
            import math, struct, sys, wave
            w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000)
            a = 32767 * 10 ** (-12 / 20)
            w.writeframes(b"".join(struct.pack("<h", int(a * math.sin(2 * math.pi * 1000 * i / 48000))) for i in range(48000 * 150)))
            """, work.path + "/tone.wav"])
        #expect(tone.status == 0, "\(tone.stderr)")

        var environment = ProcessInfo.processInfo.environment
        environment["VIVID_OPTS"] = "n_devs=3 node_types=0x1,0x1,0x1"
        environment["ALOOP_OPTS"] = "pcm_substreams=2"
        let vm = try run(repo + "/scripts/vm/run-in-vm", [guest, "--workdir", work.path, "--timeout", "360", "--smp", "2"],
                         environment: environment)
        let log = (try? String(contentsOfFile: work.path + "/roomd.log", encoding: .utf8)) ?? ""
        #expect(vm.status == 0, "VM run failed (\(vm.status)):\n\(vm.stdout.suffix(3000))\n\(vm.stderr.suffix(2000))\nroomd:\n\(log.suffix(3000))")
        let exit = (try? String(contentsOfFile: work.path + "/roomd.exit", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(exit == "0", "roomd exit status \(exit ?? "?"); log:\n\(log.suffix(3000))")

        // roomctl devices listed the three vivid cameras with formats, sizes and rates, and the loopback's capture devices.
        let devicesJSON = (try? Data(contentsOf: URL(fileURLWithPath: work.path + "/devices.json"))) ?? Data()
        let devices = (try? JSONSerialization.jsonObject(with: devicesJSON)) as? [String: Any] ?? [:]
        let cameras = devices["cameras"] as? [[String: Any]] ?? []
        let devicesErr = (try? String(contentsOfFile: work.path + "/devices.err", encoding: .utf8)) ?? ""
        #expect(cameras.count >= 3 && cameras.allSatisfy { ($0["driver"] as? String) == "vivid" }, "\(String(decoding: devicesJSON, as: UTF8.self)) \(devicesErr)")
        for camera in cameras {
            let formats = camera["formats"] as? [[String: Any]] ?? []
            let sizes = formats.flatMap { $0["sizes"] as? [[String: Any]] ?? [] }
            #expect(formats.contains { ($0["fourcc"] as? String) == "YUYV" } && !sizes.isEmpty
                    && sizes.contains { !(($0["fps"] as? [Double]) ?? []).isEmpty }, "\(camera)")
        }
        let microphones = devices["microphones"] as? [[String: Any]] ?? []
        #expect(microphones.contains { ($0["device"] as? String) == "hw:CARD=Loopback,DEV=0" }
                && microphones.contains { ($0["device"] as? String) == "hw:CARD=Loopback,DEV=1" }, "\(microphones)")
        let devicesText = (try? String(contentsOfFile: work.path + "/devices.txt", encoding: .utf8)) ?? ""
        #expect(devicesText.contains("stations:") && devicesText.contains("camera: /dev/") && devicesText.contains("microphone: \"hw:CARD=Loopback"),
                "\(devicesText)")

        // Recorded by confined helpers (Debian 12's kernel: Landlock ABI 2), with every part in place.
        #expect(log.contains("sandbox=Landlock ABI ") && !log.contains("without part of its sandbox"), "roomd log:\n\(log.suffix(3000))")

        let checked = try run("/usr/bin/env", ["python3", "-c", Self.checker, work.path, String(Self.fps)])
        let report = (try? JSONSerialization.jsonObject(with: Data(checked.stdout.utf8))) as? [String: Any] ?? [:]
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect((report["problems"] as? [String]) == [], "\(report)")

        // ≥ 20 s across at least one segment boundary, and every frame accounted for.
        #expect((report["S01_segments"] as? Int ?? 0) >= 3, "\(report)")
        let s1 = report["S01"] as? [String: Double] ?? [:]
        let accounted = (s1["frames"] ?? 0) + (s1["dropped"] ?? 0)
        #expect((s1["elapsed_x_fps"] ?? 0) >= 20 * Double(Self.fps))
        // ±1 frame of the time the camera's timestamps span: roomd's losses
        // (sequence gaps, error buffers, queue overflow) are all counted.
        let spanned = s1["camera_frames_spanned"] ?? -1
        #expect(spanned > 0 && abs(accounted - spanned) <= 1.5,
                "frames+dropped \(accounted) vs frames the camera's timestamps span \(spanned); per segment [frames, dropped, duration×fps, reason]: \(report["S01_rows"] ?? "")")
        // vivid's percentage_of_dropped_buffers: counted.
        #expect((s1["dropped"] ?? 0) > 0, "\(report)")
        // No gap at the boundaries.
        for gap in report["S01_boundary_gaps_ms"] as? [Double] ?? [] {
            #expect(abs(gap) < 1000 / Double(Self.fps), "gap of \(gap) ms at a boundary")
        }
        // The tone played into the loopback is what was recorded.
        let tone1k = report["tone"] as? [String: Any] ?? [:]
        #expect(tone1k["dominant"] as? Int == 1000, "\(tone1k)")
        #expect((tone1k["rms_dbfs"] as? Double ?? -99) > -24, "\(tone1k)")
        // vivid disconnect: recorded as an event, the other camera carried on, the camera came back.
        let s2 = report["S02"] as? [String: Any] ?? [:]
        #expect((s2["lost_events"] as? Int ?? 0) >= 1, "\(s2)")
        #expect((s2["returned_events"] as? Int ?? 0) >= 1, "\(s2)")
        #expect((s2["frames_after_disconnect"] as? Int ?? 0) > 5 * Self.fps, "\(s2)")
        #expect((report["S01_frames_around_disconnect"] as? Int ?? 0) > 0)
        // A camera asked for a format it does not offer: an error naming the device and what it offers.
        let s3 = report["S03_events"] as? [String] ?? []
        #expect(s3.count == 1, "\(s3)")
        #expect(s3.first.map { $0.contains("/dev/video2") && $0.contains("offered: YUYV") } == true, "\(s3)")

        // The timeline of the run (real drivers, real faults): S02's disconnect is a
        // "device-lost" gap that starts within a few seconds of the disconnect, and
        // S01's dropped buffers are "dropped-frames" in the window they were injected.
        func stamp(_ name: String) -> Int64 {
            Int64(((try? String(contentsOfFile: work.path + "/" + name, encoding: .utf8)) ?? "0").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        let store = try RoomStore(path: work.path + "/state/roomd.sqlite")
        let (recording, disconnect, dropStart, stop) = (stamp("recording"), stamp("disconnect"), stamp("drop-start"), stamp("stop"))
        let timeline = try await store.pool.read { db in
            try RecordingTimeline.build(db, devices: ["S01", "S02"], from: recording, to: stop, now: stop + 60_000_000_000)
        }
        let s02Gaps: [RecordingTimeline.Gap] = timeline.devices.first { $0.device == "S02" }?.gaps ?? []
        let s01Gaps: [RecordingTimeline.Gap] = timeline.devices.first { $0.device == "S01" }?.gaps ?? []
        let lost = s02Gaps.filter { (gap: RecordingTimeline.Gap) -> Bool in
            gap.reason == .deviceLost && abs(gap.start - disconnect) < 5_000_000_000 && gap.end > gap.start
        }
        #expect(!lost.isEmpty, "S02 gaps: \(s02Gaps)")
        let drops = s01Gaps.filter { (gap: RecordingTimeline.Gap) -> Bool in
            gap.reason == .droppedFrames && gap.end >= dropStart && gap.start <= dropStart + 15_000_000_000
        }
        #expect(!drops.isEmpty, "S01 gaps: \(s01Gaps)")
        try store.close()
    }
}
