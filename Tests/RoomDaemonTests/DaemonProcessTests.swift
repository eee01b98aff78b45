import Foundation
import Glibc
import Testing

/// Whole-process tests: the built `roomd` on a demo room, spoken to by curl
/// (an independent TLS client) and by a notify socket the test binds.
@Suite(.serialized)
struct DaemonProcessTests {
    @Test func startsReadyServesMutualTLSAndStopsGracefullyOnSIGTERM() throws {
        let room = try DemoRoom()
        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)

        #expect(notify.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(daemon.log)")

        // A station certificate: served.
        let health = try room.curl("/healthz", as: "S01")
        #expect(health.1 == 200)
        #expect(health.2.contains("\"ok\""))

        // No client certificate: the TLS handshake itself fails, no HTTP at all.
        let anonymous = try room.curl("/healthz", as: nil)
        #expect(anonymous.0 != 0)
        #expect(anonymous.1 == 0)

        // A supervisor on a station-only route: 403, with a Chinese message.
        let denied = try room.curl("/v1/station/self", as: "supervisor")
        #expect(denied.1 == 403)
        #expect(denied.2.contains("role-not-permitted"))
        #expect(denied.2.contains("无权"))

        // A station on an operator route, and an unknown route.
        #expect(try room.curl("/metrics", as: "S02").1 == 403)
        #expect(try room.curl("/v1/nothing-here", as: "operator").1 == 404)
        // This room has no identity section: check-in says so.
        let checkIn = try room.curl("/v1/checkin/challenges", as: "S01", method: "POST", body: "{}")
        #expect(checkIn.1 == 503 && checkIn.2.contains("checkin-not-configured"))

        // Station heartbeat, then the station sees its own record and the operator sees it online.
        #expect(try room.curl("/v1/station/heartbeat", as: "S02", method: "POST", body: #"{"agent":"test","locked":true}"#).1 == 204)
        #expect(try room.curl("/v1/station/heartbeat", as: "S02", method: "POST", body: "not json").1 == 400)
        let own = try room.curl("/v1/station/self", as: "S02")
        #expect(own.1 == 200 && own.2.contains("\"S02\""))
        let roomStatus = try room.curl("/v1/room", as: "operator")
        #expect(roomStatus.1 == 200)
        let decoded = try JSONSerialization.jsonObject(with: Data(roomStatus.2.utf8)) as? [String: Any]
        let stations = decoded?["stations"] as? [[String: Any]] ?? []
        #expect(stations.first { $0["id"] as? String == "S02" }?["state"] as? String == "online")
        #expect(stations.first { $0["id"] as? String == "S01" }?["state"] as? String == "never-seen")

        // Prometheus text for the operator.
        let metrics = try room.curl("/metrics", as: "operator")
        #expect(metrics.1 == 200)
        #expect(metrics.2.contains("roomd_access_denials_total"))
        #expect(metrics.2.contains("roomd_stations_online 1"))

        // roomctl over the admin socket: JSON for scripts, and the denial is on record.
        let socket = room.dir.path + "/state/admin.sock"
        var info = stat()
        #expect(stat(socket, &info) == 0 && info.st_mode & 0o777 == 0o660)
        let json = try run(Binaries.roomctl, ["status", "--json", "--socket", socket, "--events", "50"])
        #expect(json.status == 0, "\(json.stderr)")
        let status = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(status?["healthy"] as? Bool == true)
        let events = status?["recentEvents"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["kind"] as? String == "access.denied" && ($0["subject"] as? String ?? "").contains("supervisor") })
        // The refused handshake (no certificate) is on record too, told apart by its reason.
        #expect(events.contains { $0["kind"] as? String == "access.denied" && ($0["detail"] as? String ?? "").contains(#""code":"tls-no-certificate""#) },
                "\(events)")
        let table = try run(Binaries.roomctl, ["status", "--config", room.configPath])
        #expect(table.status == 0)
        #expect(table.stdout.contains("S02      online"))

        #expect(notify.wait(for: "WATCHDOG=1", timeout: 10))

        let exit = daemon.terminate(signal: SIGTERM)
        #expect(exit == 0, "log:\n\(daemon.log)")
        #expect(notify.wait(for: "STOPPING=1", timeout: 5))
        #expect(daemon.log.contains("stopped cleanly"))
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    @Test func rejectsCertificatesFromAnotherCA() throws {
        let room = try DemoRoom()
        let other = try TemporaryDirectory()
        #expect(try run(Binaries.roomctl, ["pki", "init", "--dir", other.path]).status == 0)
        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60))
        let result = try run("/usr/bin/curl", [
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert", room.pki + "/room-ca.crt",
            "--cert", other.path + "/clients/S01.crt", "--key", other.path + "/clients/S01.key",
            "https://127.0.0.1:\(room.port)/healthz",
        ])
        #expect(result.status != 0)
        #expect(result.stdout == "000")
        #expect(daemon.terminate() == 0)
    }

    @Test func refusesADatabaseWrittenByANewerRoomd() throws {
        let room = try DemoRoom()
        let notify = try NotifyListener(directory: room.dir.path)
        let first = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60))
        #expect(first.terminate() == 0)

        let database = room.dir.path + "/state/roomd.sqlite"
        // A newer roomd ran a migration this build does not know.
        let bump = try run("/usr/bin/env", ["python3", "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO grdb_migrations VALUES ('v99-from-the-future')\"); c.commit()", database])
        #expect(bump.status == 0, "\(bump.stderr)")

        let second = try run(Binaries.roomd, ["--config", room.configPath])
        #expect(second.status == 65)
        #expect(second.stderr.contains("newer roomd"))
        #expect(second.stderr.contains("v99-from-the-future"))
    }
}

