import Canonical
import Foundation
import Testing
@testable import Evaluation

/// Acceptance corrections (issue 14, item 7): no undecided order before a lottery, decimals in
/// messages, each language in its language, the method's own articles, 终止 for non-tender methods.
@Suite struct EngineCorrectionTests {
    // MARK: 1. A pending lottery decides nothing

    /// A 1000000, B and C 900000, D 800000; every member scores alike.
    /// Means: A 40+20+10 = 70; B, C 30+20+10 = 60; D 20+10+5 = 35. Benchmark = D 800000.
    /// Price scores: A 800000/1000000×30 = 24; B, C 800000/900000×30 = 80/3; D 30.
    /// Totals: A 94; B = C = 60 + 80/3 = 260/3 ≈ 86.67 at the same bid price → lottery (87号令 68); D 65.
    private func tiedPair() throws -> Run {
        var r = try Run(definition(bidders: [bidder("A", "1000000"), bidder("B", "900000"), bidder("C", "900000"), bidder("D", "800000")]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["40"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["30"], "T2": ["20"], "C1": ["10"]],
                     "C": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "D": ["T1": ["20"], "T2": ["10"], "C1": ["5"]]])
        try r.run(.concludeReview)
        return r
    }

    @Test func tiedGroupHasNoRankUntilTheLotteryAndTheBidAfterKeepsItsPlace() throws {
        let r = try tiedPair()
        #expect(r.bid("A")?.total == f(94) && r.bid("B")?.total == ratio(260, 3) && r.bid("C")?.total == ratio(260, 3))
        #expect(r.bid("D")?.total == f(65))
        let ranking = try #require(r.state.ranking())
        #expect(ranking.bids.map(\.bidder) == ["A", "B", "C", "D"])
        #expect(ranking.bids.map(\.rank) == [1, nil, nil, 4])
        #expect(ranking.bids.map(\.status) == [.ranked, .awaitingLottery, .awaitingLottery, .ranked])
        #expect(ranking.bids.allSatisfy { $0.tieBrokenBy == nil })
        let places = PendingPlaces(scope: .ranking, firstRank: 2, lastRank: 3)
        #expect(r.bid("B")?.pendingPlaces == places && r.bid("C")?.pendingPlaces == places)
        #expect(r.bid("A")?.pendingPlaces == nil && r.bid("D")?.pendingPlaces == nil)
        #expect(ranking.pendingLotteries == [PendingTie(scope: .ranking, tied: ["B", "C"])])
        #expect(ranking.candidates.isEmpty)
    }

    @Test func noticeSaysTheRankAwaitsTheLottery() throws {
        let r = try tiedPair()
        let b = try #require(r.state.notice(for: "B"))
        #expect(b.rank == nil && b.status == .awaitingLottery && b.rankedBidders == 4)
        #expect(b.pendingPlaces == PendingPlaces(scope: .ranking, firstRank: 2, lastRank: 3))
        #expect(b.statusText == "与其他投标人并列第2至3名，名次待抽签确定（87号令第68条）")
        #expect(b.statusTextEnglish == "tied with other bidders for ranks 2–3; the rank awaits the lottery (MoF Order 87 art. 68)")
        let d = try #require(r.state.notice(for: "D"))
        #expect(d.rank == 4 && d.statusText == "第4名（共4名）" && d.statusTextEnglish == "rank 4 of 4")
        // Still its own figures only: B's notice names no other bidder.
        let json = String(decoding: try CanonicalJSON.encode(b), as: UTF8.self)
        #expect(!json.contains("投标人C") && !json.contains("\"C\"") && !json.contains("投标人A"))
    }

