public import Canonical
/// Errors carry a message for people at stations and the operator console (Chinese) and one for
/// logs and installers (English). Both say what was wrong, where, and what to do.
public protocol RuleViolation: ExplainedRefusal, Sendable {
    /// Stable, for programs: what the refusal body carries as `error`.
    var code: String { get }
    var chineseMessage: String { get }
    var englishMessage: String { get }
}

/// Which list of the definition an id belongs to.
public enum IDKind: String, Sendable, Hashable {
    case member, lot, bidder, criterion, qualificationItem, complianceItem

    /// The JSON field holding the list (an identifier, so both languages print it).
    public var field: String {
        switch self {
        case .member: "committee"
        case .lot: "lots"
        case .bidder: "bidders"
        case .criterion: "criteria"
        case .qualificationItem: "qualificationItems"
        case .complianceItem: "complianceItems"
        }
    }

    public var chineseName: String {
        switch self {
        case .member: "评审小组成员"
        case .lot: "采购包"
        case .bidder: "投标人（供应商）"
        case .criterion: "评分因素"
        case .qualificationItem: "资格审查项"
        case .complianceItem: "符合性审查项"
        }
    }

    public var englishName: String {
        switch self {
        case .member: "member"
        case .lot: "lot"
        case .bidder: "bidder"
        case .criterion: "criterion"
        case .qualificationItem: "qualification item"
        case .complianceItem: "compliance item"
        }
    }
}

/// The price deductions whose rates the documents fix.
public enum DeductionKind: String, Sendable, Hashable {
    /// Small and micro firms (46号 9).
    case smallFirm
    /// A consortium or subcontract giving ≥30% to small/micro firms (46号 9).
    case consortiumShare
    /// Domestic products (本国产品); RULES.md gives no article, only 0 < rate < 100.
    case domesticProduct

    public var chineseName: String {
        switch self {
        case .smallFirm: "小微企业"
        case .consortiumShare: "联合体或分包（小微企业份额）"
        case .domesticProduct: "本国产品"
        }
    }

    public var englishName: String {
        switch self {
        case .smallFirm: "small/micro firm"
        case .consortiumShare: "consortium/subcontract share"
        case .domesticProduct: "domestic product"
        }
    }

    public var rule: Citation? { self == .domesticProduct ? nil : Citation(.caiKu46, 9) }
}

/// A session definition that breaks RULES.md. One case per rule, with what was found and, where the
/// article depends on the procurement method, the article of this definition's method (`rule`).
public enum DefinitionError: RuleViolation, Equatable {
    case unsupportedVersion(Int)
    case lotNotFound(String)
    /// `field` is the JSON path, e.g. "project.number".
    case emptyText(field: String)
    case duplicateID(kind: IDKind, id: String)
    case nonPositiveAmount(field: String)
    /// Panels have an odd number of members (87号令 47; 214号 14; 74号令 7).
    case evenPanel(size: Int, rule: Citation)
    case panelTooSmall(size: Int, minimum: Int, rule: Citation)
    /// Experts ≥ ⌈2n/3⌉ (87号令 47; 214号 14; 74号令 7).
    case tooFewExperts(experts: Int, required: Int, panel: Int, rule: Citation)
    /// Agency staff may not sit on their own agency's project (198号).
    case agencyStaffOnPanel(member: String)
    /// An expert may not sit on a project of their own employer (198号).
    case expertFromPurchaser(member: String)
    case methodMismatch(method: ProcurementMethod, evaluation: EvaluationMethod)
    /// 87号令 55; 214号 24.
    case missingPriceWeight(rule: Citation)
    /// 87号令 55: goods ≥ 30, services ≥ 10 (maximum 100: no upper bound); 214号 24: goods 30–60, services 10–30.
    case priceWeightOutOfRange(weight: Fraction, minimum: Fraction, maximum: Fraction, rule: Citation)
    case criteriaNotAllowed(method: EvaluationMethod)
    case priceCriterionCount(Int)
    case priceCriterionMaximum(maximum: Fraction, weight: Fraction)
    /// Criteria maxima sum to 100, price included (87号令 55; 214号 24).
    case criteriaSum(Fraction, rule: Citation)
    case criterionMaximum(criterion: String)
    case priceCriterionGroup(criterion: String)
    case allowedValuesMissing(criterion: String)
    case allowedValueOutOfRange(criterion: String, value: Fraction)
    case allowedValuesOnSubjective(criterion: String)
    /// Qualification conditions may not be scoring criteria (87号令 55 for tenders).
    case qualificationAsCriterion(criterion: String, rule: Citation?)
    case deductionOutOfBand(kind: DeductionKind, percent: Fraction, minimum: Fraction, maximum: Fraction)
    /// 46号 9.
    case deductionOnReservedProject
    case smeShareOutOfRange(bidder: String, percent: Fraction)
    case candidateCount(Int, minimum: Int)
    case displayDecimals(Int)
    case thresholdOutOfRange(field: String, percent: Fraction)
    /// `field` is the JSON path, e.g. "criteria.T1.maximum".
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

