import Canonical
import Evaluation
import Foundation
import Identity
import Testing
@testable import Opening

@Suite struct OpeningDefinitionTests {
    typealias F = OpeningFixtures

    func json(_ d: OpeningDefinition) throws -> [UInt8] { try CanonicalJSON.canonicalBytes(encoding: d) }

    func text(_ d: OpeningDefinition) throws -> String { String(decoding: try json(d), as: UTF8.self) }

    @Test func decodesWhatThePlatformWrites() throws {
        let d = F.definition()
        #expect(try OpeningDefinition.decode(json(d)) == d)
        #expect(d.deadline == F.deadline)
        #expect(d.violations().isEmpty)
    }

    @Test func refusesJSONThatIsNotStrict() throws {
        let good = try text(F.definition())
        let trailingComma = good.replacingOccurrences(of: "\"decryptionWindowMinutes\":30,", with: "\"decryptionWindowMinutes\":30,,")
        let duplicate = good.replacingOccurrences(of: "\"decryptionWindowMinutes\":30,", with: "\"decryptionWindowMinutes\":30,\"decryptionWindowMinutes\":5,")
        for bad in [trailingComma, duplicate, "{\"version\":1,}"] {
            #expect(throws: OpeningDefinitionError.self) { try OpeningDefinition.decode(Array(bad.utf8)) }
        }
    }

    @Test func aMistypedCreditCodeIsCaughtByItsCheckCharacter() throws {
        let good = try text(F.definition())
        let bad = good.replacingOccurrences(of: "91350100M000100Y43", with: "91350100M000100Y44")
        do {
            _ = try OpeningDefinition.decode(Array(bad.utf8))
            Issue.record("a wrong check character was accepted")
        } catch {
            #expect(error.code == "opening-definition-unreadable")
            #expect(error.englishMessage.contains("check character should be \"3\""))
            #expect(error.chineseMessage.contains("请向政府采购云平台核实"))
        }
    }

    @Test func violationsNameTheField() {
        var d = F.definition()
        d.bidDeadline = "2026-12-10 09:30"
        d.decryptionWindowMinutes = 0
        d.lots.append(OpeningLot(id: "1", name: "重复", twoBidderRoute: true))
        d.suppliers[0].lots = ["1", "9"]
        d.suppliers[1].sealedBidSHA256 = "ABCDEF"
        d.suppliers.append(d.suppliers[2])
        #expect(d.violations() == [
            .duplicateOrEmptyLot("1"),
            .twoBidderRouteNotAllowed(lot: "1"),
            .deadline("2026-12-10 09:30"),
            .window(0),
            .unknownLot(supplier: F.a, lot: "9"),
            .hash(supplier: F.b, field: "sealedBidSHA256", value: "ABCDEF"),
            .duplicateSupplier(F.c),
        ])
        #expect(throws: OpeningError.invalidDefinition(.duplicateOrEmptyLot("1"))) { try OpeningSession(definition: d) }
        #expect(OpeningDefinitionError.deadline("x").chineseMessage.contains("2026-12-10T09:30:00+08:00"))
    }

    /// As with session definitions: the platform signs the exact bytes (detached CMS), roomd
    /// verifies them against the platform's trust anchors before it reads them.
    @Test func platformSignatureCoversTheExactBytes() throws {
        let caKey = try PrivateKey.generateP256()
        let ca = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "政府采购云平台"), ("CN", "platform CA")], validity: 86_400, isCA: true), publicKeyOf: caKey)
        let key = try PrivateKey.generateP256()
        let platform = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "政府采购云平台"), ("CN", "platform")], validity: 86_400,
                               keyUsage: "critical,digitalSignature,nonRepudiation"),
            publicKeyOf: key, issuer: (ca, caKey))
        let bytes = try json(F.definition())
        let signature = try ExpertSigner.signCMS(content: bytes, key: key, certificate: platform, algorithm: .ecdsaP256SHA256)
        let verifier = SignatureVerifier(trust: try TrustStore(anchors: [ca]), revocation: RevocationPolicy(missingCRL: .accept))

        let verdict = verifier.verify(.cms(signature), over: bytes, at: Date())
        #expect(try verdict.get().signerFingerprint == platform.sha256Fingerprint())
        #expect(try OpeningDefinition.decode(bytes).suppliers.count == 5)

        // One supplier's summary hash changed after signing: refused before it is read.
        let altered = Array(String(decoding: bytes, as: UTF8.self)
            .replacingOccurrences(of: F.plaintextHash(F.a), with: F.plaintextHash(F.b)).utf8)
        guard case .failure(let rejection) = verifier.verify(.cms(signature), over: altered, at: Date()) else {
            Issue.record("an altered definition verified")
            return
        }
        #expect(!rejection.chineseMessage.isEmpty)
    }

    @Test func summaryRoundTripsAndRefusesOtherVersions() throws {
        let summary = F.summaries[F.a]!
        #expect(try OpeningSummary.decode(summary.canonicalBytes()) == summary)
        var other = summary
        other.version = 2
        #expect(throws: SummaryProblem.self) { try OpeningSummary.decode(other.canonicalBytes()) }
        #expect(throws: SummaryProblem.self) { try OpeningSummary.decode(Array("not json".utf8)) }
    }
}
