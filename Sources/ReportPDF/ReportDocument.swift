/// A document to print: a title and a flow of blocks, laid out on A4 pages by `ReportPDF.render`.
///
/// The model knows nothing of procurement: `ReportComposer` turns an `EvaluationResult` into one.
/// Everything is plain values, so the same document renders to the same bytes.
public struct ReportDocument: Sendable, Equatable {
    /// Printed large and centred at the top of the first page; also the PDF's title unless
    /// `metadata.title` says otherwise.
    public var title: String
    /// Lines under the title (e.g. the project number and the report version).
    public var subtitle: [String]
    /// Small text at the top of every page (e.g. "项目编号 … 评审报告 第 1 版"); nil for none.
    public var runningHeader: String?
    public var metadata: ReportMetadata
    public var blocks: [ReportBlock]

    public init(title: String, subtitle: [String] = [], runningHeader: String? = nil,
                metadata: ReportMetadata = ReportMetadata(), blocks: [ReportBlock]) {
        self.title = title
        self.subtitle = subtitle
        self.runningHeader = runningHeader
        self.metadata = metadata
        self.blocks = blocks
    }
}

/// The PDF's document information. The dates are not here: they come from the instant given to
/// `ReportPDF.render` so that nothing depends on when the file was written.
public struct ReportMetadata: Sendable, Equatable {
    public var title: String?
    public var author: String?
    public var subject: String?
    public var keywords: String?
    public var creator: String?

    public init(title: String? = nil, author: String? = nil, subject: String? = nil, keywords: String? = nil,
                creator: String? = nil) {
        self.title = title
        self.author = author
        self.subject = subject
        self.keywords = keywords
        self.creator = creator
    }
}

public enum ReportBlock: Sendable, Equatable {
    /// Level 1 (section, in the PDF outline) or 2 (subsection). Kept on the page of what follows it.
    case heading(String, level: Int)
    case paragraph(String, style: ParagraphStyle)
    /// Two columns, the keys shaded: for facts like 项目名称 → 教学设备采购.
    case keyValue([KeyValue])
    /// A grid with an optional header row, repeated on every page the table runs onto.
    case table(GridTable)
    case image(ReportImage)
    /// Starts a new page (nothing happens at the top of an empty page).
    case pageBreak
    /// Vertical space in points.
    case spacer(Double)
    /// Moved whole to the next page when it does not fit on this one (and does fit on a page).
    case keepTogether([ReportBlock])
}

public enum ParagraphStyle: String, Sendable, Equatable {
    /// Serif, 10.5 pt (五号).
    case body
    /// Serif, 9 pt, grey: explanations and notes.
    case note
    /// Sans bold, 10.5 pt.
    case emphasis
}

public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

public struct GridTable: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var title: String
        /// Relative width: the columns share the text width in proportion to these.
        public var width: Double
        public var alignment: Alignment
        public init(_ title: String, width: Double, alignment: Alignment = .leading) {
            self.title = title
            self.width = width
            self.alignment = alignment
        }
    }

    public enum Alignment: String, Sendable, Equatable { case leading, center, trailing }

    public var columns: [Column]
    /// Each row has one text per column (missing cells print empty, extra cells are ignored).
    public var rows: [[String]]
    /// Print the column titles as a shaded header row (repeated after each page break).
    public var header: Bool
    /// Text size in points (default 9; 8 suits wide tables).
    public var fontSize: Double
    /// Shade the first column (key–value tables).
    public var shadeFirstColumn: Bool

    public init(columns: [Column], rows: [[String]], header: Bool = true, fontSize: Double = 9,
                shadeFirstColumn: Bool = false) {
        self.columns = columns
        self.rows = rows
        self.header = header
        self.fontSize = fontSize
        self.shadeFirstColumn = shadeFirstColumn
    }
}

/// A PNG image (e.g. a handwritten signature as `HandwrittenSignature.png` draws it).
public struct ReportImage: Sendable, Equatable {
    public var png: [UInt8]
    /// Printed width in points; the height follows the image's aspect ratio. Shrunk to fit the page.
    public var width: Double
    /// A line of small text under the image.
    public var caption: String?

    public init(png: [UInt8], width: Double, caption: String? = nil) {
        self.png = png
        self.width = width
        self.caption = caption
    }
}
