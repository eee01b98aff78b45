import Canonical
/// One bidder's line in the report.
public struct ReportBidder: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var smeClass: SMEClass
    public var opening: OpeningRecord
    /// 87号令 59 corrections and whether the bidder confirmed them.
    public var priceCorrection: PriceCorrection
    public var correctionConfirmed: Bool?
    public var roundQuotes: [String: Fraction]?
    public var finalQuote: Fraction?
    public var price: PriceEvaluation
    public var status: BidStatus
    public var invalidity: InvalidityReason?
    public var invalidityText: String?
    public var lowPriceDecision: LowPriceDecision?
    public var rank: Int?
    public var candidate: Bool
    public var meanScore: Fraction?
    public var priceScore: Fraction?
    public var total: Fraction?
    public var tieBrokenBy: TieBreak?
    /// While awaiting a lottery: the places the tied group shares (no rank yet).
    public var pendingPlaces: PendingPlaces?
    /// Rounded for people (lot's displayDecimals, half away from zero).
    public var display: [String: String]
}

/// Everything 87号令 58 asks the evaluation report to contain, for one report version.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var version: Int
    public var project: Project
    public var lotID: String
    public var lotName: String
    public var evaluationMethod: EvaluationMethod
    public var criteria: [Criterion]
    public var priceWeightPercent: Fraction?
    public var deductions: Deductions?
    public var tieBreak: DocumentTieBreak
    public var displayDecimals: Int
    public var panel: [Member]
    public var leader: String?
    public var departedMembers: [Member]
    public var bidders: [ReportBidder]
    public var invalidBids: [String: String]
    public var ranking: Ranking?
    public var candidates: [String]
    public var scoreSummary: ScoreSummary?
    public var clarifications: [Clarification]
    public var memberChanges: [MemberChange]
    public var voidedOpinions: [VoidedOpinions]
    public var observations: [Observation]
    public var reviewCorrections: [ReviewCorrection]
    public var lotteryDraws: [LotteryDraw]
    public var reevaluations: [ReevaluationRecord]
    public var signatures: [SignatureRecord]
    public var confirmedBy: String?
    public var confirmedAt: Instant?
    public var generatedAt: Instant?
}

/// A bidder's own result (87号令 69): its score and rank only, never the others'.
/// `statusText` (Chinese) and `statusTextEnglish` say where the bidder stands in words: its rank, that
/// its rank awaits the lottery, that it was not selected among bids of the same brand, or why its bid is
/// invalid.
public struct BidderNotice: Codable, Sendable, Equatable {
    public var projectNumber: String
    public var projectName: String
    public var lotID: String
    public var reportVersion: Int
    public var bidderID: String
    public var bidderName: String
    public var status: BidStatus
    public var invalidityText: String?
    /// Nil while awaiting a lottery.
    public var rank: Int?
    /// Places in the ranking (a pending group of n counts n).
    public var rankedBidders: Int
    /// While awaiting a lottery: the places the tied group shares.
    public var pendingPlaces: PendingPlaces?
    public var statusText: String
    public var statusTextEnglish: String
    public var contractPrice: String
    public var evaluatedPrice: String
    public var priceScore: String?
    public var total: String?
}

/// The whole result of a session: what canonical JSON, the report and the package are made from.
public struct EvaluationResult: Codable, Sendable, Equatable {
    public var formatVersion: Int
    public var phase: Phase
    /// Set when FAILED: `bidFailure` (废标, tenders) or `termination` (终止, the other methods).
    public var failureKind: FailureKind?
    public var failureReason: String?
    public var haltReason: String?
    /// Report versions fixed so far (a re-evaluation adds one).
    public var reports: [EvaluationReport]
    /// The state as it stands now (version = reports.count + 1 while not yet fixed).
    public var current: EvaluationReport
}

extension SessionState {
    func buildReport(version: Int, ranking r: Ranking?, at: Instant?) -> EvaluationReport {
        let summary = scoreSummary()
        let rankedByID = Dictionary(uniqueKeysWithValues: (r?.bids ?? []).map { ($0.bidder, $0) })
        let candidates = Set(r?.candidates ?? [])
        let d = lot.decimals
        let bidderLines = lot.bidders.sorted { $0.id < $1.id }.map { b -> ReportBidder in
            let price = priceEvaluation(b)
            let ranked = rankedByID[b.id]
            let reason = invalid[b.id]
            var display = ["contractPrice": price.contractPrice.display(decimals: d),
                           "evaluatedPrice": price.evaluatedPrice.display(decimals: d)]
            if let s = ranked?.priceScore { display["priceScore"] = s.display(decimals: d) }
            if let s = ranked?.meanScore { display["meanScore"] = s.display(decimals: d) }
            if let s = ranked?.total { display["total"] = s.display(decimals: d) }
            let quotes = roundQuotes[b.id].map { Dictionary(uniqueKeysWithValues: $0.map { (String($0.key), $0.value) }) }
            return ReportBidder(id: b.id, name: b.name, smeClass: b.smeClass, opening: b.opening,
                                priceCorrection: PriceCorrection.apply(to: b.opening), correctionConfirmed: priceConfirmations[b.id],
                                roundQuotes: quotes, finalQuote: finalQuotes[b.id], price: price,
                                status: reason != nil ? .invalid : (ranked?.status ?? .ranked), invalidity: reason,
                                invalidityText: reason?.chinese, lowPriceDecision: lowPriceDecisions[b.id], rank: ranked?.rank,
                                candidate: candidates.contains(b.id), meanScore: ranked?.meanScore, priceScore: ranked?.priceScore,
                                total: ranked?.total, tieBrokenBy: ranked?.tieBrokenBy, pendingPlaces: ranked?.pendingPlaces,
                                display: display)
        }
        return EvaluationReport(
            version: version, project: definition.project, lotID: lot.id, lotName: lot.name,
            evaluationMethod: lot.evaluationMethod, criteria: lot.criteria, priceWeightPercent: lot.priceWeightPercent,
            deductions: lot.deductions.map { var x = $0; x.stacking = x.stacking ?? .multiplicative; return x },
            tieBreak: lot.documentTieBreak, displayDecimals: d, panel: members, leader: leader,
            departedMembers: departed.values.sorted { $0.id < $1.id }, bidders: bidderLines,
            invalidBids: invalid.mapValues(\.chinese), ranking: r, candidates: r?.candidates ?? [], scoreSummary: summary,
            clarifications: clarifications.values.sorted { $0.id < $1.id }, memberChanges: memberChanges, voidedOpinions: voided,
            observations: observations, reviewCorrections: corrections, lotteryDraws: lotteryDraws, reevaluations: reevaluations,
            signatures: memberIDs.compactMap { signatures[$0] }, confirmedBy: nil, confirmedAt: nil, generatedAt: at)
    }

