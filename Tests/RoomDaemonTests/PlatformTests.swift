import Foundation
import Glibc
import Testing

/// `roomctl platform …` against real processes: the simulator as a demo
/// room's platform (checkpoint witnessing), `push-definition` into a real
/// roomd, and `pull` against a stand-in of roomd's package pull API that cuts
/// the first download.
@Suite(.serialized)
struct PlatformTests {
    static let pullAPI = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/platform/pull_api.py").path

    /// `roomctl platform serve` for `room`, with the room's own server certificate.
    static func serve(_ room: DemoRoom, port: Int, dir: String) throws -> Process {
        let simulator = Process()
        simulator.executableURL = URL(fileURLWithPath: Binaries.roomctl)
        simulator.arguments = ["platform", "serve", "--listen", "127.0.0.1:\(port)", "--cert", room.pki + "/server.crt",
                               "--key", room.pki + "/server.key", "--room-ca", room.pki + "/room-ca.crt", "--dir", dir]
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/serve.log", contents: nil)
        simulator.standardOutput = FileHandle(forWritingAtPath: dir + "/serve.log")
        simulator.standardError = simulator.standardOutput
        try simulator.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: dir + "/serve.json"), simulator.isRunning, Date() < deadline { usleep(50_000) }
        guard FileManager.default.fileExists(atPath: dir + "/serve.json") else {
            throw TestFailure("the simulator did not start: \((try? String(contentsOfFile: dir + "/serve.log", encoding: .utf8)) ?? "")")
        }
        return simulator
    }

    @Test func aDemoRoomWitnessesCheckpointsAtTheSimulatorAndTakesPushedDefinitions() throws {
        let platformPort = freePort()
        let room = try DemoRoom(extraYAML: """
            sessions: { platform_trust_dir: pki/platform/trust, discipline_minimum_seconds: 0 }
            platform: { endpoint: "https://127.0.0.1:\(platformPort)/roomd/v1", ca_certificate: pki/room-ca.crt }

            """)
        let quiet = try String(contentsOfFile: room.configPath, encoding: .utf8)
            .replacingOccurrences(of: ", camera: synthetic, format: { width: 320, height: 240, fps: 15 }, microphone: synthetic", with: "")
        try quiet.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let platformDir = room.dir.path + "/platform"
        let simulator = try Self.serve(room, port: platformPort, dir: platformDir)
        defer { kill(simulator.processIdentifier, SIGKILL); simulator.waitUntilExit() }

        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(daemon.log)")

        // A checkpoint reaches the simulator, sent with the room's certificate.
        let made = try run(Binaries.roomctl, ["ledger", "checkpoint", "--socket", room.dir.path + "/state/admin.sock"])
        #expect(made.status == 0, "\(made.stderr)")
        let checkpoints = platformDir + "/checkpoints/TEST-ROOM"
        let deadline = Date().addingTimeInterval(60)
        func received() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).filter { $0.hasSuffix(".txt") } }
        while received().isEmpty, Date() < deadline { usleep(200_000) }
        let first = try #require(received().sorted().first, "no checkpoint at the simulator; roomd log:\n\(daemon.log)")
        let note = try String(contentsOfFile: checkpoints + "/" + first, encoding: .utf8)
        #expect(note.contains("TEST-ROOM"), "\(note)")

        // push-definition: signed with the platform signer, accepted; the same again is unchanged.
        let definition = try room.dir.write("definition.json", SessionProcessTests.definition)
        let common = ["platform", "push-definition", "--room", "https://127.0.0.1:\(room.port)",
                      "--cert", room.pki + "/clients/platform.crt", "--key", room.pki + "/clients/platform.key",
                      "--ca", room.pki + "/room-ca.crt", "--session", SessionProcessTests.session, "--definition", definition]
        let signer = ["--signer-cert", room.pki + "/platform/signer.crt", "--signer-key", room.pki + "/platform/signer.key"]
        let pushed = try run(Binaries.roomctl, common + signer)
        #expect(pushed.status == 0 && pushed.stdout.contains("HTTP 201"), "\(pushed.stdout) \(pushed.stderr)")
        let again = try run(Binaries.roomctl, common + signer)
        #expect(again.status == 0 && again.stdout.contains("unchanged"), "\(again.stdout) \(again.stderr)")
        let (_, sessions, _) = try room.curl("/v1/sessions", as: "operator")
        #expect(sessions == 200)

        // A signer from another platform CA is refused by roomd, and roomctl says why.
        let foreign = room.dir.path + "/foreign"
        let other = try run(Binaries.roomctl, ["pki", "platform", "--dir", foreign])
        #expect(other.status == 0, "\(other.stderr)")
        let forged = try run(Binaries.roomctl, common + ["--signer-cert", foreign + "/platform/signer.crt",
                                                         "--signer-key", foreign + "/platform/signer.key"])
        #expect(forged.status == 1 && forged.stderr.contains("definition-signature-invalid"), "\(forged.stdout) \(forged.stderr)")
        // The operator's certificate is not the platform's: no unsigned-import loophole either way.
        let asStation = try run(Binaries.roomctl, ["platform", "push-definition", "--room", "https://127.0.0.1:\(room.port)",
                                                   "--cert", room.pki + "/clients/S01.crt", "--key", room.pki + "/clients/S01.key",
                                                   "--ca", room.pki + "/room-ca.crt", "--session", SessionProcessTests.session,
                                                   "--definition", definition] + signer)
        #expect(asStation.status == 1 && asStation.stderr.contains("HTTP 403"), "\(asStation.stderr)")
        #expect(daemon.terminate() == 0, "log:\n\(daemon.log)")
    }

    @Test func pullResumesACutDownloadVerifiesAndAcknowledgesOnlyWhatVerifies() throws {
        let dir = try TemporaryDirectory()
        let pki = dir.path + "/pki"
        let made = try run(Binaries.roomctl, ["pki", "init", "--dir", pki, "--room-id", "TEST-ROOM"])
        #expect(made.status == 0, "\(made.stderr)")
        let work = dir.path + "/api", port = freePort()
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let api = Process()
        api.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        // A real sealed package (its own ledger, the CMS seal of the test room) for the stand-in to serve.
        let sample = dir.path + "/sample"
        let sampled = try run(Binaries.roomctl, ["package", "sample", "--out", sample, "--key", pki + "/server.key",
                                                 "--certificate", pki + "/room-seal.crt", "--bytes", String(3 * 1024 * 1024 + 777)])
        #expect(sampled.status == 0, "\(sampled.stderr)")
        api.arguments = [Self.pullAPI, work, String(port), pki, sample]
        api.standardOutput = FileHandle.nullDevice
        api.standardError = FileHandle.nullDevice
        try api.run()
        defer { kill(api.processIdentifier, SIGKILL); api.waitUntilExit() }
        let up = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: work + "/ready"), Date() < up { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: work + "/ready"))

        let out = dir.path + "/platform"
        let pull = ["platform", "pull", "--room", "https://127.0.0.1:\(port)", "--cert", pki + "/clients/platform.crt",
                    "--key", pki + "/clients/platform.key", "--ca", pki + "/room-ca.crt", "--dir", out, "--once", "--json"]
        let first = try run(Binaries.roomctl, pull, timeout: 120)
        // One package refused: exit 1.
        #expect(first.status == 1, "\(first.stdout) \(first.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any], "\(first.stdout)")
        let outcomes = Dictionary(uniqueKeysWithValues: ((summary["packages"] as? [[String: Any]]) ?? []).map { ($0["session"] as? String ?? "?", $0) })
        #expect(outcomes["S-GOOD"]?["result"] as? String == "acknowledged", "\(first.stdout)")
        #expect(outcomes["S-BAD"]?["result"] as? String == "refused", "\(first.stdout)")
        #expect(summary["cursor"] as? Int == 2)

        let requests = try String(contentsOfFile: work + "/requests.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        // The cut download was resumed with a Range from where it stopped, not restarted.
        let goodGets = requests.filter { $0["path"] as? String == "/v1/packages/S-GOOD/package.tar" }
        #expect(goodGets.count == 2, "\(goodGets)")
        #expect((goodGets.last?["range"] as? String)?.hasPrefix("bytes=") == true && goodGets.last?["range"] as? String != "bytes=0-")
        // Only the verified package was acknowledged, with the hash of what arrived.
        let acks = requests.filter { ($0["path"] as? String)?.hasSuffix("/acknowledge") == true }
        #expect(acks.count == 1 && acks.first?["path"] as? String == "/v1/packages/S-GOOD/acknowledge")
        let tar = out + "/pulled/S-GOOD.tar"
        let sha = try run("/usr/bin/sha256sum", [tar]).stdout.split(separator: " ").first.map(String.init)
        #expect((acks.first?["body"] as? [String: Any])?["sha256"] as? String == sha)
        #expect(FileManager.default.fileExists(atPath: out + "/pulled/S-BAD.tar.refused"))
        #expect(!FileManager.default.fileExists(atPath: out + "/pulled/S-GOOD.tar.partial"))

        // The cursor is kept: a second pass lists nothing new and acknowledges nothing.
        let second = try run(Binaries.roomctl, pull, timeout: 60)
        #expect(second.status == 0, "\(second.stdout) \(second.stderr)")
        #expect(try String(contentsOfFile: out + "/cursor", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        // From the start again: the acknowledged one is reported as such, not fetched again.
        let third = try run(Binaries.roomctl, pull + ["--since", "0"], timeout: 60)
        #expect(third.stdout.contains("already-acknowledged"), "\(third.stdout)")
    }
}
