import Foundation
import GRDB

/// Looks for resident ID numbers in everything roomd wrote or answered, in
/// every encoding a program might produce from one: the text itself (either
/// case of a final X), hex of its UTF-8, hex of its DER encodings
/// (PrintableString, UTF8String, IA5String, with and without tag and length),
/// and base64 of all of those at each of the three byte alignments a longer
/// base64 text can put them at.
///
/// Independent of roomd's code on purpose: it knows nothing of how roomd
/// redacts, only what an ID number looks like once written down.
struct PersonalDataScanner {
    struct Needle {
        var idNumber: String
        var encoding: String
        var bytes: [UInt8]
    }

    struct Finding: CustomStringConvertible {
        var place: String
        var idNumber: String
        var encoding: String
        var context: String

        var description: String { "\(place): \(idNumber) as \(encoding) … \(context)" }
    }

    let needles: [Needle]
    /// Needles by their first four bytes (every needle is longer).
    private let byPrefix: [UInt32: [Int]]

    init(idNumbers: [String]) {
        var needles: [Needle] = []
        for id in idNumbers {
            let forms = Set([id, id.uppercased(), id.lowercased()])
            for form in forms {
                let utf8 = Array(form.utf8)
                needles.append(Needle(idNumber: id, encoding: "text", bytes: utf8))
                var binaries: [(String, [UInt8])] = [("UTF-8", utf8), ("length+value", [UInt8(utf8.count)] + utf8)]
                for (tag, name) in [(0x13, "PrintableString"), (0x0C, "UTF8String"), (0x16, "IA5String")] {
                    binaries.append(("DER \(name)", [UInt8(tag), UInt8(utf8.count)] + utf8))
                }
                for (name, bytes) in binaries {
                    let hex = bytes.map { String(format: "%02x", $0) }.joined()
                    needles.append(Needle(idNumber: id, encoding: "lower hex of \(name)", bytes: Array(hex.utf8)))
                    needles.append(Needle(idNumber: id, encoding: "upper hex of \(name)", bytes: Array(hex.uppercased().utf8)))
                    for shift in 0..<3 {
                        let core = Self.base64Core(bytes, shift: shift)
                        needles.append(Needle(idNumber: id, encoding: "base64 of \(name) (offset \(shift))", bytes: Array(core.utf8)))
                        let url = core.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                        if url != core {
                            needles.append(Needle(idNumber: id, encoding: "base64url of \(name) (offset \(shift))", bytes: Array(url.utf8)))
                        }
                    }
                }
            }
        }
        self.needles = needles
        var byPrefix: [UInt32: [Int]] = [:]
        for (index, needle) in needles.enumerated() { byPrefix[Self.key(needle.bytes, 0), default: []].append(index) }
        self.byPrefix = byPrefix
    }

    /// The base64 characters that depend only on `bytes` when they sit
    /// `shift` bytes into a 3-byte group of a longer text.
    static func base64Core(_ bytes: [UInt8], shift: Int) -> String {
        let encoded = Data(Array(repeating: 0, count: shift) + bytes).base64EncodedString()
            .trimmingCharacters(in: CharacterSet(charactersIn: "="))
        let dropFirst = (8 * shift + 5) / 6
        let totalBits = 8 * (shift + bytes.count)
        let dropLast = totalBits % 6 == 0 ? 0 : 1
        let characters = Array(encoded)
        return String(characters[dropFirst..<(characters.count - dropLast)])
    }

    /// Also looks through `bytes` with line breaks taken out, so base64
    /// wrapped at 64 or 76 columns (PEM, MIME) is seen whole.
    func scan(_ bytes: [UInt8], place: String) -> [Finding] {
        let unwrapped = bytes.filter { $0 != 0x0A && $0 != 0x0D }
        let found = find(in: bytes, place: place)
        guard unwrapped.count != bytes.count else { return found }
        let seen = Set(found.map { "\($0.idNumber) \($0.encoding)" })
        return found + find(in: unwrapped, place: place + " (line breaks removed)").filter { !seen.contains("\($0.idNumber) \($0.encoding)") }
    }

    /// One pass over `bytes`: needles are indexed by their first four bytes.
    private func find(in bytes: [UInt8], place: String) -> [Finding] {
        var findings: [Finding] = []
        var reported = Set<Int>()
        guard bytes.count >= 4 else { return [] }
        for start in 0...(bytes.count - 4) {
            let key = Self.key(bytes, start)
            guard let candidates = byPrefix[key] else { continue }
            for candidate in candidates where !reported.contains(candidate) {
                let needle = needles[candidate]
                guard start + needle.bytes.count <= bytes.count,
                      bytes[start..<start + needle.bytes.count].elementsEqual(needle.bytes) else { continue }
                reported.insert(candidate)
                let from = max(0, start - 40), to = min(bytes.count, start + needle.bytes.count + 40)
                findings.append(Finding(place: place, idNumber: needle.idNumber, encoding: needle.encoding,
                                        context: String(decoding: bytes[from..<to], as: UTF8.self)))
            }
        }
        return findings
    }

    private static func key(_ bytes: [UInt8], _ start: Int) -> UInt32 {
        UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8 | UInt32(bytes[start + 3])
    }

    func scan(_ text: String, place: String) -> [Finding] { scan(Array(text.utf8), place: place) }

    /// Every file below `directory`, by relative path.
    func scanFiles(under directory: String, place: String) -> [Finding] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var findings: [Finding] = []
        for case let relative as String in walker {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            findings += scan(Array(data), place: "\(place)/\(relative)")
        }
        return findings
    }

    /// Every column of every row of every table, except the named
    /// `table.column`s (where the docs say certificates are kept as evidence).
    func scanDatabase(at path: String, except protected: Set<String>) throws -> (findings: [Finding], tables: [String]) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            var findings: [Finding] = []
            for table in tables {
                let rows = try Row.fetchCursor(db, sql: "SELECT rowid AS scanner_rowid, * FROM \"\(table)\"")
                while let row = try rows.next() {
                    let rowid: Int64? = row["scanner_rowid"]
                    for (column, value) in row where column != "scanner_rowid" {
                        guard !protected.contains("\(table).\(column)") else { continue }
                        let bytes: [UInt8]
                        switch value.storage {
                        case .string(let text): bytes = Array(text.utf8)
                        case .blob(let data): bytes = Array(data)
                        case .int64(let number): bytes = Array(String(number).utf8)
                        case .double(let number): bytes = Array(String(number).utf8)
                        case .null: continue
                        }
                        findings += scan(bytes, place: "database \(table).\(column) row \(rowid.map(String.init) ?? "?")")
                    }
                }
            }
            return (findings, tables)
        }
    }
}
