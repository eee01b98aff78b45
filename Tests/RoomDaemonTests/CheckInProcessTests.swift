import Foundation
import Glibc
import Testing

/// Expert check-in through the running daemon: the operator imports a roster
/// with roomctl, a station (curl with its certificate) asks for a challenge,
/// the QR code decodes (zbarimg) to the bytes to sign, `roomctl expert sign`
/// plays the expert's cloud-sign app, and roomd accepts or refuses the answer
/// for the right reason; every outcome is on the ledger, no ID number is.
@Suite(.serialized)
struct CheckInProcessTests {
    static let makePKI = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IdentityTests/Fixtures/make-test-pki.sh").path

    final class Room {
        let room: DemoRoom
        let experts: String
        let daemon: RunningDaemon
        var socket: String { room.dir.path + "/state/admin.sock" }

        /// Every answer roomd gave through this room's helpers, for the personal-data scanner.
        private(set) var answers: [(request: String, body: String)] = []

        init(crls: [String] = ["ec/int.crl", "sm2/int.crl"], identityYAML: String = "identity: { expert_trust_dir: trust }\n",
             quietStations: [String] = []) throws {
            room = try DemoRoom(extraYAML: identityYAML, quietStations: quietStations)
            experts = room.dir.path + "/experts"
            let made = try run("/bin/bash", [CheckInProcessTests.makePKI, experts])
            guard made.status == 0 else { throw TestFailure("make-test-pki.sh: \(made.stderr)") }
            // The trust folder an installer would build: the cloud-sign roots, their intermediates, current CRLs.
            let trust = room.dir.path + "/trust"
            for folder in ["anchors", "intermediates", "crls"] {
                try FileManager.default.createDirectory(atPath: "\(trust)/\(folder)", withIntermediateDirectories: true)
            }
            for alg in ["rsa", "ec", "sm2"] {
                try FileManager.default.copyItem(atPath: "\(experts)/\(alg)/root.crt", toPath: "\(trust)/anchors/\(alg).crt")
                try FileManager.default.copyItem(atPath: "\(experts)/\(alg)/int.crt", toPath: "\(trust)/intermediates/\(alg).crt")
            }
            for crl in crls {
                try FileManager.default.copyItem(atPath: "\(experts)/\(crl)", toPath: "\(trust)/crls/\(crl.replacingOccurrences(of: "/", with: "-"))")
            }
            let notify = try NotifyListener(directory: room.dir.path)
            daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
            guard notify.wait(for: "READY=1", timeout: 60) else { throw TestFailure("no READY=1; log:\n\(daemon.log)") }
        }

