import Canonical
import Testing
@testable import Evaluation

/// Worked scenarios: a definition, the events, and the result computed by hand (arithmetic in comments).
@Suite struct ScenarioTests {
    @Test func comprehensiveScoringGoodsRanksByTotal() throws {
        var r = try Run(definition(bidders: [bidder("A", "1000000"), bidder("B", "900000"), bidder("C", "800000")]))
        try r.throughCompliance()
        #expect(r.state.phase == .scoring)
        try r.score([
            "A": ["T1": ["36", "34", "35", "35", "35"], "T2": ["20"], "C1": ["10"]],
            "B": ["T1": ["30"], "T2": ["10"], "C1": ["10"]],
            "C": ["T1": ["25"], "T2": ["10"], "C1": ["5"]],
        ])
        #expect(r.state.phase == .review)
        try r.run(.concludeReview)
        // Mean scores: A (36+34+35+35+35)/5 = 35, + 20 + 10 = 65; B 30+10+10 = 50; C 25+10+5 = 40.
        // B (benchmark) = min P′ = 800000. Price scores: A 800000/1000000×30 = 24; B 800000/900000×30 = 80/3; C 30.
        // Totals: A 65+24 = 89; B 50+80/3 = 230/3 ≈ 76.67; C 40+30 = 70.
        #expect(r.bid("A")?.total == f(89))
        #expect(r.bid("B")?.priceScore == ratio(80, 3))
        #expect(r.bid("B")?.total == ratio(230, 3))
        #expect(r.bid("C")?.total == f(70))
        #expect(r.order == ["A", "B", "C"])
        try r.run(.confirmRanking)
        let report = try #require(r.state.reports.last)
        #expect(report.candidates == ["A", "B", "C"])
        #expect(report.bidders.first { $0.id == "B" }?.display["total"] == "76.67")
    }

    @Test func comprehensiveScoringServicesWithTenPercentPrice() throws {
        let criteria = [
            Criterion(id: "T1", name: "服务方案", group: .technical, maximum: f(60), kind: .subjective),
            Criterion(id: "C1", name: "团队", group: .commercial, maximum: f(30), kind: .objective, allowedValues: [f(0), f(15), f(30)]),
            Criterion(id: "P", name: "价格", group: .price, maximum: f(10), kind: .price),
        ]
        var r = try Run(definition(category: .services, criteria: criteria, weight: "10",
                                   bidders: [bidder("A", "500000"), bidder("B", "400000"), bidder("C", "450000")]))
        try r.throughCompliance()
        try r.score([
            "A": ["T1": ["50"], "C1": ["30"]], "B": ["T1": ["45"], "C1": ["15"]], "C": ["T1": ["55"], "C1": ["15"]],
        ])
        try r.run(.concludeReview)
        // B = 400000. A: 80 + 400000/500000×10 = 80 + 8 = 88. B: 60 + 10 = 70. C: 70 + 400000/450000×10 = 70 + 80/9 = 710/9 ≈ 78.89.
        #expect(r.bid("A")?.total == f(88))
        #expect(r.bid("B")?.total == f(70))
        #expect(r.bid("C")?.total == ratio(710, 9))
        #expect(r.order == ["A", "C", "B"])
    }