    @Test func reportAndOCDSShowNoUndecidedOrder() throws {
        var r = try tiedPair()
        let current = r.state.result().current
        let b = try #require(current.bidders.first { $0.id == "B" })
        #expect(b.rank == nil && b.tieBrokenBy == nil && b.status == .awaitingLottery && !b.candidate)
        #expect(current.candidates.isEmpty)
        let json = String(decoding: try CanonicalJSON.encode(r.state.result()), as: UTF8.self)
        #expect(!json.contains("\"tieBrokenBy\":\"lottery\""))
        #expect(json.contains("\"pendingPlaces\":{\"firstRank\":2,\"lastRank\":3,\"scope\":\"ranking\"}"))

        let text = try OCDSExport.release(r.state, ocidPrefix: "ocds-test").canonicalText
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let details = try #require((object["bids"] as? [String: Any])?["details"] as? [[String: Any]])
        let bid = { (id: String) in details.first { ($0["id"] as? String) == "L1-\(id)" } }
        for id in ["B", "C"] {
            let d = try #require(bid(id))
            #expect(d["rank"] == nil && d["roomdCandidate"] == nil && d["roomdAwaitingLottery"] as? Bool == true)
        }
        #expect((bid("A")?["rank"] as? NSNumber)?.intValue == 1 && bid("A")?["roomdCandidate"] == nil)
        #expect((bid("D")?["rank"] as? NSNumber)?.intValue == 4)
        #expect((object["awards"] as? [Any])?.isEmpty == true)
        r.refuse(.confirmRanking, .lotteryPending(count: 1))
    }

    @Test func drawAssignsTheTiedRanks() throws {
        var r = try tiedPair()
        try r.run(.drawLottery(seed: 0, witness: "公证员 王某"))
        // Group seed 0; SplitMix64(0) first output 0xE220A8397B1DCDAF is odd → j = 1 → no swap → B, C.
        #expect(r.state.lotteryDraws.map(\.order) == [["B", "C"]])
        let ranking = try #require(r.state.ranking())
        #expect(ranking.bids.map(\.rank) == [1, 2, 3, 4])
        #expect(ranking.bids.map(\.bidder) == ["A", "B", "C", "D"])
        #expect(ranking.bids.allSatisfy { $0.status == .ranked && $0.pendingPlaces == nil })
        // B's place was decided by the total (nothing to break against A); C's by the lottery.
        #expect(r.bid("B")?.tieBrokenBy == nil && r.bid("C")?.tieBrokenBy == .lottery && r.bid("D")?.tieBrokenBy == nil)
        #expect(ranking.candidates == ["A", "B", "C"])
        #expect(r.state.notice(for: "C")?.statusText == "第3名（共4名）")
        try r.run(.confirmRanking)
        #expect(r.state.reports[0].candidates == ["A", "B", "C"])
    }

