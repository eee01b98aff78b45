import Archive
import Foundation
import Glibc
import Testing

/// The audit ledger as the running daemon keeps it: every event becomes an
/// entry in the same transaction, checkpoints are signed at start, on request
/// and at stop, proofs come out of the HTTPS API and roomctl in one shape, and
/// an export verifies offline (and fails when edited).
@Suite(.serialized)
struct LedgerProcessTests {
    static let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ArchiveTests/rfc9162_check.py").path

    /// Entries from `/v1/ledger/entries`, parsed.
    func entries(_ room: DemoRoom) throws -> [(bytes: String, json: [String: Any])] {
        let (_, code, body) = try room.curl("/v1/ledger/entries", as: "supervisor")
        guard code == 200 else { throw TestFailure("entries: HTTP \(code) \(body)") }
        return try body.split(separator: "\n").map { line in
            (String(line), try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:])
        }
    }

    @Test func everyEventIsALedgerEntryWithProofsExportsAndAFinalCheckpoint() throws {
        let room = try DemoRoom(extraYAML: "ledger: { checkpoint_minutes: 1 }\n")
        // Short segments so recording facts reach the ledger within the test.
        let config = try String(contentsOfFile: room.configPath, encoding: .utf8)
            .replacingOccurrences(of: "  state_dir: state", with: "  state_dir: state\n  segment_seconds: 2")
        try config.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        #expect(notify.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(daemon.log)")

        // A refusal, which must be on the ledger.
        #expect(try room.curl("/v1/station/self", as: "supervisor").1 == 403)
        // Stations may not read the ledger.
        #expect(try room.curl("/v1/ledger/entries", as: "S01").1 == 403)

        // Wait for closed segments (2 s segments, synthetic sources).
        var listed: [(bytes: String, json: [String: Any])] = []
        let deadline = Date().addingTimeInterval(30)
        repeat {
            usleep(500_000)
            listed = try entries(room)
        } while !listed.contains(where: { $0.json["kind"] as? String == "segment.closed" }) && Date() < deadline

        let kinds = listed.map { $0.json["kind"] as? String ?? "" }
        #expect(kinds.first == "config.initial", "\(kinds)")
        #expect(kinds.contains("daemon.started"))
        #expect(kinds.contains("access.denied"))
        #expect(kinds.contains("segment.closed"), "\(kinds)")
        for (seq, entry) in listed.enumerated() { #expect(entry.json["seq"] as? Int == seq) }
        // The segment's hash on the ledger is the file's hash.
        if let closed = listed.first(where: { $0.json["kind"] as? String == "segment.closed" }),
           let detail = (closed.json["payload"] as? [String: Any])?["detail"] as? [String: String],
           let path = detail["path"], let sha = detail["sha256"] {
            let digest = try run("/usr/bin/sha256sum", [path])
            #expect(digest.stdout.hasPrefix(sha), "ledger says \(sha) for \(path): \(digest.stdout)")
        } else {
            Issue.record("segment.closed entry without path and sha256: \(listed.map(\.bytes))")
        }

        // A milestone checkpoint (roomctl), then the platform reads it; reading signs nothing.
        let socket = room.dir.path + "/state/admin.sock"
        let signed = try run(Binaries.roomctl, ["ledger", "checkpoint", "--socket", socket])
        #expect(signed.status == 0, "\(signed.stderr)")
        let (_, checkpointCode, checkpoint) = try room.curl("/v1/ledger/checkpoint", as: "platform")
        #expect(checkpoint + "\n" == signed.stdout || checkpoint == signed.stdout, "\(checkpoint) vs \(signed.stdout)")
        #expect(try room.curl("/v1/ledger/checkpoint", as: "platform").2 == checkpoint)
        #expect(checkpointCode == 200)
        let lines = checkpoint.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "roomd/TEST-ROOM")
        let size = Int(lines.dropFirst().first ?? "") ?? 0
        #expect(size >= listed.count)

        // Inclusion proof of the denial from the API, checked by the independent
        // Python implementation of RFC 9162 against the raw entries.
        let denial = try #require(listed.firstIndex { $0.json["kind"] as? String == "access.denied" })
        let fresh = try entries(room).prefix(size)
        let (_, proofCode, proofText) = try room.curl("/v1/ledger/proof/inclusion?entry=\(denial)&size=\(size)", as: "supervisor")
        #expect(proofCode == 200, "\(proofText)")
        let proof = try #require(try JSONSerialization.jsonObject(with: Data(proofText.utf8)) as? [String: Any])
        let input: [String: Any] = [
            "entries": fresh.map { Data($0.bytes.utf8).base64EncodedString() },
            "inclusion": [["index": denial, "size": size, "root": proof["root"] as Any, "path": proof["path"] as Any]],
            "consistency": [],
        ]
        let inputPath = room.dir.path + "/proof-check.json"
        try JSONSerialization.data(withJSONObject: input).write(to: URL(fileURLWithPath: inputPath))
        let checked = try run("/usr/bin/python3", [Self.checker, inputPath])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")

        // roomctl reads the same proof from the database.
        let db = room.dir.path + "/state/roomd.sqlite"
        let cli = try run(Binaries.roomctl, ["ledger", "proof", "--db", db, "--entry", String(denial), "--size", String(size)])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == proofText.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try room.curl("/v1/ledger/proof/inclusion?entry=999999", as: "supervisor").1 == 400)

        // An export verifies offline; an edited copy does not.
        let exportDir = room.dir.path + "/export"
        let exported = try run(Binaries.roomctl, ["ledger", "export", "--socket", socket, "--out", exportDir])
        #expect(exported.status == 0, "\(exported.stderr)")
        let verified = try run(Binaries.roomctl, ["ledger", "verify", exportDir, "--cert", room.pki + "/server.crt"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("OK: intact"))
        let entriesFile = exportDir + "/entries.jsonl"
        let original = try String(contentsOfFile: entriesFile, encoding: .utf8)
        try original.replacingOccurrences(of: "\"access.denied\"", with: "\"access.granted\"")
            .write(toFile: entriesFile, atomically: true, encoding: .utf8)
        let tampered = try run(Binaries.roomctl, ["ledger", "verify", exportDir, "--cert", room.pki + "/server.crt"])
        #expect(tampered.status == 1, "\(tampered.stdout)")
        #expect(tampered.stdout.contains("FAILED"))

        // Stop: the final checkpoint covers every entry, including "daemon.stopped".
        #expect(daemon.terminate() == 0, "log:\n\(daemon.log)")
        let ledger = try Ledger.openReadOnly(path: db)
        let head = try ledger.treeHead()
        let last = try #require(try ledger.latestCheckpoint())
        #expect(last.checkpoint.size == head.size)
        #expect(last.checkpoint.root == head.root)
        #expect(try ledger.entry(seq: head.size - 1)?.kind == "daemon.stopped")

        // A changed configuration is recorded at the next start, with the old hash.
        try (config + "logging: { level: debug }\n").write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let notify2 = try NotifyListener(directory: room.dir.path, name: "notify2.sock")
        let again = try RunningDaemon(config: room.configPath, notifySocket: notify2.path, logDirectory: room.dir.path + "/state")
        #expect(notify2.wait(for: "READY=1", timeout: 60), "no READY=1; log:\n\(again.log)")
        let changed = try entries(room).first { $0.json["kind"] as? String == "config.changed" }
        let detail = (changed?.json["payload"] as? [String: Any])?["detail"] as? [String: String]
        #expect(detail?["previous_sha256"]?.count == 64)
        #expect(detail?["text"]?.contains("level: debug") == true)
        #expect(again.terminate() == 0)
    }
}
