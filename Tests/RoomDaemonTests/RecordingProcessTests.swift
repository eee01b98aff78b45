import Foundation
import Glibc
import Testing

/// The real roomd recording synthetic devices, killed with SIGKILL mid-segment
/// and restarted: the partial segments are repaired and the index agrees with
/// the disk.
@Suite(.serialized)
struct RecordingProcessTests {
    /// Checks the index against the disk with Python's sqlite3 and hashlib:
    /// an implementation independent of roomd's.
    static let checker = #"""
    import hashlib, json, os, sqlite3, sys
    db, root = sys.argv[1], sys.argv[2]
    c = sqlite3.connect(db)
    rows = c.execute("select id, device, path, state, bytes, sha256, wall_start_ns, wall_end_ns, frames, close_reason from segments").fetchall()
    problems, recovered = [], []
    paths = set()
    for (id, device, path, state, size, sha, start, end, frames, reason) in rows:
        paths.add(path)
        if state in ("closed", "recovered"):
            if not os.path.exists(path): problems.append(f"{id}: file missing"); continue
            data = open(path, "rb").read()
            if len(data) != size: problems.append(f"{id}: size {len(data)} != {size}")
            if hashlib.sha256(data).hexdigest() != sha: problems.append(f"{id}: sha256 mismatch")
        elif state == "writing":
            problems.append(f"{id}: still writing")
        if reason == "crash-recovered":
            recovered.append({"id": id, "device": device, "start": start, "end": end, "frames": frames})
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".mp4") and os.path.join(dirpath, f) not in paths:
                problems.append(f"file without row: {f}")
    print(json.dumps({"rows": len(rows), "problems": problems, "recovered": recovered}))
    """#

    func check(_ room: DemoRoom) throws -> [String: Any] {
        let result = try run("/usr/bin/env", ["python3", "-c", Self.checker, room.dir.path + "/state/roomd.sqlite",
                                              room.dir.path + "/state/recordings"])
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? ["error": result.stderr]
    }

    @Test func killDashNineDuringWritingIsRepairedWithinASecondOnRestart() throws {
        let room = try DemoRoom()
        let notify = try NotifyListener(directory: room.dir.path)
        let first = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60))
        Thread.sleep(forTimeInterval: 4)
        kill(first.process.processIdentifier, SIGKILL)
        let killedAt = Int64(Date().timeIntervalSince1970 * 1e9)
        first.process.waitUntilExit()

        let notify2 = try NotifyListener(directory: room.dir.path, name: "notify2.sock")
        let second = try RunningDaemon(config: room.configPath, notifySocket: notify2.path, logDirectory: room.dir.path + "/state")
        #expect(notify2.wait(for: "READY=1", timeout: 60))
        // Recovery runs before the recorders start; give it a moment.
        var report: [String: Any] = [:]
        for _ in 0..<50 {
            report = try check(room)
            if (report["recovered"] as? [Any])?.count ?? 0 >= 2 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let recovered = report["recovered"] as? [[String: Any]] ?? []
        #expect(Set(recovered.compactMap { $0["device"] as? String }) == ["S01", "S02"], "\(report)")
        for segment in recovered {
            let end = segment["end"] as? Int64 ?? 0
            // What was kept ends within a second of the kill.
            #expect(abs(killedAt - end) <= 1_000_000_000, "kept until \(end), killed at \(killedAt)")
            // …and holds the frames of the time it covers (15 fps; a minute boundary may
            // have started this segment shortly before the kill).
            let start = segment["start"] as? Int64 ?? 0
            let expected = Double(end - start) / 1e9 * 15
            #expect(Double(segment["frames"] as? Int ?? 0) >= expected * 0.8 - 2, "\(segment): about \(expected) frames expected")
        }
        #expect(second.terminate() == 0)
        let final = try check(room)
        #expect((final["problems"] as? [String]) == [], "\(final)")
        #expect((final["rows"] as? Int ?? 0) >= 4)
    }
}
