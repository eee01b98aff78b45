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
            if os.stat(path).st_mode & 0o777 != 0o440: problems.append(f"{id}: mode {oct(os.stat(path).st_mode & 0o777)}, not read-only")
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
        // The second start says how the first run ended.
        let starts = try Self.events(room, kind: "daemon.started")
        #expect(starts.count == 2 && starts[0]["previous_run"] == "none (first start)", "\(starts)")
        #expect(starts.last?["previous_run"]?.hasPrefix("ended uncleanly") == true, "\(starts)")
        #expect(second.terminate() == 0)
        // Each repair ran confined to its one segment (HelperSandboxTests), every part in place.
        #expect(!second.log.contains("without part of its sandbox"), "\(second.log.suffix(3000))")
        let final = try check(room)
        #expect((final["problems"] as? [String]) == [], "\(final)")
        #expect((final["rows"] as? Int ?? 0) >= 4)
    }

    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [pid_t] in
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return children.split(separator: " ").compactMap { pid_t($0) }
        }
    }

    static func commandLine(_ pid: pid_t) -> String {
        (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
    }

    /// The capture fork server roomd started (its child), if one runs.
    static func forkServer(of roomd: pid_t) -> pid_t? {
        children(of: roomd).first { commandLine($0).hasPrefix("roomd-capture\0forkserver") }
    }

    /// The capture helpers roomd started, by pid: its children, or its fork
    /// server's (each shows as `roomd-capture record`).
    static func helpers(of roomd: pid_t) -> [pid_t] {
        children(of: roomd).flatMap { [$0] + children(of: $0) }.filter { commandLine($0).hasPrefix("roomd-capture\0record") }
    }

    /// Waits (up to 10 s) until roomd runs `count` helpers, none of them `without`.
    static func waitForHelpers(of daemon: RunningDaemon, count: Int, without gone: pid_t? = nil) -> [pid_t] {
        var found: [pid_t] = []
        for _ in 0..<100 {
            found = helpers(of: daemon.process.processIdentifier)
            if found.count == count, !found.contains(where: { $0 == gone }) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return found
    }

    static func events(_ room: DemoRoom, kind: String) throws -> [[String: String]] {
        let result = try run("/usr/bin/env", ["python3", "-c", """
            import json, sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            print(json.dumps([dict(json.loads(d), subject=s) for (s, d) in c.execute(
                "select subject, detail from events where kind = ? order by id", (sys.argv[2],))]))
            """, room.dir.path + "/state/roomd.sqlite", kind])
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]]) ?? []
    }

    /// A capture helper killed with SIGKILL mid-segment costs its own device
    /// a second: roomd repairs the open segment (hash equal to the file's),
    /// records the exit, and a new helper carries on; the other device's
    /// segment is not interrupted.
    @Test func killedCaptureHelperIsRepairedAndReplacedWithoutTouchingOtherDevices() throws {
        guard let (room, daemon, notify, helpers) = try Self.roomWithHelpers() else { return }
        defer { withExtendedLifetime(notify) {} }
        let victim = helpers[0]
        Thread.sleep(forTimeInterval: 3)
        let framesBefore = Dictionary(uniqueKeysWithValues: (try room.status()["devices"] as? [[String: Any]] ?? [])
            .compactMap { d in (d["id"] as? String).map { ($0, d["frames"] as? Int ?? 0) } })
        kill(victim, SIGKILL)

        let exited = try Self.waitForEvents(room, kind: "capture.helper-exited", seconds: 10)
        #expect(exited.count == 1, "\(exited)")
        let device = exited.first?["subject"] ?? "?"
        #expect(exited.first?["exit"] == "killed by signal 9 (Killed)", "\(exited)")
        #expect(exited.first?["pid"] == String(victim))
        // A new helper records the device again.
        let replaced = Self.waitForHelpers(of: daemon, count: 2, without: victim)
        #expect(replaced.count == 2 && !replaced.contains(victim), "helpers after the kill: \(replaced)")
        Thread.sleep(forTimeInterval: 3)

        let report = try check(room)
        let recovered = report["recovered"] as? [[String: Any]] ?? []
        #expect(recovered.count == 1 && recovered.first?["device"] as? String == device, "\(report)")
        let rows = try run("/usr/bin/env", ["python3", "-c", """
            import json, sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            print(json.dumps(c.execute("select device, state from segments order by id").fetchall()))
            """, room.dir.path + "/state/roomd.sqlite"])
        let states = (try JSONSerialization.jsonObject(with: Data(rows.stdout.utf8)) as? [[String]]) ?? []
        let other = device == "S01" ? "S02" : "S01"
        // The killed device: its repaired segment, then a new one being written.
        let mine = states.filter { $0.first == device }.map { $0[1] }
        #expect(mine.contains("recovered") && mine.last == "writing", "\(states)")
        // The other device: untouched — every segment it has is either closed
        // at a minute boundary or still the one it is writing.
        #expect(!states.filter { $0.first == other }.contains { $0[1] == "recovered" }, "\(states)")
        #expect(try Self.events(room, kind: "capture.helper-exited").count == 1)
        // The operator sees it: roomctl shows each device's helper and how often it ended.
        let devices = try room.status()["devices"] as? [[String: Any]] ?? []
        let byID = Dictionary(uniqueKeysWithValues: devices.compactMap { d in (d["id"] as? String).map { ($0, d) } })
        #expect(byID[device]?["helperExits"] as? Int == 1 && byID[other]?["helperExits"] as? Int == 0, "\(devices)")
        // Its counters carry on from the killed helper's, never back to zero.
        #expect((byID[device]?["frames"] as? Int ?? 0) > framesBefore[device] ?? Int.max, "\(framesBefore) → \(devices)")
        let shownPIDs = Set(devices.compactMap { $0["helperPID"] as? Int }.map { pid_t($0) })
        #expect(shownPIDs == Set(replaced), "roomctl shows \(shownPIDs), running \(replaced)")
        let table = try run(Binaries.roomctl, ["status", "--config", room.configPath]).stdout
        #expect(table.contains("HELPER") && table.contains(", 1 exits"), "\(table)")

        #expect(daemon.terminate() == 0, "roomd log:\n\(daemon.log.suffix(4000))")
        let final = try check(room)
        #expect((final["problems"] as? [String]) == [], "\(final)")
    }

    /// A helper that hangs (here: stopped with SIGSTOP, as a process stuck in
    /// a driver call looks from outside) is killed after 15 s of silence and
    /// replaced; its open segment is repaired.
    @Test func hungCaptureHelperIsKilledAndReplaced() throws {
        guard let (room, daemon, notify, helpers) = try Self.roomWithHelpers() else { return }
        defer { withExtendedLifetime(notify) {} }
        let victim = helpers[0]
        Thread.sleep(forTimeInterval: 2)
        kill(victim, SIGSTOP)
        let exited = try Self.waitForEvents(room, kind: "capture.helper-exited", seconds: 30)
        #expect(exited.first?["exit"] == "silent for 15 s (hung)", "\(exited)\n\(daemon.log.suffix(2000))")
        #expect(exited.first?["pid"] == String(victim))
        try expectReplacedAndRepaired(room, daemon, victim: victim)
    }

    /// Waits (up to `seconds`) for `count` events of `kind`.
    static func waitForEvents(_ room: DemoRoom, kind: String, count: Int = 1, seconds: Double = 10) throws -> [[String: String]] {
        var found: [[String: String]] = []
        for _ in 0..<Int(seconds * 10) where found.count < count {
            Thread.sleep(forTimeInterval: 0.1)
            found = try events(room, kind: kind)
        }
        return found
    }

    /// Waits (up to `seconds`) for a fork server other than `old` with `count` helpers.
    static func waitForNewForkServer(of roomd: pid_t, replacing old: pid_t, helpers count: Int, seconds: Double) -> (pid_t?, [pid_t]) {
        for _ in 0..<Int(seconds * 10) {
            if let server = forkServer(of: roomd), server != old {
                let forked = children(of: server).filter { commandLine($0).hasPrefix("roomd-capture\0record") }
                if forked.count == count { return (server, forked) }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return (forkServer(of: roomd), [])
    }

    /// Stops one thread of a process (ptrace-interrupted; the others run on)
    /// until the returned process is terminated. Python, because ptrace(2)
    /// is variadic and Swift cannot call it.
    static func stopThread(_ tid: pid_t) throws -> Process {
        let tracer = Process()
        tracer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tracer.arguments = ["python3", "-c", """
            import ctypes, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            tid = int(sys.argv[1])
            for request in (0x4206, 0x4207):  # PTRACE_SEIZE, PTRACE_INTERRUPT
                if libc.ptrace(request, tid, None, None) != 0:
                    sys.exit("ptrace %#x: errno %d" % (request, ctypes.get_errno()))
            print("stopped", flush=True)
            time.sleep(120)
            """, String(tid)]
        let output = Pipe()
        tracer.standardOutput = output
        try tracer.run()
        let line = output.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("stopped") else {
            throw TestFailure("could not stop thread \(tid) with ptrace")
        }
        return tracer
    }

    /// A recorder thread that stops turning (a device call that never
    /// returns) while the rest of its helper still reports: roomd sees the
    /// recorder's loop stand still for 15 s, kills the helper and starts a new
    /// one — instead of starving the watchdog and having all of roomd restarted.
    @Test func stalledRecorderThreadGetsItsHelperReplaced() throws {
        guard let (room, daemon, notify, helpers) = try Self.roomWithHelpers() else { return }
        defer { withExtendedLifetime(notify) {} }
        let victim = helpers[0]
        Thread.sleep(forTimeInterval: 2)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(victim)/task")
        let recorder = tasks.compactMap { task -> (pid_t, String)? in
            let name = ((try? String(contentsOfFile: "/proc/\(victim)/task/\(task)/comm", encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard name.hasPrefix("roomd-rec-"), let tid = pid_t(task) else { return nil }
            return (tid, String(name.dropFirst("roomd-rec-".count)))
        }.first
        guard let (tid, device) = recorder else { Issue.record("no recorder thread in \(victim)"); return }
        let tracer = try Self.stopThread(tid)
        defer { tracer.terminate() }

        let exited = try Self.waitForEvents(room, kind: "capture.helper-exited", seconds: 45)
        #expect(exited.first?["pid"] == String(victim) && exited.first?["subject"] == device, "\(exited)")
        #expect(exited.first?["exit"] == "recorder of \(device) made no progress for 15 s (hung)", "\(exited)\n\(daemon.log.suffix(2000))")
        try expectReplacedAndRepaired(room, daemon, victim: victim)
    }

    /// After a helper was killed: a new one records its device, roomd stops
    /// cleanly, and the index agrees with the disk, that one segment repaired.
    func expectReplacedAndRepaired(_ room: DemoRoom, _ daemon: RunningDaemon, victim: pid_t) throws {
        let replaced = Self.waitForHelpers(of: daemon, count: 2, without: victim)
        #expect(replaced.count == 2 && !replaced.contains(victim), "helpers after the kill: \(replaced)")
        #expect(daemon.terminate() == 0, "roomd log:\n\(daemon.log.suffix(3000))")
        let final = try check(room)
        #expect((final["problems"] as? [String]) == [], "\(final)")
        #expect((final["recovered"] as? [Any])?.count == 1, "\(final)")
    }

    /// A demo room's roomd, ready, with a helper per device (S01, S02) up;
    /// nil, recorded as an issue, if not. Keep the listener alive with it.
    static func roomWithHelpers() throws -> (DemoRoom, RunningDaemon, NotifyListener, [pid_t])? {
        let room = try DemoRoom()
        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60))
        let helpers = waitForHelpers(of: daemon, count: 2)
        guard helpers.count == 2 else {
            Issue.record("expected one roomd-capture per device (S01, S02): \(helpers)\n\(daemon.log.suffix(2000))")
            return nil
        }
        return (room, daemon, notify, helpers)
    }

    /// Same, and the fork server those helpers were forked from.
    static func roomdWithForkServer() throws -> (DemoRoom, RunningDaemon, NotifyListener, pid_t, [pid_t])? {
        guard let (room, daemon, notify, helpers) = try roomWithHelpers() else { return nil }
        guard let server = forkServer(of: daemon.process.processIdentifier) else {
            Issue.record("no fork server: \(daemon.log.suffix(2000))")
            return nil
        }
        return (room, daemon, notify, server, helpers)
    }

    /// With a helper per device, roomd execs roomd-capture once, as a fork
    /// server (single-threaded, so forking is safe), which forks the helpers.
    /// If the server dies, its helpers record on; roomd still sees one of them
    /// end (through its pidfd, though its status is lost), repairs its segment,
    /// and a new server forks its successor. The orphaned survivor still
    /// stops cleanly with roomd.
    @Test func killedForkServerLeavesHelpersRecordingAndIsReplaced() throws {
        guard let (room, daemon, notify, server, helpers) = try Self.roomdWithForkServer() else { return }
        defer { withExtendedLifetime(notify) {} }
        let roomd = daemon.process.processIdentifier
        #expect(Set(Self.children(of: server)) == Set(helpers), "the helpers are the fork server's children")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server)/task").count == 1, "the fork server runs one thread")
        Thread.sleep(forTimeInterval: 2)
        kill(server, SIGKILL)
        Thread.sleep(forTimeInterval: 2)
        #expect(helpers.allSatisfy { kill($0, 0) == 0 }, "helpers outlive their fork server")
        #expect(try Self.events(room, kind: "capture.helper-exited").isEmpty, "losing the server costs no recording")

        let victim = helpers[0]
        kill(victim, SIGKILL)
        let exited = try Self.waitForEvents(room, kind: "capture.helper-exited")
        #expect(exited.count == 1 && exited.first?["pid"] == String(victim), "\(exited)")
        #expect(exited.first?["exit"] == "ended (its exit status was lost with the fork server)", "\(exited)")
        let (newServer, forked) = Self.waitForNewForkServer(of: roomd, replacing: server, helpers: 1, seconds: 10)
        #expect(newServer != nil && forked.count == 1 && !forked.contains(victim), "new server \(String(describing: newServer)): \(forked)")
        // The operator sees the new server, and that it is not the first.
        let daemonInfo = try room.status()["daemon"] as? [String: Any]
        #expect(daemonInfo?["captureForkServerPID"] as? Int == newServer.map(Int.init) && daemonInfo?["captureForkServerStarts"] as? Int == 2,
                "\(String(describing: daemonInfo))")
        let table = try run(Binaries.roomctl, ["status", "--config", room.configPath]).stdout
        #expect(table.contains("fork server pid \(newServer ?? 0), started 2 times"), "\(table)")
        Thread.sleep(forTimeInterval: 2)

        #expect(daemon.terminate() == 0, "roomd log:\n\(daemon.log.suffix(4000))")
        let final = try check(room)
        #expect((final["problems"] as? [String]) == [], "\(final)")
        // Only the killed helper's segment needed repair; the orphan closed its
        // own when roomd stopped, and that stop is not an unexpected exit.
        let recovered = final["recovered"] as? [[String: Any]] ?? []
        #expect(recovered.count == 1 && recovered.first?["device"] as? String == exited.first?["subject"], "\(final)")
        #expect(try Self.events(room, kind: "capture.helper-exited").count == 1)
    }

    /// A fork server that hangs (stopped with SIGSTOP) cannot report a helper's
    /// end: roomd sees the helper gone through its pidfd, gives the server 5 s
    /// to reap it, then kills the server and starts a new one.
    @Test func hungForkServerIsKilledAndReplaced() throws {
        guard let (room, daemon, notify, server, helpers) = try Self.roomdWithForkServer() else { return }
        defer { withExtendedLifetime(notify) {} }
        let roomd = daemon.process.processIdentifier
        Thread.sleep(forTimeInterval: 2)
        kill(server, SIGSTOP)
        kill(helpers[0], SIGKILL)
        let exited = try Self.waitForEvents(room, kind: "capture.helper-exited", seconds: 15)
        #expect(exited.first?["pid"] == String(helpers[0]) && exited.first?["exit"] == "ended (its exit status was lost with the fork server)",
                "\(exited)\n\(daemon.log.suffix(2000))")
        let (newServer, forked) = Self.waitForNewForkServer(of: roomd, replacing: server, helpers: 1, seconds: 15)
        #expect(newServer != nil && forked.count == 1, "new server \(String(describing: newServer)): \(forked)")
        #expect(daemon.log.contains("did not reap an ended helper"), "\(daemon.log.suffix(2000))")
        #expect(daemon.terminate() == 0, "roomd log:\n\(daemon.log.suffix(3000))")
        let final = try check(room)
        #expect((final["problems"] as? [String]) == [], "\(final)")
        #expect((final["recovered"] as? [Any])?.count == 1, "\(final)")
    }

    /// FFmpeg, x264 and the device libraries live in roomd-capture only: the
    /// daemon's own process never maps them, recording or not.
    @Test func daemonProcessDoesNotLoadFFmpeg() throws {
        let roomdLibraries = try run("/usr/bin/ldd", [Binaries.roomd]).stdout
        let helperLibraries = try run("/usr/bin/ldd", [Binaries.roomdCapture]).stdout
        for library in ["libavcodec", "libavformat", "libx264", "libasound"] {
            #expect(!roomdLibraries.contains(library), "roomd links \(library)")
            #expect(helperLibraries.contains(library), "roomd-capture does not link \(library)")
        }
        let room = try DemoRoom()
        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60))
        Thread.sleep(forTimeInterval: 2)
        let maps = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/maps", encoding: .utf8)
        #expect(!maps.contains("libavcodec"))
        #expect(Self.helpers(of: daemon.process.processIdentifier).count == 2)
        #expect(daemon.terminate() == 0)
    }

    /// An installation without the helper fails at once, saying what to do,
    /// rather than running a room that records nothing.
    @Test func missingCaptureHelperRefusesToStart() throws {
        let room = try DemoRoom()
        var environment = ProcessInfo.processInfo.environment
        environment["ROOMD_CAPTURE_HELPER"] = room.dir.path + "/no-such-roomd-capture"
        let result = try run(Binaries.roomd, ["--config", room.configPath], environment: environment)
        #expect(result.status == 72, "\(result.stderr)")
        #expect(result.stderr.contains("no-such-roomd-capture") && result.stderr.contains("roomd-capture 缺失"), "\(result.stderr)")
        // check-config (the unit's ExecStartPre) says the same before anything starts.
        let check = try run(Binaries.roomd, ["check-config", "--config", room.configPath], environment: environment)
        #expect(check.status == 72 && check.stderr.contains("no-such-roomd-capture"), "\(check.stderr)")
        #expect(try run(Binaries.roomd, ["check-config", "--config", room.configPath]).status == 0)
        // The configuration can name it (storage.capture_helper), and the message says where it looked.
        let named = try String(contentsOfFile: room.configPath, encoding: .utf8)
            .replacingOccurrences(of: "  state_dir: state", with: "  state_dir: state\n  capture_helper: /nowhere/roomd-capture")
        try named.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let configured = try run(Binaries.roomd, ["check-config", "--config", room.configPath])
        #expect(configured.status == 72 && configured.stderr.contains("/nowhere/roomd-capture")
                && configured.stderr.contains("storage.capture_helper"), "\(configured.stderr)")
    }
}