    /// Why the panel must be this large, beyond the method's own minimum: 87号令 47 asks 7 of large,
    /// complex or high-impact tenders; 74号令 7 asks 5 at the public-tender threshold.
    private var panelCondition: (chinese: String, english: String)? {
        guard case let .panelTooSmall(_, minimum, rule) = self else { return nil }
        switch (rule.document, minimum) {
        case (.order87, 7): return ("（预算1000万元以上或技术复杂、社会影响较大）",
                                    " (budget of 10,000,000 yuan or more, technically complex or of major social impact)")
        case (.order74, 5): return ("（达到公开招标数额标准）", " (at or above the public-tender threshold)")
        default: return nil
        }
    }

    public var chineseMessage: String {
        switch self {
        case .unsupportedVersion(let v): "评审会定义版本 \(v) 不受支持，仅支持版本 \(SessionDefinition.currentVersion)。"
        case .lotNotFound(let id): "未找到采购包 \(id)。"
        case .emptyText(let f): "字段 \(f) 不能为空。"
        case .duplicateID(let k, let id): "\(k.chineseName)编号 \(id) 重复。"
        case .nonPositiveAmount(let f): "金额 \(f) 必须大于零。"
        case .evenPanel(let n, let r): "评审小组人数为 \(n)，依据\(r.chinese)应为单数。"
        case .panelTooSmall(let n, let m, let r):
            "评审小组人数为 \(n)，依据\(r.chinese)\(panelCondition?.chinese ?? "")至少应为 \(m) 人。"
        case .tooFewExperts(let e, let r, let n, let rule):
            "评审小组 \(n) 人中评审专家仅 \(e) 人，依据\(rule.chinese)不得少于 \(r) 人（成员总数的三分之二）。"
        case .agencyStaffOnPanel(let m): "成员 \(m) 为本项目代理机构人员，不得参加本项目评审（\(Citation(.caiKu198).chinese)）。"
        case .expertFromPurchaser(let m):
            "评审专家 \(m) 为采购人本单位人员，不得以专家身份参加本单位项目评审（\(Citation(.caiKu198).chinese)）。"
        case .methodMismatch(let p, let e): "采购方式\(p.chineseName)不能采用\(e.chineseName)。"
        case .missingPriceWeight(let r): "综合评分法必须设定价格权重（\(r.chinese)）。"
        case .priceWeightOutOfRange(let w, let lo, let hi, let r):
            hi == .hundred
                ? "价格权重 \(w.decimalText)% 低于\(r.chinese)规定的下限 \(lo.decimalText)%。"
                : "价格权重 \(w.decimalText)% 超出\(r.chinese)规定的 \(lo.decimalText)%–\(hi.decimalText)% 范围。"
        case .criteriaNotAllowed(let m): "\(m.chineseName)不设评分因素，请删除评分标准。"
        case .priceCriterionCount(let n): "综合评分法应有且仅有一个价格分项，现有 \(n) 个。"
        case .priceCriterionMaximum(let m, let w): "价格分满分 \(m.decimalText) 与价格权重 \(w.decimalText)% 不一致。"
        case .criteriaSum(let s, let r): "评分因素满分合计为 \(s.decimalText)，应为 100（\(r.chinese)）。"
        case .criterionMaximum(let c): "评分因素 \(c) 的满分必须大于零。"
        case .priceCriterionGroup(let c): "评分因素 \(c)：价格分必须归入价格组，价格组只能是价格分。"
        case .allowedValuesMissing(let c): "客观评分因素 \(c) 必须列明可取分值。"
        case .allowedValueOutOfRange(let c, let v): "评分因素 \(c) 的可取分值 \(v.decimalText) 超出 0 至满分的范围或多于 4 位小数。"
        case .allowedValuesOnSubjective(let c): "评分因素 \(c) 不是客观分，不应列明可取分值。"
        case .qualificationAsCriterion(let c, let r):
            "评分因素 \(c) 是资格条件，资格条件不得作为评审因素\(r.map { "（\($0.chinese)）" } ?? "")。"
        case .deductionOutOfBand(let k, let p, let lo, let hi):
            "\(k.chineseName)价格扣除比例 \(p.decimalText)% 不在 \(lo.decimalText)%–\(hi.decimalText)% 范围内"
                + "\(k.rule.map { "（\($0.chinese)）" } ?? "")。"
        case .deductionOnReservedProject: "专门面向中小企业的项目不得再给予价格扣除（\(Citation(.caiKu46, 9).chinese)）。"
        case .smeShareOutOfRange(let b, let p): "投标人 \(b) 的中小企业份额 \(p.decimalText)% 不在 0–100% 范围内。"
        case .candidateCount(let n, let m): "推荐候选人数量 \(n) 不符合要求，至少 \(m) 名。"
        case .displayDecimals(let d): "保留小数位数 \(d) 不在 0–6 范围内。"
        case .thresholdOutOfRange(let f, let p): "阈值 \(f) 为 \(p.decimalText)%，应大于 0 且不超过 100。"
        case .tooManyDecimals(let f): "\(f) 的小数位数过多（评分最多 4 位小数）。"
        case .technicalTieBreakWithoutScores: "只有综合评分法才能以技术得分决定并列名次。"
        case .deductionsTooLarge(let t): "价格扣除合计 \(t.decimalText)% 过大，评审价格必须大于零。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .unsupportedVersion(let v): "session definition version \(v) is not supported; only version \(SessionDefinition.currentVersion)"
        case .lotNotFound(let id): "lot \(id) is not in the definition"
        case .emptyText(let f): "\(f) must not be empty"
        case .duplicateID(let k, let id): "duplicate \(k.englishName) id \(id) in \(k.field)"
        case .nonPositiveAmount(let f): "amount \(f) must be greater than zero"
        case .evenPanel(let n, let r): "panel has \(n) member\(n == 1 ? "" : "s"); it must be odd (\(r.english))"
        case .panelTooSmall(let n, let m, let r):
            "panel has \(n) member\(n == 1 ? "" : "s"); \(r.english) requires at least \(m)\(panelCondition?.english ?? "")"
        case .tooFewExperts(let e, let r, let n, let rule):
            "panel of \(n) has \(e) expert\(e == 1 ? "" : "s"); at least \(r) (two thirds) required (\(rule.english))"
        case .agencyStaffOnPanel(let m):
            "member \(m) works for the agency of this project and may not sit on the panel (\(Citation(.caiKu198).english))"
        case .expertFromPurchaser(let m):
            "expert \(m) is employed by the purchaser and may not sit as an expert on its project (\(Citation(.caiKu198).english))"
        case .methodMismatch(let p, let e): "procurement method \(p.rawValue) cannot use evaluation method \(e.rawValue)"
        case .missingPriceWeight(let r): "comprehensive scoring needs priceWeightPercent (\(r.english))"
        case .priceWeightOutOfRange(let w, let lo, let hi, let r):
            hi == .hundred
                ? "price weight \(w.decimalText)% is below the minimum \(lo.decimalText)% for this category (\(r.english))"
                : "price weight \(w.decimalText)% outside \(lo.decimalText)%–\(hi.decimalText)% for this category (\(r.english))"
        case .criteriaNotAllowed(let m): "\(m.rawValue) has no scoring criteria; remove them"
        case .priceCriterionCount(let n): "comprehensive scoring needs exactly one price criterion, found \(n)"
        case .priceCriterionMaximum(let m, let w): "price criterion maximum \(m.decimalText) does not equal the price weight \(w.decimalText)%"
        case .criteriaSum(let s, let r): "criteria maxima sum to \(s.decimalText), must be 100 (\(r.english))"
        case .criterionMaximum(let c): "criterion \(c) must have a maximum greater than zero"
        case .priceCriterionGroup(let c): "criterion \(c): price kind and price group must go together"
        case .allowedValuesMissing(let c): "objective criterion \(c) needs its allowed values"
        case .allowedValueOutOfRange(let c, let v): "criterion \(c) allows \(v.decimalText), outside 0...maximum or more than 4 decimals"
        case .allowedValuesOnSubjective(let c): "criterion \(c) is not objective and may not list allowed values"
        case .qualificationAsCriterion(let c, let r):
            "criterion \(c) is a qualification condition; these may not be scored\(r.map { " (\($0.english))" } ?? "")"
        case .deductionOutOfBand(let k, let p, let lo, let hi):
            "\(k.englishName) deduction \(p.decimalText)% outside the \(lo.decimalText)%–\(hi.decimalText)% band"
                + "\(k.rule.map { " (\($0.english))" } ?? "")"
        case .deductionOnReservedProject: "a project reserved for SMEs applies no price deduction (\(Citation(.caiKu46, 9).english))"
        case .smeShareOutOfRange(let b, let p): "bidder \(b) SME share \(p.decimalText)% outside 0–100%"
        case .candidateCount(let n, let m): "candidate count \(n) below the minimum \(m)"
        case .displayDecimals(let d): "displayDecimals \(d) outside 0...6"
        case .thresholdOutOfRange(let f, let p): "threshold \(f) = \(p.decimalText)% must be in (0, 100]"
        case .tooManyDecimals(let f): "\(f) has too many decimals (scores take at most 4)"
        case .technicalTieBreakWithoutScores: "tieBreak technicalScore needs comprehensive scoring"
        case .deductionsTooLarge(let t): "additive deductions total \(t.decimalText)%; the evaluated price must stay above zero"
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
        errors += duplicates(committee.map(\.id), kind: .member)
        errors += duplicates(lots.map(\.id), kind: .lot)
        errors += duplicates(lot.bidders.map(\.id), kind: .bidder)
        errors += duplicates(lot.criteria.map(\.id), kind: .criterion)
        errors += duplicates(lot.qualificationItems.map(\.id), kind: .qualificationItem)
        errors += duplicates(lot.complianceItems.map(\.id), kind: .complianceItem)

        // Panel size and composition, by the method's own article (87号令 47; 214号 14; 74号令 7; 198号).
        let n = committee.count
        let panelRule = method.panelRule
        if method == .singleSource {
            if n < 1 { errors.append(.panelTooSmall(size: n, minimum: 1, rule: panelRule)) }
        } else {
            if n % 2 == 0 { errors.append(.evenPanel(size: n, rule: panelRule)) }
            let minimum = minimumPanel()
            if n < minimum { errors.append(.panelTooSmall(size: n, minimum: minimum, rule: panelRule)) }
            let experts = committee.filter { $0.role == .expert }.count
            let required = (2 * n + 2) / 3
            if experts < required { errors.append(.tooFewExperts(experts: experts, required: required, panel: n, rule: panelRule)) }
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

    /// The fewest members for the method (`ProcurementMethod.panelRule` cites the article).
    func minimumPanel() -> Int {
        switch project.method {
        case .publicTender, .invitedTender:
            // ≥5; ≥7 at 10,000,000 RMB or technically complex / major social impact (87号令 47).
            project.budget >= Fraction(10_000_000) || project.technicallyComplexOrMajorImpact == true ? 7 : 5
        case .competitiveConsultation:
            3   // 214号 14
        case .competitiveNegotiation, .inquiry:
            // ≥5 at or above the public-tender threshold (74号令 7).
            project.budget >= (project.publicTenderThreshold ?? Project.defaultPublicTenderThreshold) ? 5 : 3
        case .singleSource:
            1
        }
    }

    private func duplicates(_ ids: [String], kind: IDKind) -> [DefinitionError] {
        var seen = Set<String>(), reported = Set<String>(), out: [DefinitionError] = []
        for id in ids {
            if id.isEmpty { out.append(.emptyText(field: "\(kind.field)[].id")); continue }
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
                errors.append(.priceWeightOutOfRange(weight: weight, minimum: bounds.0, maximum: bounds.1, rule: project.method.scoringRule))
            }
        } else {
            errors.append(.missingPriceWeight(rule: project.method.scoringRule))
        }
        let prices = lot.criteria.filter { $0.kind == .price }
        if prices.count != 1 { errors.append(.priceCriterionCount(prices.count)) }
        if let p = prices.first, let w = lot.priceWeightPercent, p.maximum != w {
            errors.append(.priceCriterionMaximum(maximum: p.maximum, weight: w))
        }
        let sum = lot.criteria.map(\.maximum).sum()
        if sum != .hundred { errors.append(.criteriaSum(sum, rule: project.method.scoringRule)) }
        let qualification = Set(lot.qualificationItems.flatMap { [$0.id, $0.name] })
        for c in lot.criteria {
            if c.maximum <= .zero { errors.append(.criterionMaximum(criterion: c.id)) }
            if (c.kind == .price) != (c.group == .price) { errors.append(.priceCriterionGroup(criterion: c.id)) }
            if qualification.contains(c.id) || qualification.contains(c.name) {
                errors.append(.qualificationAsCriterion(criterion: c.id, rule: project.method.qualificationCriterionRule))
            }
            if (c.maximum.decimalPlaces ?? 99) > 4 { errors.append(.tooManyDecimals(field: "criteria.\(c.id).maximum")) }
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
            errors.append(.deductionOutOfBand(kind: .smallFirm, percent: p, minimum: small.0, maximum: small.1))
        }
        if let p = d.consortiumSharePercent, p < share.0 || p > share.1 {
            errors.append(.deductionOutOfBand(kind: .consortiumShare, percent: p, minimum: share.0, maximum: share.1))
        }
        if let p = d.domesticProductPercent, p <= .zero || p >= .hundred {
            errors.append(.deductionOutOfBand(kind: .domesticProduct, percent: p, minimum: .zero, maximum: .hundred))
        }
        let stacked = max(d.smallFirmPercent ?? .zero, d.consortiumSharePercent ?? .zero) + (d.domesticProductPercent ?? .zero)
        if d.stacking == .additive, stacked >= .hundred { errors.append(.deductionsTooLarge(total: stacked)) }
        return errors
    }
}

extension RuleViolation {
    public var explanation: Explanation { Explanation(code: code, chinese: chineseMessage, english: englishMessage) }
}
