public import Foundation

/// The one encoding of evidence: every byte roomd hashes or signs that is
/// JSON — ledger entries and their payloads, signing challenges, handwritten
/// signatures, rosters, the engine's results and notices — is produced here
/// (docs/formats.md, "Canonical JSON", with test vectors). Its anchor is RFC
/// 8785 (JCS); it differs from JCS where evidence needs it:
///
/// - strings are NFC-normalised before they are written, and object keys
///   sorted by the bytes of their NFC UTF-8 form (JCS: no normalisation,
///   keys sorted by UTF-16 code units) — the same name typed on two systems
///   hashes the same;
/// - numbers are integers (Int64, exact: ledger times are nanoseconds beyond
///   2^53, which JCS's IEEE doubles cannot hold) or decimal literals written as
///   given (`decimal`: amounts already rounded to the decimals the documents
///   fix, e.g. "150000.00"); no binary floating point is ever formatted;
/// - escapes are RFC 8259's minimum (quote, backslash, C0 controls; \b \f \n
///   \r \t short forms, else \u00xx lowercase) — identical to JCS's;
/// - duplicate keys (after NFC) are an error, and nesting is bounded.
///
/// Foundation only: Evaluation, which must stay pure, builds on it too.
public enum CanonicalJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// A decimal number literal, written as given (validated: RFC 8259 number
    /// syntax). Never in ledger entries, which hold integers only.
    case decimal(String)
    case string(String)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])
}

public enum CanonicalJSONError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Two object keys are equal after NFC normalisation, so their order would be ambiguous.
    case duplicateKey(String)
    case syntax(offset: Int, reason: String)
    /// Deeper than `CanonicalJSON.maximumDepth`: refused on append so every stored
    /// entry stays readable by the verifier, which has the same bound.
    case tooDeep
    /// A `decimal` whose text is not a JSON number.
    case badNumber(String)

    public var description: String {
        switch self {
        case .badNumber(let text): "\"\(text)\" is not a JSON number literal"
        case .duplicateKey(let key): "duplicate JSON object key \"\(key)\" (after NFC normalisation)"
        case .syntax(let offset, let reason): "invalid JSON at byte \(offset): \(reason)"
        case .tooDeep: "JSON nested deeper than \(CanonicalJSON.maximumDepth) levels"
        }
    }
}