    /// The full result now (canonical JSON: `CanonicalJSON.encode(state.result())`).
    public func result() -> EvaluationResult {
        let current = phase == .report || phase == .signing || phase == .closed
            ? reports[reports.count - 1]
            : buildReport(version: reports.count + 1, ranking: ranking(), at: lastEventAt)
        return EvaluationResult(formatVersion: SessionDefinition.currentVersion, phase: phase, failureKind: failureKind,
                                failureReason: failureReason,
                                haltReason: haltReason, reports: reports, current: current)
    }

    /// The result notice for one bidder (87号令 69): its own figures only. Nil for an unknown bidder.
    public func notice(for bidderID: String) -> BidderNotice? {
        guard let b = bidderByID[bidderID] else { return nil }
        let report = reports.last ?? buildReport(version: reports.count + 1, ranking: ranking(), at: lastEventAt)
        guard let line = report.bidders.first(where: { $0.id == bidderID }) else { return nil }
        let d = lot.decimals
        let places = report.bidders.compactMap { $0.rank ?? $0.pendingPlaces?.lastRank }.max() ?? 0
        let (chinese, english) = standing(line, places: places)
        return BidderNotice(projectNumber: definition.project.number, projectName: definition.project.name, lotID: lot.id,
                            reportVersion: report.version, bidderID: b.id, bidderName: b.name, status: line.status,
                            invalidityText: line.invalidityText, rank: line.rank, rankedBidders: places,
                            pendingPlaces: line.pendingPlaces, statusText: chinese, statusTextEnglish: english,
                            contractPrice: line.price.contractPrice.display(decimals: d),
                            evaluatedPrice: line.price.evaluatedPrice.display(decimals: d),
                            priceScore: line.priceScore?.display(decimals: d), total: line.total?.display(decimals: d))
    }

    /// Where a bidder stands, in Chinese and in English, naming no other bidder.
    func standing(_ line: ReportBidder, places: Int) -> (chinese: String, english: String) {
        let party = method.partyChinese
        func cite(_ c: Citation?) -> (String, String) { (c.map { "（\($0.chinese)）" } ?? "", c.map { " (\($0.english))" } ?? "") }
        func ranks(_ p: PendingPlaces) -> (String, String) {
            p.firstRank == p.lastRank ? ("第\(p.firstRank)名", "rank \(p.firstRank)")
                                      : ("第\(p.firstRank)至\(p.lastRank)名", "ranks \(p.firstRank)–\(p.lastRank)")
        }
        switch line.status {
        case .ranked:
            guard let rank = line.rank else { return ("名次尚未确定", "not ranked yet") }
            return ("第\(rank)名（共\(places)名）", "rank \(rank) of \(places)")
        case .awaitingLottery:
            guard let p = line.pendingPlaces else { return ("名次待抽签确定", "the rank awaits the lottery") }
            let (zh, en) = ranks(p)
            if p.scope == .sameBrand {
                let (czh, cen) = cite(Citation(.order87, 31))
                return ("与提供相同品牌核心产品的其他\(party)评审结果相同，由抽签确定哪一家参加排名（\(zh)），名次待抽签确定\(czh)",
                        "tied with another \(method.partyEnglish) offering the same core-product brand; the lottery decides "
                            + "which one is ranked (\(en)); the rank awaits the lottery\(cen)")
            }
            let (czh, cen) = cite(method.lotteryRule)
            return ("与其他\(party)并列\(zh)，名次待抽签确定\(czh)",
                    "tied with other \(method.partyEnglish)s for \(en); the rank awaits the lottery\(cen)")
        case .sameBrandNotSelected:
            let (czh, cen) = cite(Citation(.order87, 31))
            return ("与其他\(party)提供相同品牌的核心产品，未获得推荐资格，不参加排名\(czh)",
                    "offers the same core-product brand as a better-placed \(method.partyEnglish); not selected and not ranked\(cen)")
        case .invalid:
            return ("\(method.isTender ? "投标无效" : "响应无效")：\(line.invalidity?.chinese ?? "")",
                    "invalid \(method.isTender ? "bid" : "response"): \(line.invalidity?.english ?? "")")
        }
    }
}
