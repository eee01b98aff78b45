import Foundation
import Glibc
import Testing

/// The capture helpers' sandbox (Landlock + seccomp), on this machine's
/// kernel: what a confined helper can and cannot reach, that the real roomd's
/// helpers record confined, and that the configuration can turn it off. The
/// VM suites record from real V4L2 and ALSA devices through confined helpers
/// on Debian 12's kernel (Landlock ABI 2).
@Suite(.serialized)
struct HelperSandboxTests {
    /// `roomd-capture sandbox-check`, laid out as roomd lays a room out: the
    /// recordings beneath the state folder that holds the database, beside the
    /// room's private key. Confined as S01's recorder, it may write S01's
    /// recordings and nothing else: not the key, the database, the state
    /// folder, or S02's recordings.
    @Test func confinedHelperWritesOnlyItsDeviceAndReachesNoKeysDatabaseOrSockets() throws {
        let dir = try TemporaryDirectory()
        let state = dir.path + "/state"
        let s02 = state + "/recordings/S02/2026-11-27/04"
        #expect(mkdir(dir.path + "/pki", 0o750) == 0)
        #expect(mkdir(state, 0o750) == 0)
        #expect(try run("/bin/mkdir", ["-p", s02]).status == 0)
        let key = try dir.write("pki/server.key", "-----BEGIN PRIVATE KEY-----\n")
        let database = try dir.write("state/roomd.sqlite", "SQLite format 3\0")
        let segment = try dir.write("state/recordings/S02/2026-11-27/04/20261127T040000Z_000001.mp4", "closed segment")

        let result = try run(Binaries.roomdCapture, ["sandbox-check", state + "/recordings", "S01", key, database, state, segment,
                                                      state + "/recordings/S02"])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(lines.first?.hasPrefix("sandbox: Landlock ABI ") == true && lines.first?.hasSuffix("+ seccomp (no sockets, no chmod, no signals out)") == true,
                "\(lines.first ?? "")")
        #expect(!lines.contains { $0.hasPrefix("FAIL") }, "\(result.stdout)")
        for expected in ["may create, write, fdatasync and cut back a segment there", "may open a device node and ioctl it",
                         "may not read \(key): Permission denied", "may not read \(database): Permission denied",
                         "may not create files in \(state): Permission denied", "may not write \(segment): Permission denied",
                         "may not create files in \(state)/recordings/S02: Permission denied", "may not delete a segment: Permission denied",
                         "may not open a network socket: Permission denied",
                         "may not open a local socket (roomd's admin socket): Permission denied",
                         "may not truncate \(database) by path: Permission denied", "may not truncate \(segment) by path: Permission denied",
                         "may not change the mode of \(key): Permission denied",
                         "may not signal another process (its parent): Permission denied", "may signal itself"] {
            #expect(lines.contains { $0.hasPrefix("ok") && $0.contains(expected) }, "missing '\(expected)' in\n\(result.stdout)")
        }
        // Nothing left behind, nothing touched: the probe folder went, the
        // key and S02's segment are as they were.
        let left = try FileManager.default.contentsOfDirectory(atPath: state + "/recordings/S01")
        #expect(left.isEmpty, "\(left)")
        #expect(try String(contentsOfFile: segment, encoding: .utf8) == "closed segment")
        #expect(try String(contentsOfFile: key, encoding: .utf8) == "-----BEGIN PRIVATE KEY-----\n")
    }

    /// A helper may write its own device's folder, but not a segment roomd
    /// has sealed there (0440 once its hash is in the index): the service's
    /// user owns the file, but without root it cannot write a read-only file,
    /// and the sandbox refuses the chmod that would undo it. Run as `nobody`,
    /// as the service never runs as root.
    @Test func sealedSegmentOfItsOwnDeviceCannotBeRewrittenWithoutRoot() throws {
        let dir = try TemporaryDirectory()
        let folder = dir.path + "/recordings/S01/2026-11-27/04"
        #expect(try run("/bin/mkdir", ["-p", folder]).status == 0)
        let segment = try dir.write("recordings/S01/2026-11-27/04/20261127T040000Z_000001.mp4", "closed segment")
        #expect(chmod(segment, 0o440) == 0)
        #expect(try run("/bin/chown", ["-R", "nobody:nogroup", dir.path]).status == 0)
        chmod(dir.path, 0o755)
        let result = try run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", Binaries.roomdCapture,
                                                   "sandbox-check", "--sealed", segment, dir.path + "/recordings", "S01"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for expected in ["may create, write, fdatasync and cut back a segment there", "may read the sealed segment \(segment)",
                         "may not write the sealed segment \(segment): Permission denied",
                         "may not truncate \(segment) by path: Permission denied", "may not change the mode of \(segment): Permission denied"] {
            #expect(result.stdout.split(separator: "\n").contains { $0.hasPrefix("ok") && $0.contains(expected) }, "missing '\(expected)' in\n\(result.stdout)")
        }
        #expect(try String(contentsOfFile: segment, encoding: .utf8) == "closed segment")
    }

