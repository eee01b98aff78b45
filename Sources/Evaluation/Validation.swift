public import Canonical
/// Errors carry a message for people at stations and the operator console (Chinese) and one for
/// logs and installers (English). Both say what was wrong, where, and what to do.
public protocol RuleViolation: ExplainedRefusal, Sendable {
    /// Stable, for programs: what the refusal body carries as `error`.
    var code: String { get }
    var chineseMessage: String { get }
    var englishMessage: String { get }
}

/// A session definition that breaks RULES.md. One case per rule, with what was found.
public enum DefinitionError: RuleViolation, Equatable {
    case unsupportedVersion(Int)
    case lotNotFound(String)
    case emptyText(field: String)
    case duplicateID(kind: String, id: String)
    case nonPositiveAmount(field: String)
    /// Panels have an odd number of members (87号令 47; 74号令 7; 214号 14).
    case evenPanel(size: Int)
    case panelTooSmall(size: Int, minimum: Int, rule: String)
    /// Experts ≥ ⌈2n/3⌉ (87号令 47; 214号 14).
    case tooFewExperts(experts: Int, required: Int, panel: Int)
    /// Agency staff may not sit on their own agency's project (198号).
    case agencyStaffOnPanel(member: String)
    /// An expert may not sit on a project of their own employer (198号).
    case expertFromPurchaser(member: String)
    case methodMismatch(method: ProcurementMethod, evaluation: EvaluationMethod)
    case missingPriceWeight
    case priceWeightOutOfRange(weight: Fraction, minimum: Fraction, maximum: Fraction)
    case criteriaNotAllowed(method: EvaluationMethod)
    case priceCriterionCount(Int)
    case priceCriterionMaximum(maximum: Fraction, weight: Fraction)
    /// Criteria maxima sum to 100, price included (87号令 55).
    case criteriaSum(Fraction)
    case criterionMaximum(criterion: String)
    case priceCriterionGroup(criterion: String)
    case allowedValuesMissing(criterion: String)
    case allowedValueOutOfRange(criterion: String, value: Fraction)
    case allowedValuesOnSubjective(criterion: String)
    /// Qualification conditions may not be scoring criteria (87号令 55).
    case qualificationAsCriterion(criterion: String)
    case deductionOutOfBand(kind: String, percent: Fraction, minimum: Fraction, maximum: Fraction)
    case deductionOnReservedProject
    case smeShareOutOfRange(bidder: String, percent: Fraction)
    case candidateCount(Int, minimum: Int)
    case displayDecimals(Int)
    case thresholdOutOfRange(field: String, percent: Fraction)
    case tooManyDecimals(field: String)
    /// The documents' technical-score tie-break needs technical scores (综合评分法).
    case technicalTieBreakWithoutScores
    /// Additive deductions must leave a positive evaluated price.
    case deductionsTooLarge(total: Fraction)

    /// A stable code for programs (the refusal body's `error`), one per rule.
    public var code: String {
        switch self {
        case .unsupportedVersion: "unsupported-version"
        case .lotNotFound: "lot-not-found"
        case .emptyText: "empty-text"
        case .duplicateID: "duplicate-id"
        case .nonPositiveAmount: "non-positive-amount"
        case .evenPanel: "even-panel"
        case .panelTooSmall: "panel-too-small"
        case .tooFewExperts: "too-few-experts"
        case .agencyStaffOnPanel: "agency-staff-on-panel"
        case .expertFromPurchaser: "expert-from-purchaser"
        case .methodMismatch: "method-mismatch"
        case .missingPriceWeight: "missing-price-weight"
        case .priceWeightOutOfRange: "price-weight-out-of-range"
        case .criteriaNotAllowed: "criteria-not-allowed"
        case .priceCriterionCount: "price-criterion-count"
        case .priceCriterionMaximum: "price-criterion-maximum"
        case .criteriaSum: "criteria-sum"
        case .criterionMaximum: "criterion-maximum"
        case .priceCriterionGroup: "price-criterion-group"
        case .allowedValuesMissing: "allowed-values-missing"
        case .allowedValueOutOfRange: "allowed-value-out-of-range"
        case .allowedValuesOnSubjective: "allowed-values-on-subjective"
        case .qualificationAsCriterion: "qualification-as-criterion"
        case .deductionOutOfBand: "deduction-out-of-band"
        case .deductionOnReservedProject: "deduction-on-reserved-project"
        case .smeShareOutOfRange: "sme-share-out-of-range"
        case .candidateCount: "candidate-count"
        case .displayDecimals: "display-decimals"
        case .thresholdOutOfRange: "threshold-out-of-range"
        case .tooManyDecimals: "too-many-decimals"
        case .technicalTieBreakWithoutScores: "technical-tie-break-without-scores"
        case .deductionsTooLarge: "deductions-too-large"
        }
    }

