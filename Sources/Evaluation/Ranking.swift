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
    /// Same core-product brand as a better bid: counts as one bidder and is not ranked (87号令 31).
    case sameBrandNotSelected
    case invalid
}

public struct RankedBid: Codable, Sendable, Equatable {
    public var bidder: String
    public var rank: Int?
    public var status: BidStatus
    public var contractPrice: Fraction
    public var evaluatedPrice: Fraction
    public var priceScore: Fraction?
    public var meanScore: Fraction?
    public var technicalScore: Fraction?
    public var total: Fraction?
    /// Set when the bid above had the same first key.
    public var tieBrokenBy: TieBreak?
}

public struct Ranking: Codable, Sendable, Equatable {
    /// Ranked bids first (by rank), then same-brand exclusions, by id.
    public var bids: [RankedBid]
    public var candidates: [String]
    /// Tied groups that still need a lottery (ranking blocked until drawn).
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

    /// Orders `ids` by key; equal keys go to a recorded draw for exactly that group, else stay pending.
    private func order(_ ids: [String], keys: [String: [Fraction]], scope: LotteryDraw.Scope,
                       pending: inout [PendingTie]) -> [(String, TieBreak?)] {
        let sorted = ids.sorted { a, b in
            let ka = keys[a]!, kb = keys[b]!
            return ka == kb ? a < b : SessionState.less(ka, kb)
        }
        var out: [(String, TieBreak?)] = []
        var i = 0
        while i < sorted.count {
            var j = i + 1
            while j < sorted.count, keys[sorted[j]]! == keys[sorted[i]]! { j += 1 }
            var group = Array(sorted[i..<j])
            if group.count > 1 {
                if let draw = lotteryDraws.first(where: { $0.scope == scope && $0.tied == group }) {
                    group = draw.order
                } else {
                    pending.append(PendingTie(scope: scope, tied: group))
                }
            }
            for (k, id) in group.enumerated() {
                var broken: TieBreak?
                if k > 0 {
                    broken = .lottery
                } else if let prev = out.last {
                    let a = keys[prev.0]!, b = keys[id]!
                    if a[0] == b[0], let idx = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                        broken = tieBreakLabel(idx)
                    }
                }
                out.append((id, broken))
            }
            i = j
        }
        return out
    }

    /// RANKING (87号令 55–57, 31, 68; 214号 25; 74号令). Nil before the data it needs exists.
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
        var excluded: Set<String> = []
        var byBrand: [String: [String]] = [:]
        for b in pool {
            if let brand = normalizedBrand(b) { byBrand[brand, default: []].append(b.id) }
        }
        for brand in byBrand.keys.sorted() where byBrand[brand]!.count > 1 {
            let ordered = order(byBrand[brand]!, keys: keys, scope: .sameBrand, pending: &pending)
            for (id, _) in ordered.dropFirst() { excluded.insert(id) }
        }

        let ranked = order(pool.map(\.id).filter { !excluded.contains($0) }, keys: keys, scope: .ranking, pending: &pending)
        var bids: [RankedBid] = []
        let byID = bidderByID
        func entry(_ id: String, rank: Int?, status: BidStatus, broken: TieBreak?) -> RankedBid {
            let b = byID[id]!
            let s = scoreByID[id]
            let p = s?.price ?? priceEvaluation(b)
            return RankedBid(bidder: id, rank: rank, status: status, contractPrice: p.contractPrice,
                             evaluatedPrice: p.evaluatedPrice, priceScore: s?.priceScore, meanScore: s?.meanScore,
                             technicalScore: s?.technicalScore, total: s?.total, tieBrokenBy: broken)
        }
        for (i, (id, broken)) in ranked.enumerated() { bids.append(entry(id, rank: i + 1, status: .ranked, broken: broken)) }
        for id in excluded.sorted() { bids.append(entry(id, rank: nil, status: .sameBrandNotSelected, broken: nil)) }
        let candidates = pending.isEmpty ? Array(ranked.prefix(lot.candidates).map(\.0)) : []
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
