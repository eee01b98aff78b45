public import Evaluation

/// The opening record (开标记录): what was read out once decryption closed, and each supplier's
/// answer to it. Built from the decrypted summaries only; prices are kept as written, the words
/// read by ``ChineseAmount``, and a difference between figures and words is flagged for the
/// committee (87号令 第59条: words prevail, the bidder confirms in writing) — never corrected here.
public struct BidOpeningRecord: Codable, Sendable, Equatable {
    public var project: OpeningProject
    public var bidDeadline: String
    public var openedAt: Instant
    public var decryptionClosedAt: Instant
    public var concludedAt: Instant?
    public var lots: [LotOpening]
    public var suppliers: [SupplierOpening]
    /// Every rejection in order (late and unknown sign-ins, altered bids, failed decryptions).
    public var rejections: [RecordedRejection]

    /// Failed when no lot has enough valid bids.
    public var failed: Bool { lots.allSatisfy { $0.failure != nil } }
}

public struct LotOpening: Codable, Sendable, Equatable {
    public var lot: String
    public var name: String
    public var minimumValidBids: Int
    /// The valid bids in the order of the definition.
    public var bids: [OpenedBid]
    /// Suppliers of this lot whose bid is not valid, with the reason.
    public var invalid: [InvalidBid]
    /// Set when fewer than `minimumValidBids` bids are valid: the lot's opening failed.
    public var failure: LotFailure?
}

public struct LotFailure: Codable, Sendable, Equatable {
    public var validBids: Int
    public var minimum: Int
    /// 废标 for tenders, 终止 for the other methods.
    public var kind: FailureKind

    /// 政府采购法 36 and 87号令 43 for tenders; RULES.md names no article for the other methods.
    var rules: [Citation] { kind == .bidFailure ? [Citation(.procurementLaw, 36), Citation(.order87, 43)] : [] }

    public var chineseMessage: String {
        let basis = rules.isEmpty ? "" : "（依据\(rules.map(\.chinese).joined(separator: "、"))）"
        let outcome = kind == .bidFailure ? "本包废标" : "本包终止采购活动"
        return "有效投标不足\(minimum)家（仅\(validBids)家），\(outcome)\(basis)；请依法重新组织采购或按规定变更采购方式。"
    }

    public var englishMessage: String {
        let basis = rules.isEmpty ? "" : " (\(rules.map(\.english).joined(separator: ", ")))"
        return "\(validBids) valid bid(s), fewer than \(minimum): the opening of this lot failed\(basis); procure again or change the method as the rules allow"
    }
}

public struct OpenedBid: Codable, Sendable, Equatable {
    public var supplier: CreditCode
    public var name: String
    public var priceInFigures: String
    public var priceInWords: String
    public var consistency: PriceConsistency
    public var deliveryPeriod: String?
    public var remarks: String?

    /// For the evaluation session's definition (``Evaluation/OpeningRecord``): the figures, and the
    /// words only where they differ. nil when either cannot be read: the committee decides first.
    public var evaluationOpening: Evaluation.OpeningRecord? {
        switch consistency {
        case .consistent(let amount): Evaluation.OpeningRecord(totalInFigures: amount)
        case .wordsDiffer(let figures, let words): Evaluation.OpeningRecord(totalInFigures: figures, totalInWords: words)
        case .figuresUnreadable, .wordsUnreadable: nil
        }
    }
}

/// Figures against words (87号令 第59条).
public enum PriceConsistency: Codable, Sendable, Equatable {
    case consistent(Fraction)
    /// The words prevail; the committee applies that and the bidder confirms in writing.
    case wordsDiffer(figures: Fraction, words: Fraction)
    case figuresUnreadable
    case wordsUnreadable(code: String, chinese: String, english: String)

    public static func check(figures: String, words: String) -> PriceConsistency {
        guard let f = Fraction(decimalText: figures), f >= .zero else { return .figuresUnreadable }
        let w: Fraction
        do {
            w = try ChineseAmount.parse(words)
        } catch {
            return .wordsUnreadable(code: error.code, chinese: error.chineseMessage, english: error.englishMessage)
        }
        return f == w ? .consistent(f) : .wordsDiffer(figures: f, words: w)
    }

