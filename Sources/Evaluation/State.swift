/// Session states (RULES.md "Session states and guards").
public enum Phase: String, Codable, Sendable {
    case draft, checkIn, discipline, leaderElection, qualification, compliance, clarification
    case negotiationRounds, finalQuotes, scoring, review, ranking, report, signing, closed
    // Side states.
    case suspended, reformed, halted, failed, reevaluation

    var isTerminal: Bool { self == .halted || self == .failed }

    /// For Chinese messages (the raw value is the code).
    public var chineseName: String {
        switch self {
        case .draft: "未开始"
        case .checkIn: "签到"
        case .discipline: "评审纪律"
        case .leaderElection: "推选组长"
        case .qualification: "资格审查"
        case .compliance: "符合性审查"
        case .clarification: "澄清"
        case .negotiationRounds: "谈判（磋商）"
        case .finalQuotes: "最后报价"
        case .scoring: "评分"
        case .review: "复核"
        case .ranking: "排序"
        case .report: "评审报告"
        case .signing: "签字"
        case .closed: "已结束"
        case .suspended: "暂停"
        case .reformed: "重新组建评审小组"
        case .halted: "停止评审"
        case .failed: "废标或终止"
        case .reevaluation: "重新评审"
        }
    }
}

public struct Mark: Codable, Sendable, Equatable {
    public var passed: Bool
    public var reason: String?
    public var evidence: [String]
}

public struct CheckInRecord: Codable, Sendable, Equatable {
    public var member: String
    public var certificateSubject: String
    public var authorizationLetter: String?
    public var at: Instant
}

public enum MemberChangeKind: String, Codable, Sendable { case recused, misconduct, replaced, committeeReformed, leaderElected }

/// Member changes for the report (87号令 58).
public struct MemberChange: Codable, Sendable, Equatable {
    public var kind: MemberChangeKind
    public var member: String?
    public var replacement: String?
    public var detail: String
    public var at: Instant
}

public struct Observation: Codable, Sendable, Equatable {
    public var member: String
    public var note: String
    public var at: Instant
}

public struct Clarification: Codable, Sendable, Equatable {
    public var id: String
    public var bidder: String
    public var purpose: ClarificationPurpose
    public var question: String
    public var deadline: Instant
    public var requestedAt: Instant
    public var answer: String?
    public var signedBy: String?
    public var answeredAt: Instant?
}

/// Why a bid is out (87号令 58 lists invalid bids with reasons).
public enum InvalidityReason: Codable, Sendable, Equatable {
    case failedQualification(items: [String])
    case failedCompliance(items: [String])
    case priceCorrectionRefused
    case aboveMaximumPrice
    case abnormallyLowPrice(reason: String)
    case noFinalQuote
    case withdrawn(reason: String)

    /// Reasons that are the panel's opinion (void when the committee is re-formed).
    var isPanelOpinion: Bool {
        switch self {
        case .failedCompliance, .abnormallyLowPrice: true
        case .failedQualification, .priceCorrectionRefused, .aboveMaximumPrice, .noFinalQuote, .withdrawn: false
        }
    }

    public var chinese: String {
        switch self {
        case .failedQualification(let i): "资格审查未通过（\(i.joined(separator: "、"))）"
        case .failedCompliance(let i): "符合性审查未通过（\(i.joined(separator: "、"))）"
        case .priceCorrectionRefused: "投标人不确认报价修正（87号令第59条）"
        case .aboveMaximumPrice: "报价超过最高限价（87号令第63条）"
        case .abnormallyLowPrice(let r): "报价明显低于其他有效报价且不能证明其合理性（87号令第60条）：\(r)"
        case .noFinalQuote: "未提交最后报价"
        case .withdrawn(let r): "退出：\(r)"
        }
    }

    /// The panel's free-text reasons stay in the Chinese text only.
    public var english: String {
        switch self {
        case .failedQualification(let i): "failed qualification (\(i.joined(separator: ", ")))"
        case .failedCompliance(let i): "failed compliance (\(i.joined(separator: ", ")))"
        case .priceCorrectionRefused: "the bidder did not confirm the price correction (\(Citation(.order87, 59).english))"
        case .aboveMaximumPrice: "price above the maximum price (\(Citation(.order87, 63).english))"
        case .abnormallyLowPrice: "price obviously below the other valid prices and not shown to be reasonable (\(Citation(.order87, 60).english))"
        case .noFinalQuote: "no final quote submitted"
        case .withdrawn: "withdrew"
        }
    }
}

public struct LowPriceDecision: Codable, Sendable, Equatable {
    public var accepted: Bool
    public var reason: String
    public var at: Instant
}

/// A score change after the summary (87号令 64), with reason code, member and the panel's decision.
public struct ReviewCorrection: Codable, Sendable, Equatable {
    public var reportVersion: Int
    public var member: String
    public var bidder: String
    public var criterion: String
    public var from: Fraction
    public var to: Fraction
    public var reason: ReviewReason
    public var panelDecision: String
    public var at: Instant
}

public struct KeptFlag: Codable, Sendable, Equatable {
    public var flag: String
    public var reason: String
    public var at: Instant
}

