import Foundation

/// What separated two bidders whose first ranking key was equal (87号令 57, 68; 214号 25).
public enum TieBreak: String, Codable, Sendable {
    case bidPrice          // total tied → lower bid price first
    case technicalScore    // then higher technical score (磋商, or when the documents say so)
    case lottery           // still tied → drawn by lot with the supplied seed
}

public enum BidStatus: String, Codable, Sendable {
    /// Passed every check and is ranked.
    case ranked
    /// Tied with other bids on every key of the method, and the lottery that decides between them
    /// (87号令 68 for the ranking, 31 for the same brand) has not been drawn: no rank, no tie-break and
    /// no same-brand decision yet, only the places the group shares (`RankedBid.pendingPlaces`).
    case awaitingLottery
    /// Same core-product brand as a better bid: counts as one bidder and is not ranked (87号令 31).
    case sameBrandNotSelected
    case invalid
}

/// The places a group awaiting a lottery will share out: nothing about who gets which is decided.
public struct PendingPlaces: Codable, Sendable, Equatable {
    /// `ranking`: the tied bids share ranks firstRank…lastRank by lot. `sameBrand`: the lot picks which
    /// bid of the brand is ranked (at firstRank, or within firstRank…lastRank if that place is itself
    /// tied with other bids); the others will be `sameBrandNotSelected`.
    public var scope: LotteryDraw.Scope
    public var firstRank: Int
    public var lastRank: Int
}

public struct RankedBid: Codable, Sendable, Equatable {
    public var bidder: String
    /// Nil while awaiting a lottery, for same-brand exclusions and invalid bids.
    public var rank: Int?
    public var status: BidStatus
    public var contractPrice: Fraction
    public var evaluatedPrice: Fraction
    public var priceScore: Fraction?
    public var meanScore: Fraction?
    public var technicalScore: Fraction?
    public var total: Fraction?
    /// Set when the place above had the same first key; `.lottery` only once drawn.
    public var tieBrokenBy: TieBreak?
    /// Set only while `status == .awaitingLottery`.
    public var pendingPlaces: PendingPlaces?
}

public struct Ranking: Codable, Sendable, Equatable {
    /// In ranking order: ranked bids with their rank and, at their group's place, bids awaiting a lottery
    /// (by id, no rank); then same-brand exclusions, by id. Ranks are positional: a pending group of n
    /// places takes n ranks, so the bid after a pending pair at 2–3 is 4.
    public var bids: [RankedBid]
    /// Empty while any lottery is pending.
    public var candidates: [String]
    /// Tied groups that can be drawn now (ranking blocked until drawn): same-brand groups first, then
    /// ranking ties in order. A ranking tie with a brand that awaits its same-brand draw is listed once
    /// that draw has picked the brand's bid; `drawLottery` draws both in one command.
    public var pendingLotteries: [PendingTie]
}

public struct PendingTie: Codable, Sendable, Equatable {
    public var scope: LotteryDraw.Scope
    public var tied: [String]
}

extension SessionState {
    /// The ranking key: smaller is better, compared lexicographically. Element 0 is the method's
    /// primary key; the rest are its tie-breaks in order.
    func rankingKey(_ bidder: Bidder, score: BidderScore?) -> [Fraction] {
        switch lot.evaluationMethod {
        case .comprehensiveScoring:
            let s = score!
            var key = [-s.total, s.price.contractPrice]             // total ↓, then bid price ↑ (87号令 57; 214号 25)
            if method == .competitiveConsultation || lot.documentTieBreak == .technicalScore {
                key.append(-s.technicalScore)                       // then technical ↓ (214号 25, or the documents)
            }
            return key
        case .lowestEvaluatedPrice:
            return [priceEvaluation(bidder).evaluatedPrice]         // P′ ↑ (87号令 56; 74号令)
        case .negotiatedPrice:
            return [contractPrice(bidder)]
        }
    }