    /// A microphone behind an ALSA plug-in (dsnoop, dmix, a sound server)
    /// needs sockets, /tmp and chmod, which the sandbox refuses: such a helper
    /// is not confined at all, and says why (it records all the same). One
    /// opened directly (`hw:`, `plughw:`) is confined fully.
    @Test func aPlugInMicrophoneLeavesItsHelperUnconfinedAndSaysWhy() throws {
        let dir = try TemporaryDirectory()
        for (microphone, confined) in [("dsnoop:CARD=S01,DEV=0", false), ("hw:CARD=S01,DEV=0", true), ("plughw:CARD=S01,DEV=0", true)] {
            let result = try run(Binaries.roomdCapture, ["sandbox-check", "--microphone", microphone, dir.path + "/recordings", "S01"])
            let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
            if confined {
                #expect(result.status == 0, "\(microphone):\n\(result.stdout)\(result.stderr)")
                #expect(first.hasPrefix("sandbox: Landlock ABI "), "\(microphone): \(first)")
            } else {
                #expect(result.status == 1, "\(microphone):\n\(result.stdout)")
                #expect(first == "sandbox: none; not applied: microphone '\(microphone)' goes through an ALSA plug-in (dsnoop, dmix, "
                        + "a sound server) that needs sockets and /tmp; name it hw:CARD=…,DEV=… or plughw:… to record confined", "\(first)")
            }
        }
    }

    /// The kernel's view of a process: its no_new_privs and seccomp state.
    static func confinement(of pid: pid_t) -> (noNewPrivs: String?, seccomp: String?) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        return (field("NoNewPrivs"), field("Seccomp"))
    }

    static func helperSandboxes(_ room: DemoRoom) throws -> [String: String] {
        let devices = try room.status()["devices"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: devices.compactMap { d in
            (d["id"] as? String).flatMap { id in (d["helperSandbox"] as? String).map { (id, $0) } }
        })
    }

    /// What roomctl shows of S01's and S02's helpers' sandboxes, once both said hello (up to 10 s).
    static func waitForSandboxes(_ room: DemoRoom) throws -> [String: String] {
        var sandboxes: [String: String] = [:]
        for _ in 0..<100 {
            sandboxes = try helperSandboxes(room)
            if sandboxes.count == 2 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return sandboxes
    }

    /// The real roomd, default configuration: each device's forked helper has
    /// confined itself before recording (the kernel shows seccomp filter mode
    /// and no_new_privs), says so to roomd, and roomctl shows it; the fork
    /// server, which never touches a device or a file, is left as it was.
    /// The segments they write close with hashes equal to the files'.
    @Test func roomdsHelpersRecordConfined() throws {
        guard let (room, daemon, _, server, helpers) = try RecordingProcessTests.roomdWithForkServer() else { return }
        // Once they have said hello, they are confined.
        let sandboxes = try Self.waitForSandboxes(room)
        for helper in helpers {
            let kernel = Self.confinement(of: helper)
            #expect(kernel.noNewPrivs == "1" && kernel.seccomp == "2", "helper \(helper): \(kernel)")
        }
        #expect(Self.confinement(of: server).seccomp == "0")
        #expect(Set(sandboxes.keys) == ["S01", "S02"], "\(sandboxes)")
        for (device, summary) in sandboxes {
            #expect(summary.hasPrefix("Landlock ABI ") && summary.hasSuffix("+ seccomp (no sockets, no chmod, no signals out)"), "\(device): \(summary)")
        }
        let table = try run(Binaries.roomctl, ["status", "--config", room.configPath]).stdout
        #expect(table.contains("Sandbox   capture helpers: Landlock ABI "), "\(table)")
        #expect(!daemon.log.contains("without part of its sandbox"), "\(daemon.log.suffix(3000))")
        // Recording under the sandbox: segments close (the demo room cuts every
        // minute; stop closes the open ones) and the index agrees with the disk.
        Thread.sleep(forTimeInterval: 3)
        #expect(daemon.terminate() == 0, "roomd log:\n\(daemon.log.suffix(4000))")
        let report = try RecordingProcessTests().check(room)
        #expect((report["problems"] as? [String]) == [], "\(report)")
        #expect((report["rows"] as? Int ?? 0) >= 2, "\(report)")
    }

    /// `capture_sandbox: false` (for diagnosing a driver that needs more):
    /// the helper is not confined, and roomd and roomctl say so; recording
    /// goes on the same. Also with one helper for all devices (`shared`),
    /// spawned rather than forked.
    @Test func sandboxCanBeTurnedOffAndSharedHelperIsConfinedToo() throws {
        for (storage, confined) in [("capture_sandbox: false", false), ("capture_isolation: shared", true)] {
            let room = try DemoRoom(storageYAML: storage)
            let notify = try NotifyListener(directory: room.dir.path)
            let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
            #expect(notify.wait(for: "READY=1", timeout: 60))
            let helpers = RecordingProcessTests.waitForHelpers(of: daemon, count: confined ? 1 : 2)
            #expect(!helpers.isEmpty, "\(storage): \(daemon.log.suffix(2000))")
            let sandboxes = try Self.waitForSandboxes(room)
            for helper in helpers {
                #expect(Self.confinement(of: helper).seccomp == (confined ? "2" : "0"), "\(storage): helper \(helper), \(sandboxes)")
            }
            for (device, summary) in sandboxes {
                #expect(confined ? summary.hasPrefix("Landlock ABI ") : summary == "off (storage.capture_sandbox: false)", "\(storage), \(device): \(summary)")
            }
            #expect(sandboxes.count == 2, "\(storage): \(sandboxes)")
            Thread.sleep(forTimeInterval: 2)
            #expect(daemon.terminate() == 0, "roomd log:\n\(daemon.log.suffix(4000))")
            let report = try RecordingProcessTests().check(room)
            #expect((report["problems"] as? [String]) == [] && (report["rows"] as? Int ?? 0) >= 2, "\(storage): \(report)")
        }
    }
}