    @Test func lowestEvaluatedPriceRanksByPrice() throws {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice,
                                   bidders: [bidder("A", "1000000"), bidder("B", "950000"), bidder("C", "980000"), bidder("D", "990000")]))
        try r.throughCompliance()
        // No scoring: COMPLIANCE → RANKING. P′ = P: B 950000 < C 980000 < D 990000 < A 1000000.
        #expect(r.state.phase == .ranking)
        #expect(r.order == ["B", "C", "D", "A"])
        try r.run(.confirmRanking)
        #expect(r.state.reports[0].candidates == ["B", "C", "D"])
    }

    @Test func smeDeductionChangesRankingButNotContractPrice() throws {
        let d = Deductions(smallFirmPercent: f(10), consortiumSharePercent: f(4))
        var r = try Run(definition(deductions: d, bidders: [
            bidder("A", "1000000"), bidder("B", "1050000", sme: .small), bidder("C", "1020000", share: "40"),
        ]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["30"], "T2": ["20"], "C1": ["10"]],
                     "C": ["T1": ["30"], "T2": ["20"], "C1": ["10"]]])
        try r.run(.concludeReview)
        // P′: A 1000000; B small firm 1050000×0.90 = 945000; C consortium 40% ≥ 30%: 1020000×0.96 = 979200.
        // B = 945000. Price: A 945000/1000000×30 = 28.35; B 30; C 945000×30/979200 = 7875/272 ≈ 28.95.
        // All mean scores 60 → totals A 88.35, B 90, C 60 + 7875/272 ≈ 88.95 → B, C, A.
        // (Without deductions A would be lowest and first: A 30 + 60 = 90 > C 29.41 + 60 > B 28.57 + 60.)
        #expect(r.bid("B")?.evaluatedPrice == f(945000))
        #expect(r.bid("C")?.evaluatedPrice == f(979200))
        #expect(r.bid("A")?.priceScore == f("28.35"))
        #expect(r.bid("C")?.priceScore == ratio(7875, 272))
        #expect(r.order == ["B", "C", "A"])
        // The contract price stays the bid price.
        #expect(r.bid("B")?.contractPrice == f(1050000))
        #expect(r.state.notice(for: "B")?.contractPrice == "1050000.00")
        #expect(r.state.notice(for: "B")?.evaluatedPrice == "945000.00")
    }

    @Test(arguments: [DeductionStacking.multiplicative, .additive])
    func domesticProductPreference(stacking: DeductionStacking) throws {
        let d = Deductions(smallFirmPercent: f(10), domesticProductPercent: f(20), stacking: stacking)
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, deductions: d, bidders: [
            bidder("A", "1200000", domestic: true), bidder("B", "1000000", domestic: false),
            bidder("C", "990000"), bidder("D", "1300000", sme: .micro, domestic: true),
        ]))
        try r.throughCompliance()
        // A domestic: 1200000×0.8 = 960000. B 1000000, C 990000 (no preference).
        // D micro + domestic: multiplicative 1300000×0.9×0.8 = 936000; additive 1300000×(1−0.1−0.2) = 910000.
        #expect(r.bid("A")?.evaluatedPrice == f(960000))
        #expect(r.bid("D")?.evaluatedPrice == (stacking == .multiplicative ? f(936000) : f(910000)))
        #expect(r.order == ["D", "A", "C", "B"])
        try r.run(.confirmRanking)
        #expect(r.state.reports[0].deductions?.stacking == stacking)
        #expect(r.bid("D")?.contractPrice == f(1300000))
    }

    @Test func equalTotalsBrokenByLowerBidPrice() throws {
        var r = try Run(definition(bidders: [bidder("A", "1000000"), bidder("B", "960000"), bidder("C", "800000")]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["36"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["35"], "T2": ["20"], "C1": ["10"]],
                     "C": ["T1": ["30"], "T2": ["10"], "C1": ["10"]]])
        try r.run(.concludeReview)
        // B = 800000. A: 66 + 800000/1000000×30 = 66 + 24 = 90. B: 65 + 800000/960000×30 = 65 + 25 = 90. C: 50 + 30 = 80.
        // A and B tie on 90; 87号令 57: lower bid price first → B (960000) before A (1000000).
        #expect(r.bid("A")?.total == f(90))
        #expect(r.bid("B")?.total == f(90))
        #expect(r.order == ["B", "A", "C"])
        #expect(r.bid("A")?.tieBrokenBy == .bidPrice)
        #expect(r.state.ranking()?.pendingLotteries.isEmpty == true)
    }

    @Test func fullTieWaitsForLotteryWithSuppliedSeed() throws {
        var r = try Run(definition(bidders: [bidder("A", "1000000"), bidder("B", "1000000"), bidder("C", "900000")]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["30"], "T2": ["20"], "C1": ["10"]],
                     "C": ["T1": ["20"], "T2": ["10"], "C1": ["5"]]])
        try r.run(.concludeReview)
        // A and B: 60 + 900000/1000000×30 = 87 each, same bid price; documents say lottery. C: 35 + 30 = 65.
        #expect(r.state.ranking()?.pendingLotteries == [PendingTie(scope: .ranking, tied: ["A", "B"])])
        r.refuse(.confirmRanking, .lotteryPending(count: 1))
        try r.run(.drawLottery(seed: 0, witness: "公证员 王某"))
        // Seed 0, first group → group seed 0. SplitMix64(0) first output 0xE220A8397B1DCDAF (reference value);
        // Fisher–Yates over [A, B]: i = 1, j = output mod 2 = 1 (odd) → no swap → A before B.
        #expect(r.state.lotteryDraws.first?.order == ["A", "B"])
        #expect(r.order == ["A", "B", "C"])
        #expect(r.bid("B")?.tieBrokenBy == .lottery)
        try r.run(.confirmRanking)
        #expect(r.state.reports[0].lotteryDraws.first?.witness == "公证员 王某")
        r.refuse(.drawLottery(seed: 1, witness: "x"), .wrongPhase(command: "drawLottery", phase: .report))
    }

    @Test func consultationTwoRoundsFinalQuotesTieByTechnicalScore() throws {
        let criteria = [
            Criterion(id: "T1", name: "技术", group: .technical, maximum: f(40), kind: .subjective),
            Criterion(id: "C1", name: "商务", group: .commercial, maximum: f(30), kind: .objective,
                      allowedValues: [f(0), f(10), f(20), f(30)]),
            Criterion(id: "P", name: "价格", group: .price, maximum: f(30), kind: .price),
        ]
        var r = try Run(definition(method: .competitiveConsultation, panelSize: 3, criteria: criteria,
                                   bidders: [bidder("A", "1200000"), bidder("B", "1100000"), bidder("C", "1000000")]))
        try r.throughCompliance()
        #expect(r.state.phase == .negotiationRounds)
        try r.run(.openNegotiationRound)
        for (b, p) in [("A", "1100000"), ("B", "1000000"), ("C", "1000000")] { try r.run(.recordRoundQuote(bidder: b, price: f(p))) }
        try r.run(.openNegotiationRound)
        for (b, p) in [("A", "950000"), ("B", "950000"), ("C", "1000000")] { try r.run(.recordRoundQuote(bidder: b, price: f(p))) }
        try r.run(.closeNegotiationRounds)
        for (b, p) in [("A", "900000"), ("B", "900000"), ("C", "1000000")] { try r.run(.submitFinalQuote(bidder: b, price: f(p))) }
        r.refuse(.submitFinalQuote(bidder: "A", price: f(1)), .alreadyDone(what: .finalQuote, by: "A"))
        try r.run(.concludeFinalQuotes)
        try r.score(["A": ["T1": ["40"], "C1": ["10"]], "B": ["T1": ["30"], "C1": ["20"]], "C": ["T1": ["35"], "C1": ["30"]]])
        try r.run(.concludeReview)
        // On final quotes: B = 900000. A: 50 + 30 = 80; B: 50 + 30 = 80; C: 65 + 900000/1000000×30 = 65 + 27 = 92.
        // A and B tie on total and final quote; 214号 25: higher technical score first: A 40 > B 30.
        #expect(r.bid("C")?.total == f(92))
        #expect(r.order == ["C", "A", "B"])
        #expect(r.bid("B")?.tieBrokenBy == .technicalScore)
        #expect(r.bid("A")?.contractPrice == f(900000))
    }

    @Test func competitiveNegotiationLowestFinalQuote() throws {
        var r = try Run(definition(method: .competitiveNegotiation, evaluation: .lowestEvaluatedPrice, panelSize: 3,
                                   bidders: [bidder("A", "520000"), bidder("B", "530000"), bidder("C", "510000")]))
        try r.throughCompliance()
        try r.run(.openNegotiationRound)
        try r.run(.recordRoundQuote(bidder: "A", price: f(505000)))
        try r.run(.closeNegotiationRounds)
        for (b, p) in [("A", "500000"), ("B", "480000"), ("C", "490000")] { try r.run(.submitFinalQuote(bidder: b, price: f(p))) }
        try r.run(.concludeFinalQuotes)
        // Lowest final quote first: B 480000, C 490000, A 500000; 谈判 recommends ≥3 candidates.
        #expect(r.state.phase == .ranking)
        #expect(r.order == ["B", "C", "A"])
        try r.run(.confirmRanking)
        #expect(r.state.reports[0].candidates == ["B", "C", "A"])
    }

    @Test func inquiryOneQuoteNotChangeable() throws {
        var r = try Run(definition(method: .inquiry, evaluation: .lowestEvaluatedPrice, panelSize: 3,
                                   bidders: [bidder("A", "300000"), bidder("B", "290000"), bidder("C", "310000")]))
        try r.throughCompliance()
        // 询价: straight to ranking on the single quote; no negotiation is possible.
        #expect(r.state.phase == .ranking)
        r.refuse(.openNegotiationRound, .wrongPhase(command: "openNegotiationRound", phase: .ranking))
        r.refuse(.submitFinalQuote(bidder: "A", price: f(1)), .wrongPhase(command: "submitFinalQuote", phase: .ranking))
        #expect(r.order == ["B", "A", "C"])
    }

    @Test func fewerThanThreeValidBidsFails() throws {
        var r = try Run(definition(bidders: [bidder("A", "100000"), bidder("B", "110000"), bidder("C", "120000")]))
        // C fails K2 with 3 of 5 members (majority, 61); B fails with only 2 of 5 (no majority, stays).
        try r.throughCompliance(failing: ["C": ["e1", "e2", "e3"], "B": ["e1", "e2"]])
        // 2 valid bids < 3 → FAILED (87号令 43; 法36).
        #expect(r.state.phase == .failed)
        #expect(r.state.invalid["C"] == .failedCompliance(items: ["K2"]))
        #expect(r.state.invalid["B"] == nil)
        #expect(r.state.failureReason?.contains("2") == true)
        r.refuse(.enterScoreSheet(member: "e1", bidder: "A", scores: [:]), .wrongPhase(command: "enterScoreSheet", phase: .failed))
    }

    @Test func recusalWithReplacementVoidsReplacedMembersScores() throws {
        var r = try Run(definition(bidders: [bidder("A", "1000000"), bidder("B", "1000000"), bidder("C", "1000000")]))
        try r.throughCompliance()
        // e2 scores A far too high and submits, then a conflict with bidder A is discovered.
        let sheet: (String) -> [String: Fraction] = { t1 in ["T1": f(t1), "T2": f(20), "C1": f(10)] }
        for b in ["A", "B", "C"] { try r.run(.enterScoreSheet(member: "e2", bidder: b, scores: sheet(b == "A" ? "40" : "20"))) }
        try r.run(.submitScores(member: "e2"))
        try r.run(.declareConflict(member: "e2", ground: .employmentOrControl, note: "三年内曾任投标人A员工"))
        #expect(r.state.phase == .suspended)
        r.refuse(.submitScores(member: "e1"), .wrongPhase(command: "submitScores", phase: .suspended))
        let e6 = Member(id: "e6", name: "专家6", role: .expert, affiliation: "单位6")
        try r.run(.replaceMember(replaced: "e2", replacement: e6))
        try r.run(.checkIn(member: "e6", certificateSubject: "CN=专家6", rosterMatched: true, authorizationLetter: nil))
        try r.run(.signCommitment(member: "e6", disciplineRead: true, commitmentSigned: true, noConflictDeclared: true))
        #expect(r.state.phase == .scoring)
        #expect(r.state.visibleScores(for: "e6").isEmpty)
        // Everyone now (e1, e3, e4, e6, r1) gives A T1 30, B 20, C 10 → e2's 40 for A is gone.
        try r.score(["A": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["20"], "T2": ["20"], "C1": ["10"]],
                     "C": ["T1": ["10"], "T2": ["20"], "C1": ["10"]]])
        try r.run(.concludeReview)
        // All prices equal → price score 30 each. A: 60 + 30 = 90 (had e2 counted: (40+4×30)/5 = 32 → 92). B 80, C 70.
        #expect(r.bid("A")?.total == f(90))
        #expect(r.order == ["A", "B", "C"])
        #expect(r.state.scoreSummary()?.bidders.first?.memberTotals["e2"] == nil)
        try r.run(.confirmRanking)
        let report = r.state.reports[0]
        #expect(report.voidedOpinions.map(\.member) == ["e2"])
        #expect(report.memberChanges.contains { $0.kind == .replaced && $0.member == "e2" && $0.replacement == "e6" })
    }

    @Test func objectiveDisagreementBlocksSummaryUntilCorrected() throws {
        var r = try Run(definition(bidders: [bidder("A", "100000"), bidder("B", "100000"), bidder("C", "100000")]))
        try r.throughCompliance()
        // e1 gives A 10 on the objective item T2, everyone else 20.
        try r.score(["A": ["T1": ["30"], "T2": ["10", "20", "20", "20", "20"], "C1": ["10"]],
                     "B": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "C": ["T1": ["30"], "T2": ["20"], "C1": ["5"]]])
        #expect(r.state.scoreSummary()?.disagreements.map(\.criterion) == ["T2"])
        r.refuse(.concludeReview, .objectiveDisagreements(count: 1))
        r.refuse(.reviseScore(member: "e1", bidder: "A", criterion: "T2", value: f(20), reason: .abnormalScore, panelDecision: "x"),
                 .reasonDoesNotApply(reason: .abnormalScore, bidder: "A", criterion: "T2"))
        r.refuse(.reviseScore(member: "e1", bidder: "A", criterion: "T2", value: f(15), reason: .objectiveDisagreement, panelDecision: "x"),
                 .scoreNotAllowed(criterion: "T2", value: f(15), allowed: [f(0), f(10), f(20)]))
        try r.run(.reviseScore(member: "e1", bidder: "A", criterion: "T2", value: f(20), reason: .objectiveDisagreement,
                               panelDecision: "经核对投标文件第35页，参数全部满足，统一为20分"))
        try r.run(.concludeReview)
        // A: 30+20+10 = 60 + 30 = 90; B 90 (tie on total and price → lottery); C 55 + 30 = 85.
        #expect(r.bid("A")?.total == f(90))
        #expect(r.state.corrections.first?.reason == .objectiveDisagreement)
        #expect(r.state.corrections.first?.from == f(10))
    }

    /// e1 gives A 10 on T1 (max 40), others 34. Item flag: |10 − 34| = 24 > 30% × 40 = 12.
    /// Total flag: e1 10+20+10 = 40, others 64; mean (40 + 4×64)/5 = 59.2; |40 − 59.2| = 19.2 > 20% × 59.2 = 11.84.
    private func flagged() throws -> Run {
        var r = try Run(definition(bidders: [bidder("A", "100000"), bidder("B", "100000"), bidder("C", "100000")]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["10", "34", "34", "34", "34"], "T2": ["20"], "C1": ["10"]],
                     "B": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "C": ["T1": ["20"], "T2": ["20"], "C1": ["10"]]])
        return r
    }

    @Test func abnormalScoreFlagKeptWithReason() throws {
        var r = try flagged()
        let flags = try #require(r.state.scoreSummary()?.flags)
        #expect(flags.map(\.id).sorted() == ["item:e1:A:T1", "total:e1:A"])
        r.refuse(.concludeReview, .unresolvedFlags(["item:e1:A:T1", "total:e1:A"]))
        try r.run(.keepAbnormalScore(flag: "item:e1:A:T1", reason: "该专家认为方案缺少关键模块，理由已记录"))
        try r.run(.keepAbnormalScore(flag: "total:e1:A", reason: "同上"))
        try r.run(.concludeReview)
        // Kept: A mean 59.2 + 30 = 89.2.
        #expect(r.bid("A")?.total == f("89.2"))
    }

    @Test func abnormalScoreFlagResolvedByCorrection() throws {
        var r = try flagged()
        try r.run(.reviseScore(member: "e1", bidder: "A", criterion: "T1", value: f(30), reason: .abnormalScore,
                               panelDecision: "经评审委员会认定畸低，专家更正"))
        // Now |30 − 34| = 4 ≤ 12; e1 total 60, mean (60 + 256)/5 = 63.2, |60 − 63.2| = 3.2 ≤ 12.64: no flags left.
        #expect(r.state.scoreSummary()?.flags.isEmpty == true)
        try r.run(.concludeReview)
        #expect(r.bid("A")?.total == f("93.2"))
        #expect(r.state.corrections.map(\.reason) == [.abnormalScore])
    }

    @Test func abnormallyLowPriceInvalidatedAfterExplanation() throws {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, bidders: [
            bidder("A", "1000000"), bidder("B", "980000"), bidder("C", "1020000"), bidder("D", "400000"),
        ]))
        try r.prepare()
        try r.qualifyAll()
        try r.markCompliance()
        // D: others' mean (1000000+980000+1020000)/3 = 1000000; 50% = 500000 > 400000 → flagged.
        // A: others' mean (980000+1020000+400000)/3 = 800000; 50% = 400000 < 1000000 → not flagged.
        r.refuse(.concludeCompliance, .undecidedAbnormallyLowPrices(["D"]))
        r.refuse(.decideAbnormallyLowPrice(bidder: "A", accepted: true, reason: "x"), .notAbnormallyLow(bidder: "A"))
        try r.run(.requestClarification(id: "CL-1", bidder: "D", purpose: .abnormallyLowPrice,
                                        question: "请书面说明报价合理性并提供成本构成", deadline: r.now + 3_600_000))
        #expect(r.state.phase == .clarification)
        r.refuse(.concludeCompliance, .openClarifications(["CL-1"]))
        try r.run(.answerClarification(id: "CL-1", answer: "库存设备清仓", signedBy: "D公司法定代表人"))
        #expect(r.state.phase == .compliance)
        try r.run(.decideAbnormallyLowPrice(bidder: "D", accepted: false, reason: "未能提供成本证明"))
        try r.run(.concludeCompliance)
        #expect(r.state.invalid["D"] == .abnormallyLowPrice(reason: "未能提供成本证明"))
        #expect(r.order == ["B", "A", "C"])
        let ocds = try OCDSExport.release(r.state, ocidPrefix: "ocds-test").canonicalText
        #expect(ocds.contains("\"measure\":\"tendersAbnormallyLow\",\"relatedLot\":\"L1\",\"value\":1"))
    }

    @Test func priceInconsistencyCorrectedPer59() throws {
        let bLines = [PriceLine(item: "x", quantity: f(10), unitPrice: f(10000), total: f(100000)),
                      PriceLine(item: "y", quantity: f(2), unitPrice: f("5000.00"), total: f(100000))]
        let cLines = [PriceLine(item: "z", quantity: f(4), unitPrice: f(25000), total: f(90000))]
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, bidders: [
            bidder("A", "190000", words: "210000"), bidder("B", "200000", lines: bLines),
            bidder("C", "90000", lines: cLines), bidder("D", "205000"),
        ]))
        // A: words 210000 over figures 190000 (59.2).
        // B: line y 2 × 5000 = 10000 vs 100000: exactly ×10 → misplaced point, total stands, unit → 50000 (59.3); sum 200000 = total.
        // C: 4 × 25000 = 100000 vs 90000, not a power of ten → unit price prevails (59.4): line 100000, bid 100000.
        let a = try #require(r.state.priceCorrection("A"))
        #expect(a.corrected == f(210000) && a.steps.map(\.clause) == ["59.2"])
        let b = try #require(r.state.priceCorrection("B"))
        #expect(b.corrected == f(200000) && b.steps == [PriceCorrectionStep(clause: "59.3", item: "y", from: f(5000), to: f(50000))])
        let c = try #require(r.state.priceCorrection("C"))
        #expect(c.corrected == f(100000) && c.steps.map(\.clause) == ["59.4", "59.4"])
        #expect(r.state.priceCorrection("D")?.needsConfirmation == false)
        try r.prepare()
        try r.qualifyAll()
        try r.markCompliance()
        r.refuse(.concludeCompliance, .unconfirmedPriceCorrections(["A", "B", "C"]))
        r.refuse(.confirmPriceCorrection(bidder: "D", confirmed: true), .noCorrectionToConfirm(bidder: "D"))
        try r.run(.confirmPriceCorrection(bidder: "A", confirmed: true))
        try r.run(.confirmPriceCorrection(bidder: "B", confirmed: true))
        try r.run(.confirmPriceCorrection(bidder: "C", confirmed: false))
        try r.run(.concludeCompliance)
        // C refused → invalid (59). Ranking on corrected prices: B 200000, D 205000, A 210000.
        #expect(r.state.invalid["C"] == .priceCorrectionRefused)
        #expect(r.order == ["B", "D", "A"])
        #expect(r.bid("A")?.contractPrice == f(210000))
    }

    private func signing() throws -> Run {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice,
                                   bidders: [bidder("A", "300000"), bidder("B", "290000"), bidder("C", "310000")]))
        try r.throughCompliance()
        try r.run(.confirmRanking)
        try r.run(.startSigning)
        return r
    }

    @Test func dissentRecordedAndSilenceCountsAsAgreement() throws {
        var r = try signing()
        for m in ["e1", "e2", "e4"] { try r.run(.sign(member: m, signature: "SIG-\(m)")) }
        r.refuse(.dissent(member: "e3", reasons: "  "), .missingReason(what: .dissent))
        try r.run(.dissent(member: "e3", reasons: "B的业绩证明材料存疑，不同意推荐B为第一候选人"))
        r.refuse(.sign(member: "e3", signature: "SIG"), .alreadyDone(what: .signing, by: "e3"))
        r.refuse(.leaderConfirm(member: "e2"), .notLeader("e2"))
        try r.run(.leaderConfirm(member: "e1"))
        #expect(r.state.phase == .closed)
        let sigs = Dictionary(uniqueKeysWithValues: r.state.reports[0].signatures.map { ($0.member, $0.kind) })
        // r1 neither signed nor dissented → recorded as agreeing (61).
        #expect(sigs == ["e1": .signed, "e2": .signed, "e3": .dissented, "e4": .signed, "r1": .deemedAgreed])
    }

    @Test func reevaluationAfterSigningProducesNewReportVersion() throws {
        var r = try Run(definition(bidders: [bidder("A", "100000"), bidder("B", "100000"), bidder("C", "100000")]))
        try r.throughCompliance()
        try r.score(["A": ["T1": ["30"], "T2": ["20"], "C1": ["10"]], "B": ["T1": ["31"], "T2": ["20"], "C1": ["10"]],
                     "C": ["T1": ["20"], "T2": ["20"], "C1": ["10"]]])
        try r.run(.concludeReview)
        // v1: B 61 + 30 = 91 > A 60 + 30 = 90.
        #expect(r.order == ["B", "A", "C"])
        try r.run(.confirmRanking)
        try r.run(.startSigning)
        for m in r.memberIDs { try r.run(.sign(member: m, signature: "SIG-\(m)")) }
        try r.run(.leaderConfirm(member: "e1"))
        try r.run(.beginReevaluation(reason: .arithmeticError, note: "监督部门发现纸质评分表转录错误"))
        #expect(r.state.phase == .reevaluation)
        // e3 and e4 had written 35 for A's T1 on paper; transcribed as 30.
        try r.run(.reviseScore(member: "e3", bidder: "A", criterion: "T1", value: f(35), reason: .arithmeticError, panelDecision: "按纸质评分表更正"))
        try r.run(.reviseScore(member: "e4", bidder: "A", criterion: "T1", value: f(35), reason: .arithmeticError, panelDecision: "按纸质评分表更正"))
        try r.run(.concludeReview)
        // v2: A T1 mean (30+30+35+35+30)/5 = 32 → 62 + 30 = 92 > B 91.
        #expect(r.bid("A")?.total == f(92))
        try r.run(.confirmRanking)
        #expect(r.state.reports.count == 2)
        #expect(r.state.reports[0].candidates.first == "B")
        #expect(r.state.reports[1].candidates.first == "A")
        #expect(r.state.reports[1].reviewCorrections.map(\.reportVersion) == [2, 2])
        #expect(r.state.reports[0].signatures.count == 5)
        #expect(r.state.reports[1].signatures.isEmpty)
    }

    @Test func sameBrandCountsAsOneAndLowestPasses() throws {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, bidders: [
            bidder("A", "900000", brand: "华为"), bidder("B", "950000", brand: " 华为 "), bidder("C", "1000000", brand: "联想"),
            bidder("D", "980000"),
        ]))
        try r.throughCompliance()
        // 31: A and B offer the same brand → one bidder; under 最低评标价法 the lower (A 900000) passes.
        // Effective bidders: {华为, 联想, D} = 3 → not failed. Ranking A 900000, D 980000, C 1000000.
        #expect(r.order == ["A", "D", "C"])
        #expect(r.bid("B")?.status == .sameBrandNotSelected)

        var few = try Run(definition(evaluation: .lowestEvaluatedPrice, bidders: [
            bidder("A", "900000", brand: "华为"), bidder("B", "950000", brand: "华为"), bidder("C", "1000000"),
        ]))
        try few.prepare()
        try few.qualifyAll()
        // Three bids but only two count (same brand = one) → FAILED as soon as the count is taken.
        #expect(few.state.phase == .failed)
        #expect(few.state.failureReason?.contains("2") == true)
    }

    @Test func leaderElectionRevotesOnTieAndExcludesPurchaserRepresentative() throws {
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.run(.openSession)
        for m in r.state.members {
            if m.role == .purchaserRepresentative {
                r.refuse(.checkIn(member: m.id, certificateSubject: "CN=x", rosterMatched: true, authorizationLetter: nil),
                         .authorizationLetterMissing(member: m.id))
            }
            try r.run(.checkIn(member: m.id, certificateSubject: "CN=x", rosterMatched: true, authorizationLetter: "授权函"))
        }
        for m in r.memberIDs { try r.run(.signCommitment(member: m, disciplineRead: true, commitmentSigned: true, noConflictDeclared: true)) }
        r.refuse(.castLeaderVote(voter: "e1", candidate: "r1"), .purchaserRepresentativeIneligible(member: "r1"))
        // Round 1: e1 2 votes, e2 2 votes, e3 1 vote → no majority of 5 → another round.
        for (v, c) in [("e1", "e1"), ("e2", "e2"), ("e3", "e1"), ("e4", "e2"), ("r1", "e3")] { try r.run(.castLeaderVote(voter: v, candidate: c)) }
        #expect(r.state.leader == nil && r.state.leaderRound == 2)
        // Round 2: e2 gets 3 of 5 → leader.
        for (v, c) in [("e1", "e1"), ("e2", "e2"), ("e3", "e2"), ("e4", "e2"), ("r1", "e1")] { try r.run(.castLeaderVote(voter: v, candidate: c)) }
        #expect(r.state.leader == "e2")
        #expect(r.state.phase == .qualification)
    }

    @Test func subjectiveScoresHiddenUntilEveryoneSubmits() throws {
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.throughCompliance()
        let sheet: [String: Fraction] = ["T1": f(30), "T2": f(20), "C1": f(10)]
        for b in ["A", "B", "C"] { try r.run(.enterScoreSheet(member: "e1", bidder: b, scores: sheet)) }
        try r.run(.submitScores(member: "e1"))
        #expect(r.state.visibleScores(for: "e2").isEmpty)
        #expect(r.state.visibleScores(for: "e1").keys.sorted() == ["e1"])
        r.refuse(.enterScoreSheet(member: "e2", bidder: "A", scores: ["T1": f(41), "T2": f(20), "C1": f(10)]),
                 .scoreOutOfRange(criterion: "T1", value: f(41), maximum: f(40)))
        r.refuse(.enterScoreSheet(member: "e2", bidder: "A", scores: ["T1": f(30), "T2": f(20), "C1": f(10), "P": f(30)]),
                 .priceScoreIsComputed(criterion: "P"))
        r.refuse(.enterScoreSheet(member: "e2", bidder: "A", scores: ["T1": f(30), "T2": f(20)]),
                 .incomplete(what: .scoreSheet(bidder: "A"), missing: ["C1"]))
        r.refuse(.submitScores(member: "e1"), .alreadySubmitted(member: "e1"))
        r.refuse(.submitScores(member: "e2"), .incomplete(what: .scoreSheets, missing: ["A", "B", "C"]))
    }

    @Test func committeeReformedVoidsAllOpinions() throws {
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.prepare()
        try r.qualifyAll()
        try r.markCompliance()
        try r.run(.declareConflict(member: "e3", ground: .familyRelation, note: "配偶为投标人B法定代表人"))
        try r.run(.reformCommittee(members: (6...10).map { Member(id: "n\($0)", name: "新专家\($0)", role: .expert, affiliation: "院\($0)") },
                                   reason: "未能在规定时间内补足"))
        #expect(r.state.phase == .reformed)
        #expect(r.state.compliance.isEmpty)
        #expect(r.state.voided.map(\.member).sorted() == ["e1", "e2", "e3", "e4", "r1"])
    }
}


