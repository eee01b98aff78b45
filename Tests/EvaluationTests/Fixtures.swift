import Testing
@testable import Evaluation

/// Decimal text → exact value; fixtures read like the documents.
func f(_ text: String) -> Fraction { Fraction(decimalText: text)! }
func f(_ n: Int) -> Fraction { Fraction(n) }
func ratio(_ n: Int, _ d: Int) -> Fraction { Fraction(Int128(n), Int128(d)) }

func experts(_ n: Int) -> [Member] {
    (1...n).map { Member(id: "e\($0)", name: "专家\($0)", role: .expert, affiliation: "单位\($0)") }
}
let representative = Member(id: "r1", name: "采购人代表", role: .purchaserRepresentative, affiliation: "某市教育局")

/// Panel of `size`: experts e1… plus one purchaser representative r1 (composition valid for 3, 5, 7).
func panel(_ size: Int) -> [Member] { experts(size - 1) + [representative] }

func bidder(_ id: String, _ price: String, sme: SMEClass = .large, share: String? = nil, domestic: Bool? = nil,
            brand: String? = nil, words: String? = nil, lines: [PriceLine]? = nil) -> Bidder {
    Bidder(id: id, name: "投标人\(id)", opening: OpeningRecord(totalInFigures: f(price), totalInWords: words.map(f), lines: lines),
           smeClass: sme, smeSharePercent: share.map(f), domesticProduct: domestic, coreProductBrand: brand)
}

/// Goods criteria with a 30% price weight: T1 subjective 40, T2 objective 20 {0,10,20},
/// C1 objective 10 {0,5,10}, P price 30. 40 + 20 + 10 + 30 = 100.
let goodsCriteria = [
    Criterion(id: "T1", name: "技术方案", group: .technical, maximum: f(40), kind: .subjective),
    Criterion(id: "T2", name: "技术参数响应", group: .technical, maximum: f(20), kind: .objective, allowedValues: [f(0), f(10), f(20)]),
    Criterion(id: "C1", name: "业绩", group: .commercial, maximum: f(10), kind: .objective, allowedValues: [f(0), f(5), f(10)]),
    Criterion(id: "P", name: "价格", group: .price, maximum: f(30), kind: .price),
]

let qualificationItems = [ReviewItem(id: "Q1", name: "营业执照"), ReviewItem(id: "Q2", name: "信用记录")]
let complianceItems = [ReviewItem(id: "K1", name: "投标有效期"), ReviewItem(id: "K2", name: "实质性要求")]

func definition(method: ProcurementMethod = .publicTender, category: ProcurementCategory = .goods,
                evaluation: EvaluationMethod = .comprehensiveScoring, budget: String = "2000000",
                maximumPrice: String? = nil, panelSize: Int = 5, criteria: [Criterion] = goodsCriteria,
                weight: String? = "30", deductions: Deductions? = nil, tieBreak: DocumentTieBreak? = nil,
                twoBidderRoute: Bool? = nil, candidates: Int? = nil, bidders: [Bidder]) -> SessionDefinition {
    let lot = Lot(id: "L1", name: "第1包", evaluationMethod: evaluation,
                  criteria: evaluation == .comprehensiveScoring ? criteria : [],
                  priceWeightPercent: evaluation == .comprehensiveScoring ? weight.map(f) : nil,
                  deductions: deductions, candidateCount: candidates, tieBreak: tieBreak, twoBidderRoute: twoBidderRoute,
                  qualificationItems: qualificationItems, complianceItems: complianceItems, bidders: bidders)
    let project = Project(number: "NMG-2026-001", name: "教学设备采购", purchaser: "某市教育局", agency: "某招标代理公司",
                          budget: f(budget), maximumPrice: maximumPrice.map(f), category: category, method: method,
                          announcement: Announcement(media: ["中国政府采购网"], publishedOn: "2026-10-01",
                                                     openingOn: "2026-10-22", evaluationOn: "2026-10-22"))
    return SessionDefinition(project: project, committee: panel(panelSize), lots: [lot])
}

