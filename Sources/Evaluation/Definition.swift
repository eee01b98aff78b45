/// The session definition: everything the procurement documents (招标文件/采购文件) fix before the
/// evaluation starts. Pushed by the platform as versioned JSON (see docs/formats.md), validated by
/// `SessionDefinition.validate(lot:)` against RULES.md before a session may open.
public struct SessionDefinition: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    /// Format version; only 1 exists.
    public var version: Int
    public var project: Project
    public var committee: [Member]
    public var lots: [Lot]

    public init(version: Int = SessionDefinition.currentVersion, project: Project, committee: [Member], lots: [Lot]) {
        self.version = version
        self.project = project
        self.committee = committee
        self.lots = lots
    }

    public func lot(_ id: String) -> Lot? { lots.first { $0.id == id } }
}

public enum ProcurementMethod: String, Codable, Sendable, CaseIterable {
    case publicTender          // 公开招标
    case invitedTender         // 邀请招标
    case competitiveNegotiation // 竞争性谈判 (74号令)
    case competitiveConsultation // 竞争性磋商 (214号)
    case inquiry               // 询价 (74号令)
    case singleSource          // 单一来源 (74号令)

    public var chineseName: String {
        switch self {
        case .publicTender: "公开招标"
        case .invitedTender: "邀请招标"
        case .competitiveNegotiation: "竞争性谈判"
        case .competitiveConsultation: "竞争性磋商"
        case .inquiry: "询价"
        case .singleSource: "单一来源"
        }
    }

    var isTender: Bool { self == .publicTender || self == .invitedTender }
    /// Negotiation rounds and final quotes (谈判, 磋商); for 单一来源 the rounds are the negotiation
    /// record and the final quote is the negotiated price.
    var hasNegotiationRounds: Bool { self == .competitiveNegotiation || self == .competitiveConsultation || self == .singleSource }
}

public enum ProcurementCategory: String, Codable, Sendable, CaseIterable {
    case goods, services, works

    var chineseName: String {
        switch self {
        case .goods: "货物"
        case .services: "服务"
        case .works: "工程"
        }
    }
}

public enum EvaluationMethod: String, Codable, Sendable, CaseIterable {
    case comprehensiveScoring   // 综合评分法 (87号令 55; 214号 23–25 on final quotes)
    case lowestEvaluatedPrice   // 最低评标价法 (87号令 53–56); lowest price for 谈判/询价
    case negotiatedPrice        // 单一来源: the negotiated price

    var chineseName: String {
        switch self {
        case .comprehensiveScoring: "综合评分法"
        case .lowestEvaluatedPrice: "最低评标价法"
        case .negotiatedPrice: "协商定价"
        }
    }
}

public struct Project: Codable, Sendable, Equatable {
    /// 项目编号
    public var number: String
    public var name: String
    public var purchaser: String
    public var agency: String?
    /// 采购预算, decimal text in yuan.
    public var budget: Fraction
    /// 最高限价; bids above it are invalid (87号令 63).
    public var maximumPrice: Fraction?
    public var category: ProcurementCategory
    public var method: ProcurementMethod
    /// 技术复杂 / 社会影响较大: panel of ≥7 for tenders (87号令 47).
    public var technicallyComplexOrMajorImpact: Bool?
    /// Public-tender threshold (公开招标数额标准) for the panel size of 谈判/询价 (74号令 7). Default 4,000,000.
    public var publicTenderThreshold: Fraction?
    /// Procurement media and dates for the report (87号令 58).
    public var announcement: Announcement?

    public init(number: String, name: String, purchaser: String, agency: String? = nil, budget: Fraction,
                maximumPrice: Fraction? = nil, category: ProcurementCategory, method: ProcurementMethod,
                technicallyComplexOrMajorImpact: Bool? = nil, publicTenderThreshold: Fraction? = nil,
                announcement: Announcement? = nil) {
        self.number = number; self.name = name; self.purchaser = purchaser; self.agency = agency
        self.budget = budget; self.maximumPrice = maximumPrice; self.category = category; self.method = method
        self.technicallyComplexOrMajorImpact = technicallyComplexOrMajorImpact
        self.publicTenderThreshold = publicTenderThreshold; self.announcement = announcement
    }

    static let defaultPublicTenderThreshold = Fraction(4_000_000)
}

public struct Announcement: Codable, Sendable, Equatable {
    public var media: [String]
    /// ISO dates (YYYY-MM-DD) as printed in the documents.
    public var publishedOn: String
    public var openingOn: String
    public var evaluationOn: String

    public init(media: [String], publishedOn: String, openingOn: String, evaluationOn: String) {
        self.media = media; self.publishedOn = publishedOn; self.openingOn = openingOn; self.evaluationOn = evaluationOn
    }
}

