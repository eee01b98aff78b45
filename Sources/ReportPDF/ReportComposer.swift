public import Evaluation

/// The evaluation report (财政部令第87号第五十八条; 74号令 and 214号 for 谈判, 询价, 单一来源, 磋商)
/// as a `ReportDocument`, in Chinese, from the engine's canonical result.
///
/// Every figure is the engine's: exact values are never recomputed, and rounded ones are the
/// result's `display` fields or `Fraction.display(decimals:)` with the lot's `displayDecimals`
/// (四舍五入). Rankings and ties are as the engine decided them.
public enum ReportComposer {
    /// The instant the report PDF is dated with: when the leader confirmed the report, else when
    /// this report version was fixed (ranking confirmed), else the result's last event; 0 if none.
    public static func creationInstant(of result: EvaluationResult, reportVersion: Int? = nil) -> Int64 {
        let report = pick(result, reportVersion)
        return report.confirmedAt ?? report.generatedAt ?? 0
    }

    /// - Parameters:
    ///   - result: `SessionState.result()`.
    ///   - session: the session id (the roster's).
    ///   - room: the evaluation room's name, printed as the place of evaluation.
    ///   - signatures: with it, a signature page follows the report body; without it the body alone
    ///     is composed (what the members sign).
    ///   - definition: the session definition the result came from. The result does not carry
    ///     every choice the documents made (candidate count, the two-supplier route, the
    ///     abnormal-score and abnormally-low-price thresholds, the names of the review items):
    ///     with the definition they are printed, without it the report says they are missing.
    ///   - reportVersion: a fixed report version (1, 2, … after a re-evaluation); default the current one.
    public static func compose(result: EvaluationResult, session: String, room: String,
                               signatures: [SignaturePageEntry]?, definition: SessionDefinition? = nil,
                               reportVersion: Int? = nil) -> ReportDocument {
        let report = pick(result, reportVersion)
        var c = Composer(result: result, report: report, session: session, room: room,
                         lot: definition?.lot(report.lotID))
        c.build()
        if let signatures { c.signaturePage(signatures) }
        let project = report.project
        let noun = Labels.reportNoun(project.method)
        return ReportDocument(
            title: "\(project.name)\n\(noun)",
            subtitle: ["项目编号：\(project.number)　　包号：\(report.lotID)（\(report.lotName)）",
                       "第 \(report.version) 版　　\(Labels.phase(result.phase))"],
            runningHeader: "\(project.number) · \(report.lotID) · 评审报告（第 \(report.version) 版）· 会话 \(session)",
            metadata: ReportMetadata(title: "\(project.name) \(noun)（第 \(report.version) 版）", author: "评审委员会",
                                     subject: "项目编号 \(project.number)，包 \(report.lotID)，评审报告第 \(report.version) 版",
                                     keywords: "session=\(session); room=\(room); version=\(report.version)",
                                     creator: "roomd ReportPDF"),
            blocks: c.blocks)
    }

    /// What the members sign: the newest fixed report version exactly as it was fixed at
    /// confirmRanking — no signatures, no confirmation, the phase `report` — so rendering it again
    /// at any later time, anywhere, gives the same bytes. Nil before a ranking is confirmed.
    public static func fixedBody(of result: EvaluationResult) -> EvaluationResult? {
        guard var fixed = result.reports.last else { return nil }
        fixed.signatures = []
        fixed.confirmedBy = nil
        fixed.confirmedAt = nil
        var body = result
        body.phase = .report
        body.failureReason = nil
        body.haltReason = nil
        body.reports = body.reports.map { $0.version == fixed.version ? fixed : $0 }
        body.current = fixed
        return body
    }

    static func pick(_ result: EvaluationResult, _ version: Int?) -> EvaluationReport {
        guard let version else { return result.current }
        return result.reports.first { $0.version == version } ?? result.current
    }
}

private struct Composer {
    let result: EvaluationResult
    let report: EvaluationReport
    let session: String
    let room: String
    let lot: Lot?
    var blocks: [ReportBlock] = []
    var section = 0

    let d: Int
    let bidderName: [String: String]
    let members: [String: Member]
    let criterionName: [String: String]
    let summary: ScoreSummary?
    let scored: Bool
    /// Bidders in a tie the lottery has not yet decided.
    let awaitingLottery: Set<String>