    public var chineseMessage: String {
        switch self {
        case .unsupportedVersion(let v): "评审会定义版本 \(v) 不受支持，仅支持版本 \(SessionDefinition.currentVersion)。"
        case .lotNotFound(let id): "未找到采购包 \(id)。"
        case .emptyText(let f): "字段 \(f) 不能为空。"
        case .duplicateID(let k, let id): "\(k) 编号 \(id) 重复。"
        case .nonPositiveAmount(let f): "金额 \(f) 必须大于零。"
        case .evenPanel(let n): "评审小组人数为 \(n)，应为单数。"
        case .panelTooSmall(let n, let m, let r): "评审小组人数为 \(n)，依据\(r)至少应为 \(m) 人。"
        case .tooFewExperts(let e, let r, let n): "评审小组 \(n) 人中评审专家仅 \(e) 人，不得少于 \(r) 人（成员总数的三分之二）。"
        case .agencyStaffOnPanel(let m): "成员 \(m) 为本项目代理机构人员，不得参加本项目评审。"
        case .expertFromPurchaser(let m): "评审专家 \(m) 为采购人本单位人员，不得以专家身份参加本单位项目评审。"
        case .methodMismatch(let p, let e): "采购方式\(p.chineseName)不能采用\(e.chineseName)。"
        case .missingPriceWeight: "综合评分法必须设定价格权重。"
        case .priceWeightOutOfRange(let w, let lo, let hi): "价格权重 \(w.display(decimals: 2))% 超出允许范围 \(lo.display(decimals: 0))%–\(hi.display(decimals: 0))%。"
        case .criteriaNotAllowed(let m): "\(m.chineseName)不设评分因素，请删除评分标准。"
        case .priceCriterionCount(let n): "综合评分法应有且仅有一个价格分项，现有 \(n) 个。"
        case .priceCriterionMaximum(let m, let w): "价格分满分 \(m.display(decimals: 2)) 与价格权重 \(w.display(decimals: 2))% 不一致。"
        case .criteriaSum(let s): "评分因素满分合计为 \(s.display(decimals: 2))，应为 100。"
        case .criterionMaximum(let c): "评分因素 \(c) 的满分必须大于零。"
        case .priceCriterionGroup(let c): "评分因素 \(c)：价格分必须归入价格组，价格组只能是价格分。"
        case .allowedValuesMissing(let c): "客观评分因素 \(c) 必须列明可取分值。"
        case .allowedValueOutOfRange(let c, let v): "评分因素 \(c) 的可取分值 \(v.display(decimals: 2)) 超出 0 至满分的范围。"
        case .allowedValuesOnSubjective(let c): "评分因素 \(c) 不是客观分，不应列明可取分值。"
        case .qualificationAsCriterion(let c): "评分因素 \(c) 是资格条件，资格条件不得作为评审因素。"
        case .deductionOutOfBand(let k, let p, let lo, let hi): "\(k)价格扣除比例 \(p.display(decimals: 2))% 不在 \(lo.display(decimals: 0))%–\(hi.display(decimals: 0))% 范围内。"
        case .deductionOnReservedProject: "专门面向中小企业的项目不得再给予价格扣除。"
        case .smeShareOutOfRange(let b, let p): "投标人 \(b) 的中小企业份额 \(p.display(decimals: 2))% 不在 0–100% 范围内。"
        case .candidateCount(let n, let m): "推荐候选人数量 \(n) 不符合要求，至少 \(m) 名。"
        case .displayDecimals(let d): "保留小数位数 \(d) 不在 0–6 范围内。"
        case .thresholdOutOfRange(let f, let p): "阈值 \(f) 为 \(p.display(decimals: 2))%，应大于 0 且不超过 100。"
        case .tooManyDecimals(let f): "\(f) 的小数位数过多（评分最多 4 位小数）。"
        case .technicalTieBreakWithoutScores: "只有综合评分法才能以技术得分决定并列名次。"
        case .deductionsTooLarge(let t): "价格扣除合计 \(t.display(decimals: 2))% 过大，评审价格必须大于零。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .unsupportedVersion(let v): "session definition version \(v) is not supported; only version \(SessionDefinition.currentVersion)"
        case .lotNotFound(let id): "lot \(id) is not in the definition"
        case .emptyText(let f): "\(f) must not be empty"
        case .duplicateID(let k, let id): "duplicate \(k) id \(id)"
        case .nonPositiveAmount(let f): "amount \(f) must be greater than zero"
        case .evenPanel(let n): "panel has \(n) members; it must be odd (87号令 47)"
        case .panelTooSmall(let n, let m, let r): "panel has \(n) members; \(r) requires at least \(m)"
        case .tooFewExperts(let e, let r, let n): "panel of \(n) has \(e) experts; at least \(r) (two thirds) required (87号令 47)"
        case .agencyStaffOnPanel(let m): "member \(m) works for the agency of this project and may not sit on the panel (198号)"
        case .expertFromPurchaser(let m): "expert \(m) is employed by the purchaser and may not sit as an expert on its project (198号)"
        case .methodMismatch(let p, let e): "procurement method \(p.rawValue) cannot use evaluation method \(e.rawValue)"
        case .missingPriceWeight: "comprehensive scoring needs priceWeightPercent (87号令 55)"
        case .priceWeightOutOfRange(let w, let lo, let hi): "price weight \(w)% outside \(lo)%–\(hi)% for this method and category (87号令 55; 214号 24)"
        case .criteriaNotAllowed(let m): "\(m.rawValue) has no scoring criteria; remove them"
        case .priceCriterionCount(let n): "comprehensive scoring needs exactly one price criterion, found \(n)"
        case .priceCriterionMaximum(let m, let w): "price criterion maximum \(m) does not equal the price weight \(w)%"
        case .criteriaSum(let s): "criteria maxima sum to \(s), must be 100 (87号令 55)"
        case .criterionMaximum(let c): "criterion \(c) must have a maximum greater than zero"
        case .priceCriterionGroup(let c): "criterion \(c): price kind and price group must go together"
        case .allowedValuesMissing(let c): "objective criterion \(c) needs its allowed values"
        case .allowedValueOutOfRange(let c, let v): "criterion \(c) allows \(v), outside 0...maximum"
        case .allowedValuesOnSubjective(let c): "criterion \(c) is not objective and may not list allowed values"
        case .qualificationAsCriterion(let c): "criterion \(c) is a qualification condition; these may not be scored (87号令 55)"
        case .deductionOutOfBand(let k, let p, let lo, let hi): "\(k) deduction \(p)% outside the \(lo)%–\(hi)% band (财库〔2020〕46号 9)"
        case .deductionOnReservedProject: "a project reserved for SMEs applies no price deduction (46号)"
        case .smeShareOutOfRange(let b, let p): "bidder \(b) SME share \(p)% outside 0–100%"
        case .candidateCount(let n, let m): "candidate count \(n) below the minimum \(m)"
        case .displayDecimals(let d): "displayDecimals \(d) outside 0...6"
        case .thresholdOutOfRange(let f, let p): "threshold \(f) = \(p)% must be in (0, 100]"
        case .tooManyDecimals(let f): "\(f) has too many decimals (scores take at most 4)"
        case .technicalTieBreakWithoutScores: "tieBreak technicalScore needs comprehensive scoring"
        case .deductionsTooLarge(let t): "additive deductions total \(t)%; the evaluated price must stay above zero"
        }
    }
}

