import Canonical
import Evaluation
import Foundation
import Identity
import Testing
@testable import Opening

/// The layers together, without the daemon: four suppliers seal their summaries to their own
/// encryption certificates (RSA and P-256), the platform fixes the hashes in a signed definition,
/// each representative opens the bid with the key (Identity), roomd hashes and reads the
/// plaintext, and the opening decides. One supplier brings the wrong key, one never opens.
@Suite struct SealedOpeningTests {
    typealias F = OpeningFixtures

    struct Supplier {
        let code: CreditCode
        let key: PrivateKey
        let certificate: Certificate
    }

    /// An RSA encryption key and certificate, made by the openssl command line (Identity generates P-256 only).
    static func rsaSupplier(_ code: CreditCode, folder: String) throws -> Supplier {
        let keyPath = folder + "/\(code).key", certPath = folder + "/\(code).crt"
        for arguments in [["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath],
                          ["req", "-new", "-x509", "-key", keyPath, "-subj", "/O=\(F.names[code]!)/CN=encryption", "-days", "30",
                           "-addext", "keyUsage=critical,keyEncipherment", "-out", certPath]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "openssl \(arguments[0])")
        }
        return Supplier(code: code, key: try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: keyPath)))),
                        certificate: try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: certPath)))))
    }

    static func p256Supplier(_ code: CreditCode) throws -> Supplier {
        let key = try PrivateKey.generateP256()
        let certificate = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", F.names[code]!), ("CN", "encryption")], validity: 86_400, keyUsage: "critical,keyAgreement"),
            publicKeyOf: key)
        return Supplier(code: code, key: key, certificate: certificate)
    }

    @Test func fourSealedBidsOpened() throws {
        let folder = NSTemporaryDirectory() + "roomd-sealed-opening-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let suppliers = [try Self.rsaSupplier(F.a, folder: folder), try Self.p256Supplier(F.b),
                         try Self.rsaSupplier(F.c, folder: folder), try Self.p256Supplier(F.e)]

        // Before the deadline: each bid tool seals its summary; the platform records the hashes.
        var sealed: [CreditCode: [UInt8]] = [:]
        var definition = F.definition()
        definition.suppliers = try suppliers.map { s in
            let plaintext = F.plaintext(s.code)
            let envelope = try Envelope.seal(plaintext, for: [s.certificate])
            sealed[s.code] = envelope
            var entry = try #require(F.definition().supplier(s.code))
            entry.lots = ["1"]
            entry.encryptionCertificateSHA256 = try s.certificate.sha256Fingerprint()
            entry.sealedBidSHA256 = Digest.sha256Hex(envelope)
            entry.summarySHA256 = Digest.sha256Hex(plaintext)
            return entry
        }
        definition.lots = [definition.lots[0]]
        let definitionBytes = try CanonicalJSON.canonicalBytes(encoding: definition)
        var opening = try OpeningSession(definition: OpeningDefinition.decode(definitionBytes))
        let t0 = F.deadline, minute = F.minute

        // roomd receives the sealed bids and hashes them; the representatives sign in.
        for s in suppliers {
            try opening.handle(.receiveSealedBid(supplier: s.code, sha256: Digest.sha256Hex(sealed[s.code]!)), at: t0 - 30 * minute, actor: "platform")
        }
        for s in suppliers {
            try opening.handle(.signIn(supplier: s.code, organization: F.names[s.code]!, certificateSHA256: try s.certificate.sha256Fingerprint()),
                               at: t0 - 10 * minute, actor: "supplier")
        }
        try opening.handle(.startOpening, at: t0, actor: "operator")

        // A and E open with their own keys; B brings C's key and certificate; C never opens.
        for (index, s) in [suppliers[0], suppliers[3]].enumerated() {
            let plaintext = try Envelope.open(sealed[s.code]!, key: s.key, certificate: s.certificate)
            let summary: DecryptedSummary
            do { summary = .read(try OpeningSummary.decode(plaintext)) } catch { summary = .unreadable(error.english) }
            try opening.handle(.submitDecryption(supplier: s.code, plaintextSHA256: Digest.sha256Hex(plaintext), summary: summary),
                               at: t0 + Instant(index + 1) * minute, actor: "supplier")
        }
        do {
            _ = try Envelope.open(sealed[F.b]!, key: suppliers[2].key, certificate: suppliers[2].certificate)
            Issue.record("B's bid opened with C's key")
        } catch {
            #expect(error == .notARecipient(suppliers[2].certificate.subject))
            try opening.handle(.reportDecryptionFailure(supplier: F.b, reason: error.description), at: t0 + 5 * minute, actor: "supplier")
        }
        try opening.handle(.closeDecryption, at: t0 + 31 * minute, actor: "operator")

        let record = try #require(opening.state.record())
        #expect(record.lots[0].bids.map(\.supplier) == [F.a, F.e])
        #expect(record.lots[0].invalid.map(\.supplier) == [F.b, F.c])
        guard case .decryptionFailed(let reason) = record.lots[0].invalid[0].reason else {
            Issue.record("B: \(record.lots[0].invalid[0].reason)")
            return
        }
        #expect(reason.contains("no recipient for the certificate"))
        #expect(record.lots[0].invalid[1].reason == .decryptionTimedOut(windowEnd: t0 + 30 * minute))
        #expect(record.lots[0].failure == LotFailure(validBids: 2, minimum: 3, kind: .bidFailure))
        #expect(record.failed)
    }
}
