internal import CPangoCairo
import Foundation

/// Which fonts the report may use, and where its private font configuration lives.
///
/// The renderer never uses the system's font configuration: it writes a `fonts.conf` that lists
/// only `fontDirectory` (and a cache folder beside it), loads that file into a fontconfig
/// configuration of its own and gives it to a pango font map of its own. Whatever else is
/// installed on the machine, or whatever `FONTCONFIG_FILE` the process has, cannot change which
/// glyphs are drawn; the process environment is left untouched (setenv in a threaded daemon is
/// unsafe). The same effect from the command line: `FONTCONFIG_FILE=<that fonts.conf>`.
public struct FontConfiguration: Sendable, Hashable {
    /// Debian's fonts-noto-cjk: Noto Sans CJK and Noto Serif CJK (the SC faces are used).
    public static let notoCJKDirectory = "/usr/share/fonts/opentype/noto"
    public static let standard = FontConfiguration()

    /// The only folder fonts are taken from.
    public var fontDirectory: String
    /// A fonts.conf to use as it is, instead of writing one (it must list the Noto CJK fonts).
    public var fontConfigFile: String?
    /// Where fonts.conf and the font cache are written: a folder of this user's, mode 0700.
    /// Default: `$TMPDIR/roomd-report-fonts-<uid>`.
    public var workDirectory: String?

    public init(fontDirectory: String = FontConfiguration.notoCJKDirectory, fontConfigFile: String? = nil,
                workDirectory: String? = nil) {
        self.fontDirectory = fontDirectory
        self.fontConfigFile = fontConfigFile
        self.workDirectory = workDirectory
    }

    var resolvedWorkDirectory: String {
        if let workDirectory { return workDirectory }
        var tmp = NSTemporaryDirectory()
        while tmp.count > 1, tmp.hasSuffix("/") { tmp.removeLast() }
        return "\(tmp)/roomd-report-fonts-\(getuid())"
    }

    /// The fonts.conf written for this configuration (a pure function of the folders).
    func fontsConf(cacheDirectory: String) -> String {
        """
        <?xml version="1.0"?>
        <!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
        <!-- Written by roomd (ReportPDF): the evaluation report sees these fonts and no others. -->
        <fontconfig>
          <dir>\(Self.xmlEscaped(fontDirectory))</dir>
          <cachedir>\(Self.xmlEscaped(cacheDirectory))</cachedir>
        </fontconfig>

        """
    }

