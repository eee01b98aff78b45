public import Evaluation

/// 人民币大写金额: the capital-numeral amount a bid's opening summary (开标一览表) states beside the
/// figures, e.g. 壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分 for 1234567.89.
///
/// Words prevail over figures when the two differ (87号令 第59条), so the opening must read the
/// words exactly and flag a difference; it never corrects either. The parser therefore reads every
/// unambiguous form people write (人民币 prefix or not, 整 or 正 or nothing after 元 or 角, 壹拾 or
/// 拾 at the start, the optional 零 of 壹拾万零柒仟 and 元零伍角 that the payment rules allow) and
/// refuses what a person must look at: a bare last digit after a gap (壹佰伍 is 105 or, as spoken,
/// 150), 零 twice or where no digit is missing, units out of order. The formatter writes the form of
/// 中国人民银行《正确填写票据和结算凭证的基本规定》: 零 for every missing run inside the number,
/// 壹拾 not 拾, 整 after 元, nothing after 角 or 分.
public enum ChineseAmount {
    static let digits: [Character] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"]
    static let units: [Character: Int] = ["拾": 1, "佰": 2, "仟": 3]
    static let unitNames = ["", "拾", "佰", "仟"]

    /// The largest amount written: 玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿… (below 10^16 yuan).
    public static let limit = Fraction(Int128(10_000_000_000_000_000), 1)

    // MARK: Writing

    /// The words for `amount`, or nil when it cannot be written: negative, finer than a fen (分),
    /// or 10^16 yuan or more.
    public static func words(for amount: Fraction) -> String? {
        let scaled = amount * Fraction(100)
        guard scaled.isInteger, scaled.numerator >= 0, amount < limit else { return nil }
        let cents = Int64(scaled.numerator)
        let yuan = cents / 100, jiao = Int(cents / 10 % 10), fen = Int(cents % 10)
        if yuan == 0 && jiao == 0 && fen == 0 { return "零元整" }
        var out = yuan > 0 ? integerWords(yuan) + "元" : ""
        if jiao == 0 && fen == 0 { return out + "整" }
        if jiao > 0 {
            out += String(digits[jiao]) + "角"
        } else if yuan > 0 {
            out += "零"  // 角 is zero and 分 follows: 壹元零伍分
        }
        if fen > 0 { out += String(digits[fen]) + "分" }
        return out
    }

    static func tenTo(_ n: Int) -> Int64 {
        var r: Int64 = 1
        for _ in 0..<n { r *= 10 }
        return r
    }

    static func integerWords(_ n: Int64) -> String {
        if n >= 100_000_000 { return below1e8(n / 100_000_000) + "亿" + lower(n % 100_000_000, width: 8) }
        return below1e8(n)
    }

    private static func below1e8(_ n: Int64) -> String {
        if n >= 10_000 { return section(n / 10_000) + "万" + lower(n % 10_000, width: 4) }
        return section(n)
    }

    /// The part below 万 or 亿: 零 first when its leading digits are zero (壹万零伍佰, 壹亿零伍万).
    private static func lower(_ n: Int64, width: Int) -> String {
        if n == 0 { return "" }
        let words = width == 8 ? below1e8(n) : section(n)
        return n < tenTo(width - 1) ? "零" + words : words
    }

    /// 1...9999: one 零 for each run of zeros inside (壹仟零伍), none for trailing zeros (壹仟伍佰).
    private static func section(_ n: Int64) -> String {
        var out = ""
        var zeroPending = false
        for power in stride(from: 3, through: 0, by: -1) {
            let digit = Int(n / tenTo(power) % 10)
            if digit == 0 {
                if !out.isEmpty { zeroPending = true }
                continue
            }
            if zeroPending { out += "零"; zeroPending = false }
            out += String(digits[digit])
            out += unitNames[power]
        }
        return out
    }

    // MARK: Reading

