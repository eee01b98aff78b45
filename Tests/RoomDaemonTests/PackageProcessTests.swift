import Foundation
import Testing

/// Sealed packages from a real roomd (synthetic cameras recording 2 s
/// segments, a real RFC 3161 TSA from `openssl ts`), checked by tools that are
/// not ours: bagit.py, `openssl cms -verify`, `openssl ts -verify`, Python's
/// tarfile and hashlib; then pulled over HTTPS with Range and acknowledged;
/// then tampered with; then a seal killed half-way.
@Suite(.serialized)
struct PackageProcessTests {
    static let python: String = {
        if let configured = ProcessInfo.processInfo.environment["ROOMD_TEST_PYTHON"], !configured.isEmpty { return configured }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build-python/venv/bin/python3").path
    }()

    final class Room {
        let room: DemoRoom
        let work: String
        let servers = Process()
        var socket: String { room.dir.path + "/state/admin.sock" }
        var database: String { room.dir.path + "/state/roomd.sqlite" }
        var packages: String { room.dir.path + "/state/packages" }

        /// `simulatorPort`: push over HTTPS to `roomctl platform serve` there; `packagesYAML`: a
        /// `packages:` section of its own (S3); else the platform pulls.
        init(simulatorPort: Int? = nil, packagesYAML: String? = nil) throws {
            let tsaPort = freePort(), platformPort = freePort()
            let delivery = packagesYAML ?? simulatorPort.map { """
                platform: { endpoint: "https://127.0.0.1:\($0)/roomd/v1", ca_certificate: pki/room-ca.crt }
                packages: { signing_certificate: pki/room-seal.crt, delivery: https, part_size_mb: 5, retry_initial_seconds: 1, retry_max_seconds: 2 }
                """ } ?? "packages: { signing_certificate: pki/room-seal.crt, delivery: pull }"
            room = try DemoRoom(extraYAML: """
                ledger: { tsa_url: "http://127.0.0.1:\(tsaPort)/tsa", tsa_certificate: witness/tsa-ca.crt }
                sessions: { discipline_minimum_seconds: 0 }
                retention: { session_margin_minutes: 0 }
                \(delivery)

                """, storageYAML: "segment_seconds: 2")
            work = room.dir.path + "/witness"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            servers.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            servers.arguments = [LedgerWitnessTests.servers, work, String(tsaPort), String(platformPort), room.pki]
            servers.standardOutput = FileHandle.nullDevice
            try servers.run()
            let up = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: work + "/ready"), Date() < up { usleep(100_000) }
            guard FileManager.default.fileExists(atPath: work + "/ready") else { throw TestFailure("the TSA did not come up") }
        }

        deinit {
            kill(servers.processIdentifier, SIGKILL)
            servers.waitUntilExit()
        }

