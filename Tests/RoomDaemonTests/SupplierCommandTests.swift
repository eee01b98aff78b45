import Foundation
import Testing

/// `roomctl supplier encrypt|decrypt`, the real binary, judged by `openssl cms` in both directions
/// with keys the openssl command line made.
@Suite struct SupplierCommandTests {
    let folder: TemporaryDirectory
    /// An opening summary as a bid tool writes it: lot 1 agrees, lot 2's words say 1,250,000.
    let summary = """
        {"lots":[{"lot":"1","priceInFigures":"1234567.89","priceInWords":"人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"},\
        {"lot":"2","priceInFigures":"1205000","priceInWords":"壹佰贰拾伍万元整"}],\
        "project":"NMG-2026-0188","supplier":"91350100M000100Y43","version":1}
        """

    init() throws {
        folder = try TemporaryDirectory("roomd-supplier")
        for (name, keygen) in [("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                               ("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                               ("sm2", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"])] {
            try openssl(["genpkey"] + keygen + ["-out", path("\(name).key")])
            try openssl(["req", "-new", "-x509", "-key", path("\(name).key"), "-subj", "/O=福州甲科技有限公司/CN=\(name) encryption",
                         "-days", "30", "-out", path("\(name).crt")] + (name == "sm2" ? ["-sm3", "-sigopt", "distid:1234567812345678"] : []))
        }
    }

    func path(_ name: String) -> String { folder.path + "/" + name }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> ProcessResult {
        let result = try run("/usr/bin/openssl", arguments)
        #expect(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    func roomctl(_ arguments: [String]) throws -> ProcessResult { try run(Binaries.roomctl, ["supplier"] + arguments) }

    func sha256(_ file: String) throws -> String {
        try openssl(["dgst", "-sha256", "-r", file]).stdout.split(separator: " ")[0].lowercased()
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func sealedByRoomctlOpenedByOpenSSL() throws {
        let plain = try folder.write("summary.json", summary)
        for name in ["rsa", "ec"] {
            let result = try roomctl(["encrypt", "--cert", path("\(name).crt"), "--in", plain, "--out", path("\(name).p7e"), "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let answer = try json(result.stdout)
            #expect(answer["summarySHA256"] as? String == (try sha256(plain)))
            #expect(answer["sealedBidSHA256"] as? String == (try sha256(path("\(name).p7e"))))
            let recipient = try #require((answer["recipients"] as? [[String: Any]])?.first)
            #expect(recipient["keyEncryption"] as? String == (name == "rsa" ? "rsaesOaep" : "dhSinglePass-stdDH-sha256kdf-scheme"))
            try openssl(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", path("\(name).p7e"), "-inkey", path("\(name).key"),
                         "-recip", path("\(name).crt"), "-out", path("\(name).out")])
            #expect(FileManager.default.contents(atPath: path("\(name).out")) == Data(summary.utf8))
        }
    }

    @Test func sealedByOpenSSLOpenedByRoomctl() throws {
        let plain = try folder.write("summary.json", summary)
        try openssl(["cms", "-encrypt", "-binary", "-aes-256-gcm", "-in", plain, "-outform", "DER", "-out", path("bid.p7e"),
                     "-recip", path("ec.crt")])
        let result = try roomctl(["decrypt", "--key", path("ec.key"), "--cert", path("ec.crt"), "--in", path("bid.p7e"),
                                  "--out", path("opened.json"), "--expect-sha256", try sha256(plain), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: path("opened.json")) == Data(summary.utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: path("opened.json"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let answer = try json(result.stdout)
        #expect(answer["openingSummary"] as? Bool == true)
        let lots = try #require(answer["lots"] as? [[String: Any]])
        #expect(lots.map { $0["consistent"] as? Bool } == [true, false])
        #expect(lots[1]["wordsValue"] as? String == "1250000")

        // The text form says the same for a person.
        let text = try roomctl(["decrypt", "--key", path("ec.key"), "--cert", path("ec.crt"), "--in", path("bid.p7e"),
                                "--out", path("opened2.json")])
        #expect(text.status == 0)
        #expect(text.stdout.contains("lot 2: 1205000 / 壹佰贰拾伍万元整 — FLAG: words 1250000 ≠ figures 1205000"))
    }

    @Test func refusalsInBothLanguages() throws {
        let plain = try folder.write("summary.json", summary)
        #expect(try roomctl(["encrypt", "--cert", path("rsa.crt"), "--in", plain, "--out", path("bid.p7e")]).status == 0)

        // Another supplier's key and certificate.
        let wrong = try roomctl(["decrypt", "--key", path("ec.key"), "--cert", path("ec.crt"), "--in", path("bid.p7e"), "--out", path("x")])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("该投标文件不是用此证书加密的") && wrong.stderr.contains("no recipient for the certificate"))
        #expect(!FileManager.default.fileExists(atPath: path("x")))

        // The key of one certificate with another.
        let mismatch = try roomctl(["decrypt", "--key", path("ec.key"), "--cert", path("rsa.crt"), "--in", path("bid.p7e"),
                                    "--out", path("x"), "--json"])
        #expect(mismatch.status == 1)
        #expect(try json(mismatch.stdout)["error"] as? String == "envelope-key-certificate-mismatch")

        // A changed byte in the ciphertext (GCM): refused, nothing written.
        var altered = try #require(FileManager.default.contents(atPath: path("bid.p7e")))
        altered[altered.count - 30] ^= 0x01
        try altered.write(to: URL(fileURLWithPath: path("altered.p7e")))
        let tampered = try roomctl(["decrypt", "--key", path("rsa.key"), "--cert", path("rsa.crt"), "--in", path("altered.p7e"),
                                    "--out", path("x"), "--json"])
        #expect(tampered.status == 1)
        #expect(try json(tampered.stdout)["error"] as? String == "envelope-content-altered")
        #expect(!FileManager.default.fileExists(atPath: path("x")))

        // The right key, but not the summary the definition fixed.
        let other = try roomctl(["decrypt", "--key", path("rsa.key"), "--cert", path("rsa.crt"), "--in", path("bid.p7e"),
                                 "--out", path("x"), "--expect-sha256", String(repeating: "0", count: 64)])
        #expect(other.status == 1 && other.stderr.contains("摘要值") && other.stderr.contains("the definition expects"))

        // SM2: refused with the reason.
        let sm2 = try roomctl(["encrypt", "--cert", path("sm2.crt"), "--in", plain, "--out", path("sm2.p7e")])
        #expect(sm2.status == 1 && sm2.stderr.contains("暂不支持SM2数字信封") && sm2.stderr.contains("OpenSSL 3.0"))

        let missing = try roomctl(["decrypt", "--key", path("none.key"), "--cert", path("rsa.crt"), "--in", path("bid.p7e"), "--out", path("x")])
        #expect(missing.status == 1 && missing.stderr.contains("无法读取私钥文件") && missing.stderr.contains("cannot read the key file"))
    }
}
