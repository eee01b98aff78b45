import Canonical
import Evaluation
public import Opening

/// The opening record (开标记录表) as a document for `ReportPDF.render`: the project and the times,
/// per lot the bids read out — prices exactly as sealed, figures against words flagged under
/// 87号令 第59条 and never corrected — the bids not opened with their reasons, the failure of a lot
/// with too few valid bids, each supplier's sign-in, decryption and answer, and every rejection.
public enum OpeningRecordComposer {
    public static func compose(record: BidOpeningRecord, room: String) -> ReportDocument {
        let project = record.project
        var blocks: [ReportBlock] = [.keyValue([
            KeyValue("项目名称", project.name), KeyValue("项目编号", project.number), KeyValue("采购人", project.purchaser),
            KeyValue("采购代理机构", project.agency ?? "—"), KeyValue("采购方式", project.method.chineseName),
            KeyValue("开标地点", room),
            KeyValue("投标截止时间", CivilTime.parseRFC3339(record.bidDeadline).map { Labels.time($0.milliseconds) } ?? record.bidDeadline),
            KeyValue("开标时间", Labels.time(record.openedAt)), KeyValue("解密结束时间", Labels.time(record.decryptionClosedAt)),
            KeyValue("开标结束时间", Labels.time(record.concludedAt)),
        ])]
        for lot in record.lots {
            blocks.append(.heading("包\(lot.lot)：\(lot.name)", level: 1))
            if !lot.bids.isEmpty {
                blocks.append(.table(GridTable(columns: [
                    .init("序号", width: 0.5, alignment: .center), .init("投标人", width: 1.8), .init("统一社会信用代码", width: 2.3),
                    .init("投标报价（小写，元）", width: 1.3, alignment: .trailing), .init("投标报价（大写）", width: 2.1),
                    .init("大小写核对", width: 1.8), .init("交货期／服务期", width: 1.1),
                ], rows: lot.bids.enumerated().map { index, bid in
                    [String(index + 1), bid.name, bid.supplier.text, bid.priceInFigures, bid.priceInWords,
                     consistency(bid.consistency), bid.deliveryPeriod ?? "—"]
                }, fontSize: 8)))
            }
            if !lot.invalid.isEmpty {
                blocks.append(.heading("未开启的投标", level: 2))
                blocks.append(.table(GridTable(columns: [.init("投标人", width: 2), .init("统一社会信用代码", width: 2.1), .init("原因", width: 4)],
                                               rows: lot.invalid.map { [$0.name, $0.supplier.text, $0.reason.chineseMessage] }, fontSize: 8)))
            }
            blocks.append(lot.failure.map { .paragraph($0.chineseMessage, style: .emphasis) }
                ?? .paragraph("有效投标\(lot.bids.count)家，不少于\(lot.minimumValidBids)家，本包开标有效。", style: .body))
        }
        blocks.append(.heading("供应商签到、解密与对开标记录的答复", level: 1))
        blocks.append(.table(GridTable(columns: [
            .init("投标人", width: 2), .init("签到时间", width: 1.4), .init("解密时间", width: 1.4), .init("对开标记录", width: 3),
        ], rows: record.suppliers.map { s in
            [s.name, Labels.time(s.signedInAt), Labels.time(s.decryptedAt), answer(s)]
        }, fontSize: 8)))
        if !record.rejections.isEmpty {
            blocks.append(.heading("记录在案的拒绝事项", level: 1))
            blocks.append(.table(GridTable(columns: [
                .init("时间", width: 1.4), .init("统一社会信用代码", width: 2.1), .init("证书单位", width: 1.6), .init("原因", width: 4),
            ], rows: record.rejections.map { r in
                [Labels.time(r.at), r.supplier.text, r.organization ?? "—", r.reason.chineseMessage]
            }, fontSize: 8)))
        }
        blocks.append(.paragraph(
            "本记录中的时间均为北京时间（UTC+8）。金额单位为元，按投标文件原样记录；大写金额与小写金额不一致的，依\(Citation(.order87, 59).chinese)以大写金额为准，由评标委员会处理并经投标人书面确认，开标时不作更正。",
            style: .note))
        let outcome = record.failed ? "开标失败" : "开标记录"
        return ReportDocument(
            title: "\(project.name)\n开标记录",
            subtitle: ["项目编号：\(project.number)　　\(outcome)"],
            runningHeader: "\(project.number) · 开标记录 · \(room)",
            metadata: ReportMetadata(title: "\(project.name) 开标记录", author: room, subject: "项目编号 \(project.number)，开标记录",
                                     keywords: "opening; room=\(room)", creator: "roomd ReportPDF"),
            blocks: blocks)
    }

    /// The instant the PDF is dated with: the conclusion of the opening, else the close of
    /// decryption — so the same record renders to the same bytes whenever it is rendered.
    public static func creationInstant(of record: BidOpeningRecord) -> Int64 { record.concludedAt ?? record.decryptionClosedAt }

    static func consistency(_ check: PriceConsistency) -> String {
        switch check {
        case .consistent: "一致"
        case .wordsDiffer(_, let words):
            "不一致：大写金额为\(words.decimalText)元（以大写为准，须投标人书面确认，\(Citation(.order87, 59).chinese)）"
        case .figuresUnreadable: "小写金额无法识读，由评标委员会处理"
        case .wordsUnreadable(_, let chinese, _): chinese
        }
    }

    static func answer(_ s: SupplierOpening) -> String {
        switch s.answer {
        case .confirmed(let at, _): "已签名确认（\(Labels.time(at))）"
        case .objected(let at, let text, _): "提出异议（\(Labels.time(at))）：\(text)"
        case nil: s.signedInAt == nil ? "未签到" : "未答复"
        }
    }
}
