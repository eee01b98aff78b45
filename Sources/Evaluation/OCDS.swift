public import Canonical
/// OCDS 1.1 release for the lot (RULES.md "Exports"). Our own figures (evaluated price, scores,
/// deductions) go in extension fields prefixed `roomd`. Per-member scores stay internal; the panel
/// is public with the result.
public enum OCDSExport {
    /// `ocidPrefix` is the publisher's registered prefix, e.g. "ocds-abc123".
    public static func release(_ state: SessionState, ocidPrefix: String) -> CanonicalJSON {
        let report = state.reports.last ?? state.buildReport(version: state.reports.count + 1, ranking: state.ranking(),
                                                             at: state.lastEventAt)
        let project = state.definition.project
        let lot = state.lot
        let d = lot.decimals
        func money(_ f: Fraction) -> CanonicalJSON {
            .object(["amount": .decimal(f.display(decimals: 2)), "currency": .string("CNY")])
        }
        func num(_ f: Fraction) -> CanonicalJSON { .decimal(f.display(decimals: max(d, 2))) }

        let scale: (SMEClass) -> String = { c in
            switch c {
            case .micro: "micro"
            case .small, .medium, .prisonEnterprise, .disabilityWelfareUnit: "sme"
            case .large: "large"
            }
        }
        var parties: [CanonicalJSON] = [
            .object(["id": .string("buyer"), "name": .string(project.purchaser), "roles": .array([.string("buyer")])]),
        ]
        if let agency = project.agency {
            parties.append(.object(["id": .string("agency"), "name": .string(agency), "roles": .array([.string("procuringEntity")])]))
        }
        let candidates = Set(report.candidates)
        for b in report.bidders {
            var roles: [CanonicalJSON] = [.string("tenderer")]
            if report.candidates.first == b.id { roles.append(.string("supplier")) }
            parties.append(.object(["id": .string(b.id), "name": .string(b.name), "roles": .array(roles),
                                    "details": .object(["scale": .string(scale(b.smeClass))])]))
        }
        for m in report.panel {
            parties.append(.object(["id": .string("panel-\(m.id)"), "name": .string(m.name),
                                    "roles": .array([.string("reviewBody")]),
                                    "roomdPanelRole": .string(m.role.rawValue)]))
        }

        let methodCode: String = switch project.method {
        case .publicTender: "open"
        case .invitedTender: "selective"
        case .competitiveNegotiation, .competitiveConsultation, .inquiry, .singleSource: "limited"
        }
        var breakdown: [CanonicalJSON] = []
        if lot.scored {
            for group in [CriterionGroup.technical, .commercial, .price] {
                let items = lot.criteria.filter { $0.group == group }
                guard !items.isEmpty else { continue }
                let weight = items.map(\.maximum).sum()
                breakdown.append(.object([
                    "type": .string(group == .price ? "price" : "quality"),
                    "description": .string(group == .technical ? "技术" : group == .commercial ? "商务" : "价格"),
                    "numbers": .array([.object(["number": num(weight), "weight": .string("percentageExact")])]),
                    "criteria": .array(items.map { c in
                        .object(["id": .string(c.id), "description": .string(c.name),
                                 "numbers": .array([.object(["number": num(c.maximum), "weight": .string("pointsExact")])])])
                    }),
                ]))
            }
        } else {
            breakdown.append(.object(["type": .string("price"), "description": .string("价格"),
                                      "numbers": .array([.object(["number": .decimal("100"), "weight": .string("percentageExact")])])]))
        }

        var details: [CanonicalJSON] = []
        for b in report.bidders {
            var bid: [String: CanonicalJSON] = [
                "id": .string("\(lot.id)-\(b.id)"),
                "status": .string(b.status == .invalid ? "disqualified" : "valid"),
                "tenderers": .array([.object(["id": .string(b.id), "name": .string(b.name)])]),
                "value": money(b.price.contractPrice),
                "relatedLots": .array([.string(lot.id)]),
                "roomdEvaluatedPrice": money(b.price.evaluatedPrice),
                "roomdDeductionPercent": .object(["sme": num(b.price.smeDeductionPercent),
                                                  "domesticProduct": num(b.price.domesticDeductionPercent)]),
            ]
            if let rank = b.rank { bid["rank"] = .decimal(String(rank)) }
            if let s = b.priceScore { bid["roomdPriceScore"] = num(s) }
            if let s = b.meanScore { bid["roomdMeanScore"] = num(s) }
            if let s = b.total { bid["roomdTotalScore"] = num(s) }
            if b.status == .sameBrandNotSelected { bid["roomdSameBrandNotSelected"] = .bool(true) }
            // Tied and not drawn yet: no rank, no candidate, no same-brand decision (only this flag).
            if b.status == .awaitingLottery { bid["roomdAwaitingLottery"] = .bool(true) }
            if let t = b.invalidityText { bid["roomdInvalidity"] = .string(t) }
            if candidates.contains(b.id) { bid["roomdCandidate"] = .bool(true) }
            details.append(.object(bid))
        }
        let valid = report.bidders.filter { $0.status != .invalid }.count
        let lowPrice = report.bidders.filter { $0.lowPriceDecision != nil }.count
        let sme = report.bidders.filter { $0.smeClass != .large }.count
        let statistics: [CanonicalJSON] = [
            ("validBids", valid), ("disqualifiedBidders", report.bidders.count - valid),
            ("tendersAbnormallyLow", lowPrice), ("smeBids", sme),
        ].map { measure, value in
            .object(["id": .string(measure), "measure": .string(measure), "value": .decimal(String(value)),
                     "relatedLot": .string(lot.id)])
        }

        var awards: [CanonicalJSON] = []
        if let first = report.candidates.first, let b = report.bidders.first(where: { $0.id == first }) {
            awards.append(.object([
                "id": .string("\(lot.id)-award-v\(report.version)"),
                // The committee only recommends; the purchaser confirms the award (87号令 68).
                "status": .string("pending"),
                "title": .string("第一中标（成交）候选人"),
                "suppliers": .array([.object(["id": .string(b.id), "name": .string(b.name)])]),
                "value": money(b.price.contractPrice),
                "relatedLots": .array([.string(lot.id)]),
                "relatedBid": .string("\(lot.id)-\(b.id)"),
                "roomdCandidates": .array(report.candidates.map { .string($0) }),
            ]))
        }

        let date = isoDateTime(report.confirmedAt ?? report.generatedAt ?? state.lastEventAt ?? 0)
        let tender: [String: CanonicalJSON] = [
            "id": .string(project.number),
            "title": .string(project.name),
            "procurementMethod": .string(methodCode),
            "procurementMethodDetails": .string(project.method.chineseName),
            "mainProcurementCategory": .string(project.category.rawValue),
            "value": money(lot.budget ?? project.budget),
            "awardCriteria": .string(lot.scored ? "ratedCriteria" : "priceOnly"),
            "awardCriteriaDetails": .string(lot.evaluationMethod.chineseName),
            "awardCriteriaBreakdown": .array(breakdown),
            "lots": .array([.object(["id": .string(lot.id), "title": .string(lot.name)])]),
        ]
        return .object([
            "ocid": .string("\(ocidPrefix)-\(project.number)"),
            "id": .string("\(project.number)-\(lot.id)-evaluation-v\(report.version)"),
            "date": .string(date),
            "tag": .array([.string("award")]),
            "initiationType": .string("tender"),
            "language": .string("zh"),
            "buyer": .object(["id": .string("buyer"), "name": .string(project.purchaser)]),
            "parties": .array(parties),
            "tender": .object(tender),
            "bids": .object(["statistics": .array(statistics), "details": .array(details)]),
            "awards": .array(awards),
        ])
    }
}
