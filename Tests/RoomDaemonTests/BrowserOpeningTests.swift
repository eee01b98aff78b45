import Canonical
import Foundation
import Identity
import Testing

/// A whole opening (开标) in real browsers: the operator's console in headless Chromium with the
/// operator's client certificate, and four suppliers' pages, each in a Chromium of its own with the
/// platform's certificate (the platform's hall relays them). The suppliers sign in with RSA, ECDSA
/// P-256 and SM2 certificates of a test supplier CA (the SM2 supplier's bid is sealed to a P-256
/// encryption certificate: OpenSSL 3.0's CMS cannot seal to SM2); their USBKeys are played by key
/// files (`roomctl expert sign`, `roomctl supplier decrypt`) on the files the pages offer. One
/// signature over other bytes and one wrong summary are refused on the page; D never decrypts and
/// the one-minute window closes by roomd's clock; C's figures and words disagree and are flagged;
/// A and C confirm, B objects; the operator concludes. The driver is Fixtures/browser_opening.py;
/// it saves a screenshot of every step in .build/test-screenshots/browser-opening. Afterwards the
/// record, the failure reasons and every signature are checked through the API and verified here,
/// and the opening's sealed package passes `roomctl package verify`.
@Suite(.serialized)
struct BrowserOpeningTests {
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/browser_opening.py").path

    @Test func fourSuppliersAndTheOperatorRunAWholeOpeningInChromium() throws {
        let began = Date()
        let r = try OpeningProcessTests.Room()
        defer { _ = r.daemon.terminate() }

        // A: RSA signing and encryption. B: ECDSA P-256. C: SM2 signing, P-256 encryption; its
        // words say 1,180,000 where its figures say 1,190,000. D: ECDSA P-256, never decrypts.
        let people: [(String, String, String)] = [
            ("A", "福州甲科技有限公司", "91350100M000100Y43"), ("B", "北京乙信息技术有限公司", "91110108MA01XXXXXB"),
            ("C", "内蒙古丙电子有限责任公司", "91150100MA0N7L2K1Q"), ("D", "深圳丁设备有限公司", "91440300708461136T"),
        ]
        let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], p256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        var files: [String: [String: String]] = [:]
        var suppliers: [String: OpeningProcessTests.Supplier] = [:]
        for (letter, name, code) in people {
            let keygen = letter == "A" ? rsa : letter == "C" ? ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"] : p256
            let signingKey = try r.opensslKey("sign-\(letter)", keygen)
            let encryptionKey = letter == "C" ? try r.opensslKey("enc-\(letter)", p256) : signingKey
            let encryption = try r.certificate(encryptionKey, organization: name, code: code, usage: letter == "A" ? "critical,keyEncipherment" : "critical,keyAgreement")
            let summary = Array("""
                {"lots":[{"lot":"1","priceInFigures":"1190000","priceInWords":"\(letter == "C" ? "壹佰壹拾捌万元整" : "壹佰壹拾玖万元整")"}],\
                "project":"NMG-2026-0188","supplier":"\(code)","version":1}
                """.utf8)
            let s = OpeningProcessTests.Supplier(
                name: name, code: code, signingKey: signingKey,
                signing: try r.certificate(signingKey, organization: name, code: code, usage: "critical,digitalSignature,nonRepudiation"),
                algorithm: letter == "A" ? .rsaPKCS1SHA256 : letter == "C" ? .sm2SM3 : .ecdsaP256SHA256, encryptionKey: encryptionKey,
                encryption: encryption, summary: summary, sealed: try Envelope.seal(summary, for: [encryption]))
            suppliers[letter] = s
            // The key files roomctl reads (the USBKey's part): openssl wrote the keys, the certificates are written here.
            let dir = r.room.dir.path
            try Data(try s.signing.pem()).write(to: URL(fileURLWithPath: "\(dir)/sign-\(letter).crt"))
            try Data(try s.encryption.pem()).write(to: URL(fileURLWithPath: "\(dir)/enc-\(letter).crt"))
            files[letter] = [
                "code": code, "name": name, "key": "\(dir)/sign-\(letter).key", "cert": "\(dir)/sign-\(letter).crt",
                "algorithm": letter == "A" ? "rsa-pkcs1" : letter == "C" ? "sm2" : "ecdsa",
                "encryptionKey": "\(dir)/\(letter == "C" ? "enc" : "sign")-\(letter).key", "encryptionCert": "\(dir)/enc-\(letter).crt",
                "summarySHA256": Digest.sha256Hex(summary),
            ]
        }
        // Time enough for five browsers to start and four suppliers to sign in on a busy machine;
        // the window is the shortest a definition allows (one minute).
        let definition = try OpeningProcessTests.definition(deadline: Date().addingTimeInterval(60), suppliers: people.map { suppliers[$0.0]! })
        let signature = try r.signedByPlatform(definition)
        let imported = try r.call("/definition", method: "POST", body: ["definition": Data(definition).base64EncodedString(),
                                                                        "signature": Data(signature).base64EncodedString()])
        #expect(imported.0 == 201, "\(imported.2)")
        for (letter, _, code) in people {
            let delivered = try r.call("/sealed-bids/\(code)", method: "POST", body: ["sealedBid": Data(suppliers[letter]!.sealed).base64EncodedString()])
            #expect(delivered.0 == 201, "\(letter): \(delivered.2)")
        }

