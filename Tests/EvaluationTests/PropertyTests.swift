import Canonical
import PropertyBased
import Testing
@testable import Evaluation

/// A random but reproducible scored session: prices and SME classes come from the generators,
/// the individual scores from `scoreSeed` (so they do not depend on the order members are listed in).
struct RandomSession: Sendable, CustomStringConvertible {
    var prices: [Int]          // in units of 10,000 yuan
    var sme: [Int]             // 0 large, 1 small, 2 micro, 3 consortium share 40%
    var scoreSeed: UInt64
    var description: String { "prices \(prices) sme \(sme) seed \(scoreSeed)" }

    static let smeChoices: [(SMEClass, String?)] = [(.large, nil), (.small, nil), (.micro, nil), (.large, "40")]

    func bidders(priceBump: (Int, Int)? = nil) -> [Bidder] {
        prices.indices.map { i in
            let price = prices[i] * 10_000 + (priceBump?.0 == i ? priceBump!.1 : 0)
            let (cls, share) = RandomSession.smeChoices[sme[i % sme.count] % 4]
            return bidder("B\(i)", String(price), sme: cls, share: share, domestic: i % 3 == 0)
        }
    }

    static let deductions = Deductions(smallFirmPercent: f(10), consortiumSharePercent: f(4), domesticProductPercent: f(20))

    func score(member: Int, bidder: Int) -> [String: Fraction] {
        var g = SplitMix64(seed: scoreSeed &+ UInt64(member * 1_000 + bidder))
        // Few distinct values on purpose, so ties happen.
        return ["T1": f(Int(g.below(3)) * 10 + 10), "T2": f(Int(g.below(3)) * 10), "C1": f(Int(g.below(3)) * 5)]
    }

    /// Runs to REVIEW (everyone submitted). Bidders, members and the order of score submissions can be permuted.
    func run(bidderOrder: [Int]? = nil, memberOrder: [Int]? = nil, priceBump: (Int, Int)? = nil,
             deductions: Deductions? = RandomSession.deductions) throws -> Run {
        var bs = bidders(priceBump: priceBump)
        if let o = bidderOrder { bs = o.map { bs[$0] } }
        var d = definition(deductions: deductions, bidders: bs)
        // Prices range over 6…30 (plus a bump): the default 50% abnormally-low trigger (87号令 60) would stop
        // most runs at compliance for a committee decision. 5% never fires on these prices (the lowest is
        // above 7% of any mean of the others), so every run reaches scoring.
        d.lots[0].abnormallyLowPercentOfOthersMean = f(5)
        let members = d.committee
        if let o = memberOrder { d.committee = o.map { members[$0] } }
        var r = try Run(d, fixedTime: true)
        try r.throughCompliance()
        let memberIDs = d.committee.map(\.id)
        let canonical = members.map(\.id)
        let bidderIDs = bs.map(\.id)
        for m in memberIDs {
            let mi = canonical.firstIndex(of: m)!
            for b in bidderIDs { try r.run(.enterScoreSheet(member: m, bidder: b, scores: score(member: mi, bidder: Int(b.dropFirst())!))) }
            try r.run(.submitScores(member: m))
        }
        return r
    }
}

let randomSession = Gen.int(in: 6...30).array(of: 3...7).map { prices in prices }
let smeGen = Gen.int(in: 0...3).array(of: 7)
let seedGen = Gen.uint64(in: 0...UInt64.max)

@Suite struct PropertyTests {
    @Test func shufflingBiddersOrMembersNeverChangesTheResult() async {
        await propertyCheck(count: 40, input: randomSession, smeGen, seedGen) { prices, sme, seed in
            let s = RandomSession(prices: prices, sme: sme, scoreSeed: seed)
            var g = SplitMix64(seed: seed)
            let bidderOrder = Array(prices.indices).shuffled(using: &g)
            let memberOrder = Array(0..<5).shuffled(using: &g)
            let a = try s.run()
            let b = try s.run(bidderOrder: bidderOrder, memberOrder: memberOrder)
            #expect(try CanonicalJSON.encode(a.state.result()) == CanonicalJSON.encode(b.state.result()), "\(s)")
        }
    }