    /// Reads the words; throws what is wrong, in both languages, for the record.
    public static func parse(_ text: String) throws(ChineseAmountProblem) -> Fraction {
        var chars = Array(text.filter { !$0.isWhitespace })
        if chars.starts(with: ["人", "民", "币"]) { chars.removeFirst(3) }
        if let last = chars.last, last == "整" || last == "正" { chars.removeLast() }
        guard !chars.isEmpty else { throw ChineseAmountProblem(.empty, text) }
        for c in chars where !isAmountCharacter(c) { throw ChineseAmountProblem(.unexpectedCharacter(c), text) }
        for marker in ["整", "正"] as [Character] where chars.contains(marker) {
            throw ChineseAmountProblem(.misplaced(marker), text)
        }
        let yuanMarks = chars.indices.filter { chars[$0] == "元" || chars[$0] == "圆" }
        guard yuanMarks.count <= 1 else { throw ChineseAmountProblem(.repeated(chars[yuanMarks[1]]), text) }
        var integer: Int64 = 0
        var fraction = chars[...]
        if let mark = yuanMarks.first {
            let integerPart = Array(chars[..<mark])
            guard !integerPart.isEmpty else { throw ChineseAmountProblem(.nothingBefore(chars[mark]), text) }
            integer = try integerPart == ["零"] ? 0 : parseInteger(integerPart, text)
            fraction = chars[(mark + 1)...]
        } else if !chars.contains("角") && !chars.contains("分") {
            throw ChineseAmountProblem(.noUnitOfMoney, text)
        }
        let (jiao, fen) = try parseFraction(fraction, integer: integer, text)
        return Fraction(Int128(integer) * 100 + Int128(jiao) * 10 + Int128(fen), 100)
    }

    private static func isAmountCharacter(_ c: Character) -> Bool {
        digits.contains(c) || units[c] != nil || "万亿元圆角分整正".contains(c)
    }

    private static func digitValue(_ c: Character) -> Int? { digits.firstIndex(of: c) }

    /// [零] [d角] [d分] after 元 (or alone: 伍角, 伍分).
    private static func parseFraction(_ chars: ArraySlice<Character>, integer: Int64,
                                      _ text: String) throws(ChineseAmountProblem) -> (Int, Int) {
        var rest = chars
        var zero = false
        if rest.first == "零", rest.dropFirst().first != "角" {
            rest.removeFirst()
            zero = true
            guard !rest.isEmpty else { throw ChineseAmountProblem(.trailingZero, text) }
        }
        var jiao: Int?
        var fen: Int?
        if rest.count >= 2, let d = digitValue(rest[rest.startIndex]), rest[rest.startIndex + 1] == "角" {
            jiao = d
            rest.removeFirst(2)
        }
        if rest.count >= 2, let d = digitValue(rest[rest.startIndex]), d > 0, rest[rest.startIndex + 1] == "分" {
            fen = d
            rest.removeFirst(2)
        }
        if let c = rest.first { throw ChineseAmountProblem(.misplaced(c), text) }
        if jiao == 0 {
            // 零角 says what 零 alone says: only before 分, and not after another 零.
            guard fen != nil, !zero else { throw ChineseAmountProblem(zero ? .doubleZero : .superfluousZero, text) }
        }
        // 元零伍角: allowed when the yuan end in 0 (壹拾元零伍角); 元零伍分 stands for a zero 角.
        if zero, let jiao, jiao > 0, integer % 10 != 0 { throw ChineseAmountProblem(.superfluousZero, text) }
        return (jiao ?? 0, fen ?? 0)
    }

    /// What one part of the number turned out to be, for the checks at 万 and 亿.
    private struct Part {
        var value: Int64 = 0
        /// Power of ten of the first digit written.
        var topPower = -1
        /// Written with 零 first.
        var leadingZero = false
        /// The first digit has no unit (伍 in 壹万伍).
        var bareFirst = false
    }

    private static func parseInteger(_ chars: [Character], _ text: String) throws(ChineseAmountProblem) -> Int64 {
        let marks = chars.indices.filter { chars[$0] == "亿" }
        guard marks.count <= 1 else { throw ChineseAmountProblem(.repeated("亿"), text) }
        let part: Part
        if let mark = marks.first {
            guard mark > 0 else { throw ChineseAmountProblem(.nothingBefore("亿"), text) }
            let high = try below1e8(chars[..<mark], first: true, text)
            let low = try below1e8(chars[(mark + 1)...], first: false, text)
            part = try join(high: high, low: low, width: 8, text)
        } else {
            part = try below1e8(chars[...], first: true, text)
        }
        if part.leadingZero { throw ChineseAmountProblem(.superfluousZero, text) }
        return part.value
    }

