import Canonical
import Testing
@testable import Evaluation

@Suite struct ValidationTests {
    let three = [bidder("A", "100"), bidder("B", "100"), bidder("C", "100")]

    func violations(_ d: SessionDefinition) -> [DefinitionError] { d.violations(lot: "L1") }

    @Test func validDefinitionsPass() {
        #expect(violations(definition(bidders: three)).isEmpty)
        #expect(violations(definition(method: .competitiveNegotiation, evaluation: .lowestEvaluatedPrice, panelSize: 3, bidders: three)).isEmpty)
        #expect(violations(definition(method: .competitiveConsultation, panelSize: 3, bidders: three)).isEmpty)
    }

    @Test func panelMustBeOdd() {
        var d = definition(bidders: three)
        d.committee = experts(6)
        #expect(violations(d).contains(.evenPanel(size: 6, rule: Citation(.order87, 47))))
    }

    @Test func tenderOfTenMillionNeedsSeven() {
        // 87号令 47: budget ≥ 10,000,000 → ≥ 7 members.
        let d = definition(budget: "10000000", bidders: three)
        #expect(violations(d).contains { if case .panelTooSmall(5, 7, _) = $0 { true } else { false } })
        #expect(violations(definition(budget: "9999999.99", bidders: three)).isEmpty)
    }

    @Test func negotiationAtPublicTenderThresholdNeedsFive() {
        // 74号令 7: ≥ 5 at or above the public-tender threshold (default 4,000,000).
        let d = definition(method: .inquiry, evaluation: .lowestEvaluatedPrice, budget: "4000000", panelSize: 3, bidders: three)
        #expect(violations(d).contains { if case .panelTooSmall(3, 5, _) = $0 { true } else { false } })
    }

    @Test func expertsAtLeastTwoThirds() {
        var d = definition(bidders: three)
        // 5 members, 3 experts: ⌈10/3⌉ = 4 required.
        d.committee = experts(3) + [representative, Member(id: "r2", name: "代表2", role: .purchaserRepresentative, affiliation: "x")]
        #expect(violations(d).contains(.tooFewExperts(experts: 3, required: 4, panel: 5, rule: Citation(.order87, 47))))
    }

    @Test func agencyStaffAndPurchaserEmployeesAsExperts() {
        var d = definition(bidders: three)
        d.committee[0].affiliation = "某招标代理公司"
        d.committee[1].affiliation = "某市教育局"
        #expect(violations(d).contains(.agencyStaffOnPanel(member: "e1")))
        #expect(violations(d).contains(.expertFromPurchaser(member: "e2")))
    }

