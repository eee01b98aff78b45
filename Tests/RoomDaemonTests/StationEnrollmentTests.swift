import Foundation
import Glibc
import Testing

/// `roomctl station enroll|revoke` against the running daemon, with curl as
/// the station: enrolled certificates work, superseded and revoked ones are
/// cut off at the TLS handshake, and revocations survive a restart.
@Suite(.serialized)
struct StationEnrollmentTests {
    @Test func enrolledCertificatesWorkAndRevokedOnesFailAtTheNextHandshake() throws {
        let room = try DemoRoom()
        let notify = try NotifyListener(directory: room.dir.path)
        var daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(daemon.log)")
        let socket = room.dir.path + "/state/admin.sock"
        let clients = room.pki + "/clients/"

        #expect(try room.curl("/healthz", as: "S02").1 == 200)
        // Keep the certificate pki init issued, to try it after re-enrollment.
        for ext in ["crt", "key"] {
            try FileManager.default.copyItem(atPath: clients + "S02.\(ext)", toPath: clients + "S02-old.\(ext)")
        }

        let enrolled = try run(Binaries.roomctl, ["station", "enroll", "S02", "--pki", room.pki, "--room-id", "TEST-ROOM",
                                                  "--socket", socket])
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        #expect(enrolled.stdout.contains("enrolled S02"))
        var info = stat()
        #expect(stat(clients + "S02.key", &info) == 0 && info.st_mode & 0o777 == 0o600)

        // The newly enrolled certificate works; the superseded one is cut off at the handshake.
        #expect(try room.curl("/v1/station/self", as: "S02").1 == 200)
        let old = try room.curl("/healthz", as: "S02-old")
        #expect(old.0 != 0 && old.1 == 0, "superseded certificate still accepted: \(old)")
        // Stations never enrolled are unaffected.
        #expect(try room.curl("/healthz", as: "S01").1 == 200)

        // The same certificate cannot be enrolled twice; a certificate of another role is refused.
        let again = try run(Binaries.roomctl, ["station", "enroll", "S02", "--import", clients + "S02.crt", "--socket", socket])
        #expect(again.status != 0 && again.stderr.contains("409"), "\(again.stderr)")
        let wrong = try run(Binaries.roomctl, ["station", "enroll", "S01", "--import", clients + "supervisor.crt", "--socket", socket])
        #expect(wrong.status != 0 && wrong.stderr.contains("certificate-names-other-station") || wrong.stderr.contains("certificate-not-mapped"),
                "\(wrong.stderr)")
        let imported = try run(Binaries.roomctl, ["station", "enroll", "S01", "--import", clients + "S01.crt", "--socket", socket])
        #expect(imported.status == 0, "\(imported.stderr)")

        // Revoke S02: its next connection fails at once.
        let revoked = try run(Binaries.roomctl, ["station", "revoke", "S02", "--reason", "laptop replaced", "--socket", socket])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let refused = try room.curl("/healthz", as: "S02")
        #expect(refused.0 != 0 && refused.1 == 0, "revoked certificate still accepted: \(refused)")
        #expect(try room.curl("/healthz", as: "S01").1 == 200)

        // Enrollment, revocation and the refusal are on the ledger.
        let entries = try room.curl("/v1/ledger/entries", as: "supervisor").2
        #expect(entries.contains("\"kind\":\"certificate.enrolled\""))
        #expect(entries.contains("\"kind\":\"certificate.revoked\""))
        #expect(entries.contains("laptop replaced"))
        #expect(entries.contains("certificate-revoked"))

        // Revocations are permanent: still refused after a restart.
        #expect(daemon.terminate() == 0)
        let notify2 = try NotifyListener(directory: room.dir.path, name: "notify2.sock")
        daemon = try RunningDaemon(config: room.configPath, notifySocket: notify2.path, logDirectory: room.dir.path + "/state")
        #expect(notify2.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(daemon.log)")
        let afterRestart = try room.curl("/healthz", as: "S02")
        #expect(afterRestart.0 != 0 && afterRestart.1 == 0)
        #expect(try room.curl("/healthz", as: "S01").1 == 200)

        // A freshly enrolled certificate brings the station back.
        let reEnrolled = try run(Binaries.roomctl, ["station", "enroll", "S02", "--pki", room.pki, "--room-id", "TEST-ROOM",
                                                    "--socket", socket])
        #expect(reEnrolled.status == 0, "\(reEnrolled.stderr)")
        #expect(try room.curl("/healthz", as: "S02").1 == 200)
        #expect(daemon.terminate() == 0)
    }
}
