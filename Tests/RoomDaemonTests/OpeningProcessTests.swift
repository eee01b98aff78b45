import Canonical
import Foundation
import Identity
import Testing

/// A whole opening (开标) through the running roomd: the platform's signed definition and the
/// sealed bids, five suppliers signing in with certificates of a test supplier CA (RSA, ECDSA
/// P-256, SM2; a stranger and a wrong organisation refused, one late), decryption with one
/// tampered summary and one supplier who never decrypts (the window closes by the clock),
/// confirmations signed over the read-out, an objection, the ledger, and a restart that replays
/// the same opening; then the opening sealed into a package that `roomctl package verify`
/// accepts (and refuses, naming the file, once a byte is changed), pulled and acknowledged by the
/// platform, and its evaluation part (`evaluation-opening`) as the record gives it.
@Suite(.serialized) struct OpeningProcessTests {
    static let opening = "KB-2026-0188"

    struct Supplier {
        var name: String
        var code: String
        var signingKey: PrivateKey
        var signing: Certificate
        var algorithm: SignatureAlgorithm
        var encryptionKey: PrivateKey
        var encryption: Certificate
        var summary: [UInt8]
        var sealed: [UInt8]
    }

    final class Room {
        let room: DemoRoom
        var daemon: RunningDaemon
        let ca: (certificate: Certificate, key: PrivateKey)

        init() throws {
            room = try DemoRoom(extraYAML: """
                sessions: { platform_trust_dir: pki/platform/trust, supplier_trust_dir: suppliers }
                retention: { session_margin_minutes: 0 }
                packages: { signing_certificate: pki/room-seal.crt, delivery: pull }

                """, storageYAML: "segment_seconds: 2")
            let caKey = try PrivateKey.generateP256()
            let caCert = try CertificateIssuer.issue(CertificateRequest(subject: [("O", "测试供应商CA"), ("CN", "Supplier Test CA")],
                                                                        validity: 86_400, isCA: true), publicKeyOf: caKey)
            ca = (caCert, caKey)
            try FileManager.default.createDirectory(atPath: room.dir.path + "/suppliers/anchors", withIntermediateDirectories: true)
            try Data(try caCert.pem()).write(to: URL(fileURLWithPath: room.dir.path + "/suppliers/anchors/ca.crt"))
            daemon = try room.startDaemon(log: room.dir.path)
        }

        func restart() throws {
            #expect(daemon.terminate() == 0)
            daemon = try room.startDaemon(log: room.dir.path + "/restarted")
        }

        /// A key the openssl command line made (Identity generates P-256 only).
        func opensslKey(_ name: String, _ keygen: [String]) throws -> PrivateKey {
            let file = room.dir.path + "/\(name).key"
            let made = try run("/usr/bin/openssl", ["genpkey"] + keygen + ["-out", file])
            guard made.status == 0 else { throw TestFailure("openssl genpkey: \(made.stderr)") }
            return try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        }

        func certificate(_ key: PrivateKey, organization: String, code: String, usage: String) throws -> Certificate {
            try CertificateIssuer.issue(CertificateRequest(subject: [("O", organization), ("serialNumber", code), ("CN", "\(organization) 经办人")],
                                                           validity: 86_400, keyUsage: usage), publicKeyOf: key, issuer: ca)
        }

        func call(_ path: String, as client: String = "platform", method: String = "GET", body: [String: String]? = nil,
                  token: String? = nil) throws -> (Int, [String: Any], String) {
            let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            let (_, code, answer) = try room.curl("/v1/openings/\(OpeningProcessTests.opening)" + path, as: client, method: method, body: text,
                                                  headers: token.map { ["Roomd-Supplier-Token: \($0)"] } ?? [])
            return (code, (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any] ?? [:], answer)
        }