public enum MemberRole: String, Codable, Sendable {
    case expert                    // 评审专家
    case purchaserRepresentative   // 采购人代表 (needs an authorization letter)
}

public struct Member: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var name: String
    public var role: MemberRole
    /// Employer, checked against the purchaser and the agency (87号令 47; 198号).
    public var affiliation: String

    public init(id: String, name: String, role: MemberRole, affiliation: String) {
        self.id = id; self.name = name; self.role = role; self.affiliation = affiliation
    }
}

public enum CriterionGroup: String, Codable, Sendable {
    case technical   // 技术
    case commercial  // 商务
    case price       // 价格
}

public enum CriterionKind: String, Codable, Sendable {
    case objective   // 客观分: only the allowed values
    case subjective  // 主观分: any value in 0...maximum
    case price       // 价格分: computed, never typed
}

public struct Criterion: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var group: CriterionGroup
    public var maximum: Fraction
    public var kind: CriterionKind
    /// The values an objective item may take (e.g. 0, 2, 4).
    public var allowedValues: [Fraction]?

    public init(id: String, name: String, group: CriterionGroup, maximum: Fraction, kind: CriterionKind,
                allowedValues: [Fraction]? = nil) {
        self.id = id; self.name = name; self.group = group; self.maximum = maximum; self.kind = kind
        self.allowedValues = allowedValues
    }
}

/// Items checked in qualification (资格审查) or compliance (符合性审查).
public struct ReviewItem: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public init(id: String, name: String) { self.id = id; self.name = name }
}

public enum SMEClass: String, Codable, Sendable {
    case micro, small, medium, large
    /// 监狱企业: counts as small/micro (46号).
    case prisonEnterprise
    /// 残疾人福利性单位: counts as small/micro (46号).
    case disabilityWelfareUnit

    var countsAsSmallOrMicro: Bool { self == .micro || self == .small || self == .prisonEnterprise || self == .disabilityWelfareUnit }

    var chineseName: String {
        switch self {
        case .micro: "微型企业"
        case .small: "小型企业"
        case .medium: "中型企业"
        case .large: "大型企业"
        case .prisonEnterprise: "监狱企业"
        case .disabilityWelfareUnit: "残疾人福利性单位"
        }
    }
}

/// One line of the opening summary's price table.
public struct PriceLine: Codable, Sendable, Equatable {
    public var item: String
    public var quantity: Fraction
    public var unitPrice: Fraction
    public var total: Fraction
    public init(item: String, quantity: Fraction, unitPrice: Fraction, total: Fraction) {
        self.item = item; self.quantity = quantity; self.unitPrice = unitPrice; self.total = total
    }
}

/// The prices as read at the opening (开标记录).
public struct OpeningRecord: Codable, Sendable, Equatable {
    /// 开标一览表 total in figures (小写).
    public var totalInFigures: Fraction
    /// The same total in words (大写), as transcribed by the agency; nil if it agrees.
    public var totalInWords: Fraction?
    /// Unit-price lines of the summary, if it has them.
    public var lines: [PriceLine]?

    public init(totalInFigures: Fraction, totalInWords: Fraction? = nil, lines: [PriceLine]? = nil) {
        self.totalInFigures = totalInFigures; self.totalInWords = totalInWords; self.lines = lines
    }
}

public struct Bidder: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var opening: OpeningRecord
    public var smeClass: SMEClass
    /// Share (percent) of a consortium or subcontract going to small/micro firms (46号 9).
    public var smeSharePercent: Fraction?
    /// Offers domestic products (本国产品).
    public var domesticProduct: Bool?
    /// Brand of the core product (核心产品), for the same-brand rule (87号令 31).
    public var coreProductBrand: String?

    public init(id: String, name: String, opening: OpeningRecord, smeClass: SMEClass, smeSharePercent: Fraction? = nil,
                domesticProduct: Bool? = nil, coreProductBrand: String? = nil) {
        self.id = id; self.name = name; self.opening = opening; self.smeClass = smeClass
        self.smeSharePercent = smeSharePercent; self.domesticProduct = domesticProduct; self.coreProductBrand = coreProductBrand
    }
}

/// How the SME deduction and the domestic-product deduction combine. Recorded in the report.
public enum DeductionStacking: String, Codable, Sendable {
    /// P′ = P × (1 − d_sme) × (1 − d_domestic)
    case multiplicative
    /// P′ = P × (1 − d_sme − d_domestic)
    case additive
}

public struct Deductions: Codable, Sendable, Equatable {
    /// Small/micro firm deduction, percent (46号 9: goods/services 10–20, works 3–5).
    public var smallFirmPercent: Fraction?
    /// Consortium/subcontract with ≥30% to small/micro firms, percent (goods/services 4–6, works 1–2).
    public var consortiumSharePercent: Fraction?
    /// Domestic-product preference, percent (optional, from 2026-01-01).
    public var domesticProductPercent: Fraction?
    public var stacking: DeductionStacking?
    /// 专门面向中小企业: no deduction at all.
    public var reservedForSME: Bool?

