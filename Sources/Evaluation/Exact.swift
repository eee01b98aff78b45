/// Exact arithmetic for money and scores.
///
/// Results of an evaluation decide who gets public money and must be reproducible years later, so no
/// binary floating point is used anywhere. Prices and scores are parsed from decimal text into an
/// exact `Fraction` (a reduced ratio of 128-bit integers). A price score such as 30 × 150000 / 170000
/// stays exact; ties are real ties. Rounding happens only in `Fraction.display(decimals:)`
/// (half away from zero, 四舍五入), for people, never for comparisons.
public struct Fraction: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let numerator: Int128
    /// Always positive.
    public let denominator: Int128

    public static let zero = Fraction(0)
    public static let one = Fraction(1)
    public static let hundred = Fraction(100)

    public init(_ integer: Int) {
        numerator = Int128(integer)
        denominator = 1
    }

    public init(_ numerator: Int128, _ denominator: Int128) {
        precondition(denominator != 0, "Fraction with zero denominator")
        let sign: Int128 = denominator < 0 ? -1 : 1
        let g = Fraction.gcd(numerator.magnitude, denominator.magnitude)
        self.numerator = sign * numerator / Int128(g)
        self.denominator = sign * denominator / Int128(g)
    }

    private init(reduced numerator: Int128, _ denominator: Int128) {
        self.numerator = numerator
        self.denominator = denominator
    }

    static func gcd(_ a: UInt128, _ b: UInt128) -> UInt128 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a == 0 ? 1 : a
    }

    public static func + (l: Fraction, r: Fraction) -> Fraction {
        if l.denominator == r.denominator {
            return Fraction(l.numerator + r.numerator, l.denominator)
        }
        let g = Int128(gcd(l.denominator.magnitude, r.denominator.magnitude))
        let lf = r.denominator / g
        let rf = l.denominator / g
        return Fraction(l.numerator * lf + r.numerator * rf, l.denominator * lf)
    }

    public static prefix func - (f: Fraction) -> Fraction { Fraction(reduced: -f.numerator, f.denominator) }
    public static func - (l: Fraction, r: Fraction) -> Fraction { l + (-r) }

    public static func * (l: Fraction, r: Fraction) -> Fraction {
        // Cross-reduce first so intermediate products stay small.
        let g1 = Int128(gcd(l.numerator.magnitude, r.denominator.magnitude))
        let g2 = Int128(gcd(r.numerator.magnitude, l.denominator.magnitude))
        return Fraction((l.numerator / g1) * (r.numerator / g2), (l.denominator / g2) * (r.denominator / g1))
    }

    public static func / (l: Fraction, r: Fraction) -> Fraction {
        precondition(r.numerator != 0, "division by zero")
        return l * Fraction(reduced: r.denominator, r.numerator).normalizedSign
    }

    private var normalizedSign: Fraction {
        denominator < 0 ? Fraction(reduced: -numerator, -denominator) : self
    }

    public static func < (l: Fraction, r: Fraction) -> Bool {
        // Full-width products: comparisons never overflow.
        let a = l.numerator.multipliedFullWidth(by: r.denominator)
        let b = r.numerator.multipliedFullWidth(by: l.denominator)
        return a.high != b.high ? a.high < b.high : a.low < b.low
    }

    public static func += (l: inout Fraction, r: Fraction) { l = l + r }

    public var isInteger: Bool { denominator == 1 }

    /// Exact text: "7" or "1497/50". Used in canonical JSON so a replay is byte-identical.
    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    /// Rounded for display, half away from zero (四舍五入), e.g. `display(decimals: 2)` → "29.94".
    public func display(decimals: Int) -> String {
        let scale = Int128(pow10(decimals))
        let scaled = numerator.magnitude * UInt128(scale)
        var q = scaled / UInt128(denominator)
        let r = scaled % UInt128(denominator)
        if r * 2 >= UInt128(denominator) { q += 1 }
        let negative = numerator < 0 && q != 0
        var digits = String(q)
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return negative ? "-" + digits : digits
    }

    /// For messages, in either language: the exact decimal when it needs at most 8 places ("20.5", "30",
    /// "0.125"), else "≈" and the value rounded half away from zero to 6 places, trailing zeros dropped
    /// ("≈33.333333"). Never the ratio form ("41/2") and never a rounding that could hide a violation
    /// (a score of 40.00001 over a maximum of 40 prints as "40.00001", not "40.00").
    public var decimalText: String {
        if let places = decimalPlaces, places <= 8 { return display(decimals: places) }
        var text = display(decimals: 6)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return "≈" + text
    }

    /// Parses plain decimal text ("150000", "12.5", "-0.25"). No exponents, no separators:
    /// what is typed is what is counted.
    public init?(decimalText text: String) {
        var s = Substring(text)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let intPart = parts.first, !intPart.isEmpty,
              intPart.allSatisfy({ $0.isASCII && $0.isNumber }), intPart.count <= 20 else { return nil }
        let fracPart = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fracPart.isEmpty, fracPart.count <= 8,
              fracPart.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let whole = Int128(String(intPart) + String(fracPart)) else { return nil }
        self.init(negative ? -whole : whole, Int128(pow10(fracPart.count)))
    }

    /// Decimal places needed to write this value exactly, or nil if it does not terminate.
    public var decimalPlaces: Int? {
        var d = denominator
        var twos = 0, fives = 0
        while d % 2 == 0 { d /= 2; twos += 1 }
        while d % 5 == 0 { d /= 5; fives += 1 }
        return d == 1 ? max(twos, fives) : nil
    }

    /// The largest magnitude accepted from outside: far above any procurement
    /// amount in yuan, and low enough that no product or sum the rules form
    /// can overflow 128 bits (which would stop the process, not return an error).
    public static let largestAccepted = Fraction(Int128(1_000_000_000_000_000), 1)

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if let slash = text.firstIndex(of: "/"),
           let n = Int128(String(text[..<slash])), let d = Int128(String(text[text.index(after: slash)...])), d != 0 {
            self.init(n, d)
        } else if let f = Fraction(decimalText: text) {
            self = f
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "expected decimal text like \"12.5\" or an exact ratio like \"1/3\", got \"\(text)\""))
        }
        if Fraction.largestAccepted < self || self < -Fraction.largestAccepted {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\(text) is out of range: amounts and scores must lie within ±10^15 / 数值超出允许范围"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public static func percent(_ p: Fraction) -> Fraction { p / .hundred }
}

func pow10(_ n: Int) -> Int128 {
    var r: Int128 = 1
    for _ in 0..<n { r *= 10 }
    return r
}

extension Sequence where Element == Fraction {
    func sum() -> Fraction { reduce(.zero, +) }
}

/// A point in time supplied by the caller (milliseconds since 1970-01-01T00:00:00Z).
/// The engine never reads a clock.
public typealias Instant = Int64
