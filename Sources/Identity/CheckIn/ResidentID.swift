public import Canonical
public import Foundation

/// A citizen identity number (公民身份号码) as GB 11643-1999 defines it:
/// six digits of region, eight of birth date, three of sequence and a check
/// digit. Only ever held in memory while checking in: what is stored is a
/// `ProtectedID`.
public struct ResidentID: Sendable, Hashable, CustomStringConvertible {
    /// The 18 characters, the check digit `X` in upper case.
    public let value: String
    public let birthYear: Int
    public let birthMonth: Int
    public let birthDay: Int

    /// Parses `text` (surrounding whitespace ignored, `x` accepted for `X`).
    /// `today` is the date the birth date may not be after, taken in China
    /// Standard Time so a check just after midnight in Beijing agrees with the
    /// card.
    public init(_ text: String, today: Date) throws(ResidentIDError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let characters = Array(trimmed.unicodeScalars)
        guard characters.count == 18 else { throw ResidentIDError(.wrongLength, detail: "\(characters.count) characters") }

        var digits = [Int]()
        for (index, scalar) in characters.enumerated() {
            if let digit = Self.asciiDigit(scalar) {
                digits.append(digit)
            } else if index == 17, scalar == "X" || scalar == "x" {
                digits.append(10)
            } else {
                throw ResidentIDError(.invalidCharacter, detail: "position \(index + 1)")
            }
        }

        let expected = Self.checkDigit(of: digits.prefix(17))
        guard digits[17] == expected else {
            throw ResidentIDError(.checkDigitMismatch, detail: "check digit does not match the first 17 digits")
        }
        guard Self.isKnownRegion(digits) else {
            throw ResidentIDError(.unknownRegion, detail: "region code \(digits[0])\(digits[1])")
        }

        let year = digits[6] * 1000 + digits[7] * 100 + digits[8] * 10 + digits[9]
        let month = digits[10] * 10 + digits[11]
        let day = digits[12] * 10 + digits[13]
        guard year >= 1900, (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day) else {
            throw ResidentIDError(.invalidBirthDate, detail: "birth date \(year)-\(month)-\(day)")
        }
        let now = Self.chinaCalendarDay(of: today)
        guard (year, month, day) <= now else {
            throw ResidentIDError(.birthDateInFuture, detail: "birth date \(year)-\(month)-\(day) after \(now.0)-\(now.1)-\(now.2)")
        }

        value = String(String.UnicodeScalarView(characters.prefix(17))) + (expected == 10 ? "X" : String(expected))
        birthYear = year
        birthMonth = month
        birthDay = day
    }

    /// The last four characters: all that may be shown or stored in clear.
    public var lastFour: String { String(value.suffix(4)) }

    /// Never the whole number: descriptions end up in logs.
    public var description: String { "ResidentID(…\(lastFour))" }

    // MARK: GB 11643-1999 rules

    /// ISO 7064 MOD 11-2: the i-th digit (from 1) weighs 2^(18−i) mod 11 and
    /// the check value c makes sum + c ≡ 1 (mod 11). Returns 0…10 (10 is X).
    static func checkDigit(of first17: ArraySlice<Int>) -> Int {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(first17, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return [1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2][sum % 11]
    }

    /// Province-level codes of GB/T 2260: the mainland provinces, 71 Taiwan,
    /// 81 Hong Kong, 82 Macao; 83 is used by residence permits of Taiwan
    /// residents (港澳台居民居住证 use 81/82/83).
    static let provinceCodes: Set<Int> = Set(
        Array(11...15) + Array(21...23) + Array(31...37) + Array(41...46) + Array(50...54) + Array(61...65)
            + [71, 81, 82, 83]
    )

    /// A foreigner's permanent residence ID card (2023 edition) puts 9 first
    /// and the issuing province's code after it, so its first two digits are
    /// 91…96 and the next digit continues a province code.
    static func isKnownRegion(_ digits: [Int]) -> Bool {
        let firstTwo = digits[0] * 10 + digits[1]
        if provinceCodes.contains(firstTwo) { return true }
        return digits[0] == 9 && provinceCodes.contains(digits[1] * 10 + digits[2])
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Year, month and day of `date` in UTC+8 (China has no daylight saving).
    static func chinaCalendarDay(of date: Date) -> (Int, Int, Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return (parts.year!, parts.month!, parts.day!)
    }

    private static func asciiDigit(_ scalar: Unicode.Scalar) -> Int? {
        (48...57).contains(scalar.value) ? Int(scalar.value - 48) : nil
    }
}

/// Why an ID number was refused: a stable code for logs and APIs, a Chinese
/// message for the person at the station, an English description for logs
/// (which never contains the number itself).
public struct ResidentIDError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case wrongLength = "wrong-length"
        case invalidCharacter = "invalid-character"
        case checkDigitMismatch = "check-digit-mismatch"
        case unknownRegion = "unknown-region"
        case invalidBirthDate = "invalid-birth-date"
        case birthDateInFuture = "birth-date-in-future"
    }

    public let reason: Reason
    /// English detail for logs: positions and dates, never the number.
    public let detail: String

    init(_ reason: Reason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var message: String {
        switch reason {
        case .wrongLength: "身份证号应为 18 位，请核对后重新输入。"
        case .invalidCharacter: "身份证号只能包含数字，最后一位可以是 X，请核对后重新输入。"
        case .checkDigitMismatch: "身份证号校验位错误，请核对后重新输入。"
        case .unknownRegion: "身份证号前两位不是有效的省级行政区划代码，请核对后重新输入。"
        case .invalidBirthDate: "身份证号中的出生日期无效，请核对后重新输入。"
        case .birthDateInFuture: "身份证号中的出生日期晚于今天，请核对后重新输入。"
        }
    }

    public var description: String { "resident ID refused (\(reason.rawValue)): \(detail)" }
}

extension ResidentID {
    /// `text` with every run that looks like a resident ID number (17 digits
    /// and a digit or X, not part of a longer run of digits or letters) cut to
    /// "…" and its last four characters. Certificate subjects carry experts' ID
    /// numbers (serialNumber); messages that reach logs, the database's text
    /// columns or the ledger pass through here, so the number itself is kept
    /// only where it must be: inside the certificate.
    public static func redacting(_ text: String) -> String {
        let bytes = Array(text.utf8)
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        func isWordByte(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let startsWord = index == 0 || !isWordByte(bytes[index - 1])
            if startsWord, index + 18 <= bytes.count, bytes[index..<index + 17].allSatisfy(isDigit),
               isDigit(bytes[index + 17]) || bytes[index + 17] | 0x20 == 0x78,
               index + 18 == bytes.count || !isWordByte(bytes[index + 18]) {
                out.append(contentsOf: "…".utf8)
                out.append(contentsOf: bytes[index + 14..<index + 18])
                index += 18
                continue
            }
            out.append(bytes[index])
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension ResidentIDError: ExplainedRefusal {
    public var explanation: Explanation { Explanation(code: reason.rawValue, chinese: message, english: description) }
}