    static func xmlEscaped(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// The families the report is set in (Debian fonts-noto-cjk).
enum FontFamily: String, CaseIterable {
    case serif = "Noto Serif CJK SC"
    case sans = "Noto Sans CJK SC"
}

/// A fontconfig configuration, pango font map and context built from one `FontConfiguration`;
/// released when the value dies. Used only under `FontEnvironment.shared`'s lock.
final class FontEnvironment {
    /// Simplified Chinese glyph forms and line breaking.
    static let language = "zh-cn"

    let configuration: FontConfiguration
    let fontConfigPath: String
    private let config: OpaquePointer
    let fontMap: UnsafeMutablePointer<PangoFontMap>
    let context: OpaquePointer
    private var descriptions: [FontKey: FontDescription] = [:]

    init(_ configuration: FontConfiguration) throws(ReportPDFError) {
        self.configuration = configuration
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configuration.fontDirectory, isDirectory: &isDirectory),
              isDirectory.boolValue else { throw .fontsMissing(directory: configuration.fontDirectory) }
        let path: String
        if let given = configuration.fontConfigFile { path = given } else { path = try Self.writeFontsConf(configuration) }
        guard let config = FcConfigCreate() else {
            throw .renderingFailed(stage: "FcConfigCreate", reason: "out of memory")
        }
        guard FcConfigParseAndLoad(config, path, 1) != 0, FcConfigBuildFonts(config) != 0 else {
            FcConfigDestroy(config)
            throw .fontConfigurationInvalid(path: path)
        }
        guard roomd_fc_font_count(config) > 0 else {
            FcConfigDestroy(config)
            throw .fontsMissing(directory: configuration.fontDirectory)
        }
        guard let map = roomd_font_map_new(config) else {
            FcConfigDestroy(config)
            throw .renderingFailed(stage: "pango_cairo_font_map_new_for_font_type", reason: "cairo has no FreeType font backend")
        }
        self.config = config
        self.fontMap = map
        self.context = roomd_context_new(map, Self.language)
        self.fontConfigPath = path
        for family in FontFamily.allCases {
            let d = description(family, size: 10, bold: false)
            var name = [CChar](repeating: 0, count: 256)
            let resolved = roomd_resolved_family(fontMap, context, d.pointer, &name, Int32(name.count)) != 0
                ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
            guard resolved == family.rawValue else {
                throw .fontNotFound(family: family.rawValue, resolvedTo: resolved, directory: configuration.fontDirectory)
            }
        }
    }

    deinit {
        descriptions = [:]
        g_object_unref(UnsafeMutableRawPointer(context))
        g_object_unref(UnsafeMutableRawPointer(fontMap))
        FcConfigDestroy(config)
    }

    struct FontKey: Hashable {
        var family: FontFamily
        var size: Double
        var bold: Bool
    }

    func description(_ family: FontFamily, size: Double, bold: Bool) -> FontDescription {
        let key = FontKey(family: family, size: size, bold: bold)
        if let d = descriptions[key] { return d }
        let d = FontDescription(family: family.rawValue, size: size, bold: bold)
        descriptions[key] = d
        return d
    }

    /// Writes fonts.conf into the work folder (only when its content changed) and returns its path.
    static func writeFontsConf(_ configuration: FontConfiguration) throws(ReportPDFError) -> String {
        let dir = configuration.resolvedWorkDirectory
        let path = dir + "/fonts.conf"
        try ensurePrivateDirectory(dir, path: path)
        try ensurePrivateDirectory(dir + "/cache", path: path)
        let text = configuration.fontsConf(cacheDirectory: dir + "/cache")
        if let existing = FileManager.default.contents(atPath: path), existing == Data(text.utf8) { return path }
        // Written beside and renamed, so a concurrent reader never sees half a file.
        let temporary = "\(path).\(getpid()).tmp"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw ReportPDFError.fontConfigurationNotWritable(path: path, reason: reason)
            }
        } catch let error as ReportPDFError {
            throw error
        } catch {
            throw .fontConfigurationNotWritable(path: path, reason: "\(error)")
        }
        return path
    }

    /// Creates `dir` with mode 0700, or accepts it if it is already a real folder of this user's
    /// that nobody else may write (a folder in /tmp could otherwise be planted by another user).
    static func ensurePrivateDirectory(_ dir: String, path: String) throws(ReportPDFError) {
        if mkdir(dir, 0o700) != 0, errno != EEXIST {
            throw .fontConfigurationNotWritable(path: path, reason: "mkdir \(dir): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(dir, &info) == 0 else {
            throw .fontConfigurationNotWritable(path: path, reason: "lstat \(dir): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw .fontConfigurationNotWritable(path: path, reason: "\(dir) is not a folder (a symbolic link or file is in the way)")
        }
        guard info.st_uid == getuid(), info.st_mode & 0o022 == 0 else {
            throw .fontConfigurationNotWritable(path: path, reason: "\(dir) belongs to another user or is writable by others")
        }
    }
}

/// A pango font description, freed when the value dies.
final class FontDescription {
    let pointer: OpaquePointer

    init(family: String, size: Double, bold: Bool) {
        pointer = pango_font_description_new()
        pango_font_description_set_family(pointer, family)
        pango_font_description_set_weight(pointer, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        pango_font_description_set_absolute_size(pointer, size * Double(PANGO_SCALE))
    }

    deinit { pango_font_description_free(pointer) }
}