    @Test func lowestEvaluatedPriceGetsFullPriceScore() async {
        await propertyCheck(count: 60, input: randomSession, smeGen, seedGen) { prices, sme, seed in
            let s = RandomSession(prices: prices, sme: sme, scoreSeed: seed)
            let summary = try #require(try s.run().state.scoreSummary())
            let lowest = summary.bidders.map(\.price.evaluatedPrice).min()!
            for line in summary.bidders {
                if line.price.evaluatedPrice == lowest { #expect(line.priceScore == f(30), "\(s)") }
                else { #expect(line.priceScore < f(30), "\(s)") }
            }
        }
    }

    @Test func raisingOneBiddersPriceNeverRaisesItsPriceScore() async {
        await propertyCheck(count: 60, input: randomSession, smeGen, seedGen, Gen.int(in: 1...500_000)) { prices, sme, seed, bump in
            let s = RandomSession(prices: prices, sme: sme, scoreSeed: seed)
            let who = Int(seed % UInt64(prices.count))
            let before = try #require(try s.run().state.scoreSummary()?.bidders.first { $0.bidder == "B\(who)" })
            let after = try #require(try s.run(priceBump: (who, bump)).state.scoreSummary()?.bidders.first { $0.bidder == "B\(who)" })
            #expect(after.priceScore <= before.priceScore, "\(s) bump B\(who) by \(bump)")
        }
    }

    @Test func rankingIsConsistentWithTotalsAndTieRules() async {
        await propertyCheck(count: 60, input: Gen.int(in: 8...10).array(of: 3...7), smeGen, seedGen) { prices, sme, seed in
            let s = RandomSession(prices: prices, sme: sme, scoreSeed: seed)
            let ranking = try #require(try s.run(deductions: nil).state.ranking())
            // No brands here, so every bid has a place. Ranks are positions; a tied group awaiting the lottery
            // has no rank and no tie-break, only the places it shares (nobody's order is decided before the draw).
            let placed = ranking.bids
            for (position, bid) in zip(1..., placed) {
                if let rank = bid.rank {
                    #expect(rank == position && bid.status == .ranked && bid.pendingPlaces == nil, "\(s)")
                } else {
                    #expect(bid.status == .awaitingLottery && bid.tieBrokenBy == nil, "\(s)")
                    let places = try #require(bid.pendingPlaces)
                    #expect((places.firstRank...places.lastRank).contains(position), "\(s)")
                    #expect(ranking.pendingLotteries.contains { $0.tied.contains(bid.bidder) }, "\(s)")
                }
            }
            #expect(placed.first?.tieBrokenBy == nil, "\(s)")
            for (x, y) in zip(placed, placed.dropFirst()) {
                let (tx, ty) = (x.total!, y.total!)
                #expect(tx >= ty, "\(s)")                                               // total ↓
                if tx == ty {
                    #expect(x.contractPrice <= y.contractPrice, "\(s)")                 // then bid price ↑ (57)
                    if x.contractPrice == y.contractPrice {                             // then lottery, nothing else
                        #expect(x.status == .awaitingLottery && y.status == .awaitingLottery, "\(s)")
                        #expect(ranking.pendingLotteries.contains { $0.tied.contains(x.bidder) && $0.tied.contains(y.bidder) }, "\(s)")
                    } else if y.status == .ranked {
                        #expect(y.tieBrokenBy == .bidPrice, "\(s)")
                    }
                } else {
                    #expect(y.tieBrokenBy == nil, "\(s)")
                }
            }
            #expect(ranking.candidates.isEmpty == !ranking.pendingLotteries.isEmpty)
        }
    }

    @Test func deductionsNeverChangeContractPrices() async {
        await propertyCheck(count: 60, input: randomSession, smeGen, Gen.int(in: 10...20), Gen.int(in: 4...6)) { prices, sme, small, share in
            let s = RandomSession(prices: prices, sme: sme, scoreSeed: 1)
            let d = Deductions(smallFirmPercent: f(small), consortiumSharePercent: f(share), domesticProductPercent: f(20))
            let r = try s.run(deductions: d)
            for b in try #require(r.state.ranking()).bids {
                let opened = s.prices[Int(b.bidder.dropFirst())!] * 10_000
                #expect(b.contractPrice == f(opened), "\(s)")
                #expect(b.evaluatedPrice <= b.contractPrice)
                #expect(r.state.notice(for: b.bidder)?.contractPrice == f(opened).display(decimals: 2))
            }
        }
    }

    @Test func replayingTheSameEventsGivesByteIdenticalJSON() async {
        await propertyCheck(count: 40, input: randomSession, smeGen, seedGen) { prices, sme, seed in
            let s = RandomSession(prices: prices, sme: sme, scoreSeed: seed)
            let r = try s.run()
            let first = try CanonicalJSON.encode(r.state.result())
            let stored = try CanonicalJSON.encode(r.session.events)
            let replayed = try EvaluationSession.replay(definition: r.state.definition, lot: "L1",
                                                        events: CanonicalJSON.decode([Event].self, from: stored))
            #expect(try CanonicalJSON.encode(replayed.state.result()) == first)
            #expect(try OCDSExport.release(replayed.state, ocidPrefix: "ocds-x").canonicalText
                        == OCDSExport.release(r.state, ocidPrefix: "ocds-x").canonicalText)
        }
    }
}
