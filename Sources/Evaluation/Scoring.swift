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
        let evaluations = pool.map { priceEvaluation($0) }
        let benchmark = evaluations.map(\.evaluatedPrice).min() ?? .one
        var lines: [BidderScore] = []
        var disagreements: [ObjectiveDisagreement] = []
        var flags: [AbnormalScoreFlag] = []

        // Typed scores have at most 4 decimals (checked on entry), so they are summed exactly as
        // integers in units of 1/10,000 point; Fractions only for the results.
        let unit: Int128 = 10_000
        let k = Int128(memberIDs.count)
        let itemPercent = lot.itemThreshold, totalPercent = lot.totalThreshold
        let memberSheets = memberIDs.map { sheets[$0] ?? [:] }
        for (bidder, evaluation) in zip(pool, evaluations) {
            var totals = [Int128](repeating: 0, count: memberIDs.count)
            var technicalSum: Int128 = 0
            var criterionMeans: [String: Fraction] = [:]
            let bidderSheets = memberSheets.map { $0[bidder.id] ?? [:] }
            var values = [Int128](repeating: 0, count: memberIDs.count)
            for c in criteria {
                var sum: Int128 = 0
                for i in 0..<memberIDs.count {
                    let v = bidderSheets[i][c.id].map(Self.points) ?? 0
                    values[i] = v
                    sum += v
                    totals[i] += v
                }
                criterionMeans[c.id] = Fraction(sum, k * unit)
                if c.group == .technical { technicalSum += sum }
                switch c.kind {
                case .objective:
                    if values.contains(where: { $0 != values[0] }) {
                        disagreements.append(.init(bidder: bidder.id, criterion: c.id,
                            scores: Dictionary(uniqueKeysWithValues: zip(memberIDs, values.map { Fraction($0, unit) }))))
                    }
                case .subjective where k > 1:
                    // |v − (S − v)/(k − 1)| > max × p% ⇔ |v(k − 1) − (S − v)| × 100 > max × p × (k − 1), p = a/b.
                    let maximum = Self.points(c.maximum)
                    for i in 0..<memberIDs.count {
                        let v = values[i]
                        let gap = (v * (k - 1) - (sum - v)).magnitude
                        let lhs = Int128(gap) * 100 * itemPercent.denominator
                        if lhs > maximum * itemPercent.numerator * (k - 1) {
                            let id = "item:\(memberIDs[i]):\(bidder.id):\(c.id)"
                            flags.append(.init(id: id, kind: .subjectiveItem, member: memberIDs[i], bidder: bidder.id, criterion: c.id,
                                               value: Fraction(v, unit), reference: Fraction(sum - v, (k - 1) * unit),
                                               kept: keptFlags[id]))
                        }
                    }
                default: break
                }
            }
            let grand = totals.reduce(0, +)
            let meanScore = Fraction(grand, k * unit)
            var memberTotals: [String: Fraction] = [:]
            for (i, m) in memberIDs.enumerated() {
                memberTotals[m] = Fraction(totals[i], unit)
                // |T − ΣT/k| > (ΣT/k) × p% ⇔ |T·k − ΣT| × 100 > ΣT × p, p = a/b.
                let gap = (totals[i] * k - grand).magnitude
                if grand > 0, Int128(gap) * 100 * totalPercent.denominator > grand * totalPercent.numerator {
                    let id = "total:\(m):\(bidder.id)"
                    flags.append(.init(id: id, kind: .memberTotal, member: m, bidder: bidder.id, criterion: nil,
                                       value: Fraction(totals[i], unit), reference: meanScore, kept: keptFlags[id]))
                }
            }
            let technicalScore = Fraction(technicalSum, k * unit)
            let priceScore = PriceScore.compute(evaluatedPrice: evaluation.evaluatedPrice, benchmark: benchmark,
                                                weightPercent: priceCriterion.maximum)
            lines.append(BidderScore(bidder: bidder.id, memberTotals: memberTotals, meanScore: meanScore,
                                     technicalScore: technicalScore, price: evaluation, priceScore: priceScore,
                                     total: meanScore + priceScore, criterionMeans: criterionMeans))
        }
        return ScoreSummary(benchmarkPrice: benchmark, bidders: lines, disagreements: disagreements, flags: flags)
    }
}

extension SessionState {
    /// A typed score in units of 1/10,000 point (exact: entry allows at most 4 decimals).
    static func points(_ f: Fraction) -> Int128 { f.numerator * (10_000 / f.denominator) }
}