    init(result: EvaluationResult, report: EvaluationReport, session: String, room: String, lot: Lot?) {
        self.result = result
        self.report = report
        self.session = session
        self.room = room
        self.lot = lot
        d = report.displayDecimals
        bidderName = Dictionary(report.bidders.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        members = Dictionary((report.panel + report.departedMembers).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        criterionName = Dictionary(report.criteria.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        summary = report.scoreSummary
        scored = report.evaluationMethod == .comprehensiveScoring
        awaitingLottery = Set((report.ranking?.pendingLotteries ?? []).flatMap(\.tied))
    }

    // MARK: Helpers

    func bidder(_ id: String) -> String { bidderName[id] ?? id }
    func member(_ id: String) -> String { members[id]?.name ?? id }
    func criterion(_ id: String) -> String { criterionName[id].map { "\($0)（\(id)）" } ?? id }
    func money(_ f: Fraction) -> String { f.display(decimals: d) }
    var notInResult: String { "结果中未记录：请随报告提供会话定义" }

    mutating func heading(_ title: String) {
        blocks.append(.heading("\(Labels.sectionNumbers[min(section, Labels.sectionNumbers.count - 1)])、\(title)", level: 1))
        section += 1
    }

    mutating func subheading(_ title: String) { blocks.append(.heading(title, level: 2)) }
    mutating func paragraph(_ s: String) { blocks.append(.paragraph(s, style: .body)) }
    mutating func note(_ s: String) { blocks.append(.paragraph(s, style: .note)) }
    mutating func table(_ columns: [GridTable.Column], _ rows: [[String]], fontSize: Double = 9) {
        blocks.append(.table(GridTable(columns: columns, rows: rows, fontSize: fontSize)))
    }

    /// Rank as printed: the number, or why there is none.
    func rankLabel(_ b: ReportBidder) -> String {
        if b.status == .invalid { return "无效投标" }
        if awaitingLottery.contains(b.id) { return "待抽签" }
        if b.status == .ranked { return b.rank.map { "\($0)" } ?? "未排序" }
        if b.status == .sameBrandNotSelected { return "同品牌未入选" }
        // Not ranked and no rank: a tie awaiting its lottery (or a status this version does not know).
        return b.rank.map { "\($0)" } ?? "待抽签"
    }

    // MARK: Body

    mutating func build() {
        if let reason = result.failureReason { blocks.append(.paragraph("采购失败（废标）：\(reason)", style: .emphasis)) }
        if let reason = result.haltReason { blocks.append(.paragraph("评审中止：\(reason)", style: .emphasis)) }
        projectSection()
        biddersSection()
        committeeSection()
        methodSection()
        openingSection()
        reviewSection()
        clarificationSection()
        invalidSection()
        priceSection()
        if scored { scoresSection() }
        rankingSection()
        otherSection()
        signingSection()
    }

    mutating func projectSection() {
        let p = report.project
        heading("项目基本情况")
        var rows: [KeyValue] = [
            KeyValue("项目名称", p.name),
            KeyValue("项目编号", p.number),
            KeyValue("采购人", p.purchaser),
            KeyValue("采购代理机构", p.agency ?? "无（采购人自行组织）"),
            KeyValue("采购方式", p.method.chineseName),
            KeyValue("采购类别", Labels.category(p.category)),
            KeyValue("采购预算", "\(money(p.budget)) 元"),
            KeyValue("最高限价", p.maximumPrice.map { "\(money($0)) 元（超过者为无效投标，87号令第63条）" } ?? "未设"),
            KeyValue("包（标段）", "\(report.lotID)　\(report.lotName)" + (lot?.budget.map { "（包预算 \(money($0)) 元）" } ?? "")),
        ]
        if let a = p.announcement {
            rows.append(KeyValue("采购公告媒体", a.media.joined(separator: "、")))
            rows.append(KeyValue("公告发布日期", a.publishedOn))
            rows.append(KeyValue("开标（响应文件提交截止）日期", a.openingOn))
            rows.append(KeyValue("评审日期", a.evaluationOn))
        } else {
            rows.append(KeyValue("采购公告媒体及日期", "会话定义未载明"))
        }
        rows += [
            KeyValue("评审地点", room),
            KeyValue("评审会话", session),
            KeyValue("报告版本", "第 \(report.version) 版" + (result.reports.count > 1 ? "（共 \(result.reports.count) 版，后版替代前版）" : "")),
            KeyValue("评审状态", Labels.phase(result.phase)),
            KeyValue("报告形成时间", Labels.time(report.generatedAt)),
        ]
        if let at = report.confirmedAt {
            rows.append(KeyValue("组长确认时间", "\(Labels.time(at))（\(report.confirmedBy.map(member) ?? "")）"))
        }
        blocks.append(.keyValue(rows))
        note("本报告中的时间均为北京时间（UTC+8）。金额单位为元；分值与金额按采购文件规定保留 \(d) 位小数（四舍五入）显示，排序及并列判断均以精确值为准。")
    }

    mutating func biddersSection() {
        heading("投标人（供应商）名单")
        let rows = report.bidders.enumerated().map { i, b -> [String] in
            var brand = ""
            if let x = lot?.bidders.first(where: { $0.id == b.id }) {
                brand = x.coreProductBrand ?? ""
                if x.domesticProduct == true { brand += brand.isEmpty ? "本国产品" : "；本国产品" }
            }
            return ["\(i + 1)", b.name, b.id, Labels.sme(b.smeClass), brand, money(b.opening.totalInFigures)]
        }
        table([.init("序号", width: 0.6, alignment: .center), .init("投标人", width: 3.2), .init("编号", width: 0.9),
               .init("企业类型", width: 1.6), .init("核心产品品牌", width: 1.6), .init("开标报价（元）", width: 1.6, alignment: .trailing)],
              rows)
    }

    mutating func committeeSection() {
        heading("评审委员会")
        let replacedBy = Dictionary(report.memberChanges.compactMap { c -> (String, String)? in
            guard c.kind == .replaced, let old = c.member, let new = c.replacement else { return nil }
            return (new, old)
        }, uniquingKeysWith: { a, _ in a })
        let rows = report.panel.enumerated().map { i, m -> [String] in
            var remarks: [String] = []
            if report.leader == m.id { remarks.append("评审组长") }
            if let old = replacedBy[m.id] { remarks.append("替补 \(member(old))") }
            return ["\(i + 1)", m.name, Labels.role(m.role), m.affiliation, remarks.joined(separator: "；")]
        }
        table([.init("序号", width: 0.6, alignment: .center), .init("姓名", width: 1.4), .init("身份", width: 1.3),
               .init("工作单位", width: 3.6), .init("备注", width: 1.8)], rows)
        paragraph("评审组长：\(report.leader.map(member) ?? "尚未推选")（由评审委员会成员推选产生，采购人代表不得担任，87号令第45条）。")
        if !report.departedMembers.isEmpty {
            subheading("离开评审的成员")
            let rows = report.departedMembers.map { m -> [String] in
                let why = report.voidedOpinions.filter { $0.member == m.id }.map(\.why).joined(separator: "；")
                return [m.name, Labels.role(m.role), m.affiliation, why.isEmpty ? "—" : why + "（其评审意见无效）"]
            }
            table([.init("姓名", width: 1.4), .init("身份", width: 1.3), .init("工作单位", width: 2.6), .init("原因", width: 3.4)], rows)
        }
        if !report.memberChanges.isEmpty {
            subheading("成员变更记录")
            let rows = report.memberChanges.map { c -> [String] in
                [Labels.time(c.at), Labels.memberChange(c.kind), c.member.map(member) ?? "—",
                 c.replacement.map(member) ?? "—", c.detail]
            }
            table([.init("时间", width: 1.7), .init("事项", width: 1.5), .init("成员", width: 1.1), .init("替补", width: 1.1),
                   .init("说明", width: 3.6)], rows)
        }
    }

    mutating func methodSection() {
        heading("评审方法和标准")
        let method = report.project.method
        var rows: [KeyValue] = [KeyValue("评审方法", Labels.evaluationMethod(report.evaluationMethod, procurement: method))]
        if scored, let w = report.priceWeightPercent {
            let bound: String
            switch (method, report.project.category) {
            case (.competitiveConsultation, .goods): bound = "磋商货物项目为30%–60%（214号第二十四条）"
            case (.competitiveConsultation, _): bound = "磋商服务、工程项目为10%–30%（214号第二十四条）"
            case (_, .goods): bound = "货物项目不得低于30%（87号令第五十五条）"
            default: bound = "服务、工程项目不得低于10%（87号令第五十五条）"
            }
            rows.append(KeyValue("价格分权重", "\(Labels.percent(w))。\(bound)"))
            rows.append(KeyValue("价格分计算", "价格分 = 评标基准价 ÷ 评标价 × \(Labels.exact(w))；评标基准价为有效投标中最低的评标价，最低评标价得满分，最高、最低报价均不剔除"))
            if let s = summary {
                rows.append(KeyValue("评标基准价", "\(money(s.benchmarkPrice)) 元"))
            }
        }
        rows.append(KeyValue("中小企业价格扣除", deductionText()))
        let dd = report.deductions
        rows.append(KeyValue("本国产品价格扣除", dd?.domesticProductPercent.map { "\(Labels.percent($0))（仅评审时扣除，不改变合同价格）" } ?? "无"))
        let stacking = dd?.stacking ?? .multiplicative
        rows.append(KeyValue("扣除的叠加方式", stacking == .additive
            ? "相加：评标价 P′ = P ×（1 − 小微企业扣除率 − 本国产品扣除率）"
            : "连乘：评标价 P′ = P ×（1 − 小微企业扣除率）×（1 − 本国产品扣除率）"))
        rows.append(KeyValue("合同价格", "为投标人的报价 P（经87号令第59条修正、或谈判/磋商的最后报价），价格扣除仅用于评审"))
        rows.append(KeyValue("排序及并列处理", tieRuleText()))
        if let lot {
            rows.append(KeyValue("推荐候选人数量", "\(lot.candidateCount ?? 3) 名"))
            rows.append(KeyValue("有效供应商最少家数", supplierRouteText(lot)))
            if scored {
                let item = lot.abnormalScore?.subjectiveItemPercentOfMaximum ?? Fraction(30)
                let total = lot.abnormalScore?.memberTotalPercentOfMean ?? Fraction(20)
                rows.append(KeyValue("畸高畸低认定标准", "某成员的主观分项评分与其他成员平均分之差超过该项满分的 \(Labels.percent(item))，或某成员对某投标人的评分合计与全体成员平均值之差超过平均值的 \(Labels.percent(total))，提示评审委员会认定：保留须记录理由，或由该成员更正（87号令第64条）"))
            }
            let low = lot.abnormallyLowPercentOfOthersMean ?? Fraction(50)
            rows.append(KeyValue("异常低价认定", "报价低于其他有效报价平均值的 \(Labels.percent(low)) 时，要求投标人在规定期限内书面说明其合理性；不能证明的，由评审委员会认定为无效投标（87号令第60条）"))
        } else {
            for key in ["推荐候选人数量", "有效供应商最少家数", "畸高畸低认定标准", "异常低价认定"] { rows.append(KeyValue(key, notInResult)) }
        }
        rows.append(KeyValue("显示精度", "保留 \(report.displayDecimals) 位小数，四舍五入"))
        blocks.append(.keyValue(rows))

        if scored, !report.criteria.isEmpty {
            subheading("评分标准")
            let rows = report.criteria.map { c -> [String] in
                [c.id, c.name, Labels.criterionGroup(c.group), Labels.criterionKind(c.kind), Labels.exact(c.maximum),
                 c.allowedValues.map { $0.map(Labels.exact).joined(separator: "、") } ?? (c.kind == .subjective ? "0 至满分" : "—")]
            }
            table([.init("编号", width: 0.8), .init("评审因素", width: 2.8), .init("类别", width: 0.8, alignment: .center),
                   .init("性质", width: 1.3, alignment: .center), .init("分值", width: 0.8, alignment: .trailing),
                   .init("可选分值", width: 1.6)], rows)
        }
        if let lot {
            let q = lot.qualificationItems.map { "\($0.name)（\($0.id)）" }.joined(separator: "、")
            let k = lot.complianceItems.map { "\($0.name)（\($0.id)）" }.joined(separator: "、")
            note("资格审查项目：\(q.isEmpty ? "无" : q)。符合性审查项目：\(k.isEmpty ? "无" : k)。")
        }
    }

    func deductionText() -> String {
        guard let dd = report.deductions else { return "无（采购文件未规定价格扣除）" }
        if dd.reservedForSME == true { return "本项目专门面向中小企业采购，不再执行价格扣除（财库〔2020〕46号）" }
        var parts: [String] = []
        if let p = dd.smallFirmPercent { parts.append("小型、微型企业（含监狱企业、残疾人福利性单位）扣除 \(Labels.percent(p))") }
        if let p = dd.consortiumSharePercent { parts.append("联合体或分包中小微企业份额不低于30%的，扣除 \(Labels.percent(p))") }
        if parts.isEmpty { return "无" }
        return parts.joined(separator: "；") + "（财库〔2020〕46号第九条，财库〔2022〕19号）"
    }

    func tieRuleText() -> String {
        let method = report.project.method
        switch report.evaluationMethod.rawValue {
        case "comprehensiveScoring":
            var s = "按总分由高到低排序；总分相同的，按\(method == .competitiveConsultation ? "最后报价" : "投标报价")由低到高排序"
            if method == .competitiveConsultation { s += "；仍相同的，按技术得分由高到低排序（214号第二十五条）" }
            else if report.tieBreak == .technicalScore { s += "；仍相同的，按采购文件规定以技术得分由高到低排序" }
            else { s += "（87号令第五十七条）" }
            return s + "；仍相同的，以记录了种子和见证人的抽签确定"
        case "lowestEvaluatedPrice":
            return "按评标价（\(method.hasFinalQuotes ? "最后报价" : "报价")扣除后）由低到高排序；评标价相同的，以记录了种子和见证人的抽签确定"
        default:
            return "单一来源：按协商确定的价格成交"
        }
    }

    func supplierRouteText(_ lot: Lot) -> String {
        let method = report.project.method
        if method == .singleSource { return "1 家（单一来源，财政部令第74号）" }
        if lot.twoBidderRoute == true {
            switch method {
            case .competitiveConsultation:
                return "2 家：适用两家供应商路径（财库〔2014〕214号第三条第四项情形或政府购买服务项目，提交最后报价的供应商可以为2家）"
            case .competitiveNegotiation:
                return "2 家：适用两家供应商路径（财政部令第74号第二十七条，经批准可与2家供应商谈判）"
            default:
                return "2 家（采购文件规定）"
            }
        }
        return method == .publicTender || method == .invitedTender
            ? "3 家（不足3家的废标，87号令第四十三条、政府采购法第三十六条）"
            : "3 家（不足3家的采购失败；不适用两家供应商路径）"
    }

    mutating func openingSection() {
        heading("开标记录及报价修正")
        let rows = report.bidders.map { b -> [String] in
            let words = b.opening.totalInWords.map(money) ?? "与小写一致"
            let corrected = b.priceCorrection.corrected
            let steps = b.priceCorrection.steps.map(correctionText).joined(separator: "；")
            let confirmed: String
            if b.priceCorrection.steps.isEmpty { confirmed = "无需确认" }
            else if let c = b.correctionConfirmed { confirmed = c ? "已书面确认" : "不确认（投标无效）" }
            else { confirmed = "未确认" }
            return [b.name, money(b.opening.totalInFigures), words, money(corrected), steps.isEmpty ? "无" : steps, confirmed]
        }
        table([.init("投标人", width: 2.2), .init("开标报价（小写）", width: 1.3, alignment: .trailing),
               .init("大写金额", width: 1.3, alignment: .trailing), .init("修正后报价", width: 1.3, alignment: .trailing),
               .init("修正依据（87号令第59条）", width: 2.8), .init("投标人确认", width: 1.1, alignment: .center)], rows)
        let quoted = report.bidders.filter { !($0.roundQuotes ?? [:]).isEmpty || $0.finalQuote != nil }
        if !quoted.isEmpty {
            subheading("谈判（磋商）报价记录")
            let rounds = Set(quoted.flatMap { ($0.roundQuotes ?? [:]).keys }).sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
            let rows = quoted.map { b in
                [b.name] + rounds.map { r in b.roundQuotes?[r].map(money) ?? "—" } + [b.finalQuote.map(money) ?? "未提交"]
            }
            table([.init("供应商", width: 2.4)] + rounds.map { .init("第\($0)轮报价", width: 1.2, alignment: .trailing) }
                  + [.init("最后报价", width: 1.3, alignment: .trailing)], rows)
        }
    }

    func correctionText(_ s: PriceCorrectionStep) -> String {
        let item = s.item.map { "（\($0)）" } ?? ""
        switch s.clause {
        case "59.2": return "大写金额与小写金额不一致，以大写为准：\(money(s.from)) → \(money(s.to))"
        case "59.3": return "单价小数点明显错位\(item)，以总价为准修正单价：\(money(s.from)) → \(money(s.to))"
        case "59.4" where s.item != nil: return "总价与单价汇总不一致\(item)，以单价为准：\(money(s.from)) → \(money(s.to))"
        case "59.4": return "投标总价按修正后的分项合计：\(money(s.from)) → \(money(s.to))"
        default: return "\(s.clause)\(item)：\(money(s.from)) → \(money(s.to))"
        }
    }

    func itemNames(_ ids: [String], qualification: Bool) -> String {
        let items = qualification ? lot?.qualificationItems : lot?.complianceItems
        return ids.map { id in items?.first { $0.id == id }.map { "\($0.name)（\(id)）" } ?? id }.joined(separator: "、")
    }

    mutating func reviewSection() {
        heading("资格审查和符合性审查")
        let method = report.project.method
        note(method == .publicTender || method == .invitedTender
             ? "资格审查由采购人或采购代理机构依法进行并留存证据（87号令第四十四条）；符合性审查由评审委员会成员逐项独立判断，每一项以过半数成员意见为准，不通过须说明理由（第五十条、第六十一条）。"
             : "资格审查和符合性审查由评审小组成员逐项判断，每一项以过半数成员意见为准，不通过须说明理由。")
        let rows = report.bidders.map { b -> [String] in
            var qualification = "通过", compliance = "通过", conclusion = "有效"
            if let reason = b.invalidity {
                conclusion = "无效：\(b.invalidityText ?? "")"
                switch reason {
                case .failedQualification(let items):
                    qualification = "未通过（\(itemNames(items, qualification: true))）"
                    compliance = "未进入"
                case .failedCompliance(let items):
                    compliance = "未通过（\(itemNames(items, qualification: false))）"
                default:
                    break
                }
            }
            return [b.name, qualification, compliance, conclusion]
        }
        table([.init("投标人", width: 2.2), .init("资格审查", width: 2.0), .init("符合性审查", width: 2.0), .init("结论", width: 3.8)], rows)
    }

    mutating func clarificationSection() {
        heading("澄清、说明或补正")
        if report.clarifications.isEmpty {
            paragraph("评审过程中未要求投标人澄清、说明或补正。")
        } else {
            let rows = report.clarifications.map { c -> [String] in
                let answer = c.answer.map { "\($0)（\(c.signedBy ?? "")签署，\(Labels.time(c.answeredAt))）" }
                    ?? "截止时间 \(Labels.time(c.deadline)) 前未答复"
                return [c.id, bidder(c.bidder), Labels.clarificationPurpose(c.purpose), "\(c.question)（\(Labels.time(c.requestedAt)) 发出）", answer]
            }
            table([.init("编号", width: 0.9), .init("投标人", width: 1.6), .init("事由", width: 1.5), .init("问题", width: 2.8),
                   .init("答复", width: 2.8)], rows)
            note("澄清、说明或补正以书面形式进行，不得超出投标文件的范围或者改变投标文件的实质性内容（87号令第五十一条）。")
        }
        let decisions = report.bidders.compactMap { b in b.lowPriceDecision.map { (b, $0) } }
        if !decisions.isEmpty {
            subheading("异常低价认定（87号令第60条）")
            table([.init("投标人", width: 2), .init("认定", width: 2), .init("理由", width: 4), .init("时间", width: 1.6)],
                  decisions.map { b, x in [b.name, x.accepted ? "能够证明报价合理，继续评审" : "不能证明报价合理，投标无效", x.reason, Labels.time(x.at)] })
        }
    }

    mutating func invalidSection() {
        heading("无效投标及原因")
        let invalid = report.bidders.filter { $0.status == .invalid || $0.invalidity != nil }
        if invalid.isEmpty {
            paragraph("无。")
        } else {
            table([.init("投标人", width: 2.4), .init("原因", width: 7)], invalid.map { [$0.name, $0.invalidityText ?? report.invalidBids[$0.id] ?? "—"] })
        }
    }

    mutating func priceSection() {
        heading("价格评审")
        var columns: [GridTable.Column] = [.init("投标人", width: 2.2), .init("报价 P（元）", width: 1.4, alignment: .trailing),
                                           .init("价格扣除依据", width: 2.2), .init("扣除率", width: 1.3, alignment: .center),
                                           .init("评标价 P′（元）", width: 1.4, alignment: .trailing)]
        if scored { columns.append(.init("价格分", width: 0.9, alignment: .trailing)) }
        let rows = report.bidders.filter { $0.invalidity == nil }.map { b -> [String] in
            var basis: [String] = []
            if let s = b.price.smeDeductionBasis {
                // The engine's basis names the class by its code ("小微企业 small") or gives the consortium share.
                basis.append(s.hasPrefix("小微企业") ? Labels.sme(b.smeClass) : s)
            }
            if b.price.domesticDeductionPercent > .zero { basis.append("本国产品") }
            var rates: [String] = []
            if b.price.smeDeductionPercent > .zero { rates.append(Labels.percent(b.price.smeDeductionPercent)) }
            if b.price.domesticDeductionPercent > .zero { rates.append(Labels.percent(b.price.domesticDeductionPercent)) }
            let rate = rates.isEmpty ? "—" : rates.joined(separator: b.price.stacking == .additive ? " + " : " × ")
            var row = [b.name, b.display["contractPrice"] ?? money(b.price.contractPrice), basis.isEmpty ? "—" : basis.joined(separator: "；"),
                       rate, b.display["evaluatedPrice"] ?? money(b.price.evaluatedPrice)]
            if scored { row.append(b.display["priceScore"] ?? "—") }
            return row
        }
        table(columns, rows)
    }

    mutating func scoresSection() {
        heading("评分情况")
        guard let s = summary else {
            paragraph("评审委员会成员尚未全部提交评分，评分汇总尚未形成。")
            return
        }
        let lines = Dictionary(s.bidders.map { ($0.bidder, $0) }, uniquingKeysWith: { a, _ in a })
        let scoredBidders = report.bidders.filter { lines[$0.id] != nil }
        let typed = report.criteria.filter { $0.kind != .price }

        subheading("各评审因素平均得分")
        note("每项为全体成员评分的算术平均值（不去掉最高分、最低分）；评审得分为各成员评分合计的平均值，总分 = 评审得分 + 价格分（见排序及推荐结果）。")
        // Up to 8 criteria a table; more are split into balanced tables. Totals are in the ranking.
        let tables = max(1, (typed.count + 7) / 8)
        let perTable = max(1, (typed.count + tables - 1) / tables)
        var start = 0
        repeat {
            let chunk = Array(typed[start..<min(start + perTable, typed.count)])
            let columns: [GridTable.Column] = [.init("投标人", width: 2.2)]
                + chunk.map { .init("\($0.name)（\(Labels.exact($0.maximum))）", width: 1.0, alignment: .trailing) }
            let rows = scoredBidders.map { b -> [String] in
                let line = lines[b.id]!
                return [b.name] + chunk.map { line.criterionMeans[$0.id].map { $0.display(decimals: d) } ?? "—" }
            }
            table(columns, rows, fontSize: 8.5)
            start += perTable
        } while start < typed.count

        subheading("各成员评分合计（价格分除外）")
        let memberIDs = report.panel.map(\.id)
        let perMembers = 8
        var m = 0
        repeat {
            let chunk = Array(memberIDs[m..<min(m + perMembers, memberIDs.count)])
            let last = m + perMembers >= memberIDs.count
            var columns: [GridTable.Column] = [.init("投标人", width: 2.2)]
            columns += chunk.map { .init(member($0), width: 1.0, alignment: .trailing) }
            if last { columns.append(.init("平均", width: 1.0, alignment: .trailing)) }
            let rows = scoredBidders.map { b -> [String] in
                let line = lines[b.id]!
                var row = [b.name] + chunk.map { line.memberTotals[$0].map { $0.display(decimals: d) } ?? "—" }
                if last { row.append(b.display["meanScore"] ?? line.meanScore.display(decimals: d)) }
                return row
            }
            table(columns, rows, fontSize: 8.5)
            m += perMembers
        } while m < memberIDs.count

        subheading("评分复核（87号令第64条）")
        if s.flags.isEmpty && s.disagreements.isEmpty && report.reviewCorrections.isEmpty {
            paragraph("评分汇总后未发现客观分不一致或畸高畸低情形，未修改评分。")
        }
        if !s.disagreements.isEmpty {
            paragraph("客观评审因素评分不一致（待更正）：")
            table([.init("投标人", width: 2), .init("评审因素", width: 2), .init("各成员评分", width: 5)],
                  s.disagreements.map { x in
                      [bidder(x.bidder), criterion(x.criterion),
                       x.scores.sorted { $0.key < $1.key }.map { "\(member($0.key)) \(Labels.exact($0.value))" }.joined(separator: "，")]
                  })
        }
        if !s.flags.isEmpty {
            paragraph("畸高畸低提示及评审委员会的处理：")
            table([.init("类型", width: 1.3), .init("成员", width: 1.0), .init("投标人", width: 1.7), .init("评审因素", width: 1.5),
                   .init("评分", width: 0.8, alignment: .trailing), .init("参照值", width: 1.3, alignment: .trailing), .init("处理", width: 3.0)],
                  s.flags.map { f in
                      let reference = f.kind == .memberTotal ? "全体平均 \(f.reference.display(decimals: d))"
                          : "其他成员平均 \(f.reference.display(decimals: d))"
                      let handling = f.kept.map { "保留。理由：\($0.reason)（\(Labels.time($0.at))）" } ?? "未处理"
                      return [Labels.flagKind(f.kind), member(f.member), bidder(f.bidder), f.criterion.map(criterion) ?? "合计",
                              f.value.display(decimals: d), reference, handling]
                  }, fontSize: 8.5)
        }
        if !report.reviewCorrections.isEmpty {
            paragraph("评分修改记录（已按修改后的评分汇总；经更正后不再偏离的提示不再列出）：")
            table([.init("版本", width: 0.6, alignment: .center), .init("成员", width: 1.0), .init("投标人", width: 1.6),
                   .init("评审因素", width: 1.4), .init("原评分", width: 0.8, alignment: .trailing), .init("修改为", width: 0.8, alignment: .trailing),
                   .init("依据", width: 2.0), .init("评审委员会认定", width: 2.2)],
                  report.reviewCorrections.map { c in
                      ["\(c.reportVersion)", member(c.member), bidder(c.bidder), criterion(c.criterion), Labels.exact(c.from),
                       Labels.exact(c.to), Labels.reviewReason(c.reason), "\(c.panelDecision)（\(Labels.time(c.at))）"]
                  }, fontSize: 8.5)
        }
    }

    mutating func rankingSection() {
        heading("排序及推荐结果")
        let byID = Dictionary(report.bidders.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var ordered: [ReportBidder] = (report.ranking?.bids ?? []).compactMap { byID[$0.bidder] }
        let seen = Set(ordered.map(\.id))
        ordered += report.bidders.filter { !seen.contains($0.id) }
        let candidates = report.candidates
        func recommended(_ id: String) -> String {
            candidates.firstIndex(of: id).map { "\(Labels.ordinal($0))\(Labels.candidateNoun(report.project.method))" } ?? ""
        }
        if scored {
            table([.init("名次", width: 0.9, alignment: .center), .init("投标人", width: 2.7), .init("评审得分", width: 0.95, alignment: .trailing),
                   .init("价格分", width: 0.85, alignment: .trailing), .init("总分", width: 0.85, alignment: .trailing),
                   .init("报价（元）", width: 1.35, alignment: .trailing), .init("并列处理", width: 1.5), .init("推荐", width: 1.6)],
                  ordered.map { b in
                      [rankLabel(b), b.name, b.display["meanScore"] ?? "—", b.display["priceScore"] ?? "—", b.display["total"] ?? "—",
                       b.display["contractPrice"] ?? "—", Labels.tieBreak(b.tieBrokenBy), recommended(b.id)]
                  })
        } else {
            table([.init("名次", width: 1.0, alignment: .center), .init("投标人", width: 2.8), .init("报价（元）", width: 1.4, alignment: .trailing),
                   .init("评标价（元）", width: 1.4, alignment: .trailing), .init("并列处理", width: 1.6), .init("推荐", width: 1.5)],
                  ordered.map { b in
                      [rankLabel(b), b.name, b.display["contractPrice"] ?? "—", b.display["evaluatedPrice"] ?? "—",
                       Labels.tieBreak(b.tieBrokenBy), recommended(b.id)]
                  })
        }
        let noun = Labels.candidateNoun(report.project.method)
        if report.bidders.contains(where: { $0.status == .sameBrandNotSelected }) {
            note("同品牌未入选：提供相同品牌核心产品的投标人按一家投标人计算，只取其中排序最优者参加排序（87号令第三十一条）。")
        }
        if !awaitingLottery.isEmpty {
            note("待抽签：并列的投标人须经抽签确定先后后方可排序（87号令第五十七条、第六十八条）。")
        }
        if !candidates.isEmpty {
            let list = candidates.enumerated().map { "\(Labels.ordinal($0))\(noun)：\(bidder($1))" }.joined(separator: "；")
            blocks.append(.paragraph("评审委员会推荐的\(noun)（按顺序）：\(list)。", style: .emphasis))
        } else if let pending = report.ranking?.pendingLotteries, !pending.isEmpty {
            let groups = pending.map { $0.tied.map(bidder).joined(separator: "、") }.joined(separator: "；")
            blocks.append(.paragraph("以下投标人并列，待抽签确定顺序后方可推荐\(noun)：\(groups)。", style: .emphasis))
        } else if result.failureReason == nil {
            paragraph("排序尚未确定，尚未推荐\(noun)。")
        }
        if !report.lotteryDraws.isEmpty {
            subheading("抽签记录")
            note("抽签以 SplitMix64 伪随机数发生器按 Fisher–Yates 方法打乱按编号排序的并列投标人；分组种子 = 抽签种子 + 此前已抽组数。任何人可据种子复现抽签结果。")
            table([.init("范围", width: 1.4), .init("并列投标人", width: 2.4), .init("抽签种子", width: 1.6), .init("分组种子", width: 1.6),
                   .init("见证人", width: 1.2), .init("抽签结果（先者在前）", width: 2.4), .init("时间", width: 1.5)],
                  report.lotteryDraws.map { x in
                      [Labels.lotteryScope(x.scope), x.tied.map(bidder).joined(separator: "、"), "\(x.seed)", "\(x.groupSeed)", x.witness,
                       x.order.map(bidder).joined(separator: " → "), Labels.time(x.at)]
                  }, fontSize: 8)
        }
    }

    mutating func otherSection() {
        heading("其他需要说明的情况")
        var any = false
        if !report.observations.isEmpty {
            any = true
            subheading("评审过程记录")
            table([.init("时间", width: 1.6), .init("成员", width: 1.2), .init("记录", width: 6)],
                  report.observations.map { [Labels.time($0.at), member($0.member), $0.note] })
        }
        if !report.voidedOpinions.isEmpty {
            any = true
            subheading("无效的评审意见")
            table([.init("时间", width: 1.6), .init("成员", width: 1.2), .init("原因", width: 6)],
                  report.voidedOpinions.map { [Labels.time($0.at), member($0.member), $0.why] })
        }
        if !report.reevaluations.isEmpty {
            any = true
            subheading("重新评审")
            table([.init("时间", width: 1.6), .init("原报告版本", width: 1.2, alignment: .center), .init("依据", width: 2.6), .init("说明", width: 3.6)],
                  report.reevaluations.map { [Labels.time($0.at), "第 \($0.fromReportVersion) 版", Labels.reviewReason($0.reason), $0.note] })
        }
        if let reason = result.failureReason { any = true; paragraph("采购失败（废标）原因：\(reason)") }
        if let reason = result.haltReason { any = true; paragraph("评审中止原因：\(reason)（87号令第六十五条）") }
        if !any { paragraph("无。") }
    }

    mutating func signingSection() {
        heading("评审委员会成员签署意见")
        if report.signatures.isEmpty {
            paragraph("评审报告尚未签署。评审委员会成员应当在评审报告上签字；对评审结果有异议的，应当在报告上签署不同意见并说明理由，否则视为同意（87号令第六十一条）。")
        } else {
            table([.init("成员", width: 1.3), .init("身份", width: 1.2), .init("签署情况", width: 2.6), .init("不同意见及理由", width: 3.2),
                   .init("时间", width: 1.6)],
                  report.signatures.map { s in
                      [member(s.member), members[s.member].map { Labels.role($0.role) } ?? "",
                       Labels.signatureKind(s.kind), s.kind == .dissented ? (s.text ?? "") : "—", Labels.time(s.at)]
                  })
        }
        if let leader = report.confirmedBy {
            paragraph("评审组长 \(member(leader)) 已于 \(Labels.time(report.confirmedAt)) 确认本评审报告。")
        }
    }

    // MARK: Signature page

    mutating func signaturePage(_ entries: [SignaturePageEntry]) {
        blocks.append(.pageBreak)
        blocks.append(.heading("评审委员会成员签署页", level: 1))
        let hashes = Set(entries.compactMap(\.signedDocumentSHA256))
        paragraph("本页载明评审委员会各成员对评审报告正文（本页之前的全部页面）所作电子签名（云签）的核验结果及其手写签名。")
        if hashes.count == 1, let h = hashes.first {
            blocks.append(.keyValue([KeyValue("报告正文 SHA-256", "\(h)（各成员所签相同）")]))
        } else if hashes.count > 1 {
            blocks.append(.paragraph("注意：各成员所签报告正文的 SHA-256 不尽相同，见各成员条目。", style: .emphasis))
        }
        for (i, e) in entries.enumerated() {
            var rows: [KeyValue] = [KeyValue("签署结论", Labels.signatureKind(e.kind))]
            if let m = members[e.member] { rows.append(KeyValue("身份及工作单位", "\(Labels.role(m.role))，\(m.affiliation)")) }
            if let v = e.verified {
                rows.append(KeyValue("云签核验", v ? "通过（证书链、有效期、吊销状态及签名值均已核验）" : "未通过：该签名不能作为有效签署"))
            } else {
                rows.append(KeyValue("云签核验", "无电子签名"))
            }
            if let x = e.signerName { rows.append(KeyValue("签名人（证书）", x)) }
            if let x = e.certificateFingerprint { rows.append(KeyValue("证书指纹", x)) }
            if let x = e.algorithm { rows.append(KeyValue("签名算法", x)) }
            if let x = e.signedDocumentSHA256 { rows.append(KeyValue("所签报告正文 SHA-256", x)) }
            if let x = e.dissent { rows.append(KeyValue("不同意见及理由", x)) }
            rows.append(KeyValue("签署时间", Labels.time(e.at)))
            if report.leader == e.member { rows.append(KeyValue("职务", "评审组长")) }
            var group: [ReportBlock] = [.heading("\(i + 1). \(e.name)（\(e.member)）", level: 2), .keyValue(rows)]
            if let png = e.handwritingPNG {
                group.append(.image(ReportImage(png: png, width: 150, caption: "手写签名：\(e.name)")))
            } else if e.kind != .deemedAgreed {
                group.append(.paragraph("（未提交手写签名）", style: .note))
            }
            blocks.append(.keepTogether(group))
        }
        if let leader = report.confirmedBy {
            blocks.append(.paragraph("评审组长确认：\(member(leader))，\(Labels.time(report.confirmedAt))。", style: .emphasis))
        } else {
            blocks.append(.paragraph("评审组长尚未确认本报告。", style: .emphasis))
        }
    }
}

private extension ProcurementMethod {
    var hasFinalQuotes: Bool { self == .competitiveNegotiation || self == .competitiveConsultation || self == .singleSource }
}
