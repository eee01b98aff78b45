/// An article of the rules, written the way each language cites it: "87号令第47条" in Chinese,
/// "MoF Order 87 art. 47" in English. Messages cite the article of the session's own method
/// (`ProcurementMethod.panelRule` and the like), so a 磋商 panel is checked against 214号, not 87号令.
public struct Citation: Sendable, Hashable {
    public enum Document: String, Sendable, Hashable {
        /// 中华人民共和国政府采购法
        case procurementLaw
        /// 财政部令第87号 (tenders)
        case order87
        /// 财政部令第74号 (竞争性谈判, 询价, 单一来源)
        case order74
        /// 财库〔2014〕214号 (竞争性磋商)
        case caiKu214
        /// 财库〔2016〕198号 (review experts)
        case caiKu198
        /// 财库〔2020〕46号 as amended by 财库〔2022〕19号 (small and micro enterprises)
        case caiKu46
    }

    public var document: Document
    /// Nil where the rule has no single article (or RULES.md gives none).
    public var article: Int?

    public init(_ document: Document, _ article: Int? = nil) {
        self.document = document
        self.article = article
    }

    /// "87号令第47条", "财库〔2014〕214号第14条", "74号令".
    public var chinese: String {
        let name = switch document {
        case .procurementLaw: "政府采购法"
        case .order87: "87号令"
        case .order74: "74号令"
        case .caiKu214: "财库〔2014〕214号"
        case .caiKu198: "财库〔2016〕198号"
        case .caiKu46: "财库〔2020〕46号"
        }
        return article.map { "\(name)第\($0)条" } ?? name
    }

    /// "MoF Order 87 art. 47", "MoF Cai Ku [2014] 214 art. 14", "MoF Order 74": one form for every
    /// Ministry of Finance document, no Chinese characters.
    public var english: String {
        let name = switch document {
        case .procurementLaw: "Government Procurement Law"
        case .order87: "MoF Order 87"
        case .order74: "MoF Order 74"
        case .caiKu214: "MoF Cai Ku [2014] 214"
        case .caiKu198: "MoF Cai Ku [2016] 198"
        case .caiKu46: "MoF Cai Ku [2020] 46"
        }
        return article.map { "\(name) art. \($0)" } ?? name
    }
}

/// How a failed procurement is named: a tender that fails is 废标 (政府采购法 36; 87号令); 磋商,
/// 谈判, 询价 and 单一来源 are terminated (终止: 214号 and 74号令 say the purchaser terminates the
/// procurement activity and starts again).
public enum FailureKind: String, Codable, Sendable {
    /// 废标
    case bidFailure
    /// 终止
    case termination
}

extension ProcurementMethod {
    /// Panel size, odd number and the two-thirds experts rule: 87号令 47 (tenders), 214号 14 (磋商),
    /// 74号令 7 (谈判, 询价). 单一来源 only needs people with experience (74号令, no figure).
    public var panelRule: Citation {
        switch self {
        case .publicTender, .invitedTender: Citation(.order87, 47)
        case .competitiveConsultation: Citation(.caiKu214, 14)
        case .competitiveNegotiation, .inquiry: Citation(.order74, 7)
        case .singleSource: Citation(.order74)
        }
    }

    /// Comprehensive scoring, criteria and price weight: 87号令 55 (tenders), 214号 24 (磋商).
    public var scoringRule: Citation {
        self == .competitiveConsultation ? Citation(.caiKu214, 24) : Citation(.order87, 55)
    }

    /// "Qualification conditions may not be scoring criteria" is 87号令 55; RULES.md names no article
    /// for the other methods.
    var qualificationCriterionRule: Citation? { isTender ? Citation(.order87, 55) : nil }

    /// A tie the rules leave open goes to the documents' method, else a lottery (87号令 68). RULES.md
    /// names no article for the other methods.
    var lotteryRule: Citation? { isTender ? Citation(.order87, 68) : nil }

    public var failureKind: FailureKind { isTender ? .bidFailure : .termination }

    /// What the failure is called in Chinese: 废标, or 终止 and the method ("终止竞争性磋商").
    var failureChinese: String {
        switch self {
        case .publicTender, .invitedTender: "废标"
        case .singleSource: "终止单一来源采购"
        case .competitiveNegotiation, .competitiveConsultation, .inquiry: "终止\(chineseName)"
        }
    }

    /// 投标人 in tenders, 供应商 elsewhere.
    var partyChinese: String { isTender ? "投标人" : "供应商" }
    var partyEnglish: String { isTender ? "bidder" : "supplier" }
}