extension SessionDefinition {
    /// Checks the definition for `lot` against RULES.md. Returns every violation found (empty = valid),
    /// so the operator can fix them all at once.
    public func violations(lot lotID: String) -> [DefinitionError] {
        var errors: [DefinitionError] = []
        if version != SessionDefinition.currentVersion { errors.append(.unsupportedVersion(version)) }
        guard let lot = lot(lotID) else { return errors + [.lotNotFound(lotID)] }
        let method = project.method

        if project.number.isEmpty { errors.append(.emptyText(field: "project.number")) }
        if project.name.isEmpty { errors.append(.emptyText(field: "project.name")) }
        if project.purchaser.isEmpty { errors.append(.emptyText(field: "project.purchaser")) }
        if project.budget <= .zero { errors.append(.nonPositiveAmount(field: "project.budget")) }
        if let m = project.maximumPrice, m <= .zero { errors.append(.nonPositiveAmount(field: "project.maximumPrice")) }
        errors += duplicates(committee.map(\.id), kind: "member")
        errors += duplicates(lots.map(\.id), kind: "lot")
        errors += duplicates(lot.bidders.map(\.id), kind: "bidder")
        errors += duplicates(lot.criteria.map(\.id), kind: "criterion")
        errors += duplicates(lot.qualificationItems.map(\.id), kind: "qualification item")
        errors += duplicates(lot.complianceItems.map(\.id), kind: "compliance item")

        // Panel size and composition (87号令 47; 74号令 7; 214号 14; 198号).
        let n = committee.count
        if method == .singleSource {
            if n < 1 { errors.append(.panelTooSmall(size: n, minimum: 1, rule: "74号令")) }
        } else {
            if n % 2 == 0 { errors.append(.evenPanel(size: n)) }
            let (minimum, rule) = minimumPanel()
            if n < minimum { errors.append(.panelTooSmall(size: n, minimum: minimum, rule: rule)) }
            let experts = committee.filter { $0.role == .expert }.count
            let required = (2 * n + 2) / 3
            if experts < required { errors.append(.tooFewExperts(experts: experts, required: required, panel: n)) }
        }
        for m in committee {
            if m.id.isEmpty || m.name.isEmpty { errors.append(.emptyText(field: "committee.\(m.id).name")) }
            if let agency = project.agency, !agency.isEmpty, m.affiliation == agency { errors.append(.agencyStaffOnPanel(member: m.id)) }
            if m.role == .expert, m.affiliation == project.purchaser { errors.append(.expertFromPurchaser(member: m.id)) }
        }

        // Method and evaluation method go together.
        let allowedEvaluation: [EvaluationMethod] = switch method {
        case .publicTender, .invitedTender: [.comprehensiveScoring, .lowestEvaluatedPrice]
        case .competitiveConsultation: [.comprehensiveScoring]
        case .competitiveNegotiation, .inquiry: [.lowestEvaluatedPrice]
        case .singleSource: [.negotiatedPrice]
        }
        if !allowedEvaluation.contains(lot.evaluationMethod) {
            errors.append(.methodMismatch(method: method, evaluation: lot.evaluationMethod))
        }

        errors += criteriaViolations(lot)
        errors += deductionViolations(lot)

        for b in lot.bidders {
            if b.id.isEmpty || b.name.isEmpty { errors.append(.emptyText(field: "bidder.\(b.id).name")) }
            if b.opening.totalInFigures <= .zero { errors.append(.nonPositiveAmount(field: "bidder.\(b.id).opening.totalInFigures")) }
            if let w = b.opening.totalInWords, w <= .zero { errors.append(.nonPositiveAmount(field: "bidder.\(b.id).opening.totalInWords")) }
            for line in b.opening.lines ?? [] where line.quantity <= .zero {
                errors.append(.nonPositiveAmount(field: "bidder.\(b.id).lines.\(line.item).quantity"))
            }
            if let s = b.smeSharePercent, s < .zero || s > .hundred { errors.append(.smeShareOutOfRange(bidder: b.id, percent: s)) }
        }

        // 谈判/询价 recommend ≥3 candidates (74号令); others at least one.
        let minimumCandidates = (method == .competitiveNegotiation || method == .inquiry) ? 3 : 1
        if lot.candidates < minimumCandidates { errors.append(.candidateCount(lot.candidates, minimum: minimumCandidates)) }
        if lot.tieBreak == .technicalScore, lot.evaluationMethod != .comprehensiveScoring {
            errors.append(.technicalTieBreakWithoutScores)
        }
        if !(0...6).contains(lot.decimals) { errors.append(.displayDecimals(lot.decimals)) }
        for (field, value) in [("abnormalScore.subjectiveItemPercentOfMaximum", lot.itemThreshold),
                               ("abnormalScore.memberTotalPercentOfMean", lot.totalThreshold),
                               ("abnormallyLowPercentOfOthersMean", lot.lowPriceThreshold)]
        where value <= .zero || value > .hundred {
            errors.append(.thresholdOutOfRange(field: field, percent: value))
        }
        return errors
    }