        /// The platform signer's detached CMS signature over a definition, as the platform pushes it.
        func signedByPlatform(_ definition: [UInt8]) throws -> [UInt8] {
            let key = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: room.pki + "/platform/signer.key"))))
            let certificate = try Certificate.all(pemOrDER: Array(try Data(contentsOf: URL(fileURLWithPath: room.pki + "/platform/signer.crt"))))[0]
            return try ExpertSigner.signCMS(content: definition, key: key, certificate: certificate, algorithm: .ecdsaP256SHA256)
        }

        /// Signs the sign-in challenge with the supplier's signing certificate; (HTTP status, answer).
        func signIn(_ key: PrivateKey, _ certificate: Certificate, _ algorithm: SignatureAlgorithm) throws -> (Int, [String: Any], String) {
            let (code, challenge, text) = try call("/sign-in/challenges", method: "POST", body: [:])
            guard code == 201, let request = challenge["request"] as? String, let signed = challenge["signed"] as? String else {
                throw TestFailure("challenge: \(code) \(text)")
            }
            let signature = try ExpertSigner.signCMS(content: Array(signed.utf8), key: key, certificate: certificate, algorithm: algorithm)
            return try call("/sign-in", method: "POST", body: ["request": request, "signature": Data(signature).base64EncodedString()])
        }
    }

    /// The test opening's definition (one lot, public tender, the shortest window: one minute) for these suppliers.
    static func definition(deadline: Date, suppliers: [Supplier]) throws -> [UInt8] {
        try CanonicalJSON.object([
            "version": .integer(1),
            "project": .object(["number": .string("NMG-2026-0188"), "name": .string("呼和浩特市第一中学智慧黑板采购"),
                                "purchaser": .string("呼和浩特市第一中学"), "agency": .string("内蒙古某招标代理有限公司"),
                                "method": .string("publicTender")]),
            "lots": .array([.object(["id": .string("1"), "name": .string("智慧黑板")])]),
            "bidDeadline": .string(beijing(deadline)), "decryptionWindowMinutes": .integer(1),
            "suppliers": .array(try suppliers.map { s in
                .object(["name": .string(s.name), "creditCode": .string(s.code), "lots": .array([.string("1")]),
                         "encryptionCertificateSHA256": .string(Digest.sha256Hex(try s.encryption.derBytes())),
                         "sealedBidSHA256": .string(Digest.sha256Hex(s.sealed)), "summarySHA256": .string(Digest.sha256Hex(s.summary))])
            }),
        ]).canonicalBytes()
    }

    static func beijing(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'+08:00'"
        return formatter.string(from: date)
    }

    @Test func anOpeningWithFiveSuppliersThroughRoomdSurvivesARestart() throws {
        let r = try Room()
        defer { _ = r.daemon.terminate() }
        // A: RSA signing and encryption. B: ECDSA P-256 both. C: SM2 signing — OpenSSL 3.0's CMS
        // cannot seal to SM2 (docs/opening.md), so C's bid is sealed to a P-256 encryption
        // certificate. D (P-256) never decrypts; E (RSA) signs in after the deadline.
        let people: [(String, String, String)] = [
            ("A", "福州甲科技有限公司", "91350100M000100Y43"), ("B", "北京乙信息技术有限公司", "91110108MA01XXXXXB"),
            ("C", "内蒙古丙电子有限责任公司", "91150100MA0N7L2K1Q"), ("D", "深圳丁设备有限公司", "91440300708461136T"),
            ("E", "呼和浩特戊服务中心", "12100000400000624D"),
        ]
        let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        var suppliers: [String: Supplier] = [:]
        for (letter, name, code) in people {
            let signingKey: PrivateKey, algorithm: SignatureAlgorithm, encryptionKey: PrivateKey, usage: String
            switch letter {
            case "A", "E":
                signingKey = try r.opensslKey(letter, rsa); algorithm = .rsaPKCS1SHA256; encryptionKey = signingKey; usage = "critical,keyEncipherment"
            case "C":
                signingKey = try r.opensslKey(letter, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"]); algorithm = .sm2SM3
                encryptionKey = try PrivateKey.generateP256(); usage = "critical,keyAgreement"
            default:
                signingKey = try PrivateKey.generateP256(); algorithm = .ecdsaP256SHA256; encryptionKey = signingKey; usage = "critical,keyAgreement"
            }
            let summary = Array("""
                {"lots":[{"lot":"1","priceInFigures":"\(letter == "B" ? "1300000" : "1190000")","priceInWords":"\(letter == "B" ? "壹佰叁拾万元整" : "壹佰壹拾玖万元整")"}],\
                "project":"NMG-2026-0188","supplier":"\(code)","version":1}
                """.utf8)
            let encryption = try r.certificate(encryptionKey, organization: name, code: code, usage: usage)
            suppliers[letter] = Supplier(
                name: name, code: code, signingKey: signingKey,
                signing: try r.certificate(signingKey, organization: name, code: code, usage: "critical,digitalSignature,nonRepudiation"),
                algorithm: algorithm, encryptionKey: encryptionKey, encryption: encryption, summary: summary,
                sealed: try Envelope.seal(summary, for: [encryption]))
        }
        let deadline = Date().addingTimeInterval(15)
        let definition = try Self.definition(deadline: deadline, suppliers: people.map { suppliers[$0.0]! })
        let signature = try r.signedByPlatform(definition)

        // Intake: the platform must sign; the signed definition is kept; the sealed bids arrive.
        #expect(try r.call("/definition", method: "POST", body: ["definition": Data(definition).base64EncodedString()]).0 == 400)
        let imported = try r.call("/definition", method: "POST", body: ["definition": Data(definition).base64EncodedString(),
                                                                        "signature": Data(signature).base64EncodedString()])
        #expect(imported.0 == 201 && imported.1["source"] as? String == "platform", "\(imported.2)")

        // The live board, followed as the platform's hall would, from here to the end.
        let board = Process(), boardFile = r.room.dir.path + "/board.sse"
        board.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        board.arguments = ["-s", "-N", "-o", boardFile, "--cacert", r.room.pki + "/room-ca.crt", "--cert", r.room.pki + "/clients/platform.crt",
                           "--key", r.room.pki + "/clients/platform.key", "https://127.0.0.1:\(r.room.port)/v1/openings/\(Self.opening)/stream"]
        try board.run()
        defer { if board.isRunning { board.terminate() } }
        for letter in ["A", "B", "C", "D", "E"] {
            let s = suppliers[letter]!
            let delivered = try r.call("/sealed-bids/\(s.code)", method: "POST", body: ["sealedBid": Data(s.sealed).base64EncodedString()])
            #expect(delivered.0 == 201, "\(letter): \(delivered.2)")
        }

        // Refusals before anyone signs in: a station may not act for a supplier; a stranger's
        // certificate and a certificate naming another organisation are recorded and refused.
        let station = try r.call("/sign-in/challenges", as: "S01", method: "POST", body: [:])
        #expect(station.0 == 403 && station.1["error"] as? String == "role-not-permitted", "\(station.2)")
        let strangerKey = try PrivateKey.generateP256()
        let stranger = try r.signIn(strangerKey, try r.certificate(strangerKey, organization: "某陌生公司", code: "52150000MJY123456K",
                                                                      usage: "critical,digitalSignature"), .ecdsaP256SHA256)
        #expect(stranger.0 == 422 && stranger.1["error"] as? String == "supplier-unknown", "\(stranger.2)")
        let wrongKey = try PrivateKey.generateP256()
        let wrong = try r.signIn(wrongKey, try r.certificate(wrongKey, organization: "北京乙信息技术有限公司", code: suppliers["A"]!.code,
                                                                usage: "critical,digitalSignature"), .ecdsaP256SHA256)
        #expect(wrong.0 == 422 && wrong.1["error"] as? String == "supplier-organization-mismatch", "\(wrong.2)")
        let noCode = try r.signIn(wrongKey, try r.certificate(wrongKey, organization: "福州甲科技有限公司", code: "not-a-code",
                                                                 usage: "critical,digitalSignature"), .ecdsaP256SHA256)
        #expect(noCode.0 == 422 && noCode.1["error"] as? String == "certificate-no-credit-code", "\(noCode.2)")

        var tokens: [String: String] = [:]
        for letter in ["A", "B", "C", "D"] {
            let s = suppliers[letter]!
            let (code, answer, text) = try r.signIn(s.signingKey, s.signing, s.algorithm)
            #expect(code == 201 && answer["supplier"] as? String == s.code, "\(letter): \(text)")
            tokens[letter] = answer["token"] as? String
        }
        #expect(try r.call("/supplier/sealed-bid").0 == 401, "no token, no bid")
        #expect(try r.call("/start", as: "operator", method: "POST").1["error"] as? String == "opening-before-deadline")

        try waitFor("the bid deadline", r.daemon, timeout: 30) { Date() > deadline.addingTimeInterval(1) }
        let late = try r.signIn(suppliers["E"]!.signingKey, suppliers["E"]!.signing, .rsaPKCS1SHA256)
        #expect(late.0 == 422 && late.1["error"] as? String == "sign-in-late", "\(late.2)")
        let started = try r.call("/start", as: "operator", method: "POST")
        #expect(started.0 == 201 && started.1["phase"] as? String == "decryption", "\(started.2)")

        // Decryption: each supplier fetches its own bid and opens it with its key; A first sends a
        // summary altered after sealing (refused and recorded), then the real one. D does nothing.
        for letter in ["A", "B", "C"] {
            let s = suppliers[letter]!
            let (code, bid, text) = try r.call("/supplier/sealed-bid", token: tokens[letter])
            #expect(code == 200, "\(letter): \(text)")
            let sealed = Array(Data(base64Encoded: bid["sealedBid"] as? String ?? "") ?? Data())
            let plaintext = try Envelope.open(sealed, key: s.encryptionKey, certificate: s.encryption)
            #expect(plaintext == s.summary)
            if letter == "A" {
                let tampered = Array(String(decoding: plaintext, as: UTF8.self).replacingOccurrences(of: "1190000", with: "1090000").utf8)
                let refused = try r.call("/supplier/decryption", method: "POST", body: ["plaintext": Data(tampered).base64EncodedString()],
                                         token: tokens[letter])
                #expect(refused.0 == 422 && refused.1["error"] as? String == "decryption-hash-mismatch", "\(refused.2)")
            }
            let decrypted = try r.call("/supplier/decryption", method: "POST", body: ["plaintext": Data(plaintext).base64EncodedString()],
                                       token: tokens[letter])
            #expect(decrypted.0 == 201, "\(letter): \(decrypted.2)")
        }
        let early = try r.call("/close-decryption", as: "operator", method: "POST")
        #expect(early.0 == 409 && early.1["error"] as? String == "decryption-window-open", "\(early.2)")

        // The window ends one minute after the start: roomd's clock closes decryption.
        try waitFor("decryption closed by the clock", r.daemon, timeout: 120) {
            try r.call("", as: "operator").1["phase"] as? String == "confirmation"
        }
        let (recordCode, record, recordText) = try r.call("/record", as: "operator")
        #expect(recordCode == 200, "\(recordText)")
        let readout = Array(Data(base64Encoded: record["readoutBytes"] as? String ?? "") ?? Data())
        #expect(Digest.sha256Hex(readout) == record["readoutSHA256"] as? String)
        // D never decrypted, E signed in late: the record says why each bid was not opened.
        #expect(recordText.contains("decryptionTimedOut") && recordText.contains("lateSignIn"), "\(recordText)")

        func sign(_ letter: String, _ bytes: [UInt8]) throws -> String {
            let s = suppliers[letter]!
            return Data(try ExpertSigner.signCMS(content: bytes, key: s.signingKey, certificate: s.signing, algorithm: s.algorithm)).base64EncodedString()
        }
        let overOther = try r.call("/supplier/confirmation", method: "POST", body: ["signature": try sign("A", Array("另一份记录".utf8))],
                                   token: tokens["A"])
        #expect(overOther.0 == 422 && overOther.1["error"] as? String == "supplier-signature-invalid", "a signature over other bytes: \(overOther.2)")
        for letter in ["A", "C"] {
            let confirmed = try r.call("/supplier/confirmation", method: "POST", body: ["signature": try sign(letter, readout)], token: tokens[letter])
            #expect(confirmed.0 == 201, "\(letter): \(confirmed.2)")
        }
        let twice = try r.call("/supplier/confirmation", method: "POST", body: ["signature": try sign("A", readout)], token: tokens["A"])
        #expect(twice.0 == 409 && twice.1["error"] as? String == "record-already-answered", "\(twice.2)")
        let othersSignature = try r.call("/supplier/confirmation", method: "POST", body: ["signature": try sign("A", readout)], token: tokens["D"])
        #expect(othersSignature.0 == 403 && othersSignature.1["error"] as? String == "signer-not-this-supplier", "\(othersSignature.2)")
        let objection = "我公司投标文件解密时限仅一分钟，时间过短，请予复核。"
        let objected = try r.call("/supplier/objection", method: "POST", body: ["text": objection, "signature": try sign("B", Array(objection.utf8))],
                                  token: tokens["B"])
        #expect(objected.0 == 201, "\(objected.2)")
        // The operator concludes with roomctl, on the admin socket.
        let concluded = try run(Binaries.roomctl, ["opening", "conclude", Self.opening, "--socket", r.room.dir.path + "/state/admin.sock"])
        #expect(concluded.status == 0 && concluded.stdout.contains("concludeOpening recorded as event") && concluded.stdout.contains("phase concluded"),
                "\(concluded.stdout)\(concluded.stderr)")

        let (_, view, viewText) = try r.call("", as: "operator")
        let rows = (view["suppliers"] as? [[String: Any]] ?? []).map { ($0["creditCode"] as? String ?? "", $0) }
        let byCode = Dictionary(rows, uniquingKeysWith: { first, _ in first })
        #expect(byCode[suppliers["A"]!.code]?["attempts"] as? [String] == ["decryption-hash-mismatch", "decrypted"], "\(viewText)")
        #expect(byCode[suppliers["A"]!.code]?["answer"] as? String == "confirmed")
        #expect(byCode[suppliers["B"]!.code]?["answer"] as? String == "objected")
        #expect(byCode[suppliers["D"]!.code]?["decrypted"] as? Bool == false)
        let rejections = (view["rejections"] as? [[String: Any]] ?? []).compactMap { $0["error"] as? String }
        #expect(rejections == ["supplier-unknown", "supplier-organization-mismatch", "sign-in-late", "decryption-hash-mismatch"], "\(rejections)")
        // Every event, accepted or recorded as a rejection, has its ledger entry.
        let events = view["events"] as? Int ?? 0
        #expect(events == 5 + 2 + 4 + 1 + 1 + 4 + 1 + 2 + 1 + 1, "\(viewText)")
        let (_, _, ledger) = try r.room.curl("/v1/ledger/entries", as: "platform")
        #expect(ledger.components(separatedBy: "\"kind\":\"opening.command\"").count - 1 == events)
        #expect(ledger.contains("\"rejection\":\"sign-in-late\""))

        // The live board carried every event as it happened: the whole view and the server's time.
        try waitFor("the live board to reach the conclusion", r.daemon, timeout: 20) {
            ((try? String(contentsOfFile: boardFile, encoding: .utf8)) ?? "").contains(#""phase":"concluded""#)
        }
        let boards = try String(contentsOfFile: boardFile, encoding: .utf8).components(separatedBy: "event: opening\ndata: ").dropFirst()
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.prefix { $0 != "\n" }.utf8))) as? [String: Any] }
        let sequences = boards.compactMap { ($0["opening"] as? [String: Any])?["events"] as? Int }
        #expect(sequences.last == events && sequences == sequences.sorted() && Set(sequences).count >= 10, "\(sequences)")
        #expect(boards.allSatisfy { abs(Int64($0["now"] as? Int ?? 0) - Int64(Date().timeIntervalSince1970 * 1000)) < 300_000 })

        // A restart replays the same opening; tokens do not survive it. The open live board does not
        // hold roomd's stop: the stream ends with the shutdown.
        let stopping = Date()
        try r.restart()
        #expect(Date().timeIntervalSince(stopping) < 15, "roomd took \(Date().timeIntervalSince(stopping)) s to stop and start")
        board.waitUntilExit()
        let (_, replayed, replayedText) = try r.call("", as: "operator")
        #expect(replayedText == viewText)
        #expect(replayed["phase"] as? String == "concluded")
        #expect(try r.call("/supplier/sealed-bid", token: tokens["A"]).0 == 401)
        #expect(try r.call("/record", as: "operator").2 == recordText)
        let shown = try run(Binaries.roomctl, ["opening", "show", Self.opening, "--socket", r.room.dir.path + "/state/admin.sock"])
        let shownView = (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? NSDictionary
        #expect(shownView != nil && shownView == (try? JSONSerialization.jsonObject(with: Data(viewText.utf8))) as? NSDictionary,
                "roomctl opening show: \(shown.stdout)\(shown.stderr)")

        try Self.checkSealedPackage(r, suppliers: suppliers, confirmed: ["A", "C"], objected: ["B"])
    }

    /// The concluded opening is sealed on its own (margin 0 here), checked and offered; `roomctl
    /// opening seal` returns that same package. The verifier accepts it — the opening's events,
    /// record and every supplier signature too — and names the file once a byte is changed in a
    /// copy; the platform pulls, verifies and acknowledges it; the evaluation part is the record's.
    static func checkSealedPackage(_ r: Room, suppliers: [String: Supplier], confirmed: [String], objected: [String]) throws {
        let key = "opening:\(opening)", socket = r.room.dir.path + "/state/admin.sock", pki = r.room.pki
        let database = r.room.dir.path + "/state/roomd.sqlite"
        func count(_ sql: String) throws -> Int64 { (try RecordingsProcessTests.sqlite(database, sql).first?.first as? NSNumber)?.int64Value ?? -1 }
        try waitFor("the opening's package to be sealed, checked and offered", r.daemon, timeout: 120) {
            try count("SELECT count(*) FROM packages WHERE session_id = '\(key)' AND cursor IS NOT NULL") == 1
        }
        let sealed = try run(Binaries.roomctl, ["opening", "seal", opening, "--json", "--socket", socket])
        #expect(sealed.status == 0, "\(sealed.stdout)\(sealed.stderr)")
        let summary = (try? JSONSerialization.jsonObject(with: Data(sealed.stdout.utf8))) as? [String: Any] ?? [:]
        #expect(summary["session"] as? String == key && summary["kind"] as? String == "opening" && summary["state"] as? String == "offered",
                "\(sealed.stdout)")
        let folder = r.room.dir.path + "/state/packages/TEST-ROOM_opening_\(opening)"
        let info = (try? String(contentsOfFile: folder + "/bag-info.txt", encoding: .utf8)) ?? ""
        #expect(info.contains("Roomd-Kind: opening\n") && info.contains("Roomd-Opening: \(opening)\n"), "\(info)")

        // Our verifier: the bag, the seal, the ledger, and the opening's own contents.
        let verified = try run(Binaries.roomctl, ["package", "verify", folder, "--ca", pki + "/room-ca.crt"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        for claim in ["events replay under the opening's rules", "every event is the opening.command entry",
                      "data/opening/record.json: exactly what the replayed events give", "data/opening/readout.json: exactly",
                      "data/opening/evaluation-opening.json: exactly", "sealed bids have the SHA-256 recorded",
                      "supplier signatures verify over their stored bytes", "the platform's signature by"] {
            #expect(verified.stdout.contains(claim), "\(claim): \(verified.stdout)")
        }
        // Every supplier signature that made an event is there as bytes signed, signature and certificate: seven
        // sign-ins (A–D, E late, the stranger and the wrong organisation, recorded as rejections), the answers.
        let signatures = try FileManager.default.contentsOfDirectory(atPath: folder + "/data/signatures")
        #expect(signatures.filter { $0.hasSuffix("-sign-in.p7s") }.count == 7, "\(signatures.sorted())")
        #expect(signatures.filter { $0.hasSuffix("-confirmation.p7s") }.count == confirmed.count)
        #expect(signatures.filter { $0.hasSuffix("-objection.crt.pem") }.count == objected.count)
        // The opening room's recordings over the opening: segments of the room's devices, hard-linked like a session's.
        let recorded = (FileManager.default.enumerator(atPath: folder + "/data/recordings")?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".mp4") }
        #expect(!recorded.isEmpty, "the opening package holds no recordings")
        #expect(FileManager.default.fileExists(atPath: folder + "/data/recordings/segments.json"))
        let bids = try FileManager.default.contentsOfDirectory(atPath: folder + "/data/opening/sealed-bids")
        #expect(bids.count == suppliers.count, "\(bids)")
        let pdf = try run("/usr/bin/pdftotext", [folder + "/data/opening/record.pdf", "-"])
        #expect(pdf.stdout.contains("开标记录") || pdf.stdout.contains(suppliers["A"]!.name), "\(pdf.stdout.prefix(400))")

        // One changed byte in a copy: refused, and the file is named.
        let copy = r.room.dir.path + "/tampered"
        #expect(try run("/bin/cp", ["-a", folder, copy]).status == 0)
        let record = copy + "/data/opening/record.json"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: record))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: record))
        let tampered = try run(Binaries.roomctl, ["package", "verify", copy, "--ca", pki + "/room-ca.crt"])
        #expect(tampered.status == 1, "\(tampered.stdout)")
        #expect(tampered.stdout.contains("FAIL  data/opening/record.json"), "\(tampered.stdout)")

        // The evaluation part: over the admin socket and HTTPS, the same bytes as the package's; the valid bids of the record.
        let part = try run(Binaries.roomctl, ["opening", "evaluation-opening", opening, "--socket", socket])
        #expect(part.status == 0, "\(part.stderr)")
        let inPackage = try String(contentsOfFile: folder + "/data/opening/evaluation-opening.json", encoding: .utf8)
        #expect(part.stdout == inPackage, "\(part.stdout)")
        let (httpsCode, _, httpsPart) = try r.call("/evaluation-opening", as: "platform")
        #expect(httpsCode == 200 && httpsPart + "\n" == inPackage, "\(httpsPart)")
        let evaluation = (try? JSONSerialization.jsonObject(with: Data(inPackage.utf8))) as? [String: Any] ?? [:]
        let lot = (evaluation["lots"] as? [[String: Any]])?.first ?? [:]
        let bidders = (lot["bidders"] as? [[String: Any]]) ?? []
        #expect(bidders.compactMap { $0["id"] as? String } == ["A", "B", "C"].map { suppliers[$0]!.code }, "\(inPackage)")
        let (_, recordJSON, _) = try r.call("/record", as: "operator")
        let readBids = (((recordJSON["readout"] as? [String: Any])?["lots"] as? [[String: Any]])?.first?["bids"] as? [[String: Any]]) ?? []
        #expect(readBids.compactMap { $0["supplier"] as? String } == bidders.compactMap { $0["id"] as? String })
        #expect(inPackage.contains("1300000") && inPackage.contains("1190000"), "\(inPackage)")

        // The platform pulls, verifies (the opening's contents too) and acknowledges: the recordings become deletable.
        let pulled = try run(Binaries.roomctl, ["platform", "pull", "--room", "https://127.0.0.1:\(r.room.port)", "--cert", pki + "/clients/platform.crt",
                                                "--key", pki + "/clients/platform.key", "--ca", pki + "/room-ca.crt",
                                                "--dir", r.room.dir.path + "/platform", "--once", "--json"], timeout: 120)
        #expect(pulled.status == 0 && pulled.stdout.contains("acknowledged"), "\(pulled.stdout)\(pulled.stderr)")
        #expect(try count("SELECT count(*) FROM package_acknowledgements WHERE session_id = '\(key)'") == 1)
        let listed = try run(Binaries.roomctl, ["package", "list", "--socket", socket])
        #expect(listed.stdout.contains(key) && listed.stdout.contains("acknowledged by the platform"), "\(listed.stdout)")
        // The key is the opening's alone: a session may not be named like it.
        let body = #"{"definition":"# + "\"\(Data(SessionProcessTests.definition.utf8).base64EncodedString())\"}"
        let (_, squatter, squatterText) = try r.room.curl("/v1/sessions/\(key)/definition", as: "operator", method: "POST", body: body)
        #expect(squatter == 400 && squatterText.contains("bad-session-id") && squatterText.contains("opening:"), "\(squatterText)")
    }
}
