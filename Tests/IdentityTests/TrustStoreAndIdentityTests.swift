import Foundation
import Testing

@testable import Identity

/// Trust-store loading, signer identity extraction and the DER reader/writer.
struct TrustStoreAndIdentityTests {
    let pki: TestPKI

    init() throws { pki = try TestPKI.get() }

    func makeFolder(anchors: [String], intermediates: [String] = [], crls: [String] = []) throws -> String {
        let root = NSTemporaryDirectory() + "trust-\(UUID().uuidString)"
        for (sub, files) in [("anchors", anchors), ("intermediates", intermediates), ("crls", crls)] where !files.isEmpty {
            try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
            for file in files {
                try FileManager.default.copyItem(atPath: pki.path(file),
                                                 toPath: root + "/\(sub)/" + file.replacingOccurrences(of: "/", with: "-"))
            }
        }
        return root
    }

    @Test func loadsAFolderOfAnchorsIntermediatesAndPEMOrDERCRLs() throws {
        let folder = try makeFolder(anchors: ["sm2/root.crt"], intermediates: ["sm2/int.crt"], crls: ["sm2/int.crl.der"])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A DER certificate among the anchors, and a hidden file that is ignored.
        let (status, output) = try openssl(["x509", "-in", pki.path("ec/root.crt"), "-outform", "DER", "-out", folder + "/anchors/ec-root.der"])
        #expect(status == 0, "\(output)")
        try Data("junk".utf8).write(to: URL(fileURLWithPath: folder + "/anchors/.notes"))

        let store = try TrustStore.load(directory: folder)
        #expect(store.anchors.count == 2 && store.intermediates.count == 1 && store.crls.count == 1)
        #expect(store.crls[0].issuer.contains("sm2 cloud-sign intermediate"))
        #expect(store.crls[0].nextUpdate != nil && store.crls[0].thisUpdate < Date())

        let verifier = SignatureVerifier(trust: store)
        let document = Array("x".utf8)
        let revoked = SubmittedSignature.raw(signature: try ExpertSigner.signRaw(message: document, key: pki.key("sm2/revoked"), algorithm: .sm2SM3),
                                             certificate: try pki.certificate("sm2/revoked"))
        #expect(verifier.verify(revoked, over: document, at: Date()).rejectionCode == .certificateRevoked)

        // Same files, same identifier; a changed CRL folder, another one.
        #expect(try TrustStore.load(directory: folder).identifier == store.identifier)
        try FileManager.default.removeItem(atPath: folder + "/crls/sm2-int.crl.der")
        let reloaded = try TrustStore.load(directory: folder)
        #expect(reloaded.identifier != store.identifier && reloaded.generation > store.generation)
        verifier.replaceTrust(reloaded)
        #expect(verifier.verify(revoked, over: document, at: Date()).accepted != nil)
    }