        // The pages are the operator's and the platform's: a station gets neither, nor the live board.
        for (path, allowed) in [("/opening", "operator"), ("/opening/supplier", "platform"),
                                ("/v1/openings/\(OpeningProcessTests.opening)/stream", "operator")] {
            let refused = try r.room.curl(path, as: "S01")
            #expect(refused.1 == 403 && refused.2.contains("role-not-permitted"), "\(path): \(refused)")
            if path.hasPrefix("/opening") { #expect(try r.room.curl(path, as: allowed).1 == 200, "\(path) as \(allowed)") }
        }
        #expect(try r.room.curl("/opening/supplier", as: "operator").1 == 403)
        #expect(try r.room.curl("/opening", as: "platform").1 == 403)

        let policy = try r.room.installChromiumCertificatePolicy()
        defer { try? FileManager.default.removeItem(atPath: policy) }

        let suppliersFile = r.room.dir.path + "/suppliers.json"
        try JSONSerialization.data(withJSONObject: files).write(to: URL(fileURLWithPath: suppliersFile))
        let shots = Binaries.directory.deletingLastPathComponent().appendingPathComponent("test-screenshots/browser-opening").path
        try? FileManager.default.removeItem(atPath: shots)
        let browsersBegan = Date()
        let result = try run("/usr/bin/python3", [Self.driver, r.room.dir.path, String(r.room.port), Binaries.roomctl,
                                                  OpeningProcessTests.opening, shots, suppliersFile])
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(result.status == 0 && last.contains(#""ok": true"#),
                "browser opening failed:\n\(result.stdout.suffix(3000))\n\(result.stderr.suffix(4000))\nroomd log:\n\(r.daemon.log.suffix(3000))")
        guard result.status == 0 else { return }

        // What the pages showed is what roomd recorded: phases, answers, the reasons.
        let (_, view, viewText) = try r.call("", as: "operator")
        #expect(view["phase"] as? String == "concluded", "\(viewText)")
        let rows = Dictionary((view["suppliers"] as? [[String: Any]] ?? []).map { ($0["creditCode"] as? String ?? "", $0) },
                              uniquingKeysWith: { first, _ in first })
        func row(_ letter: String) -> [String: Any] { rows[files[letter]!["code"]!] ?? [:] }
        #expect(row("A")["attempts"] as? [String] == ["decryption-hash-mismatch", "decrypted"], "\(viewText)")
        #expect(row("A")["answer"] as? String == "confirmed" && row("C")["answer"] as? String == "confirmed")
        #expect(row("B")["answer"] as? String == "objected" && (row("B")["objection"] as? String)?.contains("大小写不一致") == true)
        #expect(row("D")["status"] as? String == "timedOut" && row("D")["answer"] == nil, "\(row("D"))")
        let rejections = (view["rejections"] as? [[String: Any]] ?? []).compactMap { $0["error"] as? String }
        #expect(rejections == ["decryption-hash-mismatch"], "\(rejections)")
        let (_, recordAnswer, recordText) = try r.call("/record", as: "operator")
        let readout = Array(Data(base64Encoded: recordAnswer["readoutBytes"] as? String ?? "") ?? Data())
        #expect(last.contains(Digest.sha256Hex(readout)), "the pages signed the read-out roomd serves: \(last)")
        let table = (view["table"] as? [[String: Any]])?.first ?? [:]
        let bids = table["bids"] as? [[String: Any]] ?? []
        #expect(bids.count == 3 && bids.filter { $0["flagged"] as? Bool == true }.map { $0["supplier"] as? String } == [files["C"]!["code"]], "\(recordText)")
        let invalid = table["invalid"] as? [[String: Any]] ?? []
        #expect(invalid.map { $0["supplier"] as? String } == [files["D"]!["code"]] && (invalid.first?["reason"] as? String)?.contains("未在解密时限") == true)
        #expect(recordText.contains("decryptionTimedOut"), "\(recordText)")

        // Every signature the pages carried verifies against the supplier CA and is the supplier's own
        // signing certificate: the confirmations over the read-out bytes, the objection over its text.
        let verifier = SignatureVerifier(trust: try TrustStore.load(directory: r.room.dir.path + "/suppliers"),
                                         revocation: RevocationPolicy(missingCRL: .accept))
        let answers = ((view["record"] as? [String: Any])?["suppliers"] as? [[String: Any]] ?? [])
        for (letter, _, code) in people where letter != "D" {
            let answer = answers.first { $0["supplier"] as? String == code }?["answer"] as? [String: Any] ?? [:]
            let (signed, over): (String?, [UInt8]) = if let objected = answer["objected"] as? [String: Any] {
                (objected["signature"] as? String, Array((objected["text"] as? String ?? "").utf8))
            } else {
                ((answer["confirmed"] as? [String: Any])?["signature"] as? String, readout)
            }
            let bytes = try #require(signed.flatMap { Data(base64Encoded: $0) }, "\(letter): \(answer)")
            switch verifier.verify(.cms(Array(bytes)), over: over, at: Date()) {
            case .success(let verified):
                #expect(verified.signerFingerprint == Digest.sha256Hex(try suppliers[letter]!.signing.derBytes()), "\(letter)")
            case .failure(let rejection):
                Issue.record("\(letter)'s signature does not verify: \(rejection)")
            }
        }
        // The concluded opening is sealed on its own; roomctl's offline verifier accepts the package: the
        // events replay, the record is what they give, and every signature the pages carried is in it and
        // verifies over its stored bytes (four sign-ins — A's refused one made no event —, two confirmations, one objection).
        let folder = r.room.dir.path + "/state/packages/TEST-ROOM_opening_\(OpeningProcessTests.opening)"
        try waitFor("the opening's package to be sealed and offered", r.daemon, timeout: 120) {
            try run(Binaries.roomctl, ["package", "list", "--socket", r.room.dir.path + "/state/admin.sock"]).stdout
                .split(separator: "\n").contains { $0.contains("opening:\(OpeningProcessTests.opening)") && $0.contains("offered") }
        }
        let verified = try run(Binaries.roomctl, ["package", "verify", folder, "--ca", r.room.pki + "/room-ca.crt"])
        #expect(verified.status == 0 && verified.stdout.contains("supplier signatures verify over their stored bytes")
                && verified.stdout.contains("data/opening/record.json: exactly what the replayed events give"), "\(verified.stdout)\(verified.stderr)")
        let stored = try FileManager.default.contentsOfDirectory(atPath: folder + "/data/signatures")
        #expect(stored.filter { $0.hasSuffix("-sign-in.p7s") }.count == 4 && stored.filter { $0.hasSuffix("-confirmation.p7s") }.count == 2
                && stored.filter { $0.hasSuffix("-objection.p7s") }.count == 1, "\(stored.sorted())")
        let packaged = try String(contentsOfFile: folder + "/data/opening/record.json", encoding: .utf8)
        #expect(packaged.contains("decryptionTimedOut") && packaged.contains(files["B"]!["code"]!), "\(packaged.prefix(2000))")

        // Every event has its ledger entry.
        let (_, _, ledger) = try r.room.curl("/v1/ledger/entries", as: "platform")
        #expect(ledger.components(separatedBy: "\"kind\":\"opening.command\"").count - 1 == view["events"] as? Int)
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: shots)) ?? []
        #expect(screenshots.count >= 20, "\(screenshots.count) screenshots")
        print("BrowserOpeningTests: set up in \(Int(browsersBegan.timeIntervalSince(began))) s, browsers in "
              + "\(Int(Date().timeIntervalSince(browsersBegan))) s: \(last)")
    }
}
