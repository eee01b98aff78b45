import Foundation
import Testing

@testable import Identity

/// Sealed bids (CMS EnvelopedData / AuthEnvelopedData), judged by the openssl command line in
/// both directions, with the keys of the test PKI (Fixtures/make-test-pki.sh).
@Suite struct EnvelopeTests {
    let pki: TestPKI
    let folder: String
    /// Long enough that the middle of an envelope is ciphertext.
    let plaintext: [UInt8] = Array(String(repeating: "{\"lot\":\"1\",\"priceInWords\":\"壹佰贰拾叁万元整\"}", count: 80).utf8)

    init() throws {
        pki = try TestPKI.get()
        folder = NSTemporaryDirectory() + "roomd-envelope-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // The test PKI's P-256 leaf is a signing certificate; an encryption one (keyAgreement) for sealing.
        let key = try PrivateKey.generateP256()
        let certificate = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "福州甲科技有限公司"), ("CN", "encryption")], validity: 86_400, keyUsage: "critical,keyAgreement"),
            publicKeyOf: key, issuer: (try pki.certificate("ec/int"), try PrivateKey(pem: pki.bytes("ec/int/ca.key"))))
        try Data(try key.pkcs8PEM()).write(to: URL(fileURLWithPath: folder + "/ec-enc.key"))
        try Data(try certificate.pem()).write(to: URL(fileURLWithPath: folder + "/ec-enc.crt"))
    }

    /// Test PKI names ("rsa/enc") or the P-256 encryption certificate made above ("ec-enc").
    func path(_ who: String, _ ext: String) -> String { who == "ec-enc" ? folder + "/ec-enc." + ext : pki.path(who + "." + ext) }
    func certificate(_ who: String) throws -> Certificate { try Certificate(pem: read(path(who, "crt"))) }
    func key(_ who: String) throws -> PrivateKey { try PrivateKey(pem: read(path(who, "key"))) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// `openssl cms -decrypt` of our envelope gives back the plaintext.
    func opensslOpens(_ envelope: [UInt8], _ who: String) throws -> [UInt8] {
        let input = try file("sealed-\(UUID().uuidString.prefix(6)).der", envelope)
        let output = input + ".out"
        let result = try openssl(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", input, "-out", output,
                                  "-inkey", path(who, "key"), "-recip", path(who, "crt")])
        #expect(result.status == 0, "\(result.output)")
        return try read(output)
    }

    @Test func rsaRecipientGetsOAEPAndOpenSSLOpensIt() throws {
        let envelope = try Envelope.seal(plaintext, for: [pki.certificate("rsa/enc")])
        #expect(try Envelope.inspect(envelope) == EnvelopeSummary(
            authenticated: true, recipients: [.init(kind: .keyTransport, keyEncryption: "rsaesOaep")]))
        #expect(try Envelope.open(envelope, key: pki.key("rsa/enc"), certificate: pki.certificate("rsa/enc")) == plaintext)
        #expect(try opensslOpens(envelope, "rsa/enc") == plaintext)
    }

    @Test func p256RecipientGetsECDHWithSHA256KDFAndOpenSSLOpensIt() throws {
        let envelope = try Envelope.seal(plaintext, for: [certificate("ec-enc")], cipher: .aes256CBC)
        #expect(try Envelope.inspect(envelope) == EnvelopeSummary(
            authenticated: false, recipients: [.init(kind: .keyAgreement, keyEncryption: "dhSinglePass-stdDH-sha256kdf-scheme")]))
        #expect(try Envelope.open(envelope, key: key("ec-enc"), certificate: certificate("ec-enc")) == plaintext)
        #expect(try opensslOpens(envelope, "ec-enc") == plaintext)
    }

    @Test func oneEnvelopeForTwoRecipients() throws {
        let envelope = try Envelope.seal(plaintext, for: [pki.certificate("rsa/enc"), certificate("ec-enc")])
        #expect(try Envelope.open(envelope, key: pki.key("rsa/enc"), certificate: pki.certificate("rsa/enc")) == plaintext)
        #expect(try Envelope.open(envelope, key: key("ec-enc"), certificate: certificate("ec-enc")) == plaintext)
    }

    /// What other tools make: `openssl cms -encrypt` with its defaults and with the options
    /// roomd uses, CBC and GCM, DER and PEM.
    @Test func opensWhatOpenSSLSeals() throws {
        let input = try file("plain.json", plaintext)
        let cases: [(String, [String])] = [
            ("rsa/enc", ["-aes-256-cbc"]),                                                         // PKCS#1 v1.5 key transport
            ("rsa/enc", ["-aes-256-gcm", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"]),
            ("ec/leaf", ["-aes-256-cbc"]),                                                         // SHA-1 KDF, the default
            ("ec/leaf", ["-aes-256-gcm", "-keyopt", "ecdh_kdf_md:sha256"]),
        ]
        for (index, (who, options)) in cases.enumerated() {
            for form in ["DER", "PEM"] {
                let output = folder + "/openssl-\(index).\(form)"
                // -keyopt applies to the -recip before it.
                let cipher = options.prefix(1)
                let keyOptions = options.dropFirst()
                let result = try openssl(["cms", "-encrypt", "-binary", "-in", input, "-outform", form, "-out", output] + cipher
                                         + ["-recip", pki.path(who + ".crt")] + keyOptions)
                #expect(result.status == 0, "\(result.output)")
                let opened = try Envelope.open(read(output), key: pki.key(who), certificate: pki.certificate(who))
                #expect(opened == plaintext, "\(who) \(options) \(form)")
            }
        }
    }

    /// Suppliers hold a signing and an encryption certificate; sealing to the signing one is refused.
    @Test func onlyEncryptionCertificatesAreSealedFor() throws {
        #expect(throws: EnvelopeError.notForEncryption(try pki.certificate("ec/leaf").subject, usage: "digitalSignature,nonRepudiation",
                                                       needed: "keyAgreement")) {
            try Envelope.seal(plaintext, for: [pki.certificate("ec/leaf")])
        }
        #expect(throws: EnvelopeError.notForEncryption(try pki.certificate("rsa/leaf").subject, usage: "digitalSignature,nonRepudiation",
                                                       needed: "keyEncipherment")) {
            try Envelope.seal(plaintext, for: [pki.certificate("rsa/leaf")])
        }
        #expect(EnvelopeError.notForEncryption("x", usage: "", needed: "").chinese.contains("请使用供应商的加密证书"))
    }

    @Test func wrongKeyOrCertificateSaysWhich() throws {
        let envelope = try Envelope.seal(plaintext, for: [pki.certificate("rsa/enc")])
        #expect(throws: EnvelopeError.notARecipient(try pki.certificate("ec/leaf").subject)) {
            try Envelope.open(envelope, key: pki.key("ec/leaf"), certificate: pki.certificate("ec/leaf"))
        }
        #expect(throws: EnvelopeError.keyDoesNotMatchCertificate(try pki.certificate("rsa/enc").subject)) {
            try Envelope.open(envelope, key: pki.key("rsa/leaf"), certificate: pki.certificate("rsa/enc"))
        }
        // openssl agrees it is not for that key.
        let path = try file("for-rsa.der", envelope)
        let result = try openssl(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", path, "-inkey", pki.path("ec/leaf.key"),
                                  "-recip", pki.path("ec/leaf.crt")])
        #expect(result.status != 0 && result.output.contains("no matching recipient"))
        #expect(EnvelopeError.notARecipient("x").chinese.contains("投标时所用的加密证书"))
    }

    /// Every single changed byte of an AES-GCM envelope is refused — malformed, not for this
    /// certificate, key not unwrapped, or content failing its tag — and never opens to other bytes.
    @Test func everyAlteredByteIsRefused() throws {
        let short = Array(plaintext.prefix(64))
        let envelope = try Envelope.seal(short, for: [certificate("ec-enc")])
        let key = try key("ec-enc")
        let certificate = try certificate("ec-enc")
        var seen: Set<String> = []
        for offset in envelope.indices {
            var altered = envelope
            altered[offset] ^= 0x01
            do {
                let opened = try Envelope.open(altered, key: key, certificate: certificate)
                #expect(opened == short, "byte \(offset) changed and the envelope opened to other bytes")
            } catch {
                seen.insert(error.code)
            }
        }
        // Content type → another type; issuer or serial → another recipient; ephemeral key or
        // wrapped key → no content key; nonce, ciphertext or tag → the tag fails.
        #expect(seen == ["envelope-malformed", "envelope-wrong-type", "envelope-not-a-recipient", "envelope-key-unwrap-failed",
                         "envelope-content-altered"], "\(seen)")
        // The command line refuses a changed ciphertext byte too (it may print a part first).
        var altered = envelope
        altered[envelope.count - 40] ^= 0x01
        let path = try file("altered.der", altered)
        let result = try openssl(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", path, "-inkey", self.path("ec-enc", "key"),
                                  "-recip", self.path("ec-enc", "crt"), "-out", path + ".out"])
        #expect(result.status != 0)
        #expect(throws: EnvelopeError.self) { try Envelope.open(altered, key: key, certificate: certificate) }
    }

    @Test func notAnEnvelopeAtAll() throws {
        let signature = try ExpertSigner.signCMS(content: plaintext, key: pki.key("ec/leaf"), certificate: pki.certificate("ec/leaf"),
                                                 algorithm: .ecdsaP256SHA256)
        #expect(throws: EnvelopeError.notAnEnvelope("pkcs7-signedData")) {
            try Envelope.open(signature, key: pki.key("ec/leaf"), certificate: pki.certificate("ec/leaf"))
        }
        #expect(throws: EnvelopeError.self) { try Envelope.inspect(Array("不是信封".utf8)) }
        #expect(throws: EnvelopeError.noRecipients) { try Envelope.seal(plaintext, for: []) }
    }

    /// SM2: refused in both directions with the reason, which the command line confirms.
    @Test func sm2EnvelopesAreRefusedAsOpenSSL30CannotMakeThem() throws {
        #expect(throws: EnvelopeError.sm2NotSupported) { try Envelope.seal(plaintext, for: [pki.certificate("sm2/leaf")]) }
        let envelope = try Envelope.seal(plaintext, for: [pki.certificate("rsa/enc")])
        #expect(throws: EnvelopeError.sm2NotSupported) {
            try Envelope.open(envelope, key: pki.key("sm2/leaf"), certificate: pki.certificate("sm2/leaf"))
        }
        let input = try file("plain-sm2.json", plaintext)
        for cipher in ["-aes-256-cbc", "-sm4-cbc"] {
            let result = try openssl(["cms", "-encrypt", "-binary", "-in", input, "-outform", "DER", "-out", input + ".der", cipher,
                                      pki.path("sm2/leaf.crt")])
            #expect(result.status != 0, "OpenSSL \(cipher) sealed for SM2 after all: update Envelope and docs/formats.md")
        }
        #expect(EnvelopeError.sm2NotSupported.chinese.contains("OpenSSL 3.0"))
    }
}
