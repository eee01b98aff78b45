import Foundation
import Glibc
import Testing

/// Recordings on demand through the real roomd, its capture helpers and
/// roomctl: a helper is killed mid-recording and the timeline says so; an
/// export across three segments is checked with ffprobe, ffmpeg's framemd5
/// and Python's sqlite3/hashlib (not with roomd's code); a dossier verifies
/// offline and stops verifying when any byte of a clip, a segment or a proof
/// changes; the HTTPS routes refuse what they must.
@Suite(.serialized)
struct RecordingsProcessTests {
    final class Room {
        let room: DemoRoom
        let daemon: RunningDaemon
        var socket: String { room.dir.path + "/state/admin.sock" }
        var database: String { room.dir.path + "/state/roomd.sqlite" }

        init() throws {
            room = try DemoRoom(extraYAML: """
                sessions: { discipline_minimum_seconds: 0 }

                """, storageYAML: "segment_seconds: 2")
            try FileManager.default.createDirectory(atPath: room.dir.path + "/log", withIntermediateDirectories: true)
            let notify = try NotifyListener(directory: room.dir.path + "/log")
            daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path + "/log")
            daemon.keep(notify)
            guard notify.wait(for: "READY=1", timeout: 90) else { throw TestFailure("no READY=1; log:\n\(daemon.log)") }
        }

        /// A query answered by Python's sqlite3 (read-only), as JSON rows.
        func query(_ sql: String) throws -> [[Any]] { try RecordingsProcessTests.sqlite(database, sql) }

        func roomctl(_ arguments: [String]) throws -> ProcessResult {
            try run(Binaries.roomctl, arguments + ["--socket", socket])
        }