public struct SignatureRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case signed, dissented, deemedAgreed }
    public var member: String
    public var kind: Kind
    /// Signature reference (signed) or the written reasons (dissented).
    public var text: String?
    public var at: Instant?
}

public struct VoidedOpinions: Codable, Sendable, Equatable {
    public var member: String
    public var why: String
    public var at: Instant
}

/// The state of one lot's evaluation session. Built only by applying events; never edited directly.
public struct SessionState: Sendable, Equatable {
    public let definition: SessionDefinition
    public let lot: Lot
    /// Lookups made once: replaying 10,000 events must not rebuild them per event.
    let bidderByID: [String: Bidder]
    let criterionByID: [String: Criterion]
    let complianceItemIDs: Set<String>
    let qualificationItemIDs: Set<String>
    public internal(set) var phase: Phase = .draft
    /// Where a suspended session resumes.
    public internal(set) var resumePhase: Phase?
    public internal(set) var lastSequence = 0
    public internal(set) var lastEventAt: Instant?

    /// The current panel, by id.
    public internal(set) var panel: [String: Member]
    public internal(set) var departed: [String: Member] = [:]
    /// Members who left and still need a replacement.
    public internal(set) var awaitingReplacement: Set<String> = []
    /// Replacement → the member replaced.
    public internal(set) var replacements: [String: String] = [:]
    public internal(set) var checkIns: [String: CheckInRecord] = [:]
    public internal(set) var commitments: Set<String> = []
    public internal(set) var memberChanges: [MemberChange] = []
    public internal(set) var observations: [Observation] = []
    public internal(set) var voided: [VoidedOpinions] = []

    public internal(set) var leaderRound = 1
    public internal(set) var leaderVotes: [String: String] = [:]
    public internal(set) var leader: String?

    /// Tender qualification by the purchaser/agency: key "bidder|item".
    public internal(set) var agencyQualification: [String: Mark] = [:]
    /// Panel qualification (non-tender methods): key "bidder|item" → member → mark.
    public internal(set) var panelQualification: [String: [String: Mark]] = [:]
    public internal(set) var qualificationConcluded = false
    /// key "bidder|item" → member → mark.
    public internal(set) var compliance: [String: [String: Mark]] = [:]
    public internal(set) var clarifications: [String: Clarification] = [:]
    public internal(set) var priceConfirmations: [String: Bool] = [:]
    public internal(set) var lowPriceDecisions: [String: LowPriceDecision] = [:]
    public internal(set) var invalid: [String: InvalidityReason] = [:]

    public internal(set) var negotiationRound = 0
    /// bidder → quotes by round.
    public internal(set) var roundQuotes: [String: [Int: Fraction]] = [:]
    public internal(set) var finalQuotes: [String: Fraction] = [:]

    /// member → bidder → criterion → score.
    var sheets: [String: [String: [String: Fraction]]] = [:]
    public internal(set) var submitted: Set<String> = []
    public internal(set) var corrections: [ReviewCorrection] = []
    public internal(set) var keptFlags: [String: KeptFlag] = [:]

    public internal(set) var lotteryDraws: [LotteryDraw] = []
    public internal(set) var reports: [EvaluationReport] = []
    public internal(set) var signatures: [String: SignatureRecord] = [:]
    public internal(set) var closedSignatures: [SignatureRecord] = []
    public internal(set) var haltReason: String?
    public internal(set) var failureReason: String?
    public internal(set) var reevaluations: [ReevaluationRecord] = []

    init(definition: SessionDefinition, lot: Lot) {
        self.definition = definition
        self.lot = lot
        self.bidderByID = Dictionary(lot.bidders.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.criterionByID = Dictionary(lot.criteria.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.complianceItemIDs = Set(lot.complianceItems.map(\.id))
        self.qualificationItemIDs = Set(lot.qualificationItems.map(\.id))
        self.panel = Dictionary(uniqueKeysWithValues: definition.committee.map { ($0.id, $0) })
    }

    public var method: ProcurementMethod { definition.project.method }
    /// Set once FAILED: 废标 for tenders, 终止 for the other methods.
    public var failureKind: FailureKind? { phase == .failed ? method.failureKind : nil }
    public var reportVersion: Int { reports.count }

    /// Members in id order (so results never depend on input order).
    public var members: [Member] { panel.values.sorted { $0.id < $1.id } }
    var memberIDs: [String] { panel.keys.sorted() }

    /// Bidders still in the competition, in id order.
    public var bidders: [Bidder] { lot.bidders.filter { invalid[$0.id] == nil }.sorted { $0.id < $1.id } }

    /// The member's own scores, and the others' only once every member has submitted (hidden until then).
    public func visibleScores(for viewer: String) -> [String: [String: [String: Fraction]]] {
        if submitted.count == panel.count && panel.keys.allSatisfy(submitted.contains) { return sheets }
        return sheets.filter { $0.key == viewer }
    }

    var allSubmitted: Bool { !panel.isEmpty && panel.keys.allSatisfy(submitted.contains) }
}

public struct ReevaluationRecord: Codable, Sendable, Equatable {
    public var fromReportVersion: Int
    public var reason: ReviewReason
    public var note: String
    public var at: Instant
}

func key(_ a: String, _ b: String) -> String { a + "|" + b }
