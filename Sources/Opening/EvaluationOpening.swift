public import Evaluation

/// What a concluded opening gives the evaluation session's definition (docs/formats.md,
/// "Opening → evaluation"): per lot, the bids opened as valid, each as the definition's
/// `bidders[]` entry would name it — `id` (the credit code), `name` and `opening`
/// (``OpenedBid/evaluationOpening``: figures, and words only where they differ). A bid whose
/// figures or words cannot be read has no `opening`: the committee decides it first, and
/// `consistency` says why. The platform (or the operator) merges this into the session
/// definition it signs; roomd does not write session definitions itself, because the
/// definition is the platform's signed document and carries what the opening does not know
/// (scoring, SME class, brands).
public struct EvaluationOpening: Codable, Sendable, Equatable {
    public var version: Int
    public var project: String
    public var concludedAt: Instant
    public var lots: [Lot]

    public struct Lot: Codable, Sendable, Equatable {
        public var lot: String
        public var name: String
        /// Set when the lot failed at the opening (废标 / 终止): it is not evaluated.
        public var failure: LotFailure?
        public var bidders: [Bidder]
    }

    public struct Bidder: Codable, Sendable, Equatable {
        /// The supplier's credit code: the bidder id to use in the session definition.
        public var id: String
        public var name: String
        /// nil while the figures or the words cannot be read (see `consistency`).
        public var opening: Evaluation.OpeningRecord?
        public var consistency: PriceConsistency
    }

    /// nil before the opening is concluded: until then the record may still change (answers).
    public init?(record: BidOpeningRecord) {
        guard let concludedAt = record.concludedAt else { return nil }
        version = 1
        project = record.project.number
        self.concludedAt = concludedAt
        lots = record.lots.map { lot in
            Lot(lot: lot.lot, name: lot.name, failure: lot.failure, bidders: lot.bids.map {
                Bidder(id: $0.supplier.text, name: $0.name, opening: $0.evaluationOpening, consistency: $0.consistency)
            })
        }
    }
}
