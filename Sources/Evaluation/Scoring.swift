/// Members scoring the same objective item differently (64.3): blocks the summary until corrected.
public struct ObjectiveDisagreement: Codable, Sendable, Equatable {
    public var bidder: String
    public var criterion: String
    /// member → score
    public var scores: [String: Fraction]
}

/// A 畸高畸低 flag (64.4) the panel must resolve: keep with a reason, or the member corrects.
public struct AbnormalScoreFlag: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case subjectiveItem, memberTotal }
    public var id: String
    public var kind: Kind
    public var member: String
    public var bidder: String
    public var criterion: String?
    public var value: Fraction
    /// Mean of the other members (item) or of the panel (total).
    public var reference: Fraction
    public var kept: KeptFlag?
}

/// One bidder's line of the score summary.
public struct BidderScore: Codable, Sendable, Equatable {
    public var bidder: String
    /// member → sum of that member's typed scores (price excluded).
    public var memberTotals: [String: Fraction]
    /// Mean of the members' totals (no trimming).
    public var meanScore: Fraction
    /// Mean of the members' technical-group sums, for the 磋商 tie-break.
    public var technicalScore: Fraction
    public var price: PriceEvaluation
    public var priceScore: Fraction
    /// meanScore + priceScore.
    public var total: Fraction
    /// criterion → mean of the members' scores.
    public var criterionMeans: [String: Fraction]
}

public struct ScoreSummary: Codable, Sendable, Equatable {
    /// B (评标基准价): the lowest evaluated price among the scored bids.
    public var benchmarkPrice: Fraction
    public var bidders: [BidderScore]
    public var disagreements: [ObjectiveDisagreement]
    public var flags: [AbnormalScoreFlag]

    public var unresolvedFlags: [AbnormalScoreFlag] { flags.filter { $0.kept == nil } }
}

extension SessionState {
    /// The summary after every member submitted (87号令 55, 64). Computed from the events, never stored.
    public func scoreSummary() -> ScoreSummary? {
        guard lot.scored, allSubmitted else { return nil }
        let pool = bidders
        guard !pool.isEmpty, let priceCriterion = lot.priceCriterion else { return nil }
        let criteria = lot.typedCriteria
        let memberIDs = memberIDs
        let n = Fraction(memberIDs.count)
        let evaluations = pool.map { priceEvaluation($0) }
        let benchmark = evaluations.map(\.evaluatedPrice).min() ?? .one
        var lines: [BidderScore] = []
        var disagreements: [ObjectiveDisagreement] = []
        var flags: [AbnormalScoreFlag] = []
        let itemThreshold = Fraction.percent(lot.itemThreshold)
        let totalThreshold = Fraction.percent(lot.totalThreshold)

        for (bidder, evaluation) in zip(pool, evaluations) {
            var memberTotals: [String: Fraction] = [:]
            var technicalSum = Fraction.zero
            var criterionMeans: [String: Fraction] = [:]
            for m in memberIDs { memberTotals[m] = .zero }
            for c in criteria {
                var values: [(String, Fraction)] = []
                values.reserveCapacity(memberIDs.count)
                var sum = Fraction.zero
                for m in memberIDs {
                    let v = sheets[m]?[bidder.id]?[c.id] ?? .zero
                    values.append((m, v))
                    sum += v
                    memberTotals[m]! += v
                }
                criterionMeans[c.id] = sum / n
                if c.group == .technical { technicalSum += sum }
                switch c.kind {
                case .objective:
                    if values.contains(where: { $0.1 != values[0].1 }) {
                        disagreements.append(.init(bidder: bidder.id, criterion: c.id,
                                                   scores: Dictionary(uniqueKeysWithValues: values)))
                    }
                case .subjective where values.count > 1:
                    let limit = c.maximum * itemThreshold
                    for (m, v) in values {
                        let othersMean = (sum - v) / Fraction(values.count - 1)
                        let deviation = v > othersMean ? v - othersMean : othersMean - v
                        if deviation > limit {
                            let id = "item:\(m):\(bidder.id):\(c.id)"
                            flags.append(.init(id: id, kind: .subjectiveItem, member: m, bidder: bidder.id, criterion: c.id,
                                               value: v, reference: othersMean, kept: keptFlags[id]))
                        }
                    }
                default: break
                }
            }
            let meanScore = memberTotals.values.sum() / n
            if meanScore > .zero {
                for m in memberIDs {
                    let t = memberTotals[m]!
                    let deviation = t > meanScore ? t - meanScore : meanScore - t
                    if deviation > meanScore * totalThreshold {
                        let id = "total:\(m):\(bidder.id)"
                        flags.append(.init(id: id, kind: .memberTotal, member: m, bidder: bidder.id, criterion: nil,
                                           value: t, reference: meanScore, kept: keptFlags[id]))
                    }
                }
            }
            let priceScore = PriceScore.compute(evaluatedPrice: evaluation.evaluatedPrice, benchmark: benchmark,
                                                weightPercent: priceCriterion.maximum)
            lines.append(BidderScore(bidder: bidder.id, memberTotals: memberTotals, meanScore: meanScore,
                                     technicalScore: technicalSum / n, price: evaluation, priceScore: priceScore,
                                     total: meanScore + priceScore, criterionMeans: criterionMeans))
        }
        return ScoreSummary(benchmarkPrice: benchmark, bidders: lines, disagreements: disagreements, flags: flags)
    }
}
