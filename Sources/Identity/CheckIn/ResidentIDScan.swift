import Foundation

/// Finds resident ID numbers written down in data: as text, or hidden in hex
/// (OpenSSL's `#0C12…` for a name attribute it has no name for) or base64 (a
/// PEM or a DER blob pasted into text), one level deep. Only numbers whose
/// GB 11643 check digit is right count, so timestamps and hashes do not.
///
/// roomd never writes an ID number outside its protected places; this is how
/// operators find the ones an older roomd did write (`roomctl ledger
/// scan-personal`) and how the ledger export decides what to withhold.
public enum ResidentIDScan {
    public struct Occurrence: Sendable, Hashable {
        public enum Encoding: String, Sendable, Hashable {
            case text, hex, base64
        }

        public var encoding: Encoding
        /// "…" and the last four characters: never the number itself.
        public var redacted: String

        public init(encoding: Encoding, redacted: String) {
            self.encoding = encoding
            self.redacted = redacted
        }
    }

    public static func occurrences(in text: String) -> [Occurrence] { occurrences(in: Array(text.utf8)) }

    public static func occurrences(in bytes: [UInt8]) -> [Occurrence] {
        var found = Set<Occurrence>()
        for number in plainNumbers(in: bytes) { found.insert(Occurrence(encoding: .text, redacted: PersonalData.redacted(number))) }
        for run in runs(in: bytes, minimum: 36, of: isHexDigit) {
            for offset in 0..<2 {
                guard let decoded = decodeHex(run.dropFirst(offset)) else { continue }
                for number in plainNumbers(in: decoded, der: true) {
                    found.insert(Occurrence(encoding: .hex, redacted: PersonalData.redacted(number)))
                }
            }
        }
        for run in runs(in: bytes, minimum: 24, of: isBase64Character) {
            for decoded in base64Decodings(run) {
                for number in plainNumbers(in: decoded, der: true) {
                    found.insert(Occurrence(encoding: .base64, redacted: PersonalData.redacted(number)))
                }
            }
        }
        return found.sorted { ($0.encoding.rawValue, $0.redacted) < ($1.encoding.rawValue, $1.redacted) }
    }

    /// `text` with every ID number in it shown as "…" and its last four
    /// characters: hex and base64 runs that hide one are replaced whole, then
    /// plain numbers as ``ResidentID/redacting(_:)`` does. For text an older
    /// roomd stored (events, refusal details) on its way out of the room.
    public static func redacting(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var replacements: [(Range<Int>, String)] = []
        func hidden(_ run: ArraySlice<UInt8>, decode: (ArraySlice<UInt8>) -> [[UInt8]]) -> String? {
            for decoded in decode(run) {
                if let number = plainNumbers(in: decoded, der: true).first { return PersonalData.redacted(number) }
            }
            return nil
        }
        for run in runs(in: bytes, minimum: 36, of: isHexDigit) {
            if let shown = hidden(run, decode: { run in (0..<2).compactMap { decodeHex(run.dropFirst($0)) } }) {
                replacements.append((run.startIndex..<run.endIndex, shown))
            }
        }
        for run in runs(in: bytes, minimum: 24, of: isBase64Character)
        where !replacements.contains(where: { $0.0.overlaps(run.startIndex..<run.endIndex) }) {
            if let shown = hidden(run, decode: base64Decodings) { replacements.append((run.startIndex..<run.endIndex, shown)) }
        }
        var out: [UInt8] = []
        var cursor = 0
        for (range, shown) in replacements.sorted(by: { $0.0.lowerBound < $1.0.lowerBound }) where range.lowerBound >= cursor {
            out += bytes[cursor..<range.lowerBound]
            out += Array(shown.utf8)
            cursor = range.upperBound
        }
        out += bytes[cursor...]
        return ResidentID.redacting(String(decoding: out, as: UTF8.self))
    }

    /// A run of base64 characters decoded from each of its first four offsets.
    static func base64Decodings(_ run: ArraySlice<UInt8>) -> [[UInt8]] {
        let text = String(decoding: run, as: UTF8.self)
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            .replacingOccurrences(of: "=", with: "")
        let characters = Array(text)
        return (0..<4).compactMap { offset -> [UInt8]? in
            guard characters.count - offset >= 24 else { return nil }
            let usable = (characters.count - offset) / 4 * 4
            return Data(base64Encoded: String(characters[offset..<offset + usable])).map(Array.init)
        }
    }

    /// 17 digits and a digit or X, not inside a longer run of letters or
    /// digits, with a valid check digit. In decoded binary (`der`), a number
    /// right after a DER length of 18 counts whatever follows it (the next
    /// element's tag may be an ASCII digit).
    static func plainNumbers(in bytes: [UInt8], der: Bool = false) -> [String] {
        var numbers: [String] = []
        var index = 0
        while index + 18 <= bytes.count {
            let startsWord = index == 0 || !isWordByte(bytes[index - 1])
            if startsWord, bytes[index..<index + 17].allSatisfy(isDigit),
               isDigit(bytes[index + 17]) || bytes[index + 17] | 0x20 == 0x78,
               index + 18 == bytes.count || !isWordByte(bytes[index + 18]) || (der && index > 0 && bytes[index - 1] == 18) {
                let digits = bytes[index..<index + 17].map { Int($0 - 0x30) }
                let check = isDigit(bytes[index + 17]) ? Int(bytes[index + 17] - 0x30) : 10
                if ResidentID.checkDigit(of: digits[...]) == check {
                    numbers.append(String(decoding: bytes[index..<index + 18], as: UTF8.self).uppercased())
                }
                index += 18
                continue
            }
            index += 1
        }
        return numbers
    }

    static func runs(in bytes: [UInt8], minimum: Int, of member: (UInt8) -> Bool) -> [ArraySlice<UInt8>] {
        var runs: [ArraySlice<UInt8>] = []
        var start: Int?
        for index in 0...bytes.count {
            if index < bytes.count, member(bytes[index]) {
                if start == nil { start = index }
            } else if let begin = start {
                if index - begin >= minimum { runs.append(bytes[begin..<index]) }
                start = nil
            }
        }
        return runs
    }

    static func decodeHex(_ run: ArraySlice<UInt8>) -> [UInt8]? {
        let digits = Array(run.prefix(run.count / 2 * 2))
        guard digits.count >= 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isHexDigit(_ byte: UInt8) -> Bool { hexValue(byte) != nil }
    static func isWordByte(_ byte: UInt8) -> Bool { isDigit(byte) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) }
    static func isBase64Character(_ byte: UInt8) -> Bool {
        isWordByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
}