    private static func below1e8(_ chars: ArraySlice<Character>, first: Bool, _ text: String) throws(ChineseAmountProblem) -> Part {
        if chars.isEmpty { return Part() }
        let marks = chars.indices.filter { chars[$0] == "万" }
        guard marks.count <= 1 else { throw ChineseAmountProblem(.repeated("万"), text) }
        guard let mark = marks.first else { return try section(chars, bareTen: first, text) }
        guard mark > chars.startIndex else { throw ChineseAmountProblem(.nothingBefore("万"), text) }
        let high = try section(chars[..<mark], bareTen: first, text)
        let low = try section(chars[(mark + 1)...], bareTen: false, text)
        var joined = try join(high: high, low: low, width: 4, text)
        joined.leadingZero = high.leadingZero
        return joined
    }

    /// high × 10^width + low, with the rules for 零 at the boundary.
    private static func join(high: Part, low: Part, width: Int, _ text: String) throws(ChineseAmountProblem) -> Part {
        guard high.value > 0 else {
            throw ChineseAmountProblem(.nothingBefore(width == 8 ? "亿" : "万"), text)
        }
        var result = high
        result.bareFirst = false  // its first digit carries the marker: 壹亿伍万 is not ambiguous
        result.value = high.value * tenTo(width) + low.value
        result.topPower = high.topPower + width
        guard low.value > 0 else {
            if low.leadingZero { throw ChineseAmountProblem(.trailingZero, text) }
            return result
        }
        if low.topPower == width - 1 {
            // 壹拾万零柒仟: the 零 stands for the zero before 万; superfluous unless there is one.
            if low.leadingZero && high.value % 10 != 0 { throw ChineseAmountProblem(.superfluousZero, text) }
        } else if low.bareFirst && !low.leadingZero {
            throw ChineseAmountProblem(.ambiguousLastDigit, text)  // 壹万伍: 10005 or, as spoken, 15000
        }
        return result
    }

    /// 1...9999 written with 拾佰仟 and 零; `bareTen`: 拾 alone may open it (拾伍元 = 15).
    private static func section(_ chars: ArraySlice<Character>, bareTen: Bool, _ text: String) throws(ChineseAmountProblem) -> Part {
        var part = Part()
        var lastPower: Int?
        var zeroPending = false
        var digit: Int?
        for c in chars {
            if c == "零" {
                if zeroPending { throw ChineseAmountProblem(.doubleZero, text) }
                if digit != nil { throw ChineseAmountProblem(.zeroAfterDigit, text) }
                if lastPower == nil { part.leadingZero = true }
                zeroPending = true
            } else if let d = digitValue(c) {
                if digit != nil { throw ChineseAmountProblem(.twoDigits, text) }
                digit = d
            } else if let power = units[c] {
                let d: Int
                if let digit {
                    d = digit
                } else if power == 1, bareTen, lastPower == nil, !zeroPending {
                    d = 1
                } else {
                    throw ChineseAmountProblem(.unitWithoutDigit(c), text)
                }
                if let lastPower {
                    if power >= lastPower { throw ChineseAmountProblem(.unitsOutOfOrder(c), text) }
                    if zeroPending && lastPower - power == 1 { throw ChineseAmountProblem(.superfluousZero, text) }
                } else {
                    part.topPower = power
                }
                part.value += Int64(d) * tenTo(power)
                lastPower = power
                digit = nil
                zeroPending = false
            } else {
                throw ChineseAmountProblem(.misplaced(c), text)
            }
        }
        if let digit {
            if let lastPower {
                if lastPower > 1 && !zeroPending { throw ChineseAmountProblem(.ambiguousLastDigit, text) }
                if lastPower == 1 && zeroPending { throw ChineseAmountProblem(.superfluousZero, text) }
            } else {
                part.topPower = 0
                part.bareFirst = true
            }
            part.value += Int64(digit)
        } else if zeroPending {
            throw ChineseAmountProblem(.trailingZero, text)
        }
        return part
    }
}