extension CanonicalJSON {
    /// The canonical encoding: object keys sorted by the bytes of their NFC UTF-8
    /// form, strings NFC-normalised, minimal escapes, no whitespace.
    public func canonicalBytes() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try encode(into: &out, depth: 0)
        return out
    }

    public func canonicalData() throws -> Data { Data(try canonicalBytes()) }

    /// Arrays and objects nest at most this deep (the entry object itself not counted).
    public static let maximumDepth = 64

    /// Appends the canonical bytes; with `decimals: false` (the ledger) a
    /// decimal anywhere is an error.
    public func encode(into out: inout [UInt8], depth: Int, decimals: Bool = true) throws {
        guard depth < Self.maximumDepth else { throw CanonicalJSONError.tooDeep }
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .decimal(let literal):
            guard decimals, Self.isNumberLiteral(Array(literal.utf8)) else { throw CanonicalJSONError.badNumber(literal) }
            out.append(contentsOf: literal.utf8)
        case .string(let value): Self.encodeString(Self.nfc(value), into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (i, value) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try value.encode(into: &out, depth: depth + 1, decimals: decimals)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            var keyed: [(key: [UInt8], value: CanonicalJSON)] = members.map { (Array(Self.nfc($0.key).utf8), $0.value) }
            keyed.sort { $0.key.lexicographicallyPrecedes($1.key) }
            out.append(UInt8(ascii: "{"))
            for (i, member) in keyed.enumerated() {
                if i > 0 {
                    if keyed[i - 1].key == member.key {
                        throw CanonicalJSONError.duplicateKey(String(decoding: member.key, as: UTF8.self))
                    }
                    out.append(UInt8(ascii: ","))
                }
                Self.encodeString(String(decoding: member.key, as: UTF8.self), into: &out)
                out.append(UInt8(ascii: ":"))
                try member.value.encode(into: &out, depth: depth + 1, decimals: decimals)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// NFC, skipping ICU for ASCII (which is always NFC) because most ledger text is ASCII.
    public static func nfc(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        return s.precomposedStringWithCanonicalMapping
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Escapes only what RFC 8259 requires: quote, backslash and C0 controls
    /// (short forms where they exist, else \u00xx in lowercase). Everything else,
    /// including "/", DEL and U+2028, is written as raw UTF-8.
    public static func encodeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Fast path, the common case: nothing to escape, copy the bytes at once.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Parsing

extension CanonicalJSON {
    /// Parses RFC 8259 JSON (any whitespace, any escapes) into a value, and
    /// nothing more lenient: no trailing commas, comments or NaN; duplicate keys
    /// and lone surrogates are rejected; nesting is bounded. Numbers must be
    /// integers that fit Int64, unless `decimals`, when other numbers are kept
    /// as their literal text (`decimal`). Use `canonicalBytes()` on the result
    /// to test canonical form.
    public init(parsing bytes: some Collection<UInt8>, decimals: Bool = false) throws {
        var parser = Parser(bytes: Array(bytes), decimals: decimals)
        parser.skipWhitespace()
        self = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("trailing characters after the value") }
    }

    public init(parsing text: String, decimals: Bool = false) throws { try self.init(parsing: Array(text.utf8), decimals: decimals) }

    private struct Parser {
        let bytes: [UInt8]
        let decimals: Bool
        var index = 0

        init(bytes: [UInt8], decimals: Bool) {
            self.bytes = bytes
            self.decimals = decimals
        }

        func error(_ reason: String) -> CanonicalJSONError { .syntax(offset: index, reason: reason) }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let lit = Array(literal.utf8)
            guard bytes.count - index >= lit.count, Array(bytes[index..<index + lit.count]) == lit else {
                throw error("expected \(literal)")
            }
            index += lit.count
        }

        mutating func value(depth: Int) throws -> CanonicalJSON {
            // Bounded so hostile exports cannot exhaust the stack of the verifier.
            guard depth < CanonicalJSON.maximumDepth else { throw CanonicalJSONError.tooDeep }
            guard index < bytes.count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                index += 1
                var values: [CanonicalJSON] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                while true {
                    skipWhitespace()
                    values.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw error("unterminated array") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                    throw error("expected , or ] in array")
                }
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: CanonicalJSON] = [:]
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key string") }
                    let key = try string()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected :") }
                    index += 1
                    skipWhitespace()
                    let member = try value(depth: depth + 1)
                    // String equality is canonical equivalence, so keys equal after NFC collide here too.
                    if members[key] != nil {
                        throw CanonicalJSONError.duplicateKey(key)
                    }
                    members[key] = member
                    skipWhitespace()
                    guard index < bytes.count else { throw error("unterminated object") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                    throw error("expected , or } in object")
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                throw error("unexpected character")
            }
        }

        mutating func number() throws -> CanonicalJSON {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digitsStart else { throw error("expected digits") }
            if bytes[digitsStart] == UInt8(ascii: "0") && index - digitsStart > 1 { throw error("leading zero") }
            if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
                guard decimals else { throw error("only integers are allowed; write decimals as strings") }
                if bytes[index] == UInt8(ascii: ".") {
                    index += 1
                    let fraction = index
                    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                    guard index > fraction else { throw error("expected digits after the decimal point") }
                }
                if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                    index += 1
                    if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                    let exponent = index
                    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                    guard index > exponent else { throw error("expected exponent digits") }
                }
                return .decimal(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            guard let value = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                guard decimals else { throw error("integer out of the Int64 range") }
                return .decimal(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            return .integer(value)
        }

        mutating func hex4() throws -> UInt32 {
            guard bytes.count - index >= 4 else { throw error("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: throw error("bad hex digit in \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        mutating func string() throws -> String {
            index += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let c = bytes[index]
                if c == UInt8(ascii: "\"") { index += 1; break }
                if c < 0x20 { throw error("raw control character in string") }
                if c != UInt8(ascii: "\\") { out.append(c); index += 1; continue }
                index += 1
                guard index < bytes.count else { throw error("unterminated escape") }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("lone high surrogate") }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("bad low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("lone low surrogate")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("unknown escape")
                }
            }
            // Invalid UTF-8 is an error, not silently repaired: repair would change the hash.
            guard let text = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
            return text
        }
    }
}

extension CanonicalJSON {
    /// Whether `bytes` are exactly one RFC 8259 number.
    static func isNumberLiteral(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        var parser = Parser(bytes: bytes, decimals: true)
        guard let value = try? parser.number(), parser.index == bytes.count else { return false }
        return value.isNumber
    }

    var isNumber: Bool {
        switch self {
        case .integer, .decimal: true
        default: false
        }
    }

    /// The canonical bytes of any Encodable value: Foundation's encoder makes
    /// JSON of it, which is parsed (numbers kept as literals) and written out
    /// canonically. Values with binary floating point have no place in evidence.
    public static func canonicalBytes(encoding value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try CanonicalJSON(parsing: Array(try encoder.encode(value)), decimals: true).canonicalBytes()
    }

    /// `canonicalBytes(encoding:)` as Data.
    public static func encode(_ value: some Encodable) throws -> Data { Data(try canonicalBytes(encoding: value)) }

    /// Decodes what `encode` (or any strict JSON) wrote.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        _ = try CanonicalJSON(parsing: Array(data), decimals: true)
        return try JSONDecoder().decode(type, from: data)
    }

    /// The canonical bytes as text.
    public var canonicalText: String {
        get throws { String(decoding: try canonicalBytes(), as: UTF8.self) }
    }

    /// Convenience accessors for readers of entries.
    public subscript(key: String) -> CanonicalJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var integerValue: Int64? { if case .integer(let i) = self { i } else { nil } }
    public var arrayValue: [CanonicalJSON]? { if case .array(let a) = self { a } else { nil } }
}

extension CanonicalJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: CanonicalJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, CanonicalJSON)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
    public init(nilLiteral: ()) { self = .null }
}