    @Test func sameBrandTieSelectsNobodyBeforeTheDraw() throws {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, bidders: [
            bidder("A", "900000", brand: "华为"), bidder("B", "900000", brand: " 华为 "), bidder("C", "950000"), bidder("D", "1000000"),
        ]))
        try r.throughCompliance()
        // 31: A and B offer the same brand at the same lowest price: which one stays is for the lottery.
        // The brand takes place 1 either way; C 950000 is 2, D 1000000 is 3.
        let brand = PendingPlaces(scope: .sameBrand, firstRank: 1, lastRank: 1)
        #expect(r.bid("A")?.status == .awaitingLottery && r.bid("A")?.pendingPlaces == brand && r.bid("A")?.rank == nil)
        #expect(r.bid("B")?.status == .awaitingLottery && r.bid("B")?.pendingPlaces == brand && r.bid("B")?.rank == nil)
        #expect(r.bid("C")?.rank == 2 && r.bid("D")?.rank == 3)
        #expect(r.state.ranking()?.bids.contains { $0.status == .sameBrandNotSelected } == false)
        #expect(r.state.ranking()?.pendingLotteries == [PendingTie(scope: .sameBrand, tied: ["A", "B"])])
        let notice = try #require(r.state.notice(for: "A"))
        #expect(notice.statusText == "与提供相同品牌核心产品的其他投标人评审结果相同，由抽签确定哪一家参加排名（第1名），名次待抽签确定（87号令第31条）")
        #expect(notice.statusTextEnglish == "tied with another bidder offering the same core-product brand; the lottery decides "
                    + "which one is ranked (rank 1); the rank awaits the lottery (MoF Order 87 art. 31)")
        let ocds = try OCDSExport.release(r.state, ocidPrefix: "ocds-test").canonicalText
        #expect(!ocds.contains("roomdSameBrandNotSelected") && ocds.contains("\"roomdAwaitingLottery\":true"))

        try r.run(.drawLottery(seed: 0, witness: "见证人"))
        // Group seed 0: odd first output → no swap → A is the brand's bid.
        #expect(r.bid("A")?.rank == 1 && r.bid("B")?.status == .sameBrandNotSelected)
        #expect(r.order == ["A", "C", "D"])
        #expect(r.state.notice(for: "B")?.statusTextEnglish
                    == "offers the same core-product brand as a better-placed bidder; not selected and not ranked (MoF Order 87 art. 31)")
    }

    @Test func brandTiedWithAnotherBidIsDrawnBrandFirstInOneCommand() throws {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, bidders: [
            bidder("A", "900000", brand: "华为"), bidder("B", "900000", brand: "华为"), bidder("C", "900000"),
            bidder("D", "1000000"), bidder("E", "1100000"),
        ]))
        try r.throughCompliance()
        // The brand (A or B) and C share places 1–2; D is 3, E is 4. Only the brand draw can happen now.
        #expect(r.state.ranking()?.pendingLotteries == [PendingTie(scope: .sameBrand, tied: ["A", "B"])])
        #expect(r.bid("A")?.pendingPlaces == PendingPlaces(scope: .sameBrand, firstRank: 1, lastRank: 2))
        #expect(r.bid("C")?.pendingPlaces == PendingPlaces(scope: .ranking, firstRank: 1, lastRank: 2))
        #expect(r.bid("D")?.rank == 3 && r.bid("E")?.rank == 4)
        try r.run(.drawLottery(seed: 2, witness: "见证人"))
        // [A, B] at group seed 2: SplitMix64(2) first output 0x975835DE1C9756CE is even → j = 0 → swap → B, A.
        // Then [B, C] at group seed 3: first output 0x1D0B14E4DB018FED is odd → no swap → B, C.
        // No draw is recorded for a provisional pair such as [A, C].
        #expect(r.state.lotteryDraws.map(\.tied) == [["A", "B"], ["B", "C"]])
        #expect(r.state.lotteryDraws.map(\.groupSeed) == [2, 3])
        #expect(r.order == ["B", "C", "D", "E"])
        #expect(r.bid("C")?.tieBrokenBy == .lottery && r.bid("A")?.status == .sameBrandNotSelected)
    }

    // MARK: 2. Decimals, and each language in its language

    @Test func messagesPrintDecimalsNeverRatios() throws {
        #expect(ratio(41, 2).decimalText == "20.5")
        #expect(f(30).decimalText == "30")
        #expect(ratio(1, 8).decimalText == "0.125")
        #expect(ratio(100, 3).decimalText == "≈33.333333")
        #expect(ratio(-2, 3).decimalText == "≈-0.666667")
        #expect(f("40.00001").decimalText == "40.00001")

        // 磋商 goods, price weight 20.5% (P 20.5 + T1 49.5 + T2 20 + C1 10 = 100): outside 30–60 (214号 24).
        var criteria = goodsCriteria
        criteria[0].maximum = f("49.5")
        criteria[3].maximum = f("20.5")
        let d = definition(method: .competitiveConsultation, panelSize: 3, criteria: criteria, weight: "20.5",
                           bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")])
        let error = DefinitionError.priceWeightOutOfRange(weight: ratio(41, 2), minimum: f(30), maximum: f(60), rule: Citation(.caiKu214, 24))
        #expect(d.violations(lot: "L1") == [error])
        #expect(error.englishMessage == "price weight 20.5% outside 30%–60% for this category (MoF Cai Ku [2014] 214 art. 24)")
        #expect(error.chineseMessage == "价格权重 20.5% 超出财库〔2014〕214号第24条规定的 30%–60% 范围。")

        // A score over the maximum prints as typed (the old English printed "81/2").
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.throughCompliance()
        let over = EngineError.scoreOutOfRange(criterion: "T1", value: f("40.5"), maximum: f(40))
        r.refuse(.enterScoreSheet(member: "e1", bidder: "A", scores: ["T1": f("40.5"), "T2": f(20), "C1": f(10)]), over)
        #expect(over.englishMessage == "criterion T1: 40.5 outside 0...40")
        #expect(over.chineseMessage == "评分因素 T1 的分值 40.5 超出 0–40 范围。")
        #expect(EngineError.scoreNotAllowed(criterion: "T2", value: ratio(31, 2), allowed: [f(0), f(10), f(20)]).englishMessage
                    == "objective criterion T2: 15.5 not among 0, 10, 20")
        #expect(DefinitionError.criteriaSum(ratio(199, 2), rule: Citation(.order87, 55)).englishMessage
                    == "criteria maxima sum to 99.5, must be 100 (MoF Order 87 art. 55)")
    }

    /// Identifiers the sample errors below pass in; Chinese messages may print these and nothing else in Latin letters.
    static let identifiers = ["L9", "project.number", "project.budget", "Q1", "e1", "e2", "e9", "r1", "T1", "T2", "T9", "P", "C1",
                              "A|K1|e1", "A", "B", "D", "Z", "K9", "CL-1", "CL-2", "criteria.T1.maximum",
                              "abnormallyLowPercentOfOthersMean", "drawLottery", "item:e1:A:T1", "flag"]

    /// One sample of every `DefinitionError` case (32), with fractions that have no short ratio.
    static let definitionErrors: [DefinitionError] = [
        .unsupportedVersion(2), .lotNotFound("L9"), .emptyText(field: "project.number"), .duplicateID(kind: .qualificationItem, id: "Q1"),
        .nonPositiveAmount(field: "project.budget"), .evenPanel(size: 4, rule: Citation(.caiKu214, 14)),
        .panelTooSmall(size: 3, minimum: 5, rule: Citation(.order74, 7)), .panelTooSmall(size: 5, minimum: 7, rule: Citation(.order87, 47)),
        .tooFewExperts(experts: 1, required: 2, panel: 3, rule: Citation(.caiKu214, 14)), .agencyStaffOnPanel(member: "e1"),
        .expertFromPurchaser(member: "e2"), .methodMismatch(method: .inquiry, evaluation: .comprehensiveScoring),
        .missingPriceWeight(rule: Citation(.caiKu214, 24)),
        .priceWeightOutOfRange(weight: ratio(41, 2), minimum: f(30), maximum: f(100), rule: Citation(.order87, 55)),
        .criteriaNotAllowed(method: .lowestEvaluatedPrice), .priceCriterionCount(2), .priceCriterionMaximum(maximum: ratio(41, 2), weight: f(30)),
        .criteriaSum(ratio(199, 2), rule: Citation(.order87, 55)), .criterionMaximum(criterion: "T1"), .priceCriterionGroup(criterion: "P"),
        .allowedValuesMissing(criterion: "T2"), .allowedValueOutOfRange(criterion: "C1", value: ratio(1, 3)),
        .allowedValuesOnSubjective(criterion: "T1"), .qualificationAsCriterion(criterion: "C1", rule: nil),
        .deductionOutOfBand(kind: .consortiumShare, percent: ratio(13, 2), minimum: f(4), maximum: f(6)),
        .deductionOutOfBand(kind: .domesticProduct, percent: f(100), minimum: .zero, maximum: .hundred),
        .deductionOnReservedProject, .smeShareOutOfRange(bidder: "A", percent: ratio(201, 2)), .candidateCount(2, minimum: 3),
        .displayDecimals(7), .thresholdOutOfRange(field: "abnormallyLowPercentOfOthersMean", percent: ratio(1000, 3)),
        .tooManyDecimals(field: "criteria.T1.maximum"), .technicalTieBreakWithoutScores, .deductionsTooLarge(total: ratio(201, 2)),
    ]

    static let activities: [Activity] = [
        .checkIn, .commitment, .leaderVote(round: 2), .finalQuote, .priceCorrectionConfirmation, .lowPriceDecision, .signing,
        .misconductRecord, .observation, .committeeReform, .failedQualification, .failedCompliance, .clarificationQuestion,
        .clarificationAnswer, .clarificationSigner, .withdrawal, .panelDecision, .keptAbnormalScore, .lotteryWitness, .dissent, .halt,
        .failure(.bidFailure), .failure(.termination), .reevaluation, .signature, .qualification, .compliance,
        .scoreSheet(bidder: "A"), .scoreSheets, .score, .ranking,
    ]

    /// One sample of every `EngineError` case (45); the three that name an `Activity` once per activity.
    static let engineErrors: [EngineError] = [
        .invalidDefinition(.evenPanel(size: 4, rule: Citation(.order87, 47))), .replacementInvalid(.agencyStaffOnPanel(member: "e1")),
        .wrongPhase(command: "drawLottery", phase: .report), .sequenceGap(expected: 4, got: 5), .timeWentBackwards(previous: 2000, got: 1000),
        .unknownMember("e9"), .unknownBidder("Z"), .unknownItem("K9"), .unknownCriterion("T9"), .bidderNotInPlay("B"), .notCheckedIn("e2"),
        .identityNotVerified(member: "e1"), .authorizationLetterMissing(member: "r1"), .commitmentIncomplete(member: "e2"),
        .purchaserRepresentativeIneligible(member: "r1"), .qualificationByAgency(member: "e1"), .notAwaitingReplacement("e1"),
        .duplicateID("CL-1"), .clarificationUnknown("CL-2"), .clarificationAlreadyAnswered("CL-1"), .answerAfterDeadline(id: "CL-1", deadline: 5000),
        .openClarifications(["CL-1", "CL-2"]), .noCorrectionToConfirm(bidder: "D"), .notAbnormallyLow(bidder: "A"),
        .undecidedAbnormallyLowPrices(["D"]), .unconfirmedPriceCorrections(["A", "B"]), .noNegotiationRound, .nonPositivePrice,
        .scoreOutOfRange(criterion: "T1", value: ratio(121, 3), maximum: f(40)),
        .scoreNotAllowed(criterion: "T2", value: ratio(31, 2), allowed: [f(0), ratio(21, 2), f(20)]), .scoreTooPrecise(criterion: "T1"),
        .priceScoreIsComputed(criterion: "P"), .alreadySubmitted(member: "e1"),
        .reasonDoesNotApply(reason: .abnormalScore, bidder: "A", criterion: "T2"), .unchangedScore, .unknownFlag("item:e1:A:T1"),
        .objectiveDisagreements(count: 2), .unresolvedFlags(["flag"]), .noTieToDraw, .lotteryPending(count: 1), .notLeader("e2"), .notScored,
    ] + activities.map { .alreadyDone(what: $0, by: "e1") } + activities.map { .missingReason(what: $0) }
        + activities.map { .incomplete(what: $0, missing: ["A|K1|e1"]) }
        + definitionErrors.map { .invalidDefinition($0) }

    static func hasCJK(_ text: String) -> Bool {
        text.unicodeScalars.contains { u in
            switch u.value {
            case 0x2E80...0x2FFF, 0x3000...0x303F, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0xFF00...0xFFEF: true
            default: false
            }
        }
    }

    /// Runs of Latin letters left in `text` once the identifiers are taken out.
    static func latinWords(_ text: String) -> [String] {
        var t = text
        for id in identifiers.sorted(by: { $0.count > $1.count }) { t = t.replacingOccurrences(of: id, with: " ") }
        return t.split { !($0.isASCII && $0.isLetter) }.map(String.init)
    }

    @Test func everyErrorMessageStaysInItsLanguage() {
        // Every case is sampled: a new case must be added here (the counts fail otherwise).
        #expect(Set(Self.definitionErrors.map(\.code)).count == 32)
        #expect(Set(Self.engineErrors.map(\.code)).count == 45)
        let all: [any RuleViolation] = Self.definitionErrors + Self.engineErrors
        for e in all {
            #expect(!Self.hasCJK(e.englishMessage), "\(e.code): \(e.englishMessage)")
            #expect(Self.latinWords(e.chineseMessage).isEmpty, "\(e.code): \(e.chineseMessage)")
            // Ratios like 41/2 never reach a person.
            #expect(!e.englishMessage.contains("41/2") && !e.chineseMessage.contains("/3"), "\(e.code)")
        }
    }

    @Test func tenderQualificationByAPanelMemberIsRefusedInBothLanguages() throws {
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.prepare()
        r.refuse(.recordQualification(bidder: "A", item: "Q1", member: "e1", passed: true, reason: nil, evidence: []),
                 .qualificationByAgency(member: "e1"))
        r.refuse(.recordQualification(bidder: "A", item: "Q1", member: nil, passed: false, reason: " ", evidence: []),
                 .missingReason(what: .failedQualification))
        #expect(EngineError.missingReason(what: .failedQualification).englishMessage == "failed qualification mark needs a reason or text")
        #expect(EngineError.missingReason(what: .failedQualification).chineseMessage == "资格审查不通过必须填写内容或理由。")
    }

    // MARK: 3. The method's own articles

    @Test func consultationPanelRulesCite214() {
        var d = definition(method: .competitiveConsultation, panelSize: 3, bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")])
        d.committee.append(Member(id: "e9", name: "专家9", role: .expert, affiliation: "单位9"))
        let even = DefinitionError.evenPanel(size: 4, rule: Citation(.caiKu214, 14))
        #expect(d.violations(lot: "L1") == [even])
        #expect(even.englishMessage == "panel has 4 members; it must be odd (MoF Cai Ku [2014] 214 art. 14)")
        #expect(even.chineseMessage == "评审小组人数为 4，依据财库〔2014〕214号第14条应为单数。")

        // 3 members, 1 expert: ⌈2×3/3⌉ = 2 experts required (214号 14).
        d.committee = experts(1) + [representative, Member(id: "r2", name: "代表2", role: .purchaserRepresentative, affiliation: "x")]
        let few = DefinitionError.tooFewExperts(experts: 1, required: 2, panel: 3, rule: Citation(.caiKu214, 14))
        #expect(d.violations(lot: "L1") == [few])
        #expect(few.englishMessage == "panel of 3 has 1 expert; at least 2 (two thirds) required (MoF Cai Ku [2014] 214 art. 14)")
        #expect(!few.chineseMessage.contains("87号令") && few.chineseMessage.contains("财库〔2014〕214号第14条"))

        // The same panel in a tender cites 87号令 47; in an inquiry at the threshold, 74号令 7.
        var tender = definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")])
        tender.committee = experts(4)
        #expect(tender.violations(lot: "L1").contains(.evenPanel(size: 4, rule: Citation(.order87, 47))))
        let inquiry = definition(method: .inquiry, evaluation: .lowestEvaluatedPrice, budget: "4000000", panelSize: 3,
                                 bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")])
        let small = DefinitionError.panelTooSmall(size: 3, minimum: 5, rule: Citation(.order74, 7))
        #expect(inquiry.violations(lot: "L1") == [small])
        #expect(small.chineseMessage == "评审小组人数为 3，依据74号令第7条（达到公开招标数额标准）至少应为 5 人。")
        #expect(small.englishMessage == "panel has 3 members; MoF Order 74 art. 7 requires at least 5 (at or above the public-tender threshold)")
    }

    @Test func consultationScoringRulesCite214() {
        let d = definition(method: .competitiveConsultation, panelSize: 3, weight: nil,
                           bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")])
        #expect(d.violations(lot: "L1").contains(.missingPriceWeight(rule: Citation(.caiKu214, 24))))
        #expect(DefinitionError.missingPriceWeight(rule: Citation(.caiKu214, 24)).englishMessage
                    == "comprehensive scoring needs priceWeightPercent (MoF Cai Ku [2014] 214 art. 24)")
        var criteria = goodsCriteria
        criteria[0].maximum = f(39)
        let sum = definition(method: .competitiveConsultation, panelSize: 3, criteria: criteria,
                             bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")])
        #expect(sum.violations(lot: "L1") == [.criteriaSum(f(99), rule: Citation(.caiKu214, 24))])
    }

    // MARK: 4. 磋商 that fails is terminated

    @Test func consultationWithTooFewSuppliersIsTerminated() throws {
        var r = try Run(definition(method: .competitiveConsultation, panelSize: 3,
                                   bidders: [bidder("A", "100000"), bidder("B", "110000"), bidder("C", "120000")]))
        // Panel e1, e2, r1: C fails K2 with 2 of 3 (majority) → 2 suppliers < 3.
        try r.throughCompliance(failing: ["C": ["e1", "e2"]])
        #expect(r.state.phase == .failed)
        #expect(r.state.failureReason == "符合性审查后有效供应商 2 家，少于 3 家（终止竞争性磋商）")
        #expect(r.state.failureKind == .termination && r.state.result().failureKind == .termination)
        let json = String(decoding: try CanonicalJSON.encode(r.state.result()), as: UTF8.self)
        #expect(json.contains("\"failureKind\":\"termination\"") && !json.contains("废标"))
    }

    @Test func tenderWithTooFewBidsStillFails() throws {
        var r = try Run(definition(bidders: [bidder("A", "100000"), bidder("B", "110000"), bidder("C", "120000")]))
        try r.throughCompliance(failing: ["C": ["e1", "e2", "e3"]])
        #expect(r.state.failureReason == "符合性审查后有效投标人 2 家，少于 3 家（废标）")
        #expect(r.state.result().failureKind == .bidFailure)
        let c = try #require(r.state.notice(for: "C"))
        #expect(c.status == .invalid && c.statusText == "投标无效：符合性审查未通过（K2）" && c.statusTextEnglish == "invalid bid: failed compliance (K2)")
    }

    @Test func negotiationAndInquiryAreTerminatedToo() throws {
        for (method, name) in [(ProcurementMethod.competitiveNegotiation, "终止竞争性谈判"), (.inquiry, "终止询价")] {
            var r = try Run(definition(method: method, evaluation: .lowestEvaluatedPrice, panelSize: 3,
                                       bidders: [bidder("A", "100000"), bidder("B", "110000"), bidder("C", "120000")]))
            try r.throughCompliance(failing: ["C": ["e1", "e2"]])
            #expect(r.state.failureReason == "符合性审查后有效供应商 2 家，少于 3 家（\(name)）")
            #expect(r.state.failureKind == .termination)
        }
    }

    @Test func declaredFailureOfAConsultationIsATermination() throws {
        var r = try Run(definition(method: .competitiveConsultation, panelSize: 3,
                                   bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.prepare()
        r.refuse(.declareFailure(reason: ""), .missingReason(what: .failure(.termination)))
        #expect(EngineError.missingReason(what: .failure(.termination)).chineseMessage == "终止采购活动必须填写内容或理由。")
        try r.run(.declareFailure(reason: "出现影响采购公正的违法、违规行为"))
        #expect(r.state.phase == .failed && r.state.failureKind == .termination)
    }
}