/// Drives a session the way the daemon would, with a monotonic fake time.
struct Run {
    var session: EvaluationSession
    var now: Instant = 1_790_000_000_000
    var fixedTime: Bool = false

    init(_ definition: SessionDefinition, fixedTime: Bool = false) throws {
        session = try EvaluationSession(definition: definition, lot: "L1")
        self.fixedTime = fixedTime
    }

    var state: SessionState { session.state }

    mutating func run(_ command: Command) throws {
        if !fixedTime { now += 1000 }
        try session.handle(command, at: now)
    }

    /// Expects `command` to be refused with `error`, and the state to stay as it was.
    mutating func refuse(_ command: Command, _ error: EngineError, sourceLocation: SourceLocation = #_sourceLocation) {
        let before = session.state
        if !fixedTime { now += 1000 }
        #expect(throws: error, sourceLocation: sourceLocation) { try session.handle(command, at: now) }
        #expect(session.state == before, "a refused command changed the state", sourceLocation: sourceLocation)
    }

    var memberIDs: [String] { state.members.map(\.id) }
    var bidderIDs: [String] { state.bidders.map(\.id) }

    /// CHECK_IN → DISCIPLINE → LEADER_ELECTION (everyone votes for e1) → QUALIFICATION.
    mutating func prepare() throws {
        try run(.openSession)
        for m in state.members {
            try run(.checkIn(member: m.id, certificateSubject: "CN=\(m.name)", rosterMatched: true,
                             authorizationLetter: m.role == .purchaserRepresentative ? "授权函-001" : nil))
        }
        for m in memberIDs { try run(.signCommitment(member: m, disciplineRead: true, commitmentSigned: true, noConflictDeclared: true)) }
        for m in memberIDs { try run(.castLeaderVote(voter: m, candidate: "e1")) }
    }

    /// Everyone passes qualification (agency for tenders, each member otherwise).
    mutating func qualifyAll() throws {
        for b in bidderIDs { for item in qualificationItems {
            if state.method.isTender {
                try run(.recordQualification(bidder: b, item: item.id, member: nil, passed: true, reason: nil, evidence: ["信用中国截图"]))
            } else {
                for m in memberIDs { try run(.recordQualification(bidder: b, item: item.id, member: m, passed: true, reason: nil, evidence: [])) }
            }
        } }
        try run(.concludeQualification)
    }

    /// Every member passes every bidder on every item, except the listed failing marks (bidder → members).
    mutating func markCompliance(failing: [String: [String]] = [:]) throws {
        for b in bidderIDs { for item in complianceItems { for m in memberIDs {
            let fail = item.id == "K2" && (failing[b] ?? []).contains(m)
            try run(.markCompliance(member: m, bidder: b, item: item.id, passed: !fail, reason: fail ? "未满足实质性要求★3" : nil))
        } } }
    }

    mutating func throughCompliance(failing: [String: [String]] = [:]) throws {
        try prepare()
        try qualifyAll()
        try markCompliance(failing: failing)
        try run(.concludeCompliance)
    }

    /// Scores per bidder: criterion → per-member values (in member-id order) or one value for all.
    mutating func score(_ table: [String: [String: [String]]]) throws {
        let ids = memberIDs
        for (mi, m) in ids.enumerated() {
            for b in table.keys.sorted() {
                var sheet: [String: Fraction] = [:]
                for (c, values) in table[b]! { sheet[c] = f(values.count == 1 ? values[0] : values[mi]) }
                try run(.enterScoreSheet(member: m, bidder: b, scores: sheet))
            }
            try run(.submitScores(member: m))
        }
    }

    func bid(_ id: String) -> RankedBid? { state.ranking()?.bids.first { $0.bidder == id } }
    var order: [String] { state.ranking()?.bids.filter { $0.rank != nil }.map(\.bidder) ?? [] }
}