@Suite struct SideStateTests {
    @Test func singleSourceNegotiatedPriceWithOneSupplier() throws {
        var d = definition(method: .singleSource, evaluation: .negotiatedPrice, bidders: [bidder("A", "800000")])
        d.committee = [Member(id: "e1", name: "专家1", role: .expert, affiliation: "单位1")]
        var r = try Run(d)
        try r.throughCompliance()
        // 单一来源: one supplier is enough (74号令); the rounds are the negotiation record.
        #expect(r.state.phase == .negotiationRounds)
        try r.run(.openNegotiationRound)
        try r.run(.recordRoundQuote(bidder: "A", price: f(760000)))
        try r.run(.closeNegotiationRounds)
        try r.run(.submitFinalQuote(bidder: "A", price: f(750000)))
        try r.run(.concludeFinalQuotes)
        #expect(r.order == ["A"])
        #expect(r.bid("A")?.contractPrice == f(750000))
        try r.run(.confirmRanking)
        #expect(r.state.reports[0].bidders[0].roundQuotes == ["1": f(760000)])
    }

    @Test func bidAboveMaximumPriceIsInvalidAndExpiredClarificationStopsBlocking() throws {
        var r = try Run(definition(evaluation: .lowestEvaluatedPrice, maximumPrice: "1000000", bidders: [
            bidder("A", "990000"), bidder("B", "1000000"), bidder("C", "1000000.01"), bidder("D", "950000"),
        ]))
        try r.prepare()
        try r.qualifyAll()
        try r.markCompliance()
        try r.run(.requestClarification(id: "CL-9", bidder: "A", purpose: .general, question: "请澄清交货期", deadline: r.now + 5_000))
        r.refuse(.concludeCompliance, .openClarifications(["CL-9"]))
        // No answer by the deadline: the request is recorded as unanswered and no longer blocks.
        r.now += 10_000
        try r.run(.concludeCompliance)
        r.refuse(.answerClarification(id: "CL-9", answer: "30天", signedBy: "A"), .wrongPhase(command: "answerClarification", phase: .ranking))
        // C 1000000.01 > 最高限价 1000000 → invalid (63); B at exactly the maximum stays. D 950000, A 990000, B 1000000.
        #expect(r.state.invalid["C"] == .aboveMaximumPrice)
        #expect(r.order == ["D", "A", "B"])
        #expect(r.state.result().current.clarifications.first?.answer == nil)
    }