    @Test func priceWeightBoundsByMethodAndCategory() {
        // Goods tender: ≥ 30%.
        let low = goodsCriteria.map { c -> Criterion in
            var c = c
            if c.id == "P" { c.maximum = f(20) }
            if c.id == "T1" { c.maximum = f(50) }
            return c
        }
        #expect(violations(definition(criteria: low, weight: "20", bidders: three))
            .contains(.priceWeightOutOfRange(weight: f(20), minimum: f(30), maximum: f(100), rule: Citation(.order87, 55))))
        // 磋商 services: 10–30%; 30% goods criteria under services → fine, 40% → out.
        let high = goodsCriteria.map { c -> Criterion in
            var c = c
            if c.id == "P" { c.maximum = f(40) }
            if c.id == "T1" { c.maximum = f(30) }
            return c
        }
        #expect(violations(definition(method: .competitiveConsultation, category: .services, panelSize: 3, criteria: high,
                                      weight: "40", bidders: three))
            .contains(.priceWeightOutOfRange(weight: f(40), minimum: f(10), maximum: f(30), rule: Citation(.caiKu214, 24))))
    }

    @Test func criteriaMustSumToHundredAndMatchWeight() {
        var criteria = goodsCriteria
        criteria[0].maximum = f(39)
        let errors = violations(definition(criteria: criteria, bidders: three))
        #expect(errors.contains(.criteriaSum(f(99), rule: Citation(.order87, 55))))
        #expect(violations(definition(weight: "35", bidders: three)).contains(.priceCriterionMaximum(maximum: f(30), weight: f(35))))
    }

    @Test func objectiveCriteriaNeedAllowedValuesWithinRange() {
        var criteria = goodsCriteria
        criteria[1].allowedValues = nil
        criteria[2].allowedValues = [f(0), f(12)]
        let errors = violations(definition(criteria: criteria, bidders: three))
        #expect(errors.contains(.allowedValuesMissing(criterion: "T2")))
        #expect(errors.contains(.allowedValueOutOfRange(criterion: "C1", value: f(12))))
    }

    @Test func qualificationConditionMayNotBeScored() {
        var criteria = goodsCriteria
        criteria[2].name = "信用记录"
        #expect(violations(definition(criteria: criteria, bidders: three)).contains(.qualificationAsCriterion(criterion: "C1", rule: Citation(.order87, 55))))
    }

    @Test func deductionBands() {
        // Goods/services 10–20% and 4–6%; works 3–5% and 1–2% (46号 9).
        let goods = definition(deductions: Deductions(smallFirmPercent: f(25), consortiumSharePercent: f(3)), bidders: three)
        #expect(violations(goods).contains(.deductionOutOfBand(kind: .smallFirm, percent: f(25), minimum: f(10), maximum: f(20))))
        #expect(violations(goods).contains(.deductionOutOfBand(kind: .consortiumShare, percent: f(3), minimum: f(4), maximum: f(6))))
        let works = definition(category: .works, deductions: Deductions(smallFirmPercent: f(10)), bidders: three)
        #expect(violations(works).contains(.deductionOutOfBand(kind: .smallFirm, percent: f(10), minimum: f(3), maximum: f(5))))
        let reserved = definition(deductions: Deductions(smallFirmPercent: f(10), reservedForSME: true), bidders: three)
        #expect(violations(reserved).contains(.deductionOnReservedProject))
    }

    @Test func technicalTieBreakAndAdditiveDeductionLimits() {
        #expect(violations(definition(evaluation: .lowestEvaluatedPrice, tieBreak: .technicalScore, bidders: three))
            .contains(.technicalTieBreakWithoutScores))
        let d = Deductions(smallFirmPercent: f(20), domesticProductPercent: f(80), stacking: .additive)
        #expect(violations(definition(deductions: d, bidders: three)).contains(.deductionsTooLarge(total: f(100))))
    }

    @Test func methodAndEvaluationMustMatch() {
        #expect(violations(definition(method: .inquiry, panelSize: 3, bidders: three))
            .contains(.methodMismatch(method: .inquiry, evaluation: .comprehensiveScoring)))
    }

    @Test func negotiationNeedsThreeCandidates() {
        #expect(violations(definition(method: .competitiveNegotiation, evaluation: .lowestEvaluatedPrice, panelSize: 3,
                                      candidates: 2, bidders: three)).contains(.candidateCount(2, minimum: 3)))
    }

    @Test func openSessionRefusesInvalidDefinitionAndEveryErrorSpeaksBothLanguages() throws {
        var d = definition(bidders: three)
        d.committee = experts(4)
        var r = try Run(d)
        r.refuse(.openSession, .invalidDefinition(.evenPanel(size: 4, rule: Citation(.order87, 47))))
        for e in violations(d) + [.unsupportedVersion(2), .criteriaSum(f(99), rule: Citation(.order87, 55))] {
            #expect(!e.chineseMessage.isEmpty && !e.englishMessage.isEmpty)
            #expect(e.chineseMessage != e.englishMessage)
        }
    }

    @Test func definitionRoundTripsThroughJSON() throws {
        let d = definition(deductions: Deductions(smallFirmPercent: f(10)), bidders: three)
        let data = try CanonicalJSON.encode(d)
        let back = try CanonicalJSON.decode(SessionDefinition.self, from: data)
        #expect(back == d)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"version\":1"))
        #expect(text.contains("\"budget\":\"2000000\""))
    }

    @Test func decimalTextIsExact() {
        #expect(Fraction(decimalText: "0.1")! + Fraction(decimalText: "0.2")! == Fraction(decimalText: "0.3")!)
        #expect(Fraction(decimalText: "1e5") == nil)
        #expect(Fraction(decimalText: "1,000") == nil)
        #expect(ratio(2, 3).display(decimals: 2) == "0.67")
        #expect(ratio(-1, 200).display(decimals: 2) == "-0.01")
        #expect(ratio(1, 8).display(decimals: 2) == "0.13")
        #expect(f(5).display(decimals: 0) == "5")
    }

    @Test func splitMix64ReferenceValue() {
        // Reference implementation (Vigna, splitmix64.c) with state 0: first output 0xE220A8397B1DCDAF.
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
    }
}
