import Canonical
import Foundation
import Testing
@testable import Evaluation

@Suite struct ExportTests {
    func closedSession() throws -> Run {
        var r = try Run(definition(deductions: Deductions(smallFirmPercent: f(10)),
                                   bidders: [bidder("A", "1000000"), bidder("B", "900000", sme: .micro), bidder("C", "800000")]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["30"], "T2": ["10"], "C1": ["10"]],
                     "C": ["T1": ["25"], "T2": ["10"], "C1": ["5"]]])
        try r.run(.concludeReview)
        try r.run(.confirmRanking)
        try r.run(.startSigning)
        try r.run(.sign(member: "e1", signature: "SIG"))
        try r.run(.leaderConfirm(member: "e1"))
        return r
    }

    @Test func bidderNoticeShowsOnlyItsOwnScoreAndRank() throws {
        let r = try closedSession()
        // P′: A 1000000, B 900000×0.9 = 810000, C 800000 → benchmark 800000.
        // A: 60 + 24 = 84. B: 50 + 800000/810000×30 = 50 + 800/27 ≈ 79.63. C: 40 + 30 = 70.
        let notice = try #require(r.state.notice(for: "B"))
        #expect(notice.rank == 2 && notice.total == "79.63" && notice.contractPrice == "900000.00")
        let json = String(decoding: try CanonicalJSON.encode(notice), as: UTF8.self)
        #expect(!json.contains("\"A\"") && !json.contains("投标人A") && !json.contains("84"))
    }

    @Test func ocdsReleaseHasAwardCriteriaBidsAndScale() throws {
        let r = try closedSession()
        let text = try OCDSExport.release(r.state, ocidPrefix: "ocds-test").canonicalText
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let tender = try #require(object["tender"] as? [String: Any])
        #expect(tender["awardCriteria"] as? String == "ratedCriteria")
        #expect((tender["awardCriteriaBreakdown"] as? [Any])?.count == 3)
        let bids = try #require(object["bids"] as? [String: Any])
        let details = try #require(bids["details"] as? [[String: Any]])
        let b = try #require(details.first { ($0["id"] as? String) == "L1-B" })
        #expect(b["status"] as? String == "valid")
        #expect((b["rank"] as? NSNumber)?.intValue == 2)
        #expect(text.contains("\"roomdEvaluatedPrice\":{\"amount\":810000.00,\"currency\":\"CNY\"}"))
        #expect(text.contains("\"details\":{\"scale\":\"micro\"}"))
        #expect(text.contains("\"measure\":\"smeBids\",\"relatedLot\":\"L1\",\"value\":1"))
        let awards = try #require(object["awards"] as? [[String: Any]])
        #expect((awards.first?["suppliers"] as? [[String: Any]])?.first?["id"] as? String == "A")
        // Per-member scores stay internal.
        #expect(!text.contains("memberTotals"))
        #expect(text.hasPrefix("{\"awards\""))
    }

    @Test func canonicalResultIsStableAndFreeOfFloatingPoint() throws {
        let r = try closedSession()
        let json = String(decoding: try CanonicalJSON.encode(r.state.result()), as: UTF8.self)
        #expect(json.contains("\"priceScore\":\"800/27\""))
        #expect(!json.contains("e-"))
        let replayed = try EvaluationSession.replay(definition: r.session.state.definition, lot: "L1", events: r.session.events)
        #expect(try CanonicalJSON.encode(replayed.state.result()) == CanonicalJSON.encode(r.state.result()))
        // Events survive a JSON round trip and replay the same.
        let stored = try CanonicalJSON.encode(r.session.events)
        let events = try CanonicalJSON.decode([Event].self, from: stored)
        let again = try EvaluationSession.replay(definition: r.state.definition, lot: "L1", events: events)
        #expect(again.state == r.state)
    }

    @Test func replayRejectsGapsAndTimeTravel() throws {
        let r = try closedSession()
        var events = r.session.events
        events.remove(at: 3)
        #expect(throws: EngineError.sequenceGap(expected: 4, got: 5)) {
            try EvaluationSession.replay(definition: r.state.definition, lot: "L1", events: events)
        }
        var late = r.session.events
        late[5].at = 0
        #expect(throws: EngineError.timeWentBackwards(previous: late[4].at, got: 0)) {
            try EvaluationSession.replay(definition: r.state.definition, lot: "L1", events: late)
        }
    }

    @Test func isoDatesFromMilliseconds() {
        #expect(isoDateTime(0) == "1970-01-01T00:00:00Z")
        // `date -u -d @1790000000` → 2026-09-21T14:13:20Z
        #expect(isoDateTime(1_790_000_000_000) == "2026-09-21T14:13:20Z")
        #expect(isoDateTime(951_782_400_000) == "2000-02-29T00:00:00Z")
    }
}