        func waitFor(_ what: String, timeout: TimeInterval = 60, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if try condition() { return }
                usleep(100_000)
            }
            throw TestFailure("timed out waiting for \(what); log:\n\(daemon.log.suffix(3000))")
        }

        func closedSegments(_ device: String) throws -> [[Any]] {
            try query("SELECT id, path, wall_start_ns, wall_end_ns, sha256, bytes, frames FROM segments WHERE device = '\(device)' AND state = 'closed' ORDER BY wall_start_ns")
        }
    }

    /// A query answered by Python's sqlite3 (read-only), as JSON rows: not roomd's code.
    static func sqlite(_ database: String, _ sql: String) throws -> [[Any]] {
        let script = "import json, sqlite3, sys\nc = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\nprint(json.dumps(c.execute(sys.argv[2]).fetchall()))"
        let result = try run("/usr/bin/python3", ["-c", script, database, sql])
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[Any]] ?? []
    }

    /// JSON numbers (NSNumber) as Int64.
    static func n(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    static func framePackets(_ path: String) throws -> [String] {
        let result = try run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"])
        return result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    static func sha256(_ path: String) throws -> String {
        try run("/usr/bin/sha256sum", [path]).stdout.split(separator: " ").first.map(String.init) ?? ""
    }

    @Test func aKilledHelperIsAGapAndExportsAndDossiersHoldUp() throws {
        let r = try Room()
        // 1. Record a few segments, then kill S01's helper mid-segment.
        try r.waitFor("4 closed segments of S01") { try r.closedSegments("S01").count >= 4 }
        let status = try r.room.status()
        let devices = status["devices"] as? [[String: Any]] ?? []
        let helper = try #require(devices.first { $0["id"] as? String == "S01" }?["helperPID"] as? Int)
        let before = try r.closedSegments("S01").count
        #expect(kill(pid_t(helper), SIGKILL) == 0)
        let killedAt = Int64(Date().timeIntervalSince1970 * 1e9)
        // The new helper records again: two more closed segments after the kill.
        try r.waitFor("recording to resume after the kill") {
            try r.closedSegments("S01").filter { (Self.n($0[2]) ?? 0) > killedAt }.count >= 2
        }
        #expect(try r.closedSegments("S01").count > before)

        // 2. The timeline (roomctl, JSON) has a gap with the reason "helper-restarted" around the kill.
        let start = try #require(r.closedSegments("S01").first.flatMap { Self.n($0[2]) })
        let end = Int64(Date().timeIntervalSince1970 * 1e9)
        let listed = try r.roomctl(["recordings", "list", "--from", String(start), "--to", String(end), "--devices", "S01,S02", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let timeline = (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8))) as? [String: Any] ?? [:]
        let s01 = (timeline["devices"] as? [[String: Any]] ?? []).first { $0["device"] as? String == "S01" } ?? [:]
        let gaps = s01["gaps"] as? [[String: Any]] ?? []
        let restart = gaps.first { $0["reason"] as? String == "helper-restarted" }
        #expect(restart != nil, "\(gaps)")
        if let restart, let from = Self.n(restart["start"]), let to = Self.n(restart["end"]) {
            // The gap runs from the last durable data before the kill to the first frame after it.
            #expect(from <= killedAt + 1_000_000_000 && to >= killedAt, "gap \(from)–\(to), kill at \(killedAt)")
            #expect(to - from < 15_000_000_000)
        }
        #expect((s01["spans"] as? [Any])?.count ?? 0 >= 2)
        // The human form names the reason in Chinese too.
        let table = try r.roomctl(["recordings", "list", "--from", String(start), "--to", String(end), "--devices", "S01"])
        #expect(table.stdout.contains("helper-restarted / 录像进程重启"), "\(table.stdout)")

        // 3. An export over three whole segments of S02 (never killed), cut inside the first and the last.
        let s02 = try r.closedSegments("S02")
        #expect(s02.count >= 4)
        let three = Array(s02[1...3])
        let from = Self.n(three[0][2])! + 500_000_000, to = Self.n(three[2][3])! - 500_000_000
        let out = r.room.dir.path + "/S02.mp4"
        let exported = try r.roomctl(["recordings", "export", "--device", "S02", "--from", String(from), "--to", String(to), "--out", out, "--quiet"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        let manifest = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + ".manifest.json")))) as? [String: Any] ?? [:]
        // Its hashes are the index's (read by Python, not roomd).
        let sources = manifest["sources"] as? [[String: Any]] ?? []
        let indexHashes = Dictionary(uniqueKeysWithValues: s02.map { (Self.n($0[0])!, $0[4] as! String) })
        #expect(sources.count == 3, "\(sources)")
        for source in sources {
            #expect(indexHashes[Self.n(source["segment"]) ?? -1] == source["sha256"] as? String)
        }
        // The middle segment is whole in range: copied by reference (roomd reads its media itself)
        // unless its boxes or times forbid it; the frames below are checked either way.
        #expect(sources.allSatisfy { ["copied", "remuxed"].contains($0["taken"] as? String ?? "") }, "\(sources)")
        print("RecordingsProcessTests: export sources taken as \(sources.map { $0["taken"] as? String ?? "-" })")
        let clip = manifest["clip"] as? [String: Any] ?? [:]
        #expect(clip["sha256"] as? String == (try Self.sha256(out)))
        // Its frames are the source frames in range, byte for byte (H.264: from the keyframe before `from`).
        var sourceFrames: [String] = []
        for segment in three { sourceFrames += try Self.framePackets(segment[1] as! String) }
        let clipFrames = try Self.framePackets(out)
        #expect(!clipFrames.isEmpty)
        if let first = clipFrames.first, let at = sourceFrames.firstIndex(of: first) {
            #expect(Array(sourceFrames[at..<min(sourceFrames.count, at + clipFrames.count)]) == clipFrames)
        } else {
            Issue.record("the clip's first frame is not one of the source frames")
        }
        // Duration: ffprobe's agrees with the manifest's cut points within one frame (1/15 s).
        let probed = try run("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out])
        let duration = Double(probed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let cut = manifest["cut"] as? [String: Any] ?? [:]
        let expected = Double(Self.n(cut["duration_ns"]) ?? 0) / 1e9
        #expect(abs(duration - expected) <= 1.0 / 15 + 0.001, "ffprobe \(duration) s, manifest \(expected) s")
        #expect(Double(to - from) / 1e9 - expected < 1.0 + 1.0 / 15, "clip \(expected) s for a range of \(Double(to - from) / 1e9) s")
        // The export is in the ledger: who, and the manifest.
        let audited = try r.query("SELECT count(*) FROM ledger_entry WHERE kind = 'recording.exported'")
        #expect(Self.n(audited.first?.first) == 1)

        // Several devices: one MP4 and one manifest each, in a folder.
        let both = try r.roomctl(["recordings", "export", "--device", "S01,S02", "--from", String(from), "--to", String(to),
                                  "--out", r.room.dir.path + "/both", "--quiet"])
        #expect(both.status == 0, "\(both.stderr)")
        for device in ["S01", "S02"] {
            #expect(FileManager.default.fileExists(atPath: r.room.dir.path + "/both/\(device).mp4"))
            #expect(FileManager.default.fileExists(atPath: r.room.dir.path + "/both/\(device).mp4.manifest.json"))
        }

        // 4. Bad input gets a clear 4xx over HTTPS; a station may not look at recordings.
        let range = "from=\(from)&to=\(to)"
        #expect(try r.room.curl("/v1/recordings/timeline?\(range)", as: "supervisor").1 == 200)
        #expect(try r.room.curl("/v1/recordings/timeline?\(range)", as: "S01").1 == 403)
        #expect(try r.room.curl("/v1/recordings/timeline?from=\(to)&to=\(from)", as: "supervisor").2.contains("reversed-range"))
        #expect(try r.room.curl("/v1/recordings/timeline?\(range)&devices=X99", as: "supervisor").1 == 404)
        #expect(try r.room.curl("/v1/recordings/timeline?from=0&to=\(to)", as: "supervisor").2.contains("range-too-large"))
        #expect(try r.room.curl("/v1/recordings/export.mp4?device=S02&from=\(from)&to=\(from + 5 * 3_600_000_000_000)", as: "supervisor").1 == 400)
        #expect(try r.room.curl("/v1/recordings/export.mp4?device=S02&from=1000&to=2000", as: "supervisor").2.contains("nothing-recorded"))
        #expect(try r.room.curl("/v1/recordings/export.mp4?device=S01,S02&\(range)", as: "supervisor").1 == 400)
        #expect(try r.room.curl("/v1/recordings/timeline?from=yesterday&to=\(to)", as: "supervisor").1 == 400)
        // A stored segment as it is, with Range.
        let segmentID = Self.n(three[0][0])!, segmentPath = three[0][1] as! String
        let whole = try Data(contentsOf: URL(fileURLWithPath: segmentPath))
        let part = try run("/usr/bin/curl", ["-s", "--cacert", r.room.pki + "/room-ca.crt", "--cert", r.room.pki + "/clients/supervisor.crt",
                                             "--key", r.room.pki + "/clients/supervisor.key", "-r", "100-1099", "-o", r.room.dir.path + "/part",
                                             "-w", "%{http_code}", "https://127.0.0.1:\(r.room.port)/v1/recordings/segments/\(segmentID)"])
        #expect(part.stdout == "206")
        #expect(try Data(contentsOf: URL(fileURLWithPath: r.room.dir.path + "/part")) == whole[100..<1100])
        // The live picture.
        let live = try run("/usr/bin/curl", ["-s", "--cacert", r.room.pki + "/room-ca.crt", "--cert", r.room.pki + "/clients/supervisor.crt",
                                             "--key", r.room.pki + "/clients/supervisor.key", "-o", r.room.dir.path + "/live.jpg", "-w", "%{content_type}",
                                             "https://127.0.0.1:\(r.room.port)/v1/recordings/live/S02.jpg"])
        #expect(live.stdout == "image/jpeg")
        #expect(try Data(contentsOf: URL(fileURLWithPath: r.room.dir.path + "/live.jpg")).prefix(2) == Data([0xFF, 0xD8]))
        // Every download and view is in the ledger with the certificate that asked.
        let downloads = try r.query("SELECT count(*) FROM ledger_entry WHERE kind = 'recording.downloaded' AND actor LIKE 'supervisor%sha256:%'")
        #expect(Self.n(downloads.first?.first) == 1)

        // 5. A complaint dossier for a session, checked offline.
        let definition = try r.room.dir.write("definition.json", SessionProcessTests.definition)
        #expect(try r.roomctl(["session", "import", definition, "--session", "ZC-COMPLAINT"]).status == 0)
        #expect(try r.roomctl(["session", "command", "ZC-COMPLAINT", #"{"openSession":{}}"#]).status == 0)
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let folder = r.room.dir.path + "/dossier"
        let made = try r.roomctl(["recordings", "dossier", "--session", "ZC-COMPLAINT", "--from", String(now - 8_000_000_000),
                                  "--to", String(now + 1_000_000_000), "--devices", "S01,S02", "--out", folder, "--quiet"])
        #expect(made.status == 0, "\(made.stdout) \(made.stderr)\n\(r.daemon.log.suffix(3000))")
        let verified = try run(Binaries.roomctl, ["recordings", "verify", folder])
        #expect(verified.status == 0 && verified.stdout.contains("VERIFIED"), "\(verified.stdout)")
        #expect(verified.stdout.contains("video frames are the segments' frames"), "\(verified.stdout)")
        #expect(verified.stdout.contains("session event(s), each proven in the ledger"), "\(verified.stdout)")
        // Any byte flipped: verify fails and names the file.
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder)
        let segmentFile = try #require(files.first { $0.hasPrefix("segments/S02/") && $0.hasSuffix(".mp4") })
        let proofFile = try #require(files.first { $0.hasPrefix("ledger/proofs/") && $0.hasSuffix(".json") })
        for target in ["clips/S02.mp4", segmentFile, proofFile] {
            let copy = r.room.dir.path + "/tampered-\(target.replacingOccurrences(of: "/", with: "_"))"
            #expect(try run("/bin/cp", ["-r", folder, copy]).status == 0)
            try Self.flipByte(in: copy + "/" + target)
            let result = try run(Binaries.roomctl, ["recordings", "verify", copy, "--no-frames"])
            #expect(result.status != 0, "tampering with \(target) went unnoticed")
            #expect(result.stdout.contains("FAIL  \(target)"), "\(target): \(result.stdout)")
        }
        _ = r.daemon.terminate()
    }

    static func flipByte(in path: String) throws {
        chmod(path, 0o644)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        let at = size / 2
        try handle.seek(toOffset: at)
        let byte = try handle.read(upToCount: 1)?.first ?? 0
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: Data([byte ^ 0x5A]))
        try handle.close()
    }
}