        func start(_ name: String, environment: [String: String] = [:]) throws -> RunningDaemon {
            try FileManager.default.createDirectory(atPath: room.dir.path + "/" + name, withIntermediateDirectories: true)
            let notify = try NotifyListener(directory: room.dir.path, name: name + ".sock")
            let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path + "/" + name,
                                           environment: environment)
            daemon.keep(notify)
            guard notify.wait(for: "READY=1", timeout: 90) else { throw TestFailure("no READY=1:\n\(daemon.log)") }
            return daemon
        }

        func query(_ sql: String) throws -> [[Any]] { try RecordingsProcessTests.sqlite(database, sql) }
        func count(_ sql: String) throws -> Int64 { (try query(sql).first?.first as? NSNumber)?.int64Value ?? -1 }

        func waitFor(_ what: String, _ daemon: RunningDaemon, timeout: TimeInterval = 120, _ condition: () throws -> Bool) throws {
            try RoomDaemonTests.waitFor(what, daemon, timeout: timeout, condition)
        }

        /// A session that records a few segments and then ends (halt).
        func runSession(_ id: String, _ daemon: RunningDaemon) throws {
            let definition = try room.dir.write("definition-\(id).json", SessionProcessTests.definition)
            let imported = try run(Binaries.roomctl, ["session", "import", definition, "--session", id, "--socket", socket])
            guard imported.status == 0 else { throw TestFailure("import: \(imported.stderr)") }
            let opened = try run(Binaries.roomctl, ["session", "command", id, #"{"openSession":{}}"#, "--socket", socket])
            guard opened.status == 0 else { throw TestFailure("openSession: \(opened.stderr)") }
            let openedMs = try count("SELECT MIN(at_ms) FROM session_events WHERE session_id = '\(id)'")
            // Two closed segments per camera inside the session.
            try waitFor("segments inside the session", daemon) {
                try count("SELECT count(*) FROM segments WHERE state = 'closed' AND wall_start_ns > \(openedMs) * 1000000") >= 4
            }
            let halted = try run(Binaries.roomctl, ["session", "command", id, #"{"halt":{"reason":"测试封包"}}"#, "--socket", socket])
            guard halted.status == 0 else { throw TestFailure("halt: \(halted.stderr) \(halted.stdout)") }
        }
    }

    @Test func aRecordedSessionIsSealedVerifiedByOthersPulledWithRangeAndAcknowledged() throws {
        let room = try Room()
        let daemon = try room.start("run")
        defer { _ = daemon.terminate() }
        try room.runSession("ZC-PKG", daemon)

        // Sealed by itself once the session ended and its segments closed, checked, then offered.
        try room.waitFor("the package to be offered", daemon) {
            try room.count("SELECT count(*) FROM packages WHERE session_id = 'ZC-PKG' AND cursor IS NOT NULL") == 1
        }
        let folder = room.packages + "/TEST-ROOM_ZC-PKG"
        let pki = room.room.pki, tsaCA = room.work + "/tsa-ca.crt"

        // Our verifier: everything holds, the timestamp too.
        let ours = try run(Binaries.roomctl, ["package", "verify", folder, "--ca", pki + "/room-ca.crt", "--tsa-ca", tsaCA])
        #expect(ours.status == 0, "\(ours.stdout)\(ours.stderr)")
        #expect(ours.stdout.contains("RFC 3161 timestamp"), "\(ours.stdout)")
        #expect(ours.stdout.contains("recordings' SHA-256 are in proven ledger entries"), "\(ours.stdout)")
        // The recordings are hard links to the segments, not copies.
        let recordings = try FileManager.default.subpathsOfDirectory(atPath: folder + "/data/recordings").filter { $0.hasSuffix(".mp4") }
        #expect(recordings.count >= 4)
        for relative in recordings {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/data/recordings/" + relative)
            #expect((attributes[.referenceCount] as? NSNumber)?.intValue ?? 0 >= 2, "\(relative) is not a hard link")
        }

        // Independent checkers.
        let bagit = try run(Self.python, ["-m", "bagit", "--validate", folder])
        #expect(bagit.status == 0, "bagit.py: \(bagit.stdout)\(bagit.stderr)")
        let cms = try run("/usr/bin/openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", folder + "/tagmanifest-sha256.txt.p7s",
                                               "-content", folder + "/tagmanifest-sha256.txt", "-CAfile", pki + "/room-ca.crt", "-out", "/dev/null"])
        #expect(cms.status == 0 && cms.stderr.contains("Verification successful"), "openssl cms: \(cms.stderr)")
        let ts = try run("/usr/bin/openssl", ["ts", "-verify", "-in", folder + "/tagmanifest-sha256.txt.p7s.tsr",
                                              "-data", folder + "/tagmanifest-sha256.txt.p7s", "-CAfile", tsaCA, "-untrusted", room.work + "/tsa.crt"])
        #expect(ts.stdout.contains("Verification: OK"), "openssl ts: \(ts.stdout)\(ts.stderr)")

        // Pull as the platform: list, download in two pieces (Range resumes), same SHA-256 as listed.
        let (_, listed, listing) = try room.room.curl("/v1/packages?since=0", as: "platform")
        #expect(listed == 200, "\(listing)")
        let package = ((try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])?["packages"] as? [[String: Any]])?.first
        let sha = package?["sha256"] as? String ?? ""
        let size = (package?["size"] as? NSNumber)?.intValue ?? 0
        #expect(package?["session"] as? String == "ZC-PKG" && sha.count == 64 && size > 0)
        let tar = room.room.dir.path + "/pulled.tar"
        func fetch(_ range: String?, to file: String) throws -> (Int32, String) {
            var args = ["-s", "-S", "--max-time", "60", "-o", file, "-w", "%{http_code}", "--cacert", pki + "/room-ca.crt",
                        "--cert", pki + "/clients/platform.crt", "--key", pki + "/clients/platform.key"]
            if let range { args += ["-H", "Range: bytes=\(range)"] }
            args.append("https://127.0.0.1:\(room.room.port)/v1/packages/ZC-PKG/package.tar")
            let result = try run("/usr/bin/curl", args)
            return (result.status, result.stdout)
        }
        let half = size / 2
        #expect(try fetch("0-\(half - 1)", to: tar).1 == "206")
        #expect(try fetch("\(half)-", to: tar + ".rest").1 == "206")
        let joined = try Data(contentsOf: URL(fileURLWithPath: tar)) + Data(contentsOf: URL(fileURLWithPath: tar + ".rest"))
        try joined.write(to: URL(fileURLWithPath: tar))
        let hashed = try run("/usr/bin/sha256sum", [tar])
        #expect(hashed.stdout.hasPrefix(sha), "the pieces make \(hashed.stdout), roomd listed \(sha)")
        // Python's tarfile reads it, names under TEST-ROOM_ZC-PKG/, the tag files first.
        let names = try run("/usr/bin/python3", ["-c", "import tarfile,sys; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))", tar])
        #expect(names.stdout.hasPrefix("TEST-ROOM_ZC-PKG/bagit.txt\nTEST-ROOM_ZC-PKG/bag-info.txt\n"), "\(names.stdout.prefix(300))")

        // Acknowledgement: a wrong hash is refused and on the record; the right one makes the recordings deletable.
        let (_, wrong, wrongBody) = try room.room.curl("/v1/packages/ZC-PKG/acknowledge", as: "platform", method: "POST",
                                                       body: #"{"sha256":"\#(String(repeating: "ab", count: 32))"}"#)
        #expect(wrong == 409 && wrongBody.contains("sha256-mismatch"), "\(wrongBody)")
        #expect(try room.count("SELECT count(*) FROM events WHERE kind = 'package.acknowledgement-refused'") == 1)
        let (_, station, _) = try room.room.curl("/v1/packages/ZC-PKG/acknowledge", as: "S01", method: "POST", body: #"{"sha256":"\#(sha)"}"#)
        #expect(station == 403)
        let (_, right, rightBody) = try room.room.curl("/v1/packages/ZC-PKG/acknowledge", as: "platform", method: "POST", body: #"{"sha256":"\#(sha)"}"#)
        #expect(right == 200, "\(rightBody)")
        #expect(try room.count("SELECT count(*) FROM package_acknowledgements WHERE session_id = 'ZC-PKG' AND package_sha256 = '\(sha)'") == 1)
        #expect(try room.count("SELECT count(*) FROM ledger_entry WHERE kind IN ('package.sealed', 'package.offered', 'package.acknowledged')") == 3)
        let listedNow = try run(Binaries.roomctl, ["package", "list", "--socket", room.socket])
        #expect(listedNow.stdout.contains("acknowledged"), "\(listedNow.stdout)")

        // Tampering, each on a copy: one byte of a recording, bag-info edited, a file removed.
        func copy(_ name: String) throws -> String {
            let target = room.room.dir.path + "/" + name
            #expect(try run("/bin/cp", ["-a", folder, target]).status == 0)
            return target
        }
        func verify(_ path: String) throws -> (Int32, String) {
            let result = try run(Binaries.roomctl, ["package", "verify", path, "--ca", pki + "/room-ca.crt", "--tsa-ca", tsaCA])
            return (result.status, result.stdout)
        }
        let flipped = try copy("flipped")
        let victim = flipped + "/data/recordings/" + recordings.sorted()[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: victim))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: victim))
        let (flippedStatus, flippedOut) = try verify(flipped)
        #expect(flippedStatus == 1 && flippedOut.contains("FAIL  data/recordings/" + recordings.sorted()[0]) && flippedOut.contains("was changed"),
                "\(flippedOut)")
        #expect(try run(Self.python, ["-m", "bagit", "--validate", flipped]).status != 0)

        let edited = try copy("edited")
        var info = try String(contentsOfFile: edited + "/bag-info.txt", encoding: .utf8)
        info = info.replacingOccurrences(of: "Roomd-Session: ZC-PKG", with: "Roomd-Session: ZC-OTHER")
        try info.write(toFile: edited + "/bag-info.txt", atomically: true, encoding: .utf8)
        let (editedStatus, editedOut) = try verify(edited)
        #expect(editedStatus == 1 && editedOut.contains("FAIL  bag-info.txt: SHA-256 differs from tagmanifest-sha256.txt"), "\(editedOut)")

        let removed = try copy("removed")
        try FileManager.default.removeItem(atPath: removed + "/data/session/events.jsonl")
        let (removedStatus, removedOut) = try verify(removed)
        #expect(removedStatus == 1 && removedOut.contains("FAIL  data/session/events.jsonl: listed in manifest-sha256.txt but missing"), "\(removedOut)")

        // Without the room CA the seal's origin is not established: that fails too, saying why.
        let anchorless = try run(Binaries.roomctl, ["package", "verify", folder])
        #expect(anchorless.status == 1 && anchorless.stdout.contains("no trust anchor given"), "\(anchorless.stdout)")
    }

    @Test func aSealKilledHalfwayLeavesNoPackageAndTheNextSealSucceeds() throws {
        let room = try Room()
        let first = try room.start("first", environment: ["ROOMD_TEST_SEAL_PAUSE_MS": "600000"])
        try room.runSession("ZC-KILL", first)
        // The seal is under way (its work folder exists) and held there: kill -9.
        try room.waitFor("a seal in progress", first) {
            ((try? FileManager.default.contentsOfDirectory(atPath: room.packages)) ?? []).contains { $0.hasPrefix(".sealing-") }
        }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let left = try FileManager.default.contentsOfDirectory(atPath: room.packages)
        #expect(!left.contains("TEST-ROOM_ZC-KILL"), "a half package is visible: \(left)")
        #expect(try room.count("SELECT count(*) FROM packages") == 0)

        // Restarted: the leftover is swept, the session sealed and offered, and it verifies.
        let second = try room.start("second")
        defer { _ = second.terminate() }
        try room.waitFor("the package to be offered after the restart", second) {
            try room.count("SELECT count(*) FROM packages WHERE session_id = 'ZC-KILL' AND cursor IS NOT NULL") == 1
        }
        let now = try FileManager.default.contentsOfDirectory(atPath: room.packages)
        #expect(!now.contains { $0.hasPrefix(".sealing-") }, "\(now)")
        let verified = try run(Binaries.roomctl, ["package", "verify", room.packages + "/TEST-ROOM_ZC-KILL", "--ca", room.room.pki + "/room-ca.crt",
                                                  "--tsa-ca", room.work + "/tsa-ca.crt"])
        #expect(verified.status == 0, "\(verified.stdout)")
        // Sealing again is idempotent: the same package.
        let again = try run(Binaries.roomctl, ["package", "seal", "ZC-KILL", "--json", "--socket", room.socket])
        #expect(again.status == 0 && again.stdout.contains("TEST-ROOM_ZC-KILL"), "\(again.stdout)\(again.stderr)")
        #expect(try room.count("SELECT count(*) FROM ledger_entry WHERE kind = 'package.sealed'") == 1)
    }

    @Test func roomdPushesToThePlatformSimulatorAndThePlatformPullsVerifiesAndAcknowledges() throws {
        let port = freePort()
        let room = try Room(simulatorPort: port)
        let pki = room.room.pki, platformDir = room.room.dir.path + "/platform"
        try FileManager.default.createDirectory(atPath: platformDir, withIntermediateDirectories: true)
        let simulator = Process()
        simulator.executableURL = URL(fileURLWithPath: Binaries.roomctl)
        simulator.arguments = ["platform", "serve", "--listen", "127.0.0.1:\(port)", "--cert", pki + "/server.crt", "--key", pki + "/server.key",
                               "--room-ca", pki + "/room-ca.crt", "--tsa-ca", room.work + "/tsa-ca.crt", "--dir", platformDir]
        _ = FileManager.default.createFile(atPath: platformDir + "/serve.log", contents: nil)
        simulator.standardOutput = FileHandle(forWritingAtPath: platformDir + "/serve.log")
        simulator.standardError = simulator.standardOutput
        try simulator.run()
        defer { kill(simulator.processIdentifier, SIGKILL); simulator.waitUntilExit() }
        let up = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: platformDir + "/serve.json"), Date() < up { usleep(100_000) }

        let daemon = try room.start("run")
        defer { _ = daemon.terminate() }
        try room.runSession("ZC-PUSH", daemon)
        // Sealed, checked, offered, pushed: the simulator verified it (seal chain, timestamp, ledger) before it took it.
        try room.waitFor("the push to complete", daemon) {
            try room.count("SELECT count(*) FROM package_outbox WHERE session_id = 'ZC-PUSH' AND delivered_ns IS NOT NULL") == 1
        }
        let sha = try room.query("SELECT tar_sha256 FROM packages WHERE session_id = 'ZC-PUSH'").first?.first as? String ?? ""
        let received = platformDir + "/packages/TEST-ROOM/TEST-ROOM_ZC-PUSH.tar"
        #expect(try run("/usr/bin/sha256sum", [received]).stdout.hasPrefix(sha), "the platform holds other bytes than roomd sealed")
        let receipt = (try? String(contentsOfFile: platformDir + "/packages/TEST-ROOM/TEST-ROOM_ZC-PUSH.json", encoding: .utf8)) ?? ""
        #expect(receipt.contains("package verified") && receipt.contains("timestamp checked"), "\(receipt)")
        #expect(try room.count("SELECT count(*) FROM ledger_entry WHERE kind = 'package.delivered'") == 1)
        let status = try run(Binaries.roomctl, ["status", "--socket", room.socket])
        #expect(status.stdout.contains("ZC-PUSH") && status.stdout.contains("https done"), "\(status.stdout)")

        // The platform also pulls it from roomd, verifies and acknowledges: the recordings become deletable.
        let pulled = try run(Binaries.roomctl, ["platform", "pull", "--room", "https://127.0.0.1:\(room.room.port)", "--cert", pki + "/clients/platform.crt",
                                                "--key", pki + "/clients/platform.key", "--ca", pki + "/room-ca.crt", "--tsa-ca", room.work + "/tsa-ca.crt",
                                                "--dir", platformDir + "/pull", "--once", "--json"], timeout: 120)
        #expect(pulled.status == 0, "\(pulled.stdout)\(pulled.stderr)")
        #expect(pulled.stdout.contains("acknowledged"), "\(pulled.stdout)")
        #expect(try room.count("SELECT count(*) FROM package_acknowledgements WHERE session_id = 'ZC-PUSH' AND package_sha256 = '\(sha)'") == 1)
    }

    @Test func aPackageWhoseRecordingChangedIsNeverOffered() throws {
        let room = try Room()
        let daemon = try room.start("run", environment: ["ROOMD_TEST_SEAL_PAUSE_MS": "3000"])
        defer { _ = daemon.terminate() }
        try room.runSession("ZC-BAD", daemon)
        // While the seal is held after linking the recordings, one recording changes on disk (same size).
        var work = ""
        try room.waitFor("a seal in progress, its recordings linked", daemon) {
            work = ((try? FileManager.default.contentsOfDirectory(atPath: room.packages)) ?? []).first { $0.hasPrefix(".sealing-") } ?? ""
            // segments.json is written right after the links, just before the test hook holds the seal.
            return !work.isEmpty && FileManager.default.fileExists(atPath: room.packages + "/" + work + "/data/recordings/segments.json")
        }
        let linked = try FileManager.default.subpathsOfDirectory(atPath: room.packages + "/" + work + "/data/recordings").filter { $0.hasSuffix(".mp4") }
        let victim = room.packages + "/" + work + "/data/recordings/" + (try #require(linked.sorted().first))
        let handle = try #require(FileHandle(forUpdatingAtPath: victim))
        try handle.seek(toOffset: 1000)
        let byte = try #require(try handle.read(upToCount: 1)).first ?? 0
        try handle.seek(toOffset: 1000)
        try handle.write(contentsOf: [byte ^ 0xFF])
        try handle.close()

        try room.waitFor("the check to fail", daemon) {
            try room.count("SELECT count(*) FROM packages WHERE session_id = 'ZC-BAD' AND check_error IS NOT NULL") == 1
        }
        #expect(try room.count("SELECT count(*) FROM packages WHERE session_id = 'ZC-BAD' AND cursor IS NOT NULL") == 0)
        #expect(try room.count("SELECT count(*) FROM events WHERE kind = 'package.check-failed' AND severity = 'critical'") == 1)
        let error = try room.query("SELECT check_error FROM packages WHERE session_id = 'ZC-BAD'").first?.first as? String ?? ""
        #expect(error.contains("payload changed since it was written") && error.contains(".mp4"), "\(error)")
        // Not listed to the platform, not downloadable, and roomctl says so.
        let (_, _, listing) = try room.room.curl("/v1/packages?since=0", as: "platform")
        #expect(!listing.contains("ZC-BAD"), "\(listing)")
        let (_, code, _) = try room.room.curl("/v1/packages/ZC-BAD/package.tar", as: "platform")
        #expect(code == 404)
        let listed = try run(Binaries.roomctl, ["package", "list", "--socket", room.socket])
        #expect(listed.stdout.contains("check-failed") && listed.stdout.contains("payload changed"), "\(listed.stdout)")
    }

    /// moto's S3 server (Signature V4 checked after the setup calls) as the target: roomd's own
    /// configuration and outbox, not just the uploader. boto3 reads back what arrived.
    @Test func roomdPushesToS3UnderObjectLock() throws {
        let s3tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DeliveryTests/Fixtures/s3tool.py").path
        let motoPort = freePort()
        let moto = Process()
        moto.executableURL = URL(fileURLWithPath: Self.python)
        moto.arguments = ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(motoPort)]
        moto.environment = ProcessInfo.processInfo.environment.merging(["INITIAL_NO_AUTH_ACTION_COUNT": "4"]) { _, new in new }
        moto.standardOutput = FileHandle.nullDevice
        moto.standardError = FileHandle.nullDevice
        try moto.run()
        defer { kill(moto.processIdentifier, SIGKILL); moto.waitUntilExit() }
        let endpoint = "http://127.0.0.1:\(motoPort)"
        var keys: [String: String] = [:]
        let deadline = Date().addingTimeInterval(60)
        while keys.isEmpty, Date() < deadline {
            let setup = try run(Self.python, [s3tool, endpoint, "setup", "roomd-archive"],
                                environment: ["AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup", "PATH": "/usr/bin:/bin"])
            if setup.status == 0 { keys = (try? JSONSerialization.jsonObject(with: Data(setup.stdout.utf8))) as? [String: String] ?? [:] }
            if keys.isEmpty { usleep(300_000) }
        }
        let id = try #require(keys["access_key_id"]), secret = try #require(keys["secret_access_key"])
        let room = try Room(packagesYAML: """
            packages:
              signing_certificate: pki/room-seal.crt
              delivery: s3
              part_size_mb: 5
              retry_initial_seconds: 1
              retry_max_seconds: 2
              s3: { endpoint: "\(endpoint)", bucket: roomd-archive, prefix: rooms/, access_key_id: \(id), secret_access_key_file: s3.secret, object_lock_days: 30 }
            """)
        _ = try room.room.dir.write("s3.secret", secret + "\n")
        let daemon = try room.start("run")
        defer { _ = daemon.terminate() }
        try room.runSession("ZC-S3", daemon)
        try room.waitFor("the S3 push to complete", daemon) {
            try room.count("SELECT count(*) FROM package_outbox WHERE session_id = 'ZC-S3' AND delivered_ns IS NOT NULL") == 1
        }
        let sha = try room.query("SELECT tar_sha256 FROM packages WHERE session_id = 'ZC-S3'").first?.first as? String ?? ""
        let key = "rooms/TEST-ROOM/TEST-ROOM_ZC-S3.tar"
        let environment = ["AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "PATH": "/usr/bin:/bin"]
        let got = try run(Self.python, [s3tool, endpoint, "get", "roomd-archive", key], environment: environment)
        #expect(got.stdout.contains(sha), "boto3 read other bytes: \(got.stdout)\(got.stderr)")
        let retention = try run(Self.python, [s3tool, endpoint, "retention", "roomd-archive", key], environment: environment)
        #expect(retention.stdout.contains("COMPLIANCE"), "\(retention.stdout)\(retention.stderr)")
        #expect(try room.count("SELECT count(*) FROM ledger_entry WHERE kind = 'package.delivered'") == 1)
    }
}