    /// Throws the first violation; see `violations(lot:)` for all of them.
    public func validate(lot: String) throws(DefinitionError) {
        if let first = violations(lot: lot).first { throw first }
    }

    func minimumPanel() -> (Int, String) {
        switch project.method {
        case .publicTender, .invitedTender:
            // ≥5; ≥7 at 10,000,000 RMB or technically complex / major social impact (87号令 47).
            if project.budget >= Fraction(10_000_000) || project.technicallyComplexOrMajorImpact == true {
                return (7, "87号令第47条（预算1000万元以上或技术复杂、社会影响较大）")
            }
            return (5, "87号令第47条")
        case .competitiveConsultation:
            return (3, "财库〔2014〕214号第14条")
        case .competitiveNegotiation, .inquiry:
            // ≥5 at or above the public-tender threshold (74号令 7).
            if project.budget >= (project.publicTenderThreshold ?? Project.defaultPublicTenderThreshold) {
                return (5, "74号令第7条（达到公开招标数额标准）")
            }
            return (3, "74号令第7条")
        case .singleSource:
            return (1, "74号令")
        }
    }

    private func duplicates(_ ids: [String], kind: String) -> [DefinitionError] {
        var seen = Set<String>(), reported = Set<String>(), out: [DefinitionError] = []
        for id in ids {
            if id.isEmpty { out.append(.emptyText(field: "\(kind).id")); continue }
            if !seen.insert(id).inserted, reported.insert(id).inserted { out.append(.duplicateID(kind: kind, id: id)) }
        }
        return out
    }

