import Foundation
import Testing

@testable import Identity

/// The demo PKI, checked with the openssl command line as an independent judge.
struct DemoPKITests {
    @Test func createsAVerifiableRoomPKIWithPrivateKeysOnlyForTheOwner() throws {
        let dir = NSTemporaryDirectory() + "pki-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = DemoPKI(directory: dir, roomID: "R-7")
        let issued = try pki.create(serverNames: ["room7.local"], serverIPs: ["127.0.0.1"])
        #expect(issued.map(\.name) == ["room-ca", "server", "room-seal"] + DemoPKI.stationIDs + ["operator", "supervisor", "platform"])
        // The seal certificate is for the server key, fit for S/MIME signing (what openssl cms -verify asks).
        let (_, sealText) = try openssl(["x509", "-in", pki.layout.sealCertificate, "-noout", "-ext", "keyUsage,extendedKeyUsage"])
        #expect(sealText.contains("E-mail Protection") && sealText.contains("Non Repudiation"), "\(sealText)")
        let (_, sealKey) = try openssl(["x509", "-in", pki.layout.sealCertificate, "-noout", "-pubkey"])
        let (_, serverKey) = try openssl(["pkey", "-in", pki.layout.serverKey, "-pubout"])
        #expect(sealKey == serverKey)

        for item in issued.dropFirst() {
            let (status, output) = try openssl(["verify", "-CAfile", pki.layout.caCertificate, item.certificatePath])
            #expect(status == 0, "\(item.name): \(output)")
        }
        for item in issued {
            let mode = try FileManager.default.attributesOfItem(atPath: item.keyPath)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(item.keyPath)")
            // The fingerprint we record is the one openssl computes.
            let (_, fp) = try openssl(["x509", "-in", item.certificatePath, "-noout", "-fingerprint", "-sha256"])
            let expected = fp.split(separator: "=").last!.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: ":", with: "").lowercased()
            #expect(item.fingerprint == expected)
            // Each key is ECDSA P-256 and belongs to its certificate.
            let (_, text) = try openssl(["pkey", "-in", item.keyPath, "-noout", "-text"])
            #expect(text.contains("prime256v1") || text.contains("P-256"))
        }

        let (_, serverText) = try openssl(["x509", "-in", pki.layout.serverCertificate, "-noout", "-ext", "subjectAltName,extendedKeyUsage"])
        #expect(serverText.contains("DNS:room7.local") && serverText.contains("IP Address:127.0.0.1"))
        #expect(serverText.contains("TLS Web Server Authentication"))

        let s03 = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: pki.layout.clientCertificate("S03")))))
        #expect(s03.subjectAltNameURIs == ["urn:roomd:station:S03"])
        #expect(s03.subject == "CN=S03,OU=R-7,O=roomd")
        #expect(s03.issuer == "CN=roomd room CA R-7,OU=R-7,O=roomd")
        #expect(!s03.isCA)
        let ca = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: pki.layout.caCertificate))))
        #expect(ca.isCA)
        #expect(s03.isIssued(byNameOf: ca))
        #expect(s03.notBefore < Date() && s03.notAfter > Date().addingTimeInterval(800 * 86_400))
    }

    @Test func refusesToReplaceAnExistingCAUnlessForced() throws {
        let dir = NSTemporaryDirectory() + "pki-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = DemoPKI(directory: dir, roomID: "R")
        try pki.create()
        let before = try Data(contentsOf: URL(fileURLWithPath: pki.layout.caCertificate))
        #expect(throws: DemoPKIError.self) { try pki.create() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki.layout.caCertificate)) == before)
        try pki.create(force: true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki.layout.caCertificate)) != before)
    }

    @Test func parsesDERAndPEMBundles() throws {
        let key = try PrivateKey.generateP256()
        let cert = try CertificateIssuer.issue(CertificateRequest(subject: [("CN", "x")], validity: 3600, isCA: true), publicKeyOf: key)
        let again = try Certificate(der: try cert.derBytes())
        #expect(try again.sha256Fingerprint() == cert.sha256Fingerprint())
        let bundle = try cert.pem() + again.pem()
        #expect(try Certificate.all(pem: bundle).count == 2)
        #expect(throws: OpenSSLError.self) { try Certificate(der: [0x30, 0x03, 0x01, 0x01, 0xff]) }
        #expect(throws: OpenSSLError.self) { try Certificate.all(pem: Array("no certificate here".utf8)) }
        let reread = try PrivateKey(pem: try key.pkcs8PEM())
        #expect(try reread.pkcs8PEM() == key.pkcs8PEM())
    }
}

struct DemoExpertPKITests {
    @Test func demoExpertsSignCheckInsThatTheirTrustFolderAccepts() throws {
        let dir = NSTemporaryDirectory() + "experts-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = DemoPKI(directory: dir, roomID: "R-7")
        let issued = try pki.createExperts()
        #expect(issued.map(\.name) == ["expert-ca"] + (1...9).map { "E0\($0)" })
        let verifier = SignatureVerifier(trust: try TrustStore.load(directory: dir + "/experts/trust"))
        let message = Array("check-in".utf8)
        let cms = try ExpertSigner.signCMS(
            content: message, key: try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/experts/E01.key")))),
            certificate: try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/experts/E01.crt")))),
            algorithm: .ecdsaP256SHA256)
        let verified = try verifier.verify(.cms(cms), over: message, at: Date()).get()
        let signer = verified.signer()
        #expect(signer.name == "张三")
        #expect(signer.idNumber == "11010519491231002X")
        // The roster file imports cleanly and matches the certificate's signer.
        let roster = try Roster.importJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/experts/roster.json")),
                                           secret: try RoomSecret.generate(), today: Date())
        #expect(roster.entries.map(\.id) == ["E01", "E02", "E03", "E04", "E05", "E06", "E07", "E08", "E09"])
    }
}
