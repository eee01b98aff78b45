extension SessionState {
    /// Whether `value` may be entered for `criterion` (a typed criterion of this lot): the check a
    /// score sheet passes, for one value at a time — what a station shows inline while the expert
    /// types, before any sheet exists. Nil when the value is acceptable.
    public func scoreProblem(criterion: String, value: Fraction) -> EngineError? {
        guard let c = criterionByID[criterion] else { return .unknownCriterion(criterion) }
        guard c.kind != .price else { return .priceScoreIsComputed(criterion: criterion) }
        guard value >= .zero, value <= c.maximum else { return .scoreOutOfRange(criterion: criterion, value: value, maximum: c.maximum) }
        guard (value.decimalPlaces ?? 99) <= 4 else { return .scoreTooPrecise(criterion: criterion) }
        if c.kind == .objective, let allowed = c.allowedValues, !allowed.contains(value) {
            return .scoreNotAllowed(criterion: criterion, value: value, allowed: allowed)
        }
        return nil
    }

    /// The criteria a member scores (every criterion but the computed price), in definition order.
    public var scoredCriteria: [Criterion] { lot.typedCriteria }

    /// The member's entered (not yet submitted, or submitted) sheet for a bidder.
    public func sheet(member: String, bidder: String) -> [String: Fraction]? { sheets[member]?[bidder] }
}
