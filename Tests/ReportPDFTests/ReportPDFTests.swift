import Evaluation
import Foundation
import ReportPDF
import Testing

/// The evaluation report PDF: deterministic bytes, embedded subset Noto CJK fonts, the content of
/// 87号令 58, a 7 × 20 session, the signature page. Reads the PDFs back with poppler-utils
/// (`pdffonts`, `pdftotext`), as anyone checking a report would.
@Suite(.serialized) struct ReportPDFTests {
    static let session = "S-2026-1022-01"
    static let room = "第3评标室"

    /// The closed 7 × 20 session, composed and rendered once for the suite.
    struct Rendered: Sendable {
        let definition: SessionDefinition
        let result: EvaluationResult
        let body: [UInt8]
        let bodySeconds: Double
        let full: [UInt8]
        let entries: [SignaturePageEntry]
    }

    static let rendered: Result<Rendered, any Error> = Result {
        let (definition, session) = try ReportFixtures.closedSession()
        let result = session.state.result()
        let at = ReportComposer.creationInstant(of: result)
        let bodyDocument = ReportComposer.compose(result: result, session: Self.session, room: room, signatures: nil, definition: definition)
        _ = try ReportPDF.render(bodyDocument, createdAt: at)   // fonts loaded once, outside the timing
        let start = ContinuousClock.now
        let body = try ReportPDF.render(bodyDocument, createdAt: at)
        let elapsed = ContinuousClock.now - start
        let entries = ReportFixtures.signatureEntries(result, bodySHA256: ReportFixtures.sha256Hex(body))
        let full = try ReportPDF.render(
            ReportComposer.compose(result: result, session: Self.session, room: room, signatures: entries, definition: definition),
            createdAt: at)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Rendered(definition: definition, result: result, body: body, bodySeconds: seconds, full: full, entries: entries)
    }

    static func fixture() throws -> Rendered { try rendered.get() }

    // MARK: poppler-utils

    /// Runs a poppler tool on `pdf` and returns its standard output.
    static func poppler(_ tool: String, _ arguments: [String], pdf: [UInt8]) throws -> String {
        let path = "/usr/bin/\(tool)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure("\(path) is missing: install poppler-utils (apt-get install poppler-utils) to run these tests")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-pdf-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("report.pdf")
        try Data(pdf).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments + [file.path] + (tool == "pdftotext" ? ["-"] : [])
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure("\(tool) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// pdftotext output with the spaces and line breaks layout puts between characters removed.
    static func text(_ pdf: [UInt8]) throws -> String {
        try poppler("pdftotext", ["-enc", "UTF-8"], pdf: pdf).filter { !$0.isWhitespace }
    }

    // MARK: Tests

    @Test func renderingTwiceGivesIdenticalBytes() throws {
        let r = try Self.fixture()
        let document = ReportComposer.compose(result: r.result, session: Self.session, room: Self.room, signatures: r.entries,
                                              definition: r.definition)
        let at = ReportComposer.creationInstant(of: r.result)
        let again = try ReportPDF.render(document, createdAt: at)
        #expect(again == r.full, "two renders of the same report differ")
        // The composition itself is deterministic too.
        #expect(document == ReportComposer.compose(result: r.result, session: Self.session, room: Self.room, signatures: r.entries,
                                                   definition: r.definition))
        // Only the dates depend on the instant: another instant gives other bytes of the same length.
        let later = try ReportPDF.render(document, createdAt: at + 86_400_000)
        #expect(later != r.full && later.count == r.full.count)
    }

    @Test func creationDateIsTheLeadersConfirmation() throws {
        let r = try Self.fixture()
        let confirmed = try #require(r.result.current.confirmedAt)
        #expect(ReportComposer.creationInstant(of: r.result) == confirmed)
        let seconds = confirmed / 1000
        let info = try Self.poppler("pdfinfo", ["-isodates"], pdf: r.full)
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let expected = formatter.string(from: date)
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        #expect(field("CreationDate") == expected, "pdfinfo: \(info)")
        #expect(field("ModDate") == expected, "pdfinfo: \(info)")
    }

    @Test func notoCJKFontsAreEmbeddedAndSubset() throws {
        let r = try Self.fixture()
        let fonts = try Self.poppler("pdffonts", [], pdf: r.full)
        let rows = fonts.split(separator: "\n").dropFirst(2).map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(!rows.isEmpty, "pdffonts lists no font:\n\(fonts)")
        for row in rows {
            // name type… encoding emb sub uni object ID: emb, sub, uni are the 5th–3rd fields from the end.
            let name = String(row[0])
            #expect(name.contains("+Noto") && name.contains("CJKsc"), "not a subset Noto CJK SC font: \(name)")
            #expect(row[row.count - 5] == "yes" && row[row.count - 4] == "yes", "font \(name) is not embedded and subset:\n\(fonts)")
        }
        #expect(rows.contains { $0[0].contains("NotoSerifCJKsc") })
        #expect(rows.contains { $0[0].contains("NotoSansCJKsc") })
    }