/// Why words could not be read as an amount. The opening record keeps it beside the figures: the
/// committee, not the software, decides what such a bid says (87号令 第59条).
public struct ChineseAmountProblem: RuleViolation, Equatable {
    public enum Kind: Sendable, Equatable {
        case empty
        case unexpectedCharacter(Character)
        case misplaced(Character)
        case repeated(Character)
        case nothingBefore(Character)
        case noUnitOfMoney
        case twoDigits
        case unitWithoutDigit(Character)
        case unitsOutOfOrder(Character)
        case doubleZero
        case zeroAfterDigit
        case superfluousZero
        case trailingZero
        case ambiguousLastDigit
    }

    public var kind: Kind
    /// The words as written.
    public var text: String

    init(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }

    public var code: String {
        switch kind {
        case .empty: "amount-words-empty"
        case .unexpectedCharacter: "amount-words-character"
        case .misplaced: "amount-words-misplaced"
        case .repeated: "amount-words-repeated"
        case .nothingBefore: "amount-words-missing-digits"
        case .noUnitOfMoney: "amount-words-no-unit"
        case .twoDigits: "amount-words-two-digits"
        case .unitWithoutDigit: "amount-words-unit-without-digit"
        case .unitsOutOfOrder: "amount-words-order"
        case .doubleZero: "amount-words-double-zero"
        case .zeroAfterDigit: "amount-words-zero-after-digit"
        case .superfluousZero: "amount-words-superfluous-zero"
        case .trailingZero: "amount-words-trailing-zero"
        case .ambiguousLastDigit: "amount-words-ambiguous"
        }
    }

    public var chineseMessage: String {
        let what: String = switch kind {
        case .empty: "没有金额"
        case .unexpectedCharacter(let c): "“\(c)”不是大写金额用字（应使用零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整）"
        case .misplaced(let c): "“\(c)”的位置不对"
        case .repeated(let c): "“\(c)”出现了两次"
        case .nothingBefore(let c): "“\(c)”前面没有数字"
        case .noUnitOfMoney: "没有“元”“角”或“分”"
        case .twoDigits: "两个数字相连，中间缺少“拾佰仟”"
        case .unitWithoutDigit(let c): "“\(c)”前面缺少数字"
        case .unitsOutOfOrder(let c): "“\(c)”的位次顺序不对"
        case .doubleZero: "“零”连写了两次"
        case .zeroAfterDigit: "数字后面直接写了“零”"
        case .superfluousZero: "此处没有缺位，不应写“零”"
        case .trailingZero: "“零”后面没有数字"
        case .ambiguousLastDigit: "末位数字前缺少“零”，可有两种读法（如“壹佰伍”可读作105或150）"
        }
        return "大写金额“\(text)”无法识读：\(what)。请由评标委员会按\(Citation(.order87, 59).chinese)处理，投标人书面确认。"
    }

    public var englishMessage: String {
        let what: String = switch kind {
        case .empty: "there is no amount"
        case .unexpectedCharacter(let c): "\"\(c)\" is not a capital-numeral character"
        case .misplaced(let c): "\"\(c)\" is out of place"
        case .repeated(let c): "\"\(c)\" appears twice"
        case .nothingBefore(let c): "no digits before \"\(c)\""
        case .noUnitOfMoney: "no unit of money (yuan, jiao or fen)"
        case .twoDigits: "two digits in a row without a place unit (shi, bai, qian) between them"
        case .unitWithoutDigit(let c): "no digit before \"\(c)\""
        case .unitsOutOfOrder(let c): "\"\(c)\" is out of order"
        case .doubleZero: "zero (ling) written twice in a row"
        case .zeroAfterDigit: "zero (ling) directly after a digit"
        case .superfluousZero: "zero (ling) where no digit is missing"
        case .trailingZero: "zero (ling) with nothing after it"
        case .ambiguousLastDigit: "the last digit follows a gap without zero (ling), so it reads two ways (one hundred five: 105 or, as spoken, 150)"
        }
        return "the amount in words \"\(text)\" cannot be read: \(what); the committee decides under \(Citation(.order87, 59).english), the bidder confirms in writing"
    }
}
