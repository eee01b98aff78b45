import Foundation
import Testing

@testable import Identity

struct SigningChallengeTests {
    func issue(now: Date = Date(timeIntervalSince1970: 1_795_000_000)) throws -> SigningChallenge {
        try SigningChallenge.issue(room: "R-301", session: "ZC-2026-118", station: "S03", rosterEntry: "E02",
                                   purpose: .checkIn, documentSHA256: String(repeating: "AB", count: 32), now: now, lifetime: 120)
    }

    @Test func signedBytesAreCanonicalJSONWithEveryBindingField() throws {
        let challenge = try issue()
        let bytes = challenge.signedBytes()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains(" ") && !text.contains("\n"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(parsed["format"] as? String == SigningChallenge.format)
        #expect(parsed["room"] as? String == "R-301")
        #expect(parsed["station"] as? String == "S03")
        #expect(parsed["roster_entry"] as? String == "E02")
        #expect(parsed["purpose"] as? String == "checkin")
        #expect(parsed["document_sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(parsed["expires_ms"] as? Int == 1_795_000_120_000)
        // Keys in byte order: re-encoding with sorted keys gives the same bytes.
        let resorted = try JSONSerialization.data(withJSONObject: parsed, options: [.sortedKeys, .withoutEscapingSlashes])
        #expect(Array(resorted) == bytes)
    }

    @Test func requestIdsAndNoncesAre128BitRandomAndDistinct() throws {
        let a = try issue(), b = try issue()
        #expect(a.nonce.count == 32 && a.request.count == 32)
        #expect(a.nonce != b.nonce && a.request != b.request && a.nonce != a.request)
        #expect(a.signedBytes() != b.signedBytes())
    }

    @Test func expiresAfterItsLifetimeOnRoomdsClock() throws {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let challenge = try issue(now: now)
        #expect(!challenge.isExpired(at: now.addingTimeInterval(119.9)))
        #expect(!challenge.isExpired(at: now.addingTimeInterval(120)))
        #expect(challenge.isExpired(at: now.addingTimeInterval(120.01)))
    }

    @Test func identifiersThatWouldNeedEscapingAreNotPlain() {
        #expect(SigningChallenge.isPlainIdentifier("ZC-2026-118"))
        #expect(!SigningChallenge.isPlainIdentifier("a\"b"))
        #expect(!SigningChallenge.isPlainIdentifier("a b"))
        #expect(!SigningChallenge.isPlainIdentifier("场次"))
        #expect(!SigningChallenge.isPlainIdentifier(""))
    }
}
