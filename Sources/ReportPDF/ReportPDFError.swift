/// Why a report could not be rendered: what happened and what to do, in Chinese for the operator
/// and in English for the log.
public enum ReportPDFError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The font folder is missing or holds no font fontconfig can read.
    case fontsMissing(directory: String)
    /// A family the report needs resolves to another font (the folder lacks it).
    case fontNotFound(family: String, resolvedTo: String?, directory: String)
    /// The private font configuration could not be written (folder not creatable, not ours, disk full).
    case fontConfigurationNotWritable(path: String, reason: String)
    /// fontconfig refused the configuration file.
    case fontConfigurationInvalid(path: String)
    /// An image block is not a PNG cairo can read.
    case invalidImage(index: Int, reason: String)
    /// cairo failed while writing the PDF.
    case renderingFailed(stage: String, reason: String)

    public var chineseMessage: String {
        switch self {
        case .fontsMissing(let dir):
            "未找到报告所需的思源（Noto CJK）字体：字体目录 \(dir) 不存在或为空。请安装字体包 fonts-noto-cjk（apt-get install fonts-noto-cjk）后重新生成报告。"
        case .fontNotFound(let family, let resolved, let dir):
            "字体目录 \(dir) 中缺少字体「\(family)」\(resolved.map { "（当前会被替换为「\($0)」）" } ?? "")。请安装字体包 fonts-noto-cjk 后重新生成报告；不得以其他字体代替，否则报告无法逐字节复现。"
        case .fontConfigurationNotWritable(let path, let reason):
            "无法写入报告专用的字体配置 \(path)（\(reason)）。请检查该目录的权限与磁盘空间，或在配置中指定可写的目录后重试。"
        case .fontConfigurationInvalid(let path):
            "字体配置文件 \(path) 无法被 fontconfig 读取。请删除该文件后重试（会自动重新生成），或检查所配置的文件内容。"
        case .invalidImage(let index, let reason):
            "报告中的第 \(index + 1) 个图片（如手写签名）不是有效的 PNG 图片（\(reason)）。请重新提交该签名后再生成报告。"
        case .renderingFailed(let stage, let reason):
            "生成 PDF 失败（\(stage)：\(reason)）。请检查磁盘空间与内存后重试；如仍失败，请保留日志并联系技术支持。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .fontsMissing(let dir):
            "the Noto CJK fonts are missing: \(dir) does not exist or holds no font; install fonts-noto-cjk and render again"
        case .fontNotFound(let family, let resolved, let dir):
            "font family \(family) is not in \(dir)\(resolved.map { " (it would be replaced by \($0))" } ?? ""); install fonts-noto-cjk — a substitute font would make the report irreproducible"
        case .fontConfigurationNotWritable(let path, let reason):
            "cannot write the report's private font configuration \(path): \(reason); check the folder's owner, permissions and free space, or configure a writable folder"
        case .fontConfigurationInvalid(let path):
            "fontconfig cannot read \(path); delete it to have it written again, or fix the configured file"
        case .invalidImage(let index, let reason):
            "image block \(index + 1) is not a PNG cairo can read (\(reason)); submit the handwritten signature again"
        case .renderingFailed(let stage, let reason):
            "PDF rendering failed at \(stage): \(reason); check free disk space and memory and retry"
        }
    }

    public var description: String { "\(englishMessage) / \(chineseMessage)" }
}