    @Test func refusesAFolderWithoutAnchorsAndNamesAnUnreadableFile() throws {
        let empty = NSTemporaryDirectory() + "trust-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: TrustStoreError.self) { try TrustStore.load(directory: empty) }
        try FileManager.default.createDirectory(atPath: empty + "/anchors", withIntermediateDirectories: true)
        #expect(throws: TrustStoreError.self) { try TrustStore.load(directory: empty) }  // no anchor at all
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: empty + "/anchors/bad.pem"))
        do {
            _ = try TrustStore.load(directory: empty)
            Issue.record("a bad anchor file was accepted")
        } catch {
            #expect("\(error)".contains("bad.pem"))
        }
    }

    @Test func readsNameAndIDNumberFromSerialNumberGMT0015SubjectOrExtensionOrAConfiguredOID() throws {
        let leaf = SignerIdentity(certificate: try pki.certificate("rsa/leaf"))
        #expect(leaf == SignerIdentity(name: "张三", idNumber: "11010519491231002X", idNumberSource: .subjectSerialNumber))
        let rdn = SignerIdentity(certificate: try pki.certificate("sm2/gmt-rdn"))
        #expect(rdn == SignerIdentity(name: "冯二", idNumber: "440301199001011234", idNumberSource: .gmt0015Subject))
        let ext = SignerIdentity(certificate: try pki.certificate("sm2/gmt-ext"))
        #expect(ext == SignerIdentity(name: "郑一", idNumber: "440301199001011234", idNumberSource: .gmt0015Extension))
        // A configured OID wins over serialNumber (here: organizationName, to show the lookup).
        let configured = SignerIdentity(certificate: try pki.certificate("rsa/leaf"), idNumberOID: "2.5.4.10")
        #expect(configured.idNumber == "某某大学" && configured.idNumberSource == .configuredOID)
        // An OID nobody uses falls back to the standard places; a certificate without any has none.
        #expect(SignerIdentity(certificate: try pki.certificate("rsa/leaf"), idNumberOID: "1.2.3.4").idNumberSource == .subjectSerialNumber)
        let root = SignerIdentity(certificate: try pki.certificate("rsa/root"))
        #expect(root.name == "rsa cloud-sign root" && root.idNumber == nil && root.idNumberSource == nil)
    }

    @Test func certificateAccessorsReportKeyAndUsage() throws {
        let rsa = try pki.certificate("rsa/leaf")
        #expect(rsa.publicKeyAlgorithm == .rsa && rsa.publicKeyBits == 2048)
        #expect(rsa.keyUsage == [.digitalSignature, .nonRepudiation])
        #expect(try pki.certificate("rsa/weak").publicKeyBits == 1024)
        #expect(try pki.certificate("rsa/enc").keyUsage == [.keyEncipherment])
        #expect(try pki.certificate("ec/leaf").publicKeyAlgorithm == .ecP256)
        #expect(try pki.certificate("sm2/leaf").publicKeyAlgorithm == .sm2)
        #expect(try pki.certificate("sm2/int").keyUsage == [.keyCertSign, .cRLSign])
        let (_, serial) = try openssl(["x509", "-in", pki.path("sm2/revoked.crt"), "-noout", "-serial"])
        #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines) == "serial=" + (try pki.certificate("sm2/revoked")).serialNumberHex)
    }

    @Test func rejectionCodesAreStableAndEveryRejectionSpeaksChinese() {
        let codes = SignatureRejectionCode.allCases.map(\.rawValue)
        #expect(Set(codes).count == codes.count)
        #expect(SignatureRejectionCode(rawValue: "certificate-revoked") == .certificateRevoked)
        #expect(SignatureRejectionCode(rawValue: "digest-mismatch") == .digestMismatch)
        let samples: [SignatureRejection] = [
            .untrusted("x"), .expired(subject: "s", isLeaf: true, notAfter: Date(timeIntervalSince1970: 1_767_225_600)),
            .notYetValid(subject: "s", isLeaf: false, notBefore: Date()), .revoked(subject: "s", serial: "01", at: nil),
            .crlExpired(issuer: "i", nextUpdate: Date()), .crlInvalid(issuer: "i", reason: "r"), .crlMissing(issuer: "i"),
            .keyUsage(subject: "s", usage: nil), .weakKey(subject: "s", bits: 1024), .unsupported("u"),
            .signatureInvalid("x"), .malformedSignature("x"), .malformedCertificate("x"), .digestMismatch("x"),
        ]
        #expect(Set(samples.map(\.code)) == Set(SignatureRejectionCode.allCases))
        for rejection in samples {
            #expect(rejection.chineseMessage.unicodeScalars.contains { $0.properties.isIdeographic }, "\(rejection.code)")
            #expect(rejection.chineseMessage.contains("请"), "\(rejection.code) says what to do")
        }
        // 2026-01-01 00:00 UTC is 08:00 in Beijing.
        #expect(samples[1].chineseMessage == "签名证书已过期（有效期至 2026-01-01 08:00），请在云签 App 中更新证书后重新签名。")
    }

    @Test func derReaderHandlesIndefiniteLengthsAndRefusesLiesAboutLengths() throws {
        // SEQUENCE (indefinite) { INTEGER 5, OCTET STRING "ab" } 00 00
        let ber: [UInt8] = [0x30, 0x80, 0x02, 0x01, 0x05, 0x04, 0x02, 0x61, 0x62, 0x00, 0x00]
        let node = try DER.Reader.single(ber[...])
        let children = try node.children()
        #expect(children.map(\.tag) == [DER.Tag.integer, DER.Tag.octetString])
        #expect(Array(children[1].contents) == [0x61, 0x62])
        #expect(node.encoded.count == ber.count)
        for bad: [UInt8] in [[0x30, 0x05, 0x02, 0x01], [0x04, 0x80, 0x00, 0x00], [0x30, 0x80, 0x02, 0x01, 0x05],
                             [0x1f, 0x01, 0x00], [0x30, 0x85, 1, 0, 0, 0, 0], [0x02, 0x01, 0x05, 0x00]] {
            #expect(throws: DER.Error.self) { try DER.Reader.single(bad[...]) }
        }
    }

    @Test func derWriterRoundTripsOIDsTimesAndSortsSets() throws {
        for oid in [OID.gbtSignedData, OID.sha256, OID.rsassaPSS, "2.999.1", "1.2.156.10260.4.1.1"] {
            #expect(try DER.Reader.single(DER.oid(oid)[...]).oid() == oid)
        }
        for seconds in [0.0, 1_767_225_600, 2_556_143_999, 4_102_444_800] {  // 1970, 2026, 2050-12-31, 2100
            let date = Date(timeIntervalSince1970: seconds)
            #expect(try DER.Reader.single(DER.time(date)[...]).time() == date)
        }
        #expect(DER.time(Date(timeIntervalSince1970: 4_102_444_800)).first == DER.Tag.generalizedTime)
        // The arithmetic calendar agrees with Foundation's, and refuses dates that do not exist.
        let iso = ISO8601DateFormatter()
        for seconds in stride(from: -2_000_000_000, to: 8_000_000_000, by: 86_399 * 97) {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let text = String(decoding: DER.time(date).dropFirst(2), as: UTF8.self)
            let full = text.count == 13 ? (Int(text.prefix(2))! < 50 ? "20" : "19") + text : text
            let formatted = iso.string(from: date).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
                .replacingOccurrences(of: "T", with: "")
            #expect(full == formatted, "\(seconds)")
        }
        for text in ["260230000000Z", "261301000000Z", "260101240000Z", "250229000000Z", "2601010000Z", "260101000000+0800"] {
            #expect(throws: DER.Error.self, "\(text)") { try DER.Reader.single(DER.encode(DER.Tag.utcTime, Array(text.utf8))[...]).time() }
        }
        #expect(try DER.Reader.single(DER.encode(DER.Tag.utcTime, Array("240229120000Z".utf8))[...]).time()
            == Date(timeIntervalSince1970: 1_709_208_000))
        let set = DER.set([[0x04, 0x01, 0x02], [0x02, 0x01, 0x07]])
        #expect(set == [0x31, 0x06, 0x02, 0x01, 0x07, 0x04, 0x01, 0x02])
        let long = DER.octetString(Array(repeating: 0xaa, count: 300))
        #expect(Array(long.prefix(4)) == [0x04, 0x82, 0x01, 0x2c])
    }
}
