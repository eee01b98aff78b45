import Canonical
// Benchmark for the Evaluation engine (issue 5): a 7-member panel, 50 bidders, 40 criteria.
// Measures (1) summary + ranking and (2) replaying a 10,000-event session, each next to a
// baseline measured in the same run. Run with `scripts/bench-evaluation` (release build).
import Evaluation
import Foundation

let bidderCount = 50
let complianceItemCount = 27

func fraction(_ text: String) -> Fraction { Fraction(decimalText: text)! }

/// 39 typed criteria (31 × 2 points + 8 × 1 point = 70) + price 30 = 100 (87号令 55).
func makeCriteria() -> [Criterion] {
    var criteria: [Criterion] = []
    for i in 0..<39 {
        let maximum = i < 31 ? Fraction(2) : Fraction(1)
        let objective = i % 2 == 0
        criteria.append(Criterion(id: String(format: "K%02d", i), name: "评分因素\(i)", group: i < 25 ? .technical : .commercial,
                                  maximum: maximum, kind: objective ? .objective : .subjective,
                                  allowedValues: objective ? [.zero, maximum / Fraction(2), maximum] : nil))
    }
    criteria.append(Criterion(id: "P", name: "价格", group: .price, maximum: Fraction(30), kind: .price))
    return criteria
}

func makeDefinition() -> SessionDefinition {
    var rng = SplitMix64(seed: 7)
    let bidders = (0..<bidderCount).map { i in
        Bidder(id: String(format: "B%02d", i), name: "投标人\(i)",
               opening: OpeningRecord(totalInFigures: Fraction(800_000 + Int(rng.next() % 400_000))),
               smeClass: i % 3 == 0 ? .small : .large, domesticProduct: i % 4 == 0)
    }
    let lot = Lot(id: "L1", name: "第1包", evaluationMethod: .comprehensiveScoring, criteria: makeCriteria(),
                  priceWeightPercent: Fraction(30),
                  deductions: Deductions(smallFirmPercent: Fraction(10), domesticProductPercent: Fraction(20)),
                  qualificationItems: [ReviewItem(id: "Q1", name: "营业执照"), ReviewItem(id: "Q2", name: "信用记录")],
                  complianceItems: (0..<complianceItemCount).map { ReviewItem(id: "C\($0)", name: "符合性\($0)") },
                  bidders: bidders)
    let committee = (1...6).map { Member(id: "e\($0)", name: "专家\($0)", role: .expert, affiliation: "单位\($0)") }
        + [Member(id: "r1", name: "采购人代表", role: .purchaserRepresentative, affiliation: "采购人")]
    let project = Project(number: "BENCH-1", name: "基准测试", purchaser: "采购人", agency: "代理机构", budget: Fraction(50_000_000),
                          category: .goods, method: .publicTender)
    return SessionDefinition(project: project, committee: committee, lots: [lot])
}

/// Objective items: every member agrees. Subjective: members differ by at most 0.5 (no 畸高畸低 flag).
func sheet(member: Int, bidder: Int, criteria: [Criterion]) -> [String: Fraction] {
    var out: [String: Fraction] = [:]
    for (ci, c) in criteria.enumerated() where c.kind != .price {
        var g = SplitMix64(seed: UInt64(bidder * 100 + ci))
        let base = c.allowedValues.map { $0[Int(g.below(UInt64($0.count)))] } ?? (c.maximum - Fraction(Int128(g.below(2)), 2))
        out[c.id] = c.kind == .subjective && member % 2 == 1 && c.maximum >= Fraction(2) && base >= Fraction(1, 2) ? base - Fraction(1, 2) : base
    }
    return out
}