    @Test func textCarriesTheReportsContent() throws {
        let r = try Self.fixture()
        let text = try Self.text(r.body)
        for needle in ["评审报告", "评标报告", "项目名称", "某市中小学教学实验设备采购项目", "NMG-2026-001", "第3评标室",
                       "评审委员会", "王建国", "评审组长", "综合评分法", "价格分权重", "30%", "连乘", "畸高畸低",
                       "异常低价", "无效投标及原因", "投标人不确认报价修正", "资格审查未通过", "符合性审查未通过",
                       "CL-1", "抽签记录", "20261022", "公证员孙某", "第一中标候选人", "评分修改记录", "视为同意",
                       "第1页共"] {
            #expect(text.contains(needle), "the report lacks \(needle)")
        }
        for name in ReportFixtures.companyNames {
            #expect(text.contains(name), "the report lacks bidder \(name)")
        }
        // Figures exactly as the engine rounds them.
        for line in r.result.current.bidders where line.invalidity == nil {
            if let total = line.display["total"] { #expect(text.contains(total)) }
        }
        // The body is what members sign: no signature page in it.
        #expect(!text.contains("评审委员会成员签署页"))
    }

    @Test func sevenMembersTwentyBiddersRender() throws {
        let r = try Self.fixture()
        #expect(r.result.current.panel.count == 7)
        #expect(r.result.current.bidders.count == 20)
        #expect(r.result.phase == .closed)
        let pages = try Self.poppler("pdfinfo", [], pdf: r.body).split(separator: "\n").first { $0.hasPrefix("Pages:") }
        #expect(pages != nil)
        let text = try Self.text(r.body)
        #expect(text.contains("第1页共"))
    }

    @Test func signaturePageFollowsWhenSignaturesAreGiven() throws {
        let r = try Self.fixture()
        let text = try Self.text(r.full)
        #expect(text.contains("评审委员会成员签署页"))
        #expect(text.contains(ReportFixtures.sha256Hex(r.body)), "the signed body hash is not printed")
        #expect(text.contains("sm2-sm3"))
        #expect(text.contains("手写签名：王建国"))
        #expect(text.contains("对第一候选人的售后服务评分有不同意见"))
        #expect(text.contains("评审组长确认：王建国"))
        #expect(r.full.count > r.body.count)
        // One handwritten signature image per member who signed or dissented.
        let images = try Self.poppler("pdfimages", ["-list"], pdf: r.full).split(separator: "\n").dropFirst(2)
        #expect(images.count == r.entries.filter { $0.handwritingPNG != nil }.count)
    }

    @Test func tieAwaitingItsLotteryShowsAsSuch() throws {
        let (definition, session) = try ReportFixtures.closedSession(until: .beforeLottery)
        let result = session.state.result()
        #expect(result.phase == .ranking)
        let document = ReportComposer.compose(result: result, session: Self.session, room: Self.room, signatures: nil,
                                              definition: definition)
        let text = try Self.text(try ReportPDF.render(document, createdAt: ReportComposer.creationInstant(of: result)))
        #expect(text.contains("待抽签"))
        #expect(text.contains("待抽签确定顺序后方可推荐中标候选人"))
    }

    @Test func withoutTheDefinitionTheMissingChoicesAreNamed() throws {
        let r = try Self.fixture()
        let document = ReportComposer.compose(result: r.result, session: Self.session, room: Self.room, signatures: nil)
        let text = try Self.text(try ReportPDF.render(document, createdAt: 0))
        #expect(text.contains("结果中未记录：请随报告提供会话定义"))
    }

    @Test func aBrokenSignatureImageIsRefusedWithWhatToDo() throws {
        let document = ReportDocument(title: "测试", blocks: [.image(ReportImage(png: [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5], width: 100))])
        #expect {
            try ReportPDF.render(document, createdAt: 0)
        } throws: { error in
            guard let e = error as? ReportPDFError, case .invalidImage(index: 0, _) = e else { return false }
            return e.chineseMessage.contains("请重新提交该签名")
        }
    }

    @Test func missingFontsAreRefusedWithWhatToDo() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("report-pdf-fonts-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let fonts = FontConfiguration(fontDirectory: "/nonexistent/fonts", workDirectory: work)
        #expect(throws: ReportPDFError.fontsMissing(directory: "/nonexistent/fonts")) {
            try ReportPDF.render(ReportDocument(title: "测试", blocks: []), createdAt: 0, fonts: fonts)
        }
        #expect(ReportPDFError.fontsMissing(directory: "/x").chineseMessage.contains("apt-get install fonts-noto-cjk"))
    }

    @Test func layoutBreaksLongTablesAndParagraphsAcrossPages() throws {
        let rows = (1...120).map { ["\($0)", "第\($0)行的说明文字，足够长以便换行：" + String(repeating: "评审", count: $0 % 40)] }
        let long = String(repeating: "这是一段很长的段落，用于检验段落可以跨页排版。", count: 400)
        let document = ReportDocument(title: "版式测试", runningHeader: "版式测试", blocks: [
            .heading("表格", level: 1),
            .table(GridTable(columns: [.init("序号", width: 1, alignment: .center), .init("内容", width: 6)], rows: rows)),
            .heading("段落", level: 1),
            .paragraph(long, style: .body),
            .pageBreak, .pageBreak,
            .keyValue([KeyValue("键", "值")]),
        ])
        let pdf = try ReportPDF.render(document, createdAt: 0)
        let info = try Self.poppler("pdfinfo", [], pdf: pdf)
        let pages = info.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap { Int($0.split(separator: " ").last!) } ?? 0
        #expect(pages > 5)
        let text = try Self.text(pdf)
        // The header row is repeated on every page the table runs onto.
        #expect(text.components(separatedBy: "序号内容").count - 1 > 1)
        #expect(text.contains("第1页共\(pages)页") && text.contains("第\(pages)页共\(pages)页"))
        #expect(text.contains("第120行的说明文字"))
    }
}