    public var flagged: Bool {
        if case .consistent = self { return false }
        return true
    }
}

public struct InvalidBid: Codable, Sendable, Equatable {
    public var supplier: CreditCode
    public var name: String
    public var reason: OpeningRejection
}

public struct SupplierOpening: Codable, Sendable, Equatable {
    public var supplier: CreditCode
    public var name: String
    public var signedInAt: Instant?
    public var decryptedAt: Instant?
    /// nil: valid. Otherwise why the bid was not opened.
    public var notOpened: OpeningRejection?
    public var answer: SupplierAnswer?
}

extension OpeningState {
    /// The record, once decryption has closed.
    public func record() -> BidOpeningRecord? {
        guard let openedAt, let closedAt else { return nil }
        var suppliers: [SupplierOpening] = []
        for s in definition.suppliers {
            let p = progress[s.creditCode] ?? SupplierProgress()
            suppliers.append(SupplierOpening(
                supplier: s.creditCode, name: s.name, signedInAt: p.signedInAt,
                decryptedAt: p.summary == nil ? nil : p.attempts.last?.at,
                notOpened: p.summary == nil ? notOpenedReason(s.creditCode, p) : nil, answer: p.answer))
        }
        let lots = definition.lots.map { lot in
            var bids: [OpenedBid] = []
            var invalid: [InvalidBid] = []
            for s in definition.suppliers where s.lots.contains(lot.id) {
                let p = progress[s.creditCode] ?? SupplierProgress()
                guard let summary = p.summary else {
                    invalid.append(InvalidBid(supplier: s.creditCode, name: s.name, reason: notOpenedReason(s.creditCode, p)))
                    continue
                }
                guard let line = summary.lots.first(where: { $0.lot == lot.id }) else {
                    invalid.append(InvalidBid(supplier: s.creditCode, name: s.name, reason: .noPriceForLot(lot.id)))
                    continue
                }
                bids.append(OpenedBid(supplier: s.creditCode, name: s.name, priceInFigures: line.priceInFigures,
                                      priceInWords: line.priceInWords,
                                      consistency: .check(figures: line.priceInFigures, words: line.priceInWords),
                                      deliveryPeriod: line.deliveryPeriod, remarks: line.remarks))
            }
            let minimum = definition.minimumValidBids(lot: lot)
            return LotOpening(lot: lot.id, name: lot.name, minimumValidBids: minimum, bids: bids, invalid: invalid,
                              failure: bids.count < minimum
                                  ? LotFailure(validBids: bids.count, minimum: minimum, kind: definition.project.method.failureKind) : nil)
        }
        return BidOpeningRecord(project: definition.project, bidDeadline: definition.bidDeadline, openedAt: openedAt,
                                decryptionClosedAt: closedAt, concludedAt: concludedAt, lots: lots, suppliers: suppliers,
                                rejections: rejections)
    }

    /// The record as read out when decryption closed, without the answers: what each supplier's
    /// confirmation signs (its canonical JSON), the same bytes before and after anyone answers.
    public func readout() -> BidOpeningRecord? {
        guard var record = record() else { return nil }
        record.concludedAt = nil
        for index in record.suppliers.indices { record.suppliers[index].answer = nil }
        return record
    }

    /// Why a bid was not opened: no sealed bid, no sign-in, the last failed attempt, or time.
    private func notOpenedReason(_ code: CreditCode, _ p: SupplierProgress) -> OpeningRejection {
        if p.sealedBidReceivedAt == nil {
            return rejections.last { $0.supplier == code && $0.reason.stage == .sealedBid }?.reason ?? .sealedBidMissing
        }
        if p.signedInAt == nil {
            return rejections.last { $0.supplier == code && $0.reason.stage == .signIn }?.reason ?? .notSignedIn
        }
        if let failure = p.attempts.last?.failure { return failure }
        return .decryptionTimedOut(windowEnd: windowEnd ?? closedAt ?? 0)
    }
}