    @Test func haltForDefectiveDocumentsStopsEverything() throws {
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.prepare()
        r.refuse(.halt(reason: ""), .missingReason(what: .halt))
        try r.run(.halt(reason: "招标文件存在歧义，无法评审（87号令第65条）"))
        #expect(r.state.phase == .halted)
        r.refuse(.concludeQualification, .wrongPhase(command: "concludeQualification", phase: .halted))
        r.refuse(.declareFailure(reason: "x"), .wrongPhase(command: "declareFailure", phase: .halted))
        #expect(r.state.result().haltReason?.contains("65") == true)
    }

    @Test func leaderLeavingTriggersNewElectionThenResumes() throws {
        var r = try Run(definition(bidders: [bidder("A", "1"), bidder("B", "1"), bidder("C", "1")]))
        try r.prepare()
        try r.qualifyAll()
        #expect(r.state.leader == "e1" && r.state.phase == .compliance)
        try r.run(.recordMisconduct(member: "e1", kind: .contactWithBidder, note: "评审期间与投标人私下联系"))
        let e9 = Member(id: "e9", name: "专家9", role: .expert, affiliation: "单位9")
        r.refuse(.replaceMember(replaced: "e1", replacement: Member(id: "e8", name: "x", role: .expert, affiliation: "某招标代理公司")),
                 .replacementInvalid(.agencyStaffOnPanel(member: "e8")))
        try r.run(.replaceMember(replaced: "e1", replacement: e9))
        try r.run(.checkIn(member: "e9", certificateSubject: "CN=专家9", rosterMatched: true, authorizationLetter: nil))
        try r.run(.signCommitment(member: "e9", disciplineRead: true, commitmentSigned: true, noConflictDeclared: true))
        // The leader left: a new election first, then back to compliance.
        #expect(r.state.phase == .leaderElection)
        for m in r.memberIDs { try r.run(.castLeaderVote(voter: m, candidate: "e2")) }
        #expect(r.state.leader == "e2" && r.state.phase == .compliance)
    }
}
