public import Evaluation

/// 统一社会信用代码 (GB 32100-2015): the 18-character code every supplier is registered under, and
/// what the supplier's CA certificate carries. Validated when read, so a typing error in the
/// definition or a certificate for another organisation is caught by its check character instead
/// of matching nothing.
///
/// Layout: 登记管理部门码 (1) + 机构类别码 (1) + 登记管理机关行政区划码 (6 digits) + 主体标识码 (9) +
/// 校验码 (1). Characters are 0–9 and the capitals without I, O, S, V and Z (31 values); the check
/// character is C18 = 31 − (Σ Cᵢ·Wᵢ mod 31) with Wᵢ = 3^(i−1) mod 31 (31 is written 0).
public struct CreditCode: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let text: String

    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    public init(_ text: String) throws(CreditCodeProblem) {
        let chars = Array(text)
        guard chars.count == 18 else { throw .length(text, chars.count) }
        var sum = 0
        for (i, c) in chars.enumerated() {
            guard let value = Self.alphabet.firstIndex(of: c) else { throw .character(text, position: i + 1, c) }
            if (2..<8).contains(i), value > 9 { throw .region(text) }
            if i < 17 { sum += value * Self.weights[i] }
        }
        let check = Self.alphabet[(31 - sum % 31) % 31]
        guard chars[17] == check else { throw .checkCharacter(text, expected: check) }
        self.text = text
    }

    public var description: String { text }
    public static func < (l: CreditCode, r: CreditCode) -> Bool { l.text < r.text }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.englishMessage))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

public enum CreditCodeProblem: RuleViolation, Equatable {
    case length(String, Int)
    case character(String, position: Int, Character)
    case region(String)
    case checkCharacter(String, expected: Character)

    public var code: String {
        switch self {
        case .length: "credit-code-length"
        case .character: "credit-code-character"
        case .region: "credit-code-region"
        case .checkCharacter: "credit-code-check"
        }
    }

    public var chineseMessage: String {
        switch self {
        case .length(let t, let n): "统一社会信用代码“\(t)”应为18位，实为\(n)位；请核对营业执照。"
        case .character(let t, let p, let c):
            "统一社会信用代码“\(t)”第\(p)位“\(c)”不是允许的字符（数字和大写字母，不含I、O、S、V、Z）；请核对营业执照。"
        case .region(let t): "统一社会信用代码“\(t)”第3至8位应为行政区划代码（数字）；请核对营业执照。"
        case .checkCharacter(let t, let e): "统一社会信用代码“\(t)”校验位不符（按GB 32100应为“\(e)”），可能录入有误；请核对营业执照。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .length(let t, let n): "unified social credit code \"\(t)\" has \(n) characters, not 18; check the business licence"
        case .character(let t, let p, let c):
            "unified social credit code \"\(t)\": character \(p) \"\(c)\" is not allowed (digits and capitals without I, O, S, V, Z)"
        case .region(let t): "unified social credit code \"\(t)\": characters 3-8 must be the region code (digits)"
        case .checkCharacter(let t, let e):
            "unified social credit code \"\(t)\": the check character should be \"\(e)\" (GB 32100); it was probably mistyped"
        }
    }
}