    private func criteriaViolations(_ lot: Lot) -> [DefinitionError] {
        var errors: [DefinitionError] = []
        guard lot.evaluationMethod == .comprehensiveScoring else {
            if !lot.criteria.isEmpty { errors.append(.criteriaNotAllowed(method: lot.evaluationMethod)) }
            return errors
        }
        let category = project.category
        // Price weight bounds (87号令 55: goods ≥30, services ≥10; 214号 24: goods 30–60, services 10–30).
        // RULES.md gives no figure for works: the services bound applies.
        let bounds: (Fraction, Fraction) = switch (project.method, category) {
        case (.competitiveConsultation, .goods): (Fraction(30), Fraction(60))
        case (.competitiveConsultation, _): (Fraction(10), Fraction(30))
        case (_, .goods): (Fraction(30), Fraction(100))
        case (_, _): (Fraction(10), Fraction(100))
        }
        if let weight = lot.priceWeightPercent {
            if weight < bounds.0 || weight > bounds.1 {
                errors.append(.priceWeightOutOfRange(weight: weight, minimum: bounds.0, maximum: bounds.1))
            }
        } else {
            errors.append(.missingPriceWeight)
        }
        let prices = lot.criteria.filter { $0.kind == .price }
        if prices.count != 1 { errors.append(.priceCriterionCount(prices.count)) }
        if let p = prices.first, let w = lot.priceWeightPercent, p.maximum != w {
            errors.append(.priceCriterionMaximum(maximum: p.maximum, weight: w))
        }
        let sum = lot.criteria.map(\.maximum).sum()
        if sum != .hundred { errors.append(.criteriaSum(sum)) }
        let qualification = Set(lot.qualificationItems.flatMap { [$0.id, $0.name] })
        for c in lot.criteria {
            if c.maximum <= .zero { errors.append(.criterionMaximum(criterion: c.id)) }
            if (c.kind == .price) != (c.group == .price) { errors.append(.priceCriterionGroup(criterion: c.id)) }
            if qualification.contains(c.id) || qualification.contains(c.name) { errors.append(.qualificationAsCriterion(criterion: c.id)) }
            if (c.maximum.decimalPlaces ?? 99) > 4 { errors.append(.tooManyDecimals(field: "criterion \(c.id) maximum")) }
            switch c.kind {
            case .objective:
                guard let values = c.allowedValues, !values.isEmpty else { errors.append(.allowedValuesMissing(criterion: c.id)); continue }
                for v in values where v < .zero || v > c.maximum || (v.decimalPlaces ?? 99) > 4 {
                    errors.append(.allowedValueOutOfRange(criterion: c.id, value: v))
                }
            case .subjective, .price:
                if c.allowedValues != nil { errors.append(.allowedValuesOnSubjective(criterion: c.id)) }
            }
        }
        return errors
    }

