internal import Canonical
internal import CPangoCairo
import Synchronization

/// Renders a `ReportDocument` to an A4 PDF with cairo and pango, fonts embedded and subset.
///
/// Deterministic: the same document, instant, fonts and library versions give byte-identical
/// output. cairo writes no random ids; its only clock reading, the creation date, is replaced by
/// `createdAt` (CreationDate and ModDate); fonts come only from the private configuration of
/// `FontConfiguration`; text is shaped for the language `zh-cn`.
public enum ReportPDF {
    /// A4 in points.
    public static let pageWidth = 595.2756
    public static let pageHeight = 841.8898

    /// pango and fontconfig are not safe to share between threads: one render at a time, with one
    /// font environment kept between renders (built again when the configuration changes).
    private static let environment = Mutex<FontEnvironment?>(nil)

    /// The PDF bytes of `document`, dated `createdAt` (milliseconds since 1970-01-01T00:00:00Z; for
    /// the evaluation report, `ReportComposer.creationInstant(of:)`).
    public static func render(_ document: ReportDocument, createdAt: Int64,
                              fonts: FontConfiguration = .standard) throws(ReportPDFError) -> [UInt8] {
        try environment.withLock { (cached: inout FontEnvironment?) throws(ReportPDFError) -> [UInt8] in
            let fontEnvironment: FontEnvironment
            if let existing = cached, existing.configuration == fonts {
                fontEnvironment = existing
            } else {
                cached = nil
                fontEnvironment = try FontEnvironment(fonts)
                cached = fontEnvironment
            }
            return try Renderer(document: document, fonts: fontEnvironment).render(createdAt: createdAt)
        }
    }

    /// The fonts.conf the renderer uses for `fonts` (written if needed): run `pdffonts` or
    /// `FONTCONFIG_FILE=<this> fc-match 'Noto Serif CJK SC'` to see what it selects.
    public static func fontConfigFile(for fonts: FontConfiguration = .standard) throws(ReportPDFError) -> String {
        if let given = fonts.fontConfigFile { return given }
        return try FontEnvironment.writeFontsConf(fonts)
    }
}

/// One piece of a page, positioned.
private enum Op {
    case text(TextBox, lines: Range<Int>, x: Double, y: Double, gray: Double)
    case fill(x: Double, y: Double, width: Double, height: Double, gray: Double)
    case frame(x: Double, y: Double, width: Double, height: Double)
    case image(ImageSurface, x: Double, y: Double, width: Double, height: Double)
}

private struct OutlineEntry {
    var title: String
    var level: Int
    var page: Int
    var y: Double
}

/// Where the next block goes, and the pages so far.
private struct Flow {
    var pages: [[Op]] = [[]]
    var outline: [OutlineEntry] = []
    let top: Double
    var bottom: Double
    var y: Double

    init(top: Double, bottom: Double) {
        self.top = top
        self.bottom = bottom
        self.y = top
    }

    var remaining: Double { bottom - y }
    var atTop: Bool { y <= top }
    var pageBody: Double { bottom - top }

    mutating func add(_ op: Op) { pages[pages.count - 1].append(op) }

    mutating func newPage() {
        pages.append([])
        y = top
    }
}

private final class Renderer {
    let document: ReportDocument
    let fonts: FontEnvironment
    let context: OpaquePointer

    static let marginX = 56.7           // 20 mm
    static let marginTop = 62.0
    static let marginBottom = 62.0
    static let cellPaddingX = 3.0
    static let cellPaddingY = 2.5
    static let rule = 0.5
    let contentWidth = ReportPDF.pageWidth - 2 * Renderer.marginX
    var imageCount = 0

    init(document: ReportDocument, fonts: FontEnvironment) {
        self.document = document
        self.fonts = fonts
        self.context = fonts.context
    }

    func text(_ s: String, _ family: FontFamily, size: Double, bold: Bool = false, width: Double,
              alignment: GridTable.Alignment = .leading, justify: Bool = false) -> TextBox {
        TextBox(context: context, text: s, font: fonts.description(family, size: size, bold: bold), width: width,
                alignment: alignment, justify: justify)
    }