    static func less(_ a: [Fraction], _ b: [Fraction]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x < y }
        return false
    }

    func tieBreakLabel(_ index: Int) -> TieBreak { index == 1 ? .bidPrice : .technicalScore }

    /// What put `below` after `above` when their first keys were equal (nil if the first key decided).
    func tieBreak(above: [Fraction], below: [Fraction]) -> TieBreak? {
        guard above[0] == below[0],
              let index = zip(above, below).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else { return nil }
        return tieBreakLabel(index)
    }

    /// Runs of equal keys in ranking order (a run's ids in id order).
    private func runs(_ ids: [String], keys: [String: [Fraction]]) -> [[String]] {
        let sorted = ids.sorted { a, b in
            let ka = keys[a]!, kb = keys[b]!
            return ka == kb ? a < b : SessionState.less(ka, kb)
        }
        var out: [[String]] = []
        for id in sorted {
            if let previous = out.last?.last, keys[previous]! == keys[id]! { out[out.count - 1].append(id) } else { out.append([id]) }
        }
        return out
    }

    /// The recorded draw for exactly this tied group, if any.
    private func drawnOrder(_ scope: LotteryDraw.Scope, _ tied: [String]) -> [String]? {
        lotteryDraws.first { $0.scope == scope && $0.tied == tied }?.order
    }

    /// RANKING (87号令 55–57, 31, 68; 214号 25; 74号令). Nil before the data it needs exists.
    /// Nothing the rules leave to a lottery is decided before the draw: a tied group has no ranks
    /// (`awaitingLottery`) until `drawLottery`, and bids after it keep their positional rank.
    public func ranking() -> Ranking? {
        let pool = bidders
        var summary: ScoreSummary?
        if lot.scored {
            guard let s = scoreSummary() else { return nil }
            summary = s
        }
        let scoreByID = Dictionary(uniqueKeysWithValues: (summary?.bidders ?? []).map { ($0.bidder, $0) })
        var keys: [String: [Fraction]] = [:]
        for b in pool { keys[b.id] = rankingKey(b, score: scoreByID[b.id]) }
        var pending: [PendingTie] = []

        // Same brand counts as one (87号令 31): the best bid of each brand stays, by the method's own order.
        // Bids tied for a brand's best wait for the same-brand draw; worse bids of the brand are out either way.
        var excluded: Set<String> = []
        var undrawnBrands: [[String]] = []
        var byBrand: [String: [String]] = [:]
        for b in pool {
            if let brand = normalizedBrand(b) { byBrand[brand, default: []].append(b.id) }
        }
        for brand in byBrand.keys.sorted() where byBrand[brand]!.count > 1 {
            let brandRuns = runs(byBrand[brand]!, keys: keys)
            excluded.formUnion(brandRuns.dropFirst().joined())
            let best = brandRuns[0]
            guard best.count > 1 else { continue }
            if let order = drawnOrder(.sameBrand, best) {
                excluded.formUnion(order.dropFirst())
            } else {
                pending.append(PendingTie(scope: .sameBrand, tied: best))
                undrawnBrands.append(best)
            }
        }

        // Each entrant takes one place: a bidder, or a brand whose bid the same-brand draw has yet to pick
        // (its bids share one key, so the brand's place is known).
        let undrawn = Set(undrawnBrands.joined())
        var entrants = pool.map(\.id).filter { !excluded.contains($0) && !undrawn.contains($0) }.map { [$0] } + undrawnBrands
        entrants.sort { a, b in
            let ka = keys[a[0]]!, kb = keys[b[0]]!
            return ka == kb ? a[0] < b[0] : SessionState.less(ka, kb)
        }

        let byID = bidderByID
        func entry(_ id: String, rank: Int?, status: BidStatus, broken: TieBreak?, places: PendingPlaces? = nil) -> RankedBid {
            let b = byID[id]!
            let s = scoreByID[id]
            let p = s?.price ?? priceEvaluation(b)
            return RankedBid(bidder: id, rank: rank, status: status, contractPrice: p.contractPrice,
                             evaluatedPrice: p.evaluatedPrice, priceScore: s?.priceScore, meanScore: s?.meanScore,
                             technicalScore: s?.technicalScore, total: s?.total, tieBrokenBy: broken, pendingPlaces: places)
        }
        var bids: [RankedBid] = []
        var decided: [String] = []
        var position = 1
        var previousKey: [Fraction]?
        var i = 0
        while i < entrants.count {
            let key = keys[entrants[i][0]]!
            var j = i + 1
            while j < entrants.count, keys[entrants[j][0]]! == key { j += 1 }
            let group = Array(entrants[i..<j])
            let last = position + group.count - 1
            let broken = previousKey.flatMap { tieBreak(above: $0, below: key) }
            if group.allSatisfy({ $0.count == 1 }) {
                let tied = group.map { $0[0] }
                if tied.count == 1 {
                    bids.append(entry(tied[0], rank: position, status: .ranked, broken: broken))
                    decided.append(tied[0])
                } else if let order = drawnOrder(.ranking, tied) {
                    // Drawn (87号令 68): the first keeps what separated the group from the place above.
                    for (k, id) in order.enumerated() {
                        bids.append(entry(id, rank: position + k, status: .ranked, broken: k == 0 ? broken : .lottery))
                        decided.append(id)
                    }
                } else {
                    pending.append(PendingTie(scope: .ranking, tied: tied))
                    let places = PendingPlaces(scope: .ranking, firstRank: position, lastRank: last)
                    for id in tied { bids.append(entry(id, rank: nil, status: .awaitingLottery, broken: nil, places: places)) }
                }
            } else {
                // A brand awaiting its same-brand draw, alone or tied with other bids: all of it waits.
                for entrant in group {
                    let places = PendingPlaces(scope: entrant.count > 1 ? .sameBrand : .ranking, firstRank: position, lastRank: last)
                    for id in entrant { bids.append(entry(id, rank: nil, status: .awaitingLottery, broken: nil, places: places)) }
                }
            }
            previousKey = key
            position = last + 1
            i = j
        }
        for id in excluded.sorted() { bids.append(entry(id, rank: nil, status: .sameBrandNotSelected, broken: nil)) }
        let candidates = pending.isEmpty ? Array(decided.prefix(lot.candidates)) : []
        return Ranking(bids: bids, candidates: candidates, pendingLotteries: pending)
    }

    func normalizedBrand(_ b: Bidder) -> String? {
        guard let brand = b.coreProductBrand?.trimmingCharacters(in: .whitespaces).lowercased(), !brand.isEmpty else { return nil }
        return brand
    }

    /// Bidders that count for the minimum (same brand counts as one, 87号令 31).
    func effectiveBidderCount(_ pool: [Bidder]) -> Int {
        var brands = Set<String>()
        var count = 0
        for b in pool {
            if let brand = normalizedBrand(b) { if brands.insert(brand).inserted { count += 1 } } else { count += 1 }
        }
        return count
    }

    /// Fewest bidders per method (87号令 43, 法36; 214号; 74号令).
    var minimumBidders: Int {
        switch method {
        case .singleSource: 1
        case .competitiveConsultation, .competitiveNegotiation: lot.twoBidderRoute == true ? 2 : 3
        default: 3
        }
    }
}