    private func deductionViolations(_ lot: Lot) -> [DefinitionError] {
        guard let d = lot.deductions else { return [] }
        var errors: [DefinitionError] = []
        if d.reservedForSME == true {
            if d.smallFirmPercent != nil || d.consortiumSharePercent != nil { errors.append(.deductionOnReservedProject) }
        }
        // Bands (财库〔2020〕46号 9 as amended by 〔2022〕19号).
        let works = project.category == .works
        let small = works ? (Fraction(3), Fraction(5)) : (Fraction(10), Fraction(20))
        let share = works ? (Fraction(1), Fraction(2)) : (Fraction(4), Fraction(6))
        if let p = d.smallFirmPercent, p < small.0 || p > small.1 {
            errors.append(.deductionOutOfBand(kind: "小微企业 small/micro", percent: p, minimum: small.0, maximum: small.1))
        }
        if let p = d.consortiumSharePercent, p < share.0 || p > share.1 {
            errors.append(.deductionOutOfBand(kind: "联合体/分包 consortium/subcontract", percent: p, minimum: share.0, maximum: share.1))
        }
        if let p = d.domesticProductPercent, p <= .zero || p >= .hundred {
            errors.append(.deductionOutOfBand(kind: "本国产品 domestic product", percent: p, minimum: .zero, maximum: .hundred))
        }
        let stacked = max(d.smallFirmPercent ?? .zero, d.consortiumSharePercent ?? .zero) + (d.domesticProductPercent ?? .zero)
        if d.stacking == .additive, stacked >= .hundred { errors.append(.deductionsTooLarge(total: stacked)) }
        return errors
    }
}

extension RuleViolation {
    public var explanation: Explanation { Explanation(code: code, chinese: chineseMessage, english: englishMessage) }
}