        func importRoster(e01: String = "张三", session: String = "ZC-2026-118") throws {
            let roster = try room.dir.write("roster.json", #"""
                [{"id":"E01","name":"\#(e01)","idNumber":"11010519491231002X","role":"expert"},
                 {"id":"E02","name":"李四","idNumber":"110101198003071239","role":"expert"}]
                """#)
            let imported = try run(Binaries.roomctl, ["roster", "import", "--session", session, roster, "--socket", socket])
            guard imported.status == 0 else { throw TestFailure("roster import: \(imported.stderr)") }
        }

        func json(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        /// curl through the room, keeping the answer for the scanner.
        func curl(_ path: String, as client: String?, method: String = "GET", body: String? = nil) throws -> (Int32, Int, String) {
            let result = try room.curl(path, as: client, method: method, body: body)
            answers.append(("\(method) \(path) as \(client ?? "nobody")", result.2))
            return result
        }

        /// A challenge for `entry` asked by `station`: (request id, the bytes to sign).
        func challenge(_ entry: String = "E01", station: String = "S01", session: String = "ZC-2026-118") throws -> (String, String) {
            let (_, code, body) = try curl("/v1/checkin/challenges", as: station, method: "POST",
                                           body: #"{"session":"\#(session)","rosterEntry":"\#(entry)"}"#)
            guard code == 201 else { throw TestFailure("challenge: HTTP \(code) \(body)") }
            let answer = json(body)
            return (answer["request"] as? String ?? "", answer["signed"] as? String ?? "")
        }

        /// Signs `text` with `roomctl expert sign` and returns the answer body.
        func sign(_ text: String, leaf: String, algorithm: String, format: String) throws -> String {
            let input = room.dir.path + "/to-sign.txt", output = room.dir.path + "/signature.b64"
            try text.write(toFile: input, atomically: true, encoding: .utf8)
            let alg = leaf.split(separator: "/")[0]
            let chain = FileManager.default.fileExists(atPath: "\(experts)/\(alg)/int.crt") ? "\(experts)/\(alg)/int.crt" : "\(experts)/\(alg)/root/ca.crt"
            let signed = try run(Binaries.roomctl, ["expert", "sign", "--key", "\(experts)/\(leaf).key", "--cert", "\(experts)/\(leaf).crt",
                                                    "--chain", chain, "--algorithm", algorithm, "--format", format,
                                                    "--in", input, "--out", output, "--base64"])
            guard signed.status == 0 else { throw TestFailure("roomctl expert sign: \(signed.stderr)") }
            let signature = try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            var body: [String: Any] = ["format": format, "signature": signature]
            if format == "raw" { body["certificate"] = try String(contentsOfFile: "\(experts)/\(leaf).crt", encoding: .utf8) }
            return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        }

        func answer(_ request: String, _ body: String, station: String = "S01") throws -> (Int, [String: Any]) {
            let (_, code, text) = try curl("/v1/checkin/challenges/\(request)/answer", as: station, method: "POST", body: body)
            return (code, json(text))
        }
    }

    @Test func expertsCheckInWithCloudSignaturesAndEveryRefusalHasItsReason() throws {
        let r = try Room()
        let roster = try r.room.dir.write("roster.json", #"""
            [{"id":"E01","name":"张三","idNumber":"11010519491231002X","role":"expert"},
             {"id":"E02","name":"李四","idNumber":"110101198003071239","role":"expert"},
             {"id":"P01","name":"王五","idNumber":"320102197510104569","role":"purchaser_representative"}]
            """#)
        // A bad roster is refused with every problem and its row.
        let bad = try r.room.dir.write("bad.json", #"[{"id":"E01","name":"张三","idNumber":"110101199003077777","role":"expert"}]"#)
        let refused = try run(Binaries.roomctl, ["roster", "import", "--session", "ZC-2026-118", bad, "--socket", r.socket])
        #expect(refused.status != 0 && refused.stderr.contains("第 1 行"), "\(refused.stderr)")
        let imported = try run(Binaries.roomctl, ["roster", "import", "--session", "ZC-2026-118", roster, "--socket", r.socket])
        #expect(imported.status == 0, "\(imported.stderr)")

        // A challenge, shown as a QR code that decodes to exactly the bytes to sign.
        let (request, text) = try r.challenge()
        #expect(text.contains("\"roster_entry\":\"E01\"") && text.contains("\"station\":\"S01\""))
        let png = r.room.dir.path + "/qr.png"
        let fetched = try run("/usr/bin/curl", ["-s", "-o", png, "--cacert", r.room.pki + "/room-ca.crt",
                                                "--cert", r.room.pki + "/clients/S01.crt", "--key", r.room.pki + "/clients/S01.key",
                                                "https://127.0.0.1:\(r.room.port)/v1/checkin/challenges/\(request)/qr.png"])
        #expect(fetched.status == 0)
        // QR codes only: with every symbology on, zbar once read a stray 1-D
        // barcode ("057017") in the QR's modules and printed it as a second line.
        let decoded = try run("/usr/bin/zbarimg", ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", png])
        #expect(decoded.stdout.trimmingCharacters(in: .newlines) == text)
        // Another station cannot see it.
        #expect(try r.room.curl("/v1/checkin/challenges/\(request)/qr.svg", as: "S02").1 == 404)

        // ECDSA, CMS: accepted, named; the same answer again is a replay.
        let ecdsa = try r.sign(text, leaf: "ec/leaf", algorithm: "ecdsa", format: "cms")
        let (accepted, verdict) = try r.answer(request, ecdsa)
        #expect(accepted == 200, "\(verdict)")
        #expect(verdict["verdict"] as? String == "accepted")
        #expect(verdict["signerName"] as? String == "张三")
        let checkInID = verdict["signature"] as? Int ?? 0
        let (replayCode, replay) = try r.answer(request, ecdsa)
        #expect(replayCode == 422 && replay["reason"] as? String == "nonce-replayed", "\(replay)")

        // SM2 raw and RSA-PSS raw: accepted — in sessions of their own, since
        // one expert checks in once per session (and at one station).
        for (leaf, algorithm, session) in [("sm2/leaf", "sm2", "ZC-2026-119"), ("rsa/leaf", "rsa-pss", "ZC-2026-120")] {
            #expect(try run(Binaries.roomctl, ["roster", "import", "--session", session, roster, "--socket", r.socket]).status == 0)
            let (id, bytes) = try r.challenge(session: session)
            let (code, body) = try r.answer(id, try r.sign(bytes, leaf: leaf, algorithm: algorithm, format: "raw"))
            #expect(code == 200, "\(leaf): \(body)")
        }
        // Checked in at S01, 张三 cannot check in at S02 in the same session,
        // nor can S01 seat a second expert.
        let elsewhere = try r.curl("/v1/checkin/challenges", as: "S02", method: "POST", body: #"{"session":"ZC-2026-118","rosterEntry":"E01"}"#)
        #expect(elsewhere.1 == 409 && elsewhere.2.contains("expert-checked-in-elsewhere"), "\(elsewhere)")
        let occupied = try r.curl("/v1/checkin/challenges", as: "S01", method: "POST", body: #"{"session":"ZC-2026-118","rosterEntry":"E02"}"#)
        #expect(occupied.1 == 409 && occupied.2.contains("station-occupied"), "\(occupied)")

        // The same path signs later documents: a score sheet, named by its SHA-256.
        let sheet = String(repeating: "5c", count: 32)
        #expect(try r.room.curl("/v1/checkin/challenges", as: "S01", method: "POST",
                                body: #"{"session":"ZC-2026-118","rosterEntry":"E01","purpose":"score-sheet"}"#).1 == 400)
        let (_, sheetCode, sheetBody) = try r.room.curl("/v1/checkin/challenges", as: "S01", method: "POST",
            body: #"{"session":"ZC-2026-118","rosterEntry":"E01","purpose":"score-sheet","documentSHA256":"\#(sheet)"}"#)
        #expect(sheetCode == 201, "\(sheetBody)")
        let sheetChallenge = r.json(sheetBody)
        let sheetText = sheetChallenge["signed"] as? String ?? ""
        #expect(sheetText.contains("\"purpose\":\"score-sheet\"") && sheetText.contains(sheet))
        let (sheetAnswer, sheetVerdict) = try r.answer(sheetChallenge["request"] as? String ?? "",
                                                       try r.sign(sheetText, leaf: "ec/leaf", algorithm: "ecdsa", format: "cms"))
        #expect(sheetAnswer == 200, "\(sheetVerdict)")

        // Refusals, each for its reason, in a session where nobody has checked in yet.
        #expect(try run(Binaries.roomctl, ["roster", "import", "--session", "ZC-2026-121", roster, "--socket", r.socket]).status == 0)
        let cases: [(entry: String, leaf: String, algorithm: String, tamper: Bool, reason: String)] = [
            ("E02", "ec/leaf", "ecdsa", false, "wrong-roster-entry"),
            ("E01", "ec/revoked", "ecdsa", false, "certificate-revoked"),
            ("E01", "other/leaf", "ecdsa", false, "untrusted-chain"),
            ("E01", "sm2/revoked", "sm2", false, "certificate-revoked"),
            ("E01", "ec/leaf", "ecdsa", true, "digest-mismatch"),
        ]
        for item in cases {
            let (id, bytes) = try r.challenge(item.entry, session: "ZC-2026-121")
            let signedText = item.tamper ? bytes.replacingOccurrences(of: "E01", with: "E02") : bytes
            let (code, body) = try r.answer(id, try r.sign(signedText, leaf: item.leaf, algorithm: item.algorithm, format: "cms"))
            #expect(code == 422 && body["reason"] as? String == item.reason, "\(item): \(body)")
            #expect((body["message"] as? String)?.isEmpty == false)
        }

        // The handwritten signature, bound to the accepted check-in; drawn for the operator.
        let strokes = #"{"width":300,"height":120,"strokes":[[{"x":20,"y":60,"t":0},{"x":80,"y":30,"t":40},{"x":140,"y":90,"t":80},{"x":260,"y":50,"t":120}]]}"#
        let stored = try r.room.curl("/v1/checkin/signatures/\(checkInID)/handwriting", as: "S01", method: "POST", body: strokes)
        #expect(stored.1 == 201, "\(stored)")
        #expect(try r.room.curl("/v1/checkin/signatures/\(checkInID)/handwriting", as: "S01", method: "POST", body: strokes).1 == 409)
        #expect(try r.room.curl("/v1/checkin/signatures/\(checkInID)/handwriting", as: "S01", method: "POST",
                                body: #"{"width":300,"height":120,"strokes":[]}"#).1 == 400)
        let svg = try r.room.curl("/v1/checkin/signatures/\(checkInID)/handwriting.svg", as: "supervisor")
        #expect(svg.1 == 200 && svg.2.contains("<path"))
        #expect(try r.room.curl("/v1/checkin/signatures/\(checkInID)/handwriting.png", as: "operator").1 == 200)

        // The operator's list: every attempt with its verdict; no ID number anywhere it or the ledger shows.
        let list = try r.room.curl("/v1/sessions/ZC-2026-118/signatures", as: "operator")
        #expect(list.1 == 200)
        let rows = (try? JSONSerialization.jsonObject(with: Data(list.2.utf8))) as? [[String: Any]] ?? []
        // The check-in and the score sheet; the replay was refused without being stored.
        #expect(rows.filter { $0["verdict"] as? String == "accepted" }.count == 2)
        #expect(rows.contains { $0["purpose"] as? String == "score-sheet" && $0["documentSHA256"] as? String == sheet })
        #expect(rows.filter { $0["verdict"] as? String == "rejected" }.isEmpty)
        let refusedList = try r.room.curl("/v1/sessions/ZC-2026-121/signatures", as: "operator")
        let refusedRows = (try? JSONSerialization.jsonObject(with: Data(refusedList.2.utf8))) as? [[String: Any]] ?? []
        #expect(refusedRows.filter { $0["verdict"] as? String == "rejected" }.count == 5)
        #expect(rows.first { $0["id"] as? Int == checkInID }?["handwritten"] as? Bool == true)
        let ledger = try r.room.curl("/v1/ledger/entries", as: "supervisor").2
        #expect(ledger.contains("\"kind\":\"session.checkin\""))
        #expect(ledger.contains("\"kind\":\"session.signature\""))
        #expect(ledger.contains("\"kind\":\"session.signature-rejected\""))
        #expect(ledger.contains("\"kind\":\"session.roster-imported\""))
        #expect(ledger.contains("\"kind\":\"session.handwritten-signature\""))
        #expect(ledger.contains("\"kind\":\"session.signature-replayed\""))
        for id in ["11010519491231002X", "110101198003071239", "320102197510104569"] {
            #expect(!ledger.contains(id) && !list.2.contains(id) && !refusedList.2.contains(id))
        }
        #expect(r.daemon.terminate() == 0)
    }

    @Test func aReloadPutsANewCRLInForceWithoutARestart() throws {
        // The day's CRL is not there yet: the certificate that will be revoked still signs.
        let r = try Room(crls: ["ec/int-empty.crl"])
        try r.importRoster(e01: "钱九")  // the name on the test PKI's to-be-revoked certificate
        let (first, text) = try r.challenge()
        let (before, verdict) = try r.answer(first, try r.sign(text, leaf: "ec/revoked", algorithm: "ecdsa", format: "cms"))
        #expect(before == 200, "\(verdict)")

        // The installer drops in the new CRL and runs `systemctl reload roomd` (SIGHUP).
        let crls = r.room.dir.path + "/trust/crls/"
        try FileManager.default.removeItem(atPath: crls + "ec-int-empty.crl")
        try FileManager.default.copyItem(atPath: r.experts + "/ec/int.crl", toPath: crls + "ec-int.crl")
        kill(r.daemon.process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(15)
        while !r.daemon.log.contains("expert trust folder reloaded"), Date() < deadline { usleep(100_000) }
        #expect(r.daemon.log.contains("expert trust folder reloaded"), "\(r.daemon.log)")

        // (The next session: in this one 钱九 is checked in at S01 already.)
        try r.importRoster(e01: "钱九", session: "ZC-2026-119")
        let (second, text2) = try r.challenge(session: "ZC-2026-119")
        let (after, refused) = try r.answer(second, try r.sign(text2, leaf: "ec/revoked", algorithm: "ecdsa", format: "cms"))
        #expect(after == 422 && refused["reason"] as? String == "certificate-revoked", "\(refused)")
        // A station asking for challenges in a loop is stopped (20 a minute).
        var limited = 0
        for _ in 0..<20 {
            let (_, code, _) = try r.room.curl("/v1/checkin/challenges", as: "S01", method: "POST",
                                               body: #"{"session":"ZC-2026-119","rosterEntry":"E01"}"#)
            if code == 429 { limited += 1 }
        }
        #expect(limited > 0)
        // Recording and everything else carried on: same process, still healthy.
        #expect(try r.room.curl("/healthz", as: "S01").1 == 200)
        #expect(try r.room.curl("/v1/ledger/entries", as: "supervisor").2.contains("identity.trust-reloaded"))
        #expect(r.daemon.terminate() == 0)
    }
}
