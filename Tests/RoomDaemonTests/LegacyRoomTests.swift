import Canonical
import Foundation
import Glibc
import GRDB
import Identity
import Testing

/// A room that ran an earlier roomd (Fixtures/legacy/<commit>, made by
/// make-legacy-room.sh with that commit's binaries): its ledger export still
/// verifies, its database is taken over by today's roomd, and the ID number
/// that roomd leaked into its append-only ledger is found and never shown again.
@Suite(.serialized)
struct LegacyRoomTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/legacy/ef0d6b2").path
    /// In the subject (GM/T 0015) of the expired certificate that earlier roomd refused.
    static let leaked = "650102198704021922"

    final class Room {
        let dir: TemporaryDirectory
        let port = freePort()
        let configPath: String
        var database: String { dir.path + "/state/roomd.sqlite" }
        var socket: String { dir.path + "/state/admin.sock" }

        init() throws {
            dir = try TemporaryDirectory("roomd-legacy")
            for folder in ["pki", "trust"] {
                try FileManager.default.copyItem(atPath: LegacyRoomTests.fixture + "/" + folder, toPath: dir.path + "/" + folder)
            }
            try FileManager.default.createDirectory(atPath: dir.path + "/state", withIntermediateDirectories: true)
            let dump = try String(contentsOfFile: LegacyRoomTests.fixture + "/roomd.sql", encoding: .utf8)
            let version = try String(contentsOfFile: LegacyRoomTests.fixture + "/user_version", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let queue = try DatabaseQueue(path: dir.path + "/state/roomd.sqlite")
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: dump)
                try db.execute(sql: "PRAGMA user_version = \(Int(version) ?? 0)")
            }
            try queue.close()
            configPath = try dir.write("roomd.yaml", """
                room: { id: LEGACY-ROOM, name: 旧版评标室, agency: 测试代理机构, kind: evaluation }
                stations:
                  - { id: S01, host: 127.0.0.1 }
                  - { id: S02, host: 127.0.0.1 }
                storage:
                  state_dir: state
                api:
                  listen: 127.0.0.1:\(port)
                \(DemoRoom.tlsYAML)
                identity: { expert_trust_dir: trust }

                """)
        }

        func curl(_ path: String, as client: String) throws -> (Int, String) {
            let result = try run("/usr/bin/curl", ["-s", "-S", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}",
                                                   "--cacert", dir.path + "/pki/room-ca.crt",
                                                   "--cert", dir.path + "/pki/clients/\(client).crt",
                                                   "--key", dir.path + "/pki/clients/\(client).key",
                                                   "https://127.0.0.1:\(port)\(path)"])
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
    }

    @Test func anEarlierRoomsExportStillVerifiesAndTheNumberItLeakedIsFound() throws {
        let export = Self.fixture + "/ledger-export"
        let verified = try run(Binaries.roomctl, ["ledger", "verify", export])
        #expect(verified.status == 0 && verified.stdout.contains("OK: intact"), "\(verified.stdout)\(verified.stderr)")

        let scan = try run(Binaries.roomctl, ["ledger", "scan-personal", "--export", export])
        #expect(scan.status == 1, "\(scan.stdout)\(scan.stderr)")
        #expect(scan.stdout.contains("session.signature-rejected") && scan.stdout.contains("…1922"))
        #expect(scan.stdout.contains("payload.detail.detail") && scan.stdout.contains("hex"))
        #expect(!scan.stdout.contains(Self.leaked) && ResidentIDScan.occurrences(in: scan.stdout).isEmpty)
        let json = try run(Binaries.roomctl, ["ledger", "scan-personal", "--export", export, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((report?["findings"] as? [[String: Any]])?.first?["idNumber"] as? String == "…1922")
    }

    /// The one canonical encoding reproduces, byte for byte, what the five
    /// encoders it replaced wrote: the challenges the experts signed, the
    /// handwriting's hashed form, the roster's hashed text.
    @Test func whatTheEarlierRoomSignedAndHashedIsReproducedByTheCanonicalEncoding() throws {
        let room = try Room()
        let queue = try DatabaseQueue(path: room.database)
        try queue.read { db in
            let challenges = try Row.fetchAll(db, sql: "SELECT * FROM challenges")
            #expect(challenges.count >= 4)
            for row in challenges {
                let challenge = SigningChallenge(
                    request: row["request_id"], nonce: row["nonce"], room: "LEGACY-ROOM", session: row["session_id"],
                    station: row["station_id"], rosterEntry: row["roster_entry"], purpose: SigningPurpose(rawValue: row["purpose"]) ?? .checkIn,
                    documentSHA256: row["document_sha256"], issuedMs: row["issued_ms"], expiresMs: row["expires_ms"])
                #expect(challenge.signedBytes() == Array(row["signed_bytes"] as Data))
            }
            let handwriting = try Row.fetchAll(db, sql: "SELECT strokes_json, sha256 FROM handwritten_signatures")
            #expect(handwriting.count == 1)
            for row in handwriting {
                let stored: String = row["strokes_json"]
                let parsed = try HandwrittenSignature(json: Data(stored.utf8))
                #expect(parsed.canonicalJSON() == Array(stored.utf8) && parsed.sha256 == row["sha256"] as String)
            }
            for row in try Row.fetchAll(db, sql: "SELECT entries_json, sha256 FROM rosters") {
                let stored: String = row["entries_json"]
                #expect(Digest.sha256Hex(Array(stored.utf8)) == row["sha256"] as String)
                let entries = try JSONDecoder().decode([RosterEntry].self, from: Data(stored.utf8))
                #expect(try CanonicalJSON.canonicalBytes(encoding: entries) == Array(stored.utf8))
            }
        }
        try queue.close()
    }

    @Test func todaysRoomdTakesOverTheDatabaseAndNeverShowsTheLeakedNumberAgain() throws {
        let room = try Room()
        let scan = try run(Binaries.roomctl, ["ledger", "scan-personal", "--db", room.database])
        #expect(scan.status == 1 && scan.stdout.contains("…1922"), "\(scan.stdout)\(scan.stderr)")

        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        guard notify.wait(for: "READY=1", timeout: 60) else { throw TestFailure("no READY=1; log:\n\(daemon.log)") }

        // Everything the earlier room recorded is still served, without the number.
        let (entriesCode, entries) = try room.curl("/v1/ledger/entries", as: "supervisor")
        #expect(entriesCode == 200 && entries.contains(#""withheld":"personal-data""#))
        #expect(entries.contains("session.checkin") && entries.contains("daemon.started"))
        let leakedSeq = entries.split(separator: "\n").firstIndex { $0.contains("withheld") } ?? -1
        let (proofCode, proof) = try room.curl("/v1/ledger/proof/inclusion?entry=\(leakedSeq)", as: "supervisor")
        #expect(proofCode == 200 && proof.contains(#""withheld":"personal-data""#) && !proof.contains(#""entry""#), "\(proof)")
        let (signaturesCode, signatures) = try room.curl("/v1/sessions/LEGACY-1/signatures", as: "operator")
        let rows = (try? JSONSerialization.jsonObject(with: Data(signatures.utf8))) as? [[String: Any]] ?? []
        #expect(signaturesCode == 200 && rows.count == 4 && rows.filter { $0["verdict"] as? String == "accepted" }.count == 2)
        let (_, events) = try room.curl("/v1/events?limit=1000", as: "operator")
        let status = try run(Binaries.roomctl, ["status", "--json", "--events", "500", "--config", room.configPath])
        for (place, text) in [("entries", entries), ("proof", proof), ("signatures", signatures), ("events", events), ("status", status.stdout)] {
            #expect(!text.contains(Self.leaked) && ResidentIDScan.occurrences(in: text).isEmpty, "\(place) shows the number")
        }

        // An export withholds that entry and still proves the whole ledger,
        // consistent with the earlier room's own checkpoint.
        let withheld = room.dir.path + "/export-withheld"
        #expect(try run(Binaries.roomctl, ["ledger", "export", "--out", withheld, "--socket", room.socket]).status == 0)
        let verified = try run(Binaries.roomctl, ["ledger", "verify", withheld, "--cert", room.dir.path + "/pki/server.crt",
                                                  "--checkpoint", Self.fixture + "/ledger-export/checkpoint.txt"])
        #expect(verified.status == 0 && verified.stdout.contains("withheld for personal data"), "\(verified.stdout)")
        for file in try FileManager.default.contentsOfDirectory(atPath: withheld) {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: withheld + "/" + file)))
            #expect(ResidentIDScan.occurrences(in: bytes).isEmpty, "\(file)")
        }
        // In full only when asked for.
        let full = room.dir.path + "/export-full"
        #expect(try run(Binaries.roomctl, ["ledger", "export", "--include-personal", "--out", full, "--socket", room.socket]).status == 0)
        #expect(try String(contentsOfFile: full + "/entries.jsonl", encoding: .utf8).contains("#0C12"))
        #expect(try run(Binaries.roomctl, ["ledger", "verify", full]).status == 0)
        #expect(daemon.terminate() == 0)
        #expect(!daemon.log.contains(Self.leaked))
    }
}
