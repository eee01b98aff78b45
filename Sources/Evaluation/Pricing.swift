/// One step of a price-inconsistency correction, in the order of 87号令 59.
public struct PriceCorrectionStep: Codable, Sendable, Equatable {
    /// "59.2" words over figures, "59.3" misplaced decimal point (total kept, unit corrected),
    /// "59.4" total recomputed from unit prices.
    public var clause: String
    public var item: String?
    public var from: Fraction
    public var to: Fraction
}

/// The result of applying 87号令 59 to a bidder's opening record. The opening summary
/// (开标一览表) prevails over the rest of the bid (59.1), so only the summary is examined.
public struct PriceCorrection: Codable, Sendable, Equatable {
    public var original: Fraction
    public var corrected: Fraction
    public var steps: [PriceCorrectionStep]
    /// The bidder must confirm in writing, or the bid is invalid (59).
    public var needsConfirmation: Bool { !steps.isEmpty }

    public static func apply(to opening: OpeningRecord) -> PriceCorrection {
        var steps: [PriceCorrectionStep] = []
        var total = opening.totalInFigures
        // 59.2 words over figures.
        if let words = opening.totalInWords, words != total {
            steps.append(.init(clause: "59.2", item: nil, from: total, to: words))
            total = words
        }
        if let lines = opening.lines, !lines.isEmpty {
            var lineTotals: [Fraction] = []
            for line in lines {
                let computed = line.unitPrice * line.quantity
                if computed == line.total {
                    lineTotals.append(line.total)
                } else if isDecimalShift(computed, line.total) {
                    // 59.3 obvious misplaced decimal point in the unit price: the total stands, the unit price is corrected.
                    steps.append(.init(clause: "59.3", item: line.item, from: line.unitPrice, to: line.total / line.quantity))
                    lineTotals.append(line.total)
                } else {
                    // 59.4 total and unit price disagree: the unit price prevails.
                    steps.append(.init(clause: "59.4", item: line.item, from: line.total, to: computed))
                    lineTotals.append(computed)
                }
            }
            let sum = lineTotals.sum()
            if sum != total {
                // 59.4 the bid total follows the unit prices.
                steps.append(.init(clause: "59.4", item: nil, from: total, to: sum))
                total = sum
            }
        }
        return PriceCorrection(original: opening.totalInFigures, corrected: total, steps: steps)
    }

    /// "Obviously misplaced": the two differ exactly by a power of ten (10¹…10⁴).
    static func isDecimalShift(_ a: Fraction, _ b: Fraction) -> Bool {
        guard a > .zero, b > .zero else { return false }
        var factor = Fraction(10)
        for _ in 1...4 {
            if a * factor == b || b * factor == a { return true }
            factor = factor * Fraction(10)
        }
        return false
    }
}

/// How a bidder's evaluated price P′ was made from its price P (RULES.md "Prices").
public struct PriceEvaluation: Codable, Sendable, Equatable {
    /// P: the price the contract would be signed at (corrected opening total or final quote).
    public var contractPrice: Fraction
    /// Percent; 0 when none applies.
    public var smeDeductionPercent: Fraction
    public var smeDeductionBasis: String?
    public var domesticDeductionPercent: Fraction
    public var stacking: DeductionStacking
    /// P′ = P × (1 − d)
    public var evaluatedPrice: Fraction
}

extension SessionState {
    public func priceCorrection(_ bidder: String) -> PriceCorrection? {
        bidderByID[bidder].map { PriceCorrection.apply(to: $0.opening) }
    }

    /// P: final quote for 谈判/磋商 once quoted, else the corrected opening total.
    public func contractPrice(_ bidder: Bidder) -> Fraction {
        if method.hasNegotiationRounds, let q = finalQuotes[bidder.id] { return q }
        if method.hasNegotiationRounds, let q = roundQuotes[bidder.id]?.max(by: { $0.key < $1.key })?.value { return q }
        return PriceCorrection.apply(to: bidder.opening).corrected
    }

    /// SME (46号 9) and domestic-product deductions; they change only P′, never P.
    public func priceEvaluation(_ bidder: Bidder) -> PriceEvaluation {
        let p = contractPrice(bidder)
        let d = lot.deductions ?? Deductions()
        var sme = Fraction.zero
        var basis: String?
        if d.reservedForSME != true {
            if bidder.smeClass.countsAsSmallOrMicro, let rate = d.smallFirmPercent {
                sme = rate; basis = "小微企业（\(bidder.smeClass.chineseName)）"
            } else if let share = bidder.smeSharePercent, share >= Fraction(30), let rate = d.consortiumSharePercent {
                // Consortium or subcontract giving ≥30% to small/micro firms.
                sme = rate; basis = "联合体或分包中小微企业份额 \(share.decimalText)%"
            }
        }
        let domestic = (bidder.domesticProduct == true ? d.domesticProductPercent : nil) ?? .zero
        let stacking = d.stacking ?? .multiplicative
        let factor: Fraction = switch stacking {
        case .multiplicative: (.one - .percent(sme)) * (.one - .percent(domestic))
        case .additive: .one - .percent(sme) - .percent(domestic)
        }
        return PriceEvaluation(contractPrice: p, smeDeductionPercent: sme, smeDeductionBasis: basis,
                               domesticDeductionPercent: domestic, stacking: stacking, evaluatedPrice: p * factor)
    }

    /// Bidders whose price is below the configured percent of the mean of the other bids in `pool`
    /// (87号令 60). The committee must decide each one.
    func abnormallyLowFlags(pool: [Bidder]) -> [String] {
        guard pool.count >= 2 else { return [] }
        let prices = pool.map { ($0.id, contractPrice($0)) }
        let total = prices.map(\.1).sum()
        let threshold = Fraction.percent(lot.lowPriceThreshold)
        return prices.filter { id, price in
            let othersMean = (total - price) / Fraction(pool.count - 1)
            return price < othersMean * threshold
        }.map(\.0)
    }
}

/// PriceScore (87号令 55): (B / P′ᵢ) × price weight, B = the lowest P′ among the scored bids.
/// The lowest evaluated price gets the full price score. Computed, never typed.
public enum PriceScore {
    public static func compute(evaluatedPrice: Fraction, benchmark: Fraction, weightPercent: Fraction) -> Fraction {
        benchmark / evaluatedPrice * weightPercent
    }
}
