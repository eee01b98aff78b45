import Evaluation
import Foundation
import Opening
import ReportPDF
import Testing

/// The opening record (开标记录表) as a PDF: same bytes every time, and what pdftotext reads back is
/// the record — prices as sealed, the figures/words flag, the bids not opened, the failure, answers.
@Suite(.serialized) struct OpeningRecordPDFTests {
    /// 2026-12-10 09:30 Beijing time, in milliseconds.
    static let deadline: Int64 = 1_796_866_200_000
    static let minute: Int64 = 60_000

    static func hex(_ c: Character) -> String { String(repeating: c, count: 64) }

    /// Three suppliers on one lot: A agrees with itself, B's words differ from its figures, C never
    /// decrypts; a stranger signs in too. Two valid bids: the lot fails.
    static func record() throws -> BidOpeningRecord {
        let codes = try ["91350100M000100Y43", "91110108MA01XXXXXB", "91150100MA0N7L2K1Q"].map { try CreditCode($0) }
        let names = ["福州甲科技有限公司", "北京乙信息技术有限公司", "内蒙古丙电子有限责任公司"]
        let lines = [SummaryLine(lot: "1", priceInFigures: "1234567.89", priceInWords: "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分",
                                 deliveryPeriod: "合同签订后30日"),
                     SummaryLine(lot: "1", priceInFigures: "1205000", priceInWords: "壹佰贰拾伍万元整")]
        let definition = OpeningDefinition(
            project: OpeningProject(number: "NMG-2026-0188", name: "智慧教室设备采购", purchaser: "呼和浩特市第一中学",
                                    method: .publicTender),
            lots: [OpeningLot(id: "1", name: "智慧黑板")], bidDeadline: "2026-12-10T09:30:00+08:00", decryptionWindowMinutes: 30,
            suppliers: codes.enumerated().map { i, code in
                OpeningSupplier(name: names[i], creditCode: code, lots: ["1"], encryptionCertificateSHA256: hex("a"),
                                sealedBidSHA256: hex(Character(String(i + 1))), summarySHA256: hex(Character(String(i + 4))))
            })
        var s = try OpeningSession(definition: definition)
        let t0 = deadline, m = minute
        for (i, code) in codes.enumerated() {
            try s.handle(.receiveSealedBid(supplier: code, sha256: hex(Character(String(i + 1)))), at: t0 - 60 * m, actor: "platform")
        }
        for (i, code) in codes.enumerated() {
            try s.handle(.signIn(supplier: code, organization: names[i], certificateSHA256: hex("b")), at: t0 - 20 * m, actor: "supplier")
        }
        try s.handle(.signIn(supplier: try CreditCode("52150000MJY123456K"), organization: "某某贸易有限公司", certificateSHA256: hex("c")),
                     at: t0 - 19 * m, actor: "supplier")
        try s.handle(.startOpening, at: t0, actor: "operator")
        for i in 0..<2 {
            try s.handle(.submitDecryption(supplier: codes[i], plaintextSHA256: hex(Character(String(i + 4))),
                                           summary: .read(OpeningSummary(project: "NMG-2026-0188", supplier: codes[i], lots: [lines[i]]))),
                         at: t0 + Int64(i + 1) * m, actor: "supplier")
        }
        try s.handle(.closeDecryption, at: t0 + 31 * m, actor: "operator")
        try s.handle(.confirmRecord(supplier: codes[0], signature: "MEUCIQ"), at: t0 + 33 * m, actor: "supplier")
        try s.handle(.raiseObjection(supplier: codes[1], text: "我公司报价以大写为准。", signature: "MEQCIF"), at: t0 + 34 * m, actor: "supplier")
        try s.handle(.concludeOpening, at: t0 + 40 * m, actor: "operator")
        return try #require(s.state.record())
    }

    @Test func theRecordPrintsAsSealedAndTheSameEveryTime() throws {
        let record = try Self.record()
        let document = OpeningRecordComposer.compose(record: record, room: "第1开标室")
        let at = OpeningRecordComposer.creationInstant(of: record)
        #expect(at == Self.deadline + 40 * Self.minute)
        let pdf = try ReportPDF.render(document, createdAt: at)
        #expect(try ReportPDF.render(document, createdAt: at) == pdf)
        let text = try ReportPDFTests.text(pdf)
        for expected in ["开标记录", "开标失败", "投标截止时间2026-12-1009:30:00", "1234567.89", "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分",
                         "不一致：大写金额为", "1250000元（以大写为准", "内蒙古丙电子有限责任公司", "未在解密时限", "有效投标不足3家（仅2家），本包废标",
                         "已签名确认", "提出异议", "我公司报价以大写为准。", "该供应商不在本项目的投标供应商名单中"] {
            #expect(text.contains(expected), "\(expected)")
        }
    }
}
