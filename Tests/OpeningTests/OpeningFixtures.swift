import Canonical
import Evaluation
import Identity
@testable import Opening

/// Five suppliers of a two-lot tender, their summaries and the definition that fixes their hashes
/// (SHA-256 by Identity, as roomd computes them).
enum OpeningFixtures {
    static let deadlineText = "2026-12-10T09:30:00+08:00"
    /// 2026-12-10 01:30:00 UTC in milliseconds.
    static let deadline: Instant = CivilTime.unixSeconds(year: 2026, month: 12, day: 10, hour: 1, minute: 30, second: 0)! * 1000
    static let minute: Instant = 60_000

    static let a = try! CreditCode("91350100M000100Y43")
    static let b = try! CreditCode("91110108MA01XXXXXB")
    static let c = try! CreditCode("91150100MA0N7L2K1Q")
    static let d = try! CreditCode("91440300708461136T")
    static let e = try! CreditCode("12100000400000624D")
    static let stranger = try! CreditCode("52150000MJY123456K")

    static let names: [CreditCode: String] = [
        a: "福州甲科技有限公司", b: "北京乙信息技术有限公司", c: "内蒙古丙电子有限责任公司（呼和浩特）",
        d: "深圳丁设备有限公司", e: "呼和浩特戊服务中心",
    ]

    static func summary(_ code: CreditCode, _ lines: [SummaryLine], project: String = "NMG-2026-0188") -> OpeningSummary {
        OpeningSummary(project: project, supplier: code, lots: lines)
    }

    static let summaries: [CreditCode: OpeningSummary] = [
        a: summary(a, [SummaryLine(lot: "1", priceInFigures: "1234567.89", priceInWords: "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分",
                                   deliveryPeriod: "合同签订后30日"),
                       SummaryLine(lot: "2", priceInFigures: "98000", priceInWords: "玖万捌仟元整")]),
        b: summary(b, [SummaryLine(lot: "1", priceInFigures: "1300000", priceInWords: "壹佰叁拾万元整")]),
        // Figures 1,205,000 against words 1,250,000: flagged, the words are not applied here.
        c: summary(c, [SummaryLine(lot: "1", priceInFigures: "1205000", priceInWords: "壹佰贰拾伍万元整"),
                       SummaryLine(lot: "2", priceInFigures: "99500.5", priceInWords: "玖万玖仟伍佰元伍角")]),
        d: summary(d, [SummaryLine(lot: "1", priceInFigures: "1190000", priceInWords: "壹佰壹拾玖万元整")]),
        // 壹佰壹拾万伍元: the 伍 after 万 has no 零 and no unit — 1,100,005 or, as spoken, 1,150,000.
        e: summary(e, [SummaryLine(lot: "1", priceInFigures: "1100005", priceInWords: "壹佰壹拾万伍元")]),
    ]

    static func plaintext(_ code: CreditCode) -> [UInt8] { try! summaries[code]!.canonicalBytes() }
    static func plaintextHash(_ code: CreditCode) -> String { Digest.sha256Hex(plaintext(code)) }
    /// Stand-in bytes for the sealed bid in engine tests (the envelope tests seal real ones).
    static func sealed(_ code: CreditCode) -> [UInt8] { Array("sealed bid of \(code)".utf8) }
    static func sealedHash(_ code: CreditCode) -> String { Digest.sha256Hex(sealed(code)) }

    static func definition(method: ProcurementMethod = .publicTender) -> OpeningDefinition {
        let lots: [CreditCode: [String]] = [a: ["1", "2"], b: ["1"], c: ["1", "2"], d: ["1"], e: ["1"]]
        return OpeningDefinition(
            project: OpeningProject(number: "NMG-2026-0188", name: "呼和浩特市第一中学智慧教室设备采购", purchaser: "呼和浩特市第一中学",
                                    agency: "内蒙古某招标代理有限公司", method: method),
            lots: [OpeningLot(id: "1", name: "智慧黑板"), OpeningLot(id: "2", name: "录播系统")],
            bidDeadline: deadlineText, decryptionWindowMinutes: 30,
            suppliers: [a, b, c, d, e].map { code in
                OpeningSupplier(name: names[code]!, creditCode: code, lots: lots[code]!,
                                encryptionCertificateSHA256: Digest.sha256Hex(Array("certificate of \(code)".utf8)),
                                sealedBidSHA256: sealedHash(code), summarySHA256: plaintextHash(code))
            })
    }
}
