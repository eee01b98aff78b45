import Archive
import Foundation
import Glibc
import Testing

/// Checkpoints witnessed from outside: an RFC 3161 TSA (answered by `openssl
/// ts -reply`) and the central platform (HTTPS with mutual TLS), both started
/// after roomd so that the first attempts fail and must be retried.
@Suite(.serialized)
struct LedgerWitnessTests {
    static let servers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/witness_servers.py").path

    @Test func checkpointsAreTimestampedAndDeliveredToThePlatformEvenWhenItComesUpLate() throws {
        let tsaPort = freePort(), platformPort = freePort()
        let room = try DemoRoom(extraYAML: """
            ledger: { checkpoint_minutes: 1, tsa_url: "http://127.0.0.1:\(tsaPort)/tsa", tsa_certificate: witness/tsa-ca.crt }
            platform: { endpoint: "https://127.0.0.1:\(platformPort)/roomd/v1", ca_certificate: pki/room-ca.crt }

            """)
        // No cameras: the ledger grows only by what this test does.
        let quiet = try String(contentsOfFile: room.configPath, encoding: .utf8)
            .replacingOccurrences(of: ", camera: synthetic, format: { width: 320, height: 240, fps: 15 }, microphone: synthetic", with: "")
        try quiet.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let work = room.dir.path + "/witness"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        // roomd checks the TSA certificate file at start; the TSA itself is not up yet.
        let placeholder = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                      "-keyout", work + "/placeholder.key", "-out", work + "/tsa-ca.crt",
                                                      "-subj", "/CN=placeholder", "-days", "1"])
        #expect(placeholder.status == 0)

        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(daemon.log)")
        let retried = Date().addingTimeInterval(15)
        while !daemon.log.contains("will retry"), Date() < retried { usleep(100_000) }
        #expect(daemon.log.contains("will retry"), "unreachable witnesses must be retried; log:\n\(daemon.log)")

        // The witnesses come up. roomd reads the TSA anchor at start, so restart
        // it once the real one exists: the checkpoint of the first run must
        // still be timestamped and delivered.
        let servers = Process()
        servers.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        servers.arguments = [Self.servers, work, String(tsaPort), String(platformPort), room.pki]
        servers.standardOutput = FileHandle.nullDevice
        try servers.run()
        // SIGKILL: the test process blocks SIGTERM in its threads and children inherit the mask.
        defer { kill(servers.processIdentifier, SIGKILL); servers.waitUntilExit() }
        let up = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: work + "/ready"), Date() < up { usleep(100_000) }
        #expect(FileManager.default.fileExists(atPath: work + "/ready"))
        #expect(daemon.terminate() == 0, "log:\n\(daemon.log)")

        let notify2 = try NotifyListener(directory: room.dir.path, name: "notify2.sock")
        let again = try RunningDaemon(config: room.configPath, notifySocket: notify2.path, logDirectory: room.dir.path + "/state")
        #expect(notify2.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(again.log)")

        // A milestone checkpoint now; then wait until every checkpoint is witnessed.
        let socket = room.dir.path + "/state/admin.sock"
        let made = try run(Binaries.roomctl, ["ledger", "checkpoint", "--socket", socket])
        #expect(made.status == 0, "\(made.stderr)")
        let db = room.dir.path + "/state/roomd.sqlite"
        let ledger = try Ledger.openReadOnly(path: db)
        let deadline = Date().addingTimeInterval(60)
        var pendingTimestamps = 1, pendingDeliveries = 1
        repeat {
            usleep(500_000)
            pendingTimestamps = try ledger.checkpointsWithoutTimestamp().count
            pendingDeliveries = try ledger.checkpointsNotDelivered(to: "https://127.0.0.1:\(platformPort)/roomd/v1/ledger/checkpoints").count
        } while (pendingTimestamps > 0 || pendingDeliveries > 0) && Date() < deadline
        #expect(pendingTimestamps == 0 && pendingDeliveries == 0, "log:\n\(again.log)")

        // The platform holds every checkpoint, as signed, sent with the room's client certificate.
        let received = try FileManager.default.contentsOfDirectory(atPath: work + "/platform").filter { $0.hasSuffix(".txt") }.sorted()
        #expect(received.count >= 3, "\(received)")
        for name in received {
            let note = try String(contentsOfFile: work + "/platform/" + name, encoding: .utf8)
            #expect(note.hasPrefix("roomd/TEST-ROOM\n"))
            #expect(note.contains("\n\n\u{2014} roomd/TEST-ROOM "))
            let peer = try String(contentsOfFile: work + "/platform/" + name.replacingOccurrences(of: ".txt", with: ".peer"), encoding: .utf8)
            #expect(peer.contains("TEST-ROOM"))
        }
        let latest = try #require(try ledger.latestCheckpoint())
        #expect(try ledger.deliveries(checkpointID: latest.id).first?.response.contains("platform-witness") == true)

        // An export carries the latest checkpoint's RFC 3161 token, which openssl verifies.
        let exportDir = room.dir.path + "/export"
        let exported = try run(Binaries.roomctl, ["ledger", "export", "--socket", socket, "--out", exportDir])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(FileManager.default.fileExists(atPath: exportDir + "/checkpoint.tsr"))
        let verified = try run("/usr/bin/openssl", ["ts", "-verify", "-data", exportDir + "/checkpoint.txt", "-in", exportDir + "/checkpoint.tsr",
                                                    "-token_in", "-CAfile", work + "/tsa-ca.crt", "-untrusted", work + "/tsa.crt"])
        #expect(verified.stdout.contains("Verification: OK"), "\(verified.stdout)\(verified.stderr)")
        // …and not for other data.
        try "tampered".write(toFile: room.dir.path + "/other.txt", atomically: true, encoding: .utf8)
        let wrong = try run("/usr/bin/openssl", ["ts", "-verify", "-data", room.dir.path + "/other.txt", "-in", exportDir + "/checkpoint.tsr",
                                                 "-token_in", "-CAfile", work + "/tsa-ca.crt", "-untrusted", work + "/tsa.crt"])
        #expect(!wrong.stdout.contains("Verification: OK"))

        // At stop, the final checkpoint goes to the platform too.
        #expect(again.terminate() == 0, "log:\n\(again.log)")
        let final = try #require(try Ledger.openReadOnly(path: db).latestCheckpoint())
        let last = try FileManager.default.contentsOfDirectory(atPath: work + "/platform").filter { $0.hasSuffix(".txt") }.sorted().last
        let lastNote = try String(contentsOfFile: work + "/platform/" + (last ?? ""), encoding: .utf8)
        #expect(lastNote == final.checkpoint.text)
    }
}