func makeEvents(_ d: SessionDefinition, total: Int) throws -> [Event] {
    var session = try EvaluationSession(definition: d, lot: "L1")
    var now: Instant = 1_790_000_000_000
    func run(_ c: Command) throws { now += 10; try session.handle(c, at: now) }
    let members = d.committee.map(\.id)
    let lot = d.lots[0]
    try run(.openSession)
    for m in d.committee {
        try run(.checkIn(member: m.id, certificateSubject: "CN=\(m.name)", rosterMatched: true,
                         authorizationLetter: m.role == .purchaserRepresentative ? "授权函" : nil))
    }
    for m in members { try run(.signCommitment(member: m, disciplineRead: true, commitmentSigned: true, noConflictDeclared: true)) }
    for m in members { try run(.castLeaderVote(voter: m, candidate: "e1")) }
    for b in lot.bidders { for q in lot.qualificationItems {
        try run(.recordQualification(bidder: b.id, item: q.id, member: nil, passed: true, reason: nil, evidence: ["截图"]))
    } }
    try run(.concludeQualification)
    for b in lot.bidders { for item in lot.complianceItems { for m in members {
        try run(.markCompliance(member: m, bidder: b.id, item: item.id, passed: true, reason: nil))
    } } }
    // Members revisit marks before the conclusion, filling the session to `total` events.
    let remaining = total - session.events.count - 1 - (members.count * (bidderCount + 1)) - 4 - members.count
    for i in 0..<max(0, remaining) {
        let b = lot.bidders[i % bidderCount].id
        try run(.markCompliance(member: members[i % members.count], bidder: b, item: "C0", passed: true, reason: nil))
    }
    try run(.concludeCompliance)
    let criteria = lot.criteria
    for (mi, m) in members.enumerated() {
        for (bi, b) in lot.bidders.enumerated() { try run(.enterScoreSheet(member: m, bidder: b.id, scores: sheet(member: mi, bidder: bi, criteria: criteria))) }
        try run(.submitScores(member: m))
    }
    try run(.concludeReview)
    if session.state.ranking()?.pendingLotteries.isEmpty == false { try run(.drawLottery(seed: 2026, witness: "见证人")) }
    try run(.confirmRanking)
    try run(.startSigning)
    for m in members { try run(.sign(member: m, signature: "SIG-\(m)")) }
    try run(.leaderConfirm(member: "e1"))
    return session.events
}

func measure(_ label: String, iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = clock.now
        try body()
        let d = clock.now - start
        samples.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }
    samples.sort()
    let median = samples[samples.count / 2]
    print(String(format: "%-58@ median %8.3f ms  min %8.3f ms  (n=%d)", label as NSString, median, samples[0], iterations))
    return median
}

let definition = makeDefinition()
precondition(definition.violations(lot: "L1").isEmpty, "\(definition.violations(lot: "L1"))")
let events = try makeEvents(definition, total: 10_000)
let session = try EvaluationSession.replay(definition: definition, lot: "L1", events: events)
precondition(session.state.phase == .closed)
// Rewind to REVIEW for the summary benchmark: everyone has submitted.
let reviewIndex = events.firstIndex { if case .concludeReview = $0.command { true } else { false } }!
let atReview = try EvaluationSession.replay(definition: definition, lot: "L1", events: Array(events[..<reviewIndex])).state

print("Evaluation benchmark: 7 members, \(bidderCount) bidders, \(definition.lots[0].criteria.count) criteria, \(events.count) events")
var sink = 0
let allScores: [Int] = (0..<7).flatMap { m in (0..<bidderCount).flatMap { b in
    sheet(member: m, bidder: b, criteria: definition.lots[0].criteria).values.map { Int($0.numerator * 1000 / $0.denominator) } } }
let baseline = measure("baseline: naive Int sum of the \(allScores.count) typed scores", iterations: 200) {
    var s = 0
    for v in allScores { s &+= v }
    sink &+= s
}
let summary = measure("summary + ranking (exact, all checks)", iterations: 200) {
    let r = atReview.ranking()!
    sink &+= r.bids.count
}
let eventsJSON = try CanonicalJSON.encode(events)
let decode = try measure("baseline: JSON-decode the 10,000 events (\(eventsJSON.count / 1024) KiB)", iterations: 20) {
    sink &+= try CanonicalJSON.decode([Event].self, from: eventsJSON).count
}
let encode = try measure("baseline: JSON-encode the 10,000 events", iterations: 20) {
    sink &+= try CanonicalJSON.encode(events).count
}
let replay = try measure("replay 10,000 events → closed session (validated)", iterations: 20) {
    sink &+= try EvaluationSession.replay(definition: definition, lot: "L1", events: events).state.lastSequence
}
let resultJSON = try measure("canonical JSON of the full result", iterations: 20) {
    sink &+= try CanonicalJSON.encode(session.state.result()).count
}
print(String(format: "goals: summary+ranking ≤ 5 ms → %@ ; replay ≤ 50 ms → %@",
             (summary <= 5 ? "met" : "NOT met") as NSString, (replay <= 50 ? "met" : "NOT met") as NSString))
_ = (baseline, decode, encode, resultJSON)
if sink == 42 { print("") }