/// A bad configuration stops roomd with EX_CONFIG (78) before anything starts,
/// and the message names the key.
@Suite(.serialized)
struct ConfigErrorProcessTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var edit: @Sendable (String) -> String
        var expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "bad YAML", edit: { $0 + "\nstations: [ { id: S03\n" }, expected: ["not valid YAML", "line"]),
        Case(name: "unknown key", edit: { $0.replacingOccurrences(of: "storage:\n  state_dir: state", with: "storage:\n  state_dir: state\n  segment_secs: 30") },
             expected: ["storage.segment_secs", "unknown key", "line 7"]),
        Case(name: "missing certificate file", edit: { $0.replacingOccurrences(of: "certificate: pki/server.crt", with: "certificate: pki/nope.crt") },
             expected: ["tls.certificate", "nope.crt", "does not exist"]),
        Case(name: "duplicate station id", edit: { $0.replacingOccurrences(of: "id: S02", with: "id: S01") },
             expected: ["stations[1].id", "duplicate station id 'S01'", "line 4"]),
    ]

    @Test(arguments: cases)
    func badConfigurationExits78NamingTheKey(_ testCase: Case) throws {
        let room = try DemoRoom()
        let original = try String(contentsOfFile: room.configPath, encoding: .utf8)
        let broken = testCase.edit(original)
        #expect(broken != original)
        try broken.write(toFile: room.configPath, atomically: true, encoding: .utf8)

        let check = try run(Binaries.roomd, ["check-config", "--config", room.configPath])
        #expect(check.status == 78)
        for fragment in testCase.expected { #expect(check.stderr.contains(fragment), "missing '\(fragment)' in:\n\(check.stderr)") }

        // Running with it fails the same way, before creating anything.
        let start = try run(Binaries.roomd, ["--config", room.configPath])
        #expect(start.status == 78)
        #expect(start.stderr.contains(testCase.expected[0]))
        #expect(!FileManager.default.fileExists(atPath: room.dir.path + "/state"))
    }

    @Test func versionIsTheOneTheBuildStamped() throws {
        let stamped = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("VERSION"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for binary in [Binaries.roomd, Binaries.roomctl] {
            let result = try run(binary, ["--version"])
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == stamped, "\(binary): \(result.stdout)")
        }
    }

    @Test func missingConfigFileExits78() throws {
        let result = try run(Binaries.roomd, ["check-config", "--config", "/nonexistent/roomd.yaml"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("does not exist"))
    }

    @Test func shippedConfigurationsAreValid() throws {
        // config/roomd.yaml names real devices and /etc paths; check-config must
        // only complain about the files that are absent on a build machine.
        let root = Binaries.directory.deletingLastPathComponent().deletingLastPathComponent()
        let repo = FileManager.default.fileExists(atPath: root.appendingPathComponent("config").path)
            ? root : root.deletingLastPathComponent()
        let real = try run(Binaries.roomd, ["check-config", "--config", repo.appendingPathComponent("config/roomd.yaml").path])
        let problems = real.stderr.split(separator: "\n").filter { $0.hasPrefix("  - ") }
        #expect(!problems.isEmpty)
        for problem in problems {
            #expect(problem.contains("does not exist") || problem.contains("cannot be read"), "unexpected: \(problem)")
        }
    }
}