    func render(createdAt: Int64) throws(ReportPDFError) -> [UInt8] {
        let canvas = try PDFCanvas(width: ReportPDF.pageWidth, height: ReportPDF.pageHeight)
        let date = CivilTime.iso8601(seconds: createdAt >= 0 ? createdAt / 1000 : (createdAt - 999) / 1000)
        canvas.setMetadata(CAIRO_PDF_METADATA_TITLE, document.metadata.title ?? document.title)
        canvas.setMetadata(CAIRO_PDF_METADATA_AUTHOR, document.metadata.author)
        canvas.setMetadata(CAIRO_PDF_METADATA_SUBJECT, document.metadata.subject)
        canvas.setMetadata(CAIRO_PDF_METADATA_KEYWORDS, document.metadata.keywords)
        canvas.setMetadata(CAIRO_PDF_METADATA_CREATOR, document.metadata.creator)
        canvas.setMetadata(CAIRO_PDF_METADATA_CREATE_DATE, date)
        canvas.setMetadata(CAIRO_PDF_METADATA_MOD_DATE, date)
        // Before the first layout: the context takes the surface's font options now, not mid-way.
        pango_cairo_update_context(canvas.cr, context)

        var flow = Flow(top: Renderer.marginTop, bottom: ReportPDF.pageHeight - Renderer.marginBottom)
        titleBlock(&flow)
        for block in document.blocks { try place(block, &flow) }

        let total = flow.pages.count
        for (index, ops) in flow.pages.enumerated() {
            draw(ops, canvas.cr)
            pageFurniture(page: index + 1, of: total, canvas.cr)
            cairo_show_page(canvas.cr)
        }
        var parents: [Int: Int32] = [:]
        for entry in flow.outline {
            let parent = entry.level <= 1 ? Int32(CAIRO_PDF_OUTLINE_ROOT) : (parents[entry.level - 1] ?? Int32(CAIRO_PDF_OUTLINE_ROOT))
            let target = "page=\(entry.page + 1) pos=[\(Renderer.marginX) \(Int(entry.y))]"
            parents[entry.level] = cairo_pdf_surface_add_outline(canvas.surface, parent, entry.title, target, cairo_pdf_outline_flags_t(0))
        }
        return try canvas.finish()
    }

    // MARK: Layout

    func titleBlock(_ flow: inout Flow) {
        let title = text(document.title, .sans, size: 18, bold: true, width: contentWidth, alignment: .center)
        flow.add(.text(title, lines: 0..<title.lines.count, x: Renderer.marginX, y: flow.y, gray: 0))
        flow.y += title.height + 6
        for line in document.subtitle {
            let box = text(line, .serif, size: 11, width: contentWidth, alignment: .center)
            flow.add(.text(box, lines: 0..<box.lines.count, x: Renderer.marginX, y: flow.y, gray: 0.2))
            flow.y += box.height + 2
        }
        flow.y += 14
    }

