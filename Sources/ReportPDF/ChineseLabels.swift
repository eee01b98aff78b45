internal import Canonical
internal import Evaluation

/// The words the report prints for the engine's codes. Looked up by raw value with the raw value
/// as fallback, so a case the engine adds later prints as its code instead of breaking the build.
enum Labels {
    static func phase(_ p: Phase) -> String {
        [
            "draft": "草稿", "checkIn": "签到", "discipline": "宣读纪律", "leaderElection": "推选组长",
            "qualification": "资格审查", "compliance": "符合性审查", "clarification": "澄清",
            "negotiationRounds": "谈判（磋商）", "finalQuotes": "最后报价", "scoring": "评分", "review": "评分复核",
            "ranking": "排序", "report": "评审报告已确认", "signing": "签署中", "closed": "已签署并确认",
            "suspended": "暂停（等待替补成员）", "reformed": "评审委员会重新组建", "halted": "中止评审",
            "failed": "废标（采购失败）", "reevaluation": "重新评审",
        ][p.rawValue] ?? p.rawValue
    }

    static func category(_ c: ProcurementCategory) -> String {
        ["goods": "货物", "services": "服务", "works": "工程"][c.rawValue] ?? c.rawValue
    }

    static func evaluationMethod(_ m: EvaluationMethod, procurement: ProcurementMethod) -> String {
        let tender = procurement == .publicTender || procurement == .invitedTender
        switch m.rawValue {
        case "comprehensiveScoring":
            return procurement == .competitiveConsultation ? "综合评分法（财库〔2014〕214号第二十三至二十五条，按最后报价计算价格分）"
                : "综合评分法（财政部令第87号第五十五条）"
        case "lowestEvaluatedPrice":
            return tender ? "最低评标价法（财政部令第87号第五十三至五十六条）"
                : "最低价成交（财政部令第74号：满足采购需求且报价最低）"
        case "negotiatedPrice":
            return "协商确定成交价格（单一来源，财政部令第74号）"
        default:
            return m.rawValue
        }
    }

    static func sme(_ s: SMEClass) -> String {
        [
            "micro": "微型企业", "small": "小型企业", "medium": "中型企业", "large": "大型企业",
            "prisonEnterprise": "监狱企业（视同小微企业）", "disabilityWelfareUnit": "残疾人福利性单位（视同小微企业）",
        ][s.rawValue] ?? s.rawValue
    }

    static func role(_ r: MemberRole) -> String {
        ["expert": "评审专家", "purchaserRepresentative": "采购人代表"][r.rawValue] ?? r.rawValue
    }

    static func memberChange(_ k: MemberChangeKind) -> String {
        [
            "recused": "回避", "misconduct": "违规（意见无效）", "replaced": "替补", "committeeReformed": "重新组建评审委员会",
            "leaderElected": "推选评审组长",
        ][k.rawValue] ?? k.rawValue
    }

    static func tieBreak(_ t: TieBreak?) -> String {
        guard let t else { return "" }
        return [
            "bidPrice": "总分相同，投标报价低者优先",
            "technicalScore": "总分及报价相同，技术得分高者优先",
            "lottery": "抽签确定",
        ][t.rawValue] ?? t.rawValue
    }

    static func reviewReason(_ r: ReviewReason) -> String {
        [
            "64.1": "第六十四条第（一）项：分值汇总计算错误",
            "64.2": "第六十四条第（二）项：分项评分超出评分标准规定的分值范围",
            "64.3": "第六十四条第（三）项：评审委员会成员对客观评审因素评分不一致",
            "64.4": "第六十四条第（四）项：经评审委员会认定评分畸高、畸低",
        ][r.rawValue] ?? r.rawValue
    }

    static func clarificationPurpose(_ p: ClarificationPurpose) -> String {
        ["general": "澄清、说明或补正", "abnormallyLowPrice": "异常低价书面说明（87号令第60条）"][p.rawValue] ?? p.rawValue
    }

    static func lotteryScope(_ s: LotteryDraw.Scope) -> String {
        ["ranking": "排序并列", "sameBrand": "同品牌投标人（87号令第31条）"][s.rawValue] ?? s.rawValue
    }

    static func flagKind(_ k: AbnormalScoreFlag.Kind) -> String {
        ["subjectiveItem": "主观分项偏离", "memberTotal": "成员总分偏离"][k.rawValue] ?? k.rawValue
    }

    static func criterionGroup(_ g: CriterionGroup) -> String {
        ["technical": "技术", "commercial": "商务", "price": "价格"][g.rawValue] ?? g.rawValue
    }

    static func criterionKind(_ k: CriterionKind) -> String {
        ["objective": "客观分", "subjective": "主观分", "price": "价格分（计算）"][k.rawValue] ?? k.rawValue
    }

    static func signatureKind(_ k: SignatureRecord.Kind) -> String {
        ["signed": "同意并签署", "dissented": "有不同意见（已书面说明理由）",
         "deemedAgreed": "未签署亦未书面说明不同意见，视为同意（87号令第61条）"][k.rawValue] ?? k.rawValue
    }

    static func signatureKind(_ k: SignaturePageEntry.Kind) -> String {
        switch k {
        case .signed: "同意并签署"
        case .dissented: "有不同意见（已书面说明理由并签署）"
        case .deemedAgreed: "未签署亦未书面说明不同意见，视为同意（87号令第61条）"
        }
    }

    /// What the winners are called under the method.
    static func candidateNoun(_ m: ProcurementMethod) -> String {
        switch m {
        case .publicTender, .invitedTender: "中标候选人"
        case .singleSource: "成交供应商"
        default: "成交候选人"
        }
    }

    static func reportNoun(_ m: ProcurementMethod) -> String {
        m == .publicTender || m == .invitedTender ? "评标报告" : "评审报告"
    }

    static let ordinals = ["第一", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十"]
    static func ordinal(_ i: Int) -> String { i < ordinals.count ? ordinals[i] : "第\(i + 1)" }

    static let sectionNumbers = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三",
                                 "十四", "十五", "十六"]

    /// Beijing time to the second, e.g. `2026-10-22 10:15:03`.
    static func time(_ ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let c = CivilTime(seconds + 8 * 3600)
        func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year)-\(pad(c.month))-\(pad(c.day)) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))"
    }

    static func time(_ ms: Int64?) -> String { ms.map { time($0) } ?? "—" }

    /// A percentage as written in the documents: exact when it terminates within 4 decimals.
    static func percent(_ f: Fraction) -> String {
        if let places = f.decimalPlaces, places <= 4 { return f.display(decimals: places) + "%" }
        return f.display(decimals: 4) + "%"
    }

    /// A typed score or criterion maximum: exact (typed values have at most 4 decimals).
    static func exact(_ f: Fraction) -> String {
        if let places = f.decimalPlaces, places <= 8 { return f.display(decimals: places) }
        return f.description
    }
}
