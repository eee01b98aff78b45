import Foundation
import Testing

@testable import Identity

/// The decision on an answer to a signing challenge, with the openssl-made
/// test PKI (leaf CN=张三, serialNumber=11010519491231002X) and a roster.
struct CheckInVerifierTests {
    let pki: TestPKI
    let secret: RoomSecret
    let roster: Roster
    let now = Date()

    init() throws {
        pki = try TestPKI.get()
        secret = try RoomSecret.generate()
        let json = #"""
            [{"id":"E01","name":"张三","idNumber":"11010519491231002X","role":"expert"},
             {"id":"E02","name":"李四","idNumber":"110101198003071239","role":"expert"}]
            """#
        roster = try Roster.importJSON(Data(json.utf8), secret: secret, today: now)
    }

    func verifier(_ algorithm: String = "ec", crls: [String] = []) throws -> CheckInVerifier {
        CheckInVerifier(verifier: SignatureVerifier(trust: try pki.trust(algorithm, crls: crls)), secret: secret)
    }

    func challenge(entry: String = "E01", issued: Date? = nil) throws -> SigningChallenge {
        try SigningChallenge.issue(room: "R1", session: "ZC-1", station: "S01", rosterEntry: entry, purpose: .checkIn,
                                   documentSHA256: String(repeating: "0", count: 64), now: issued ?? now)
    }

    func signed(_ challenge: SigningChallenge, by leaf: String = "ec/leaf", algorithm: SignatureAlgorithm = .ecdsaP256SHA256,
                bytes: [UInt8]? = nil) throws -> SubmittedSignature {
        let message = bytes ?? challenge.signedBytes()
        return .cms(try ExpertSigner.signCMS(content: message, key: try pki.key(leaf), certificate: try pki.certificate(leaf),
                                             chain: [try pki.certificate(leaf.split(separator: "/")[0] + "/int")], algorithm: algorithm))
    }

    @Test func theRosteredSignerOfAFreshChallengeIsAccepted() throws {
        let c = try challenge()
        let verdict = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(), submission: try signed(c),
                                              roster: roster, alreadyAnswered: false, receivedAt: now)
        #expect(verdict.accepted, "\(verdict.reason): \(verdict.detail)")
        #expect(verdict.entry?.id == "E01")
        #expect(verdict.signer?.name == "张三")
        #expect(verdict.reason == CheckInReason.accepted)
    }

    @Test func sm2SignersAreAcceptedToo() throws {
        let c = try challenge()
        let verdict = try verifier("sm2").evaluate(challenge: c, signedBytes: c.signedBytes(),
                                                   submission: try signed(c, by: "sm2/leaf", algorithm: .sm2SM3),
                                                   roster: roster, alreadyAnswered: false, receivedAt: now)
        #expect(verdict.accepted, "\(verdict.reason): \(verdict.detail)")
    }

    @Test func aReplayedNonceIsRefusedBeforeAnythingElse() throws {
        let c = try challenge()
        let verdict = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(), submission: try signed(c),
                                              roster: roster, alreadyAnswered: true, receivedAt: now)
        #expect(!verdict.accepted)
        #expect(verdict.reason == CheckInReason.nonceReplayed)
        #expect(verdict.message.contains("重新获取二维码"))
    }

    @Test func anExpiredChallengeIsRefusedAtRoomdsReceiveTime() throws {
        let c = try challenge(issued: now.addingTimeInterval(-121))
        let verdict = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(), submission: try signed(c),
                                              roster: roster, alreadyAnswered: false, receivedAt: now)
        #expect(verdict.reason == CheckInReason.challengeExpired)
        #expect(verdict.message.contains("已过期"))
    }

    @Test func theSignerMustBeTheEntryTheChallengeNames() throws {
        let c = try challenge(entry: "E02")
        let verdict = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(), submission: try signed(c),
                                              roster: roster, alreadyAnswered: false, receivedAt: now)
        #expect(verdict.reason == CheckInReason.wrongRosterEntry)
        #expect(verdict.entry?.id == "E01")
    }

    @Test func aSignerNotOnTheRosterIsRefused() throws {
        let other = try Roster.importJSON(Data(#"[{"id":"E01","name":"张三","idNumber":"110101198003071239","role":"expert"}]"#.utf8),
                                          secret: secret, today: now)
        let c = try challenge()
        let verdict = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(), submission: try signed(c),
                                              roster: other, alreadyAnswered: false, receivedAt: now)
        #expect(verdict.reason == "id-number-mismatch")
        #expect(verdict.message.contains("身份证号与抽取名单不一致"))
        let none = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(), submission: try signed(c),
                                           roster: nil, alreadyAnswered: false, receivedAt: now)
        #expect(none.reason == CheckInReason.rosterMissing)
    }

    @Test func aSignatureOverOtherBytesOrFromARevokedCertificateIsRefusedWithTheVerifiersCode() throws {
        let c = try challenge()
        let tampered = try verifier().evaluate(challenge: c, signedBytes: c.signedBytes(),
                                               submission: try signed(c, bytes: try challenge().signedBytes()),
                                               roster: roster, alreadyAnswered: false, receivedAt: now)
        #expect(tampered.reason == SignatureRejectionCode.digestMismatch.rawValue)
        let revoked = try verifier(crls: ["ec/int.crl"]).evaluate(challenge: c, signedBytes: c.signedBytes(),
                                                                 submission: try signed(c, by: "ec/revoked"),
                                                                 roster: roster, alreadyAnswered: false, receivedAt: now)
        #expect(revoked.reason == SignatureRejectionCode.certificateRevoked.rawValue)
    }
}