    func place(_ block: ReportBlock, _ flow: inout Flow) throws(ReportPDFError) {
        switch block {
        case let .heading(title, level):
            let size = level <= 1 ? 14.0 : 11.5
            let box = text(title, .sans, size: size, bold: true, width: contentWidth)
            let before = flow.atTop ? 0 : (level <= 1 ? 12.0 : 7.0)
            // Keep with what follows: the heading and about three lines of it.
            if flow.remaining < before + box.height + 48, !flow.atTop { flow.newPage() } else { flow.y += before }
            flow.outline.append(OutlineEntry(title: title, level: level, page: flow.pages.count - 1, y: flow.y))
            flow.add(.text(box, lines: 0..<box.lines.count, x: Renderer.marginX, y: flow.y, gray: 0))
            flow.y += box.height + (level <= 1 ? 6 : 4)

        case let .paragraph(s, style):
            let box: TextBox
            let gray: Double
            switch style {
            case .body: box = text(s, .serif, size: 10.5, width: contentWidth, justify: true); gray = 0
            case .note: box = text(s, .serif, size: 9, width: contentWidth, justify: true); gray = 0.3
            case .emphasis: box = text(s, .sans, size: 10.5, bold: true, width: contentWidth); gray = 0
            }
            var next = 0
            while next < box.lines.count {
                let end = box.linesFitting(from: next, room: flow.remaining, force: flow.atTop)
                if end == next { flow.newPage(); continue }
                flow.add(.text(box, lines: next..<end, x: Renderer.marginX, y: flow.y, gray: gray))
                flow.y += box.height(from: next, to: end)
                next = end
                if next < box.lines.count { flow.newPage() }
            }
            flow.y += 5

        case let .keyValue(pairs):
            let table = GridTable(columns: [.init("", width: 0.28), .init("", width: 0.72)],
                                  rows: pairs.map { [$0.key, $0.value] }, header: false, fontSize: 9.5, shadeFirstColumn: true)
            placeTable(table, &flow)

        case let .table(table):
            placeTable(table, &flow)

        case let .image(image):
            let index = imageCount
            imageCount += 1
            let surface = try ImageSurface(png: image.png, index: index)
            var width = min(image.width, contentWidth)
            var height = width * surface.height / surface.width
            let caption = image.caption.map { text($0, .serif, size: 8.5, width: contentWidth) }
            let captionHeight = caption.map { $0.height + 2 } ?? 0
            if height + captionHeight > flow.pageBody {
                height = flow.pageBody - captionHeight
                width = height * surface.width / surface.height
            }
            if flow.remaining < height + captionHeight { flow.newPage() }
            flow.add(.image(surface, x: Renderer.marginX, y: flow.y, width: width, height: height))
            flow.y += height + 2
            if let caption {
                flow.add(.text(caption, lines: 0..<caption.lines.count, x: Renderer.marginX, y: flow.y, gray: 0.3))
                flow.y += caption.height
            }
            flow.y += 6

        case .pageBreak:
            if !flow.atTop { flow.newPage() }

        case let .spacer(points):
            flow.y = min(flow.y + max(points, 0), flow.bottom)

        case let .keepTogether(blocks):
            var probe = Flow(top: 0, bottom: .infinity)
            let savedImages = imageCount
            for b in blocks { try place(b, &probe) }
            imageCount = savedImages
            if probe.y > flow.remaining, probe.y <= flow.pageBody, !flow.atTop { flow.newPage() }
            for b in blocks { try place(b, &flow) }
        }
    }

    /// A table: rows move whole to the next page (header repeated); a row taller than a page is
    /// split between lines.
    func placeTable(_ table: GridTable, _ flow: inout Flow) {
        guard !table.columns.isEmpty else { return }
        let totalWeight = table.columns.reduce(0) { $0 + max($1.width, 0.0001) }
        let widths = table.columns.map { contentWidth * max($0.width, 0.0001) / totalWeight }
        var xs: [Double] = []
        var x = Renderer.marginX
        for w in widths { xs.append(x); x += w }
        let px = Renderer.cellPaddingX, py = Renderer.cellPaddingY
        let size = table.fontSize

        let header: [TextBox]? = table.header
            ? table.columns.enumerated().map { i, c in text(c.title, .sans, size: size, bold: true, width: widths[i] - 2 * px, alignment: .center) }
            : nil
        let headerHeight = header.map { cells in cells.map(\.height).max()! + 2 * py } ?? 0

        func drawHeader(_ flow: inout Flow) {
            guard let header else { return }
            for (i, cell) in header.enumerated() {
                flow.add(.fill(x: xs[i], y: flow.y, width: widths[i], height: headerHeight, gray: 0.88))
                flow.add(.frame(x: xs[i], y: flow.y, width: widths[i], height: headerHeight))
                flow.add(.text(cell, lines: 0..<cell.lines.count, x: xs[i] + px, y: flow.y + py, gray: 0))
            }
            flow.y += headerHeight
        }

        // A table starts where its header and first row fit.
        var rowsOnPage = 0
        let firstRowHeight: Double = table.rows.first.map { row in
            table.columns.indices.map { i in
                text(i < row.count ? row[i] : "", .serif, size: size, width: widths[i] - 2 * px).height
            }.max()! + 2 * py
        } ?? 0
        if flow.remaining < headerHeight + min(firstRowHeight, flow.pageBody / 3), !flow.atTop { flow.newPage() }
        drawHeader(&flow)

        for row in table.rows {
            let cells: [TextBox] = table.columns.indices.map { i in
                let bold = table.shadeFirstColumn && i == 0
                return text(i < row.count ? row[i] : "", bold ? .sans : .serif, size: size, bold: bold,
                            width: widths[i] - 2 * px, alignment: table.columns[i].alignment)
            }
            var next = [Int](repeating: 0, count: cells.count)
            while true {
                let needed = cells.indices.map { cells[$0].height(from: next[$0], to: cells[$0].lines.count) }.max()! + 2 * py
                if needed <= flow.remaining {
                    drawRow(cells, from: next, to: cells.map(\.lines.count), height: needed, xs: xs, widths: widths,
                            shadeFirst: table.shadeFirstColumn, &flow)
                    rowsOnPage += 1
                    break
                }
                if rowsOnPage > 0 || flow.remaining < 3 * py + 14 {
                    // Whole rows go to the next page, under the header again.
                    flow.newPage()
                    drawHeader(&flow)
                    rowsOnPage = 0
                    continue
                }
                // Taller than what is left of a page with no row on it: split between lines.
                let room = flow.remaining - 2 * py
                var ends = next
                for i in cells.indices { ends[i] = cells[i].linesFitting(from: next[i], room: room, force: false) }
                if ends == next { for i in cells.indices where next[i] < cells[i].lines.count { ends[i] = next[i] + 1 } }
                let chunk = cells.indices.map { cells[$0].height(from: next[$0], to: ends[$0]) }.max()! + 2 * py
                drawRow(cells, from: next, to: ends, height: min(chunk, flow.remaining), xs: xs, widths: widths,
                        shadeFirst: table.shadeFirstColumn, &flow)
                next = ends
                flow.newPage()
                drawHeader(&flow)
                rowsOnPage = 0
            }
        }
        flow.y += 8
    }