    public init(smallFirmPercent: Fraction? = nil, consortiumSharePercent: Fraction? = nil,
                domesticProductPercent: Fraction? = nil, stacking: DeductionStacking? = nil, reservedForSME: Bool? = nil) {
        self.smallFirmPercent = smallFirmPercent; self.consortiumSharePercent = consortiumSharePercent
        self.domesticProductPercent = domesticProductPercent; self.stacking = stacking; self.reservedForSME = reservedForSME
    }
}

/// The tie-break the documents fix after the mandatory keys of the method (87号令 57, 68);
/// a tie that remains goes to a lottery with a supplied seed.
public enum DocumentTieBreak: String, Codable, Sendable {
    case lottery
    case technicalScore
}

public struct AbnormalScoreThresholds: Codable, Sendable, Equatable {
    /// A member's subjective item score differs from the other members' mean by more than this
    /// percent of the item maximum. Default 30.
    public var subjectiveItemPercentOfMaximum: Fraction?
    /// A member's total for a bidder differs from the panel mean by more than this percent of the mean. Default 20.
    public var memberTotalPercentOfMean: Fraction?
    public init(subjectiveItemPercentOfMaximum: Fraction? = nil, memberTotalPercentOfMean: Fraction? = nil) {
        self.subjectiveItemPercentOfMaximum = subjectiveItemPercentOfMaximum
        self.memberTotalPercentOfMean = memberTotalPercentOfMean
    }
}

public struct Lot: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var budget: Fraction?
    public var evaluationMethod: EvaluationMethod
    public var criteria: [Criterion]
    /// Price weight, percent of the total score (综合评分法 only).
    public var priceWeightPercent: Fraction?
    public var deductions: Deductions?
    /// Number of candidates to recommend. Default 3.
    public var candidateCount: Int?
    public var tieBreak: DocumentTieBreak?
    public var abnormalScore: AbnormalScoreThresholds?
    /// A price below this percent of the mean of the other compliant prices is flagged
    /// as abnormally low (87号令 60). Default 50; the committee decides.
    public var abnormallyLowPercentOfOthersMean: Fraction?
    /// Decimals for display. Default 2.
    public var displayDecimals: Int?
    /// 磋商 第三条第四项 / 政府购买服务, 谈判 第27条: two final quotes allowed.
    public var twoBidderRoute: Bool?
    public var qualificationItems: [ReviewItem]
    public var complianceItems: [ReviewItem]
    public var bidders: [Bidder]

    public init(id: String, name: String, budget: Fraction? = nil, evaluationMethod: EvaluationMethod, criteria: [Criterion],
                priceWeightPercent: Fraction? = nil, deductions: Deductions? = nil, candidateCount: Int? = nil,
                tieBreak: DocumentTieBreak? = nil, abnormalScore: AbnormalScoreThresholds? = nil,
                abnormallyLowPercentOfOthersMean: Fraction? = nil, displayDecimals: Int? = nil, twoBidderRoute: Bool? = nil,
                qualificationItems: [ReviewItem], complianceItems: [ReviewItem], bidders: [Bidder]) {
        self.id = id; self.name = name; self.budget = budget; self.evaluationMethod = evaluationMethod
        self.criteria = criteria; self.priceWeightPercent = priceWeightPercent; self.deductions = deductions
        self.candidateCount = candidateCount; self.tieBreak = tieBreak; self.abnormalScore = abnormalScore
        self.abnormallyLowPercentOfOthersMean = abnormallyLowPercentOfOthersMean; self.displayDecimals = displayDecimals
        self.twoBidderRoute = twoBidderRoute; self.qualificationItems = qualificationItems
        self.complianceItems = complianceItems; self.bidders = bidders
    }

    var decimals: Int { displayDecimals ?? 2 }
    var candidates: Int { candidateCount ?? 3 }
    var documentTieBreak: DocumentTieBreak { tieBreak ?? .lottery }
    var itemThreshold: Fraction { abnormalScore?.subjectiveItemPercentOfMaximum ?? Fraction(30) }
    var totalThreshold: Fraction { abnormalScore?.memberTotalPercentOfMean ?? Fraction(20) }
    var lowPriceThreshold: Fraction { abnormallyLowPercentOfOthersMean ?? Fraction(50) }
    var scored: Bool { evaluationMethod == .comprehensiveScoring }
    var priceCriterion: Criterion? { criteria.first { $0.kind == .price } }
    var typedCriteria: [Criterion] { criteria.filter { $0.kind != .price } }
}
