import Foundation
import Glibc
import Testing

/// Disk full, for real: inside the VM the recordings live on a small tmpfs
/// that is filled up and then freed again.
@Suite(.serialized)
struct VMDiskFullTests {
    static func config(recordings: String) -> String {
        """
        room: { id: VM-ROOM, name: 虚拟机评标室, agency: 测试代理机构, kind: evaluation }
        stations:
          - id: S01
            camera: /dev/video0
            format: { pixel_format: yuyv, width: 640, height: 360, fps: 15 }
            microphone: "hw:Loopback,1,0"
        storage: { state_dir: state, recordings_dir: \(recordings), segment_seconds: 60, min_free_mb: 16 }
        api: { listen: "127.0.0.1:18444", admin_socket: /run/roomd-admin.sock }
        \(DemoRoom.tlsYAML)
        """
    }

    static func guest(roomd: String, recordings: String) -> String {
        """
        #!/bin/bash
        set -u
        W="$VM_WORKDIR"; cd "$W"
        mkdir -p \(recordings)
        mount -t tmpfs -o size=20m tmpfs \(recordings)
        # Leave 16 MiB (the minimum) plus 96 KiB free.
        free_kb=$(df -k --output=avail \(recordings) | tail -1)
        dd if=/dev/zero of=\(recordings)/filler bs=1k count=$((free_kb - 16384 - 96)) status=none
        df -k \(recordings) | tail -1
        aplay -q -D hw:Loopback,0,0 tone.wav &
        \(roomd) --config "$W/roomd.yaml" > "$W/roomd.log" 2>&1 &
        pid=$!
        for i in $(seq 1 150); do
          grep -q "disk full" "$W/roomd.log" && break
          sleep 1
        done
        date +%s%N > "$W/full"
        sleep 3
        rm -f \(recordings)/filler
        date +%s%N > "$W/freed"
        sleep 12
        kill -TERM $pid
        wait $pid
        echo $? > "$W/roomd.exit"
        # Hand the files to the host: the tmpfs disappears with the VM.
        mkdir -p "$W/rec-copy" && cp -a \(recordings)/S01 "$W/rec-copy/"
        """
    }

    @Test func diskFullClosesTheSegmentCleanlyAndRecordingResumesWhenSpaceReturns() throws {
        let repo = VMRecordingTests.repository
        let work = try TemporaryDirectory("roomd-vm")
        #expect(try run(Binaries.roomctl, ["pki", "init", "--dir", work.path + "/pki"]).status == 0)
        let recordings = work.path + "/small"
        _ = try work.write("roomd.yaml", Self.config(recordings: recordings))
        try FileManager.default.copyItem(atPath: Binaries.roomd, toPath: work.path + "/roomd")
        try FileManager.default.copyItem(atPath: Binaries.roomdCapture, toPath: work.path + "/roomd-capture")
        let guest = try work.write("guest.sh", Self.guest(roomd: work.path + "/roomd", recordings: recordings))
        chmod(guest, 0o755)
        #expect(try run("/usr/bin/env", ["python3", "-c", """
            import math, struct, sys, wave
            w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000)
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 48000))) for i in range(48000 * 180)))
            """, work.path + "/tone.wav"]).status == 0)
        var environment = ProcessInfo.processInfo.environment
        environment["VIVID_OPTS"] = "n_devs=1 node_types=0x1"
        let vm = try run(repo + "/scripts/vm/run-in-vm", [guest, "--workdir", work.path, "--timeout", "360"], environment: environment)
        let log = (try? String(contentsOfFile: work.path + "/roomd.log", encoding: .utf8)) ?? ""
        #expect(vm.status == 0, "VM run failed (\(vm.status)):\n\(vm.stdout.suffix(2000))\nroomd:\n\(log.suffix(3000))")
        let exit = (try? String(contentsOfFile: work.path + "/roomd.exit", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(exit == "0", "log:\n\(log.suffix(3000))")

        let checker = #"""
        import hashlib, json, os, sqlite3, subprocess, sys
        W, rec = sys.argv[1], sys.argv[2]
        c = sqlite3.connect(os.path.join(W, "state/roomd.sqlite"))
        rows = c.execute("select id, path, state, sha256, close_reason, frames from segments order by sequence").fetchall()
        out = {"segments": [], "events": [k for (k,) in c.execute("select kind from events where kind like 'storage.%'")]}
        for (id, path, state, sha, reason, frames) in rows:
            copy = os.path.join(W, "rec-copy", os.path.relpath(path, rec))
            data = open(copy, "rb").read()
            frames_ok = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v", "-show_entries",
                                        "stream=nb_read_frames", "-of", "csv=p=0", copy], capture_output=True, text=True).stdout.strip()
            out["segments"].append({"state": state, "reason": reason, "hash_ok": hashlib.sha256(data).hexdigest() == sha,
                                    "frames": frames, "decoded": int(frames_ok or -1)})
        print(json.dumps(out))
        """#
        let checked = try run("/usr/bin/env", ["python3", "-c", checker, work.path, recordings])
        let report = (try? JSONSerialization.jsonObject(with: Data(checked.stdout.utf8))) as? [String: Any] ?? [:]
        let segments = report["segments"] as? [[String: Any]] ?? []
        let events = report["events"] as? [String] ?? []
        #expect(events.contains("storage.disk-full"), "\(report)")
        #expect(events.contains("storage.space-returned"), "\(report)")
        // Segments are cut on wall-clock minutes, so a boundary may pass before the disk fills:
        // the segment open when it filled is closed for disk-full, and one follows it.
        let reasons = segments.map { $0["reason"] as? String ?? "" }
        let full = reasons.firstIndex(of: "disk-full")
        #expect(full != nil, "\(report)")
        #expect(reasons.prefix(full ?? 0).allSatisfy { $0 == "boundary" }, "\(report)")
        #expect(segments.count > (full ?? .max - 1) + 1, "recording resumed after space returned: \(report)")
        for segment in segments {
            #expect(segment["state"] as? String == "closed")
            #expect(segment["hash_ok"] as? Bool == true)
            #expect((segment["frames"] as? Int ?? 0) > 0 && segment["frames"] as? Int == segment["decoded"] as? Int, "\(segment)")
        }
    }
}