    func drawRow(_ cells: [TextBox], from: [Int], to: [Int], height: Double, xs: [Double], widths: [Double],
                 shadeFirst: Bool, _ flow: inout Flow) {
        for (i, cell) in cells.enumerated() {
            if shadeFirst, i == 0 { flow.add(.fill(x: xs[i], y: flow.y, width: widths[i], height: height, gray: 0.94)) }
            flow.add(.frame(x: xs[i], y: flow.y, width: widths[i], height: height))
            if to[i] > from[i] {
                flow.add(.text(cell, lines: from[i]..<to[i], x: xs[i] + Renderer.cellPaddingX, y: flow.y + Renderer.cellPaddingY, gray: 0))
            }
        }
        flow.y += height
    }

    // MARK: Drawing

    func draw(_ ops: [Op], _ cr: OpaquePointer) {
        for op in ops {
            switch op {
            case let .text(box, lines, x, y, gray):
                cairo_set_source_rgb(cr, gray, gray, gray)
                box.draw(cr, lines: lines, x: x, y: y)
            case let .fill(x, y, width, height, gray):
                cairo_set_source_rgb(cr, gray, gray, gray)
                cairo_rectangle(cr, x, y, width, height)
                cairo_fill(cr)
            case let .frame(x, y, width, height):
                cairo_set_source_rgb(cr, 0.35, 0.35, 0.35)
                cairo_set_line_width(cr, Renderer.rule)
                cairo_rectangle(cr, x, y, width, height)
                cairo_stroke(cr)
            case let .image(image, x, y, width, height):
                cairo_save(cr)
                cairo_translate(cr, x, y)
                cairo_scale(cr, width / image.width, height / image.height)
                cairo_set_source_surface(cr, image.surface, 0, 0)
                cairo_paint(cr)
                cairo_restore(cr)
            }
        }
    }

    /// Running header and "第 n 页 共 m 页".
    func pageFurniture(page: Int, of total: Int, _ cr: OpaquePointer) {
        if let header = document.runningHeader {
            let box = text(header, .serif, size: 8, width: contentWidth)
            cairo_set_source_rgb(cr, 0.35, 0.35, 0.35)
            box.draw(cr, lines: 0..<min(1, box.lines.count), x: Renderer.marginX, y: 34)
            cairo_set_line_width(cr, Renderer.rule)
            cairo_move_to(cr, Renderer.marginX, 34 + box.height(from: 0, to: min(1, box.lines.count)) + 3)
            cairo_rel_line_to(cr, contentWidth, 0)
            cairo_stroke(cr)
        }
        let footer = text("第 \(page) 页 共 \(total) 页", .serif, size: 9, width: contentWidth, alignment: .center)
        cairo_set_source_rgb(cr, 0, 0, 0)
        footer.draw(cr, lines: 0..<footer.lines.count, x: Renderer.marginX, y: ReportPDF.pageHeight - 40)
    }
}
