import Evaluation
import Testing
@testable import Opening

/// 人民币大写金额, written and read. Each figure below is worked by hand: the digits by place
/// (仟佰拾 within a section of four, 万 = 10^4, 亿 = 10^8), 零 for each run of missing places.
@Suite struct ChineseAmountTests {
    static func amount(_ text: String) -> Fraction { Fraction(decimalText: text)! }

    /// (figures, canonical words): the formatter writes exactly these, the parser reads them back.
    static let canonical: [(String, String)] = [
        ("0", "零元整"),
        ("0.5", "伍角"),                      // no yuan: 伍角, not 零元伍角
        ("0.05", "伍分"),
        ("1.05", "壹元零伍分"),                // 角 is zero, 分 follows: 零 in its place
        ("1.5", "壹元伍角"),                   // nothing needed after 角
        ("10", "壹拾元整"),                    // 壹拾, never bare 拾, when writing
        ("15", "壹拾伍元整"),
        ("105", "壹佰零伍元整"),                // 1·10² + 0·10 + 5
        ("150", "壹佰伍拾元整"),               // trailing zero not written
        ("1005", "壹仟零伍元整"),               // one 零 for the run 佰拾
        ("1050", "壹仟零伍拾元整"),
        ("10000", "壹万元整"),
        ("10005", "壹万零伍元整"),              // lower section 0005: 零 first
        ("10500", "壹万零伍佰元整"),            // lower section 0500
        ("15000", "壹万伍仟元整"),              // lower section 5000: no 零
        ("100000", "壹拾万元整"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),    // the payment rules' own example
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
        ("100000000", "壹亿元整"),
        ("100000005", "壹亿零伍元整"),           // lower part 0000 0005
        ("100050000", "壹亿零伍万元整"),          // lower part 0005 0000
        ("110000000", "壹亿壹仟万元整"),          // lower part 1000 0000: no 零
        ("120000000000", "壹仟贰佰亿元整"),       // 1200 × 10^8
        ("1000000000000", "壹万亿元整"),         // 10^4 × 10^8
        ("1000000050000", "壹万亿零伍万元整"),
        ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ]

    @Test func writesTheFormOfThePaymentRules() {
        for (figures, words) in Self.canonical {
            #expect(ChineseAmount.words(for: Self.amount(figures)) == words, "\(figures)")
        }
    }

    @Test func readsWhatItWrites() throws {
        for (figures, words) in Self.canonical {
            #expect(try ChineseAmount.parse(words) == Self.amount(figures), "\(words)")
        }
    }

    @Test func readsTheOtherUnambiguousForms() throws {
        let variants: [(String, String)] = [
            ("人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分", "1234567.89"),
            ("壹佰元正", "100"),                    // 正 for 整
            ("壹佰元", "100"),                      // 整 left out
            ("壹元伍角整", "1.5"),                   // 整 after 角 is allowed
            ("拾元整", "10"),                       // bare 拾 opening the number
            ("拾伍万元整", "150000"),
            ("壹拾万零柒仟元伍角叁分", "107000.53"),  // 零 standing for the zero before 万
            ("壹拾万柒仟元零伍角叁分", "107000.53"),  // 零 after 元 when the yuan end in 0
            ("壹仟陆佰捌拾元零叁角贰分", "1680.32"),
            ("壹元零角伍分", "1.05"),                // 零角 says what 零 says
            ("零元伍角", "0.5"),
            ("人民币伍角", "0.5"),
            ("壹仟零伍拾圆整", "1050"),               // 圆 for 元
            ("壹万伍佰元整", "10500"),                // 零 missing, but every digit has its unit
            ("壹亿伍万元整", "100050000"),
            ("壹 佰 元 整", "100"),                  // spaces are ignored
        ]
        for (words, figures) in variants {
            #expect(try ChineseAmount.parse(words) == Self.amount(figures), "\(words)")
        }
    }

    @Test func refusesWhatAPersonMustLookAt() {
        let refused: [(String, String)] = [
            ("壹佰伍元", "amount-words-ambiguous"),           // 105, or 150 as spoken
            ("壹仟贰佰伍元", "amount-words-ambiguous"),        // 1205 or 1250
            ("壹万伍元", "amount-words-ambiguous"),            // 10005 or 15000
            ("壹亿伍元", "amount-words-ambiguous"),
            ("壹佰零零伍元", "amount-words-double-zero"),
            ("壹佰零伍拾元", "amount-words-superfluous-zero"),   // no place missing between 佰 and 拾
            ("壹万零伍仟元", "amount-words-superfluous-zero"),   // 1·10^4 ends in 1, no zero to stand for
            ("壹佰零伍元零伍角", "amount-words-superfluous-zero"), // yuan end in 5
            ("零壹佰元", "amount-words-superfluous-zero"),
            ("壹佰零元", "amount-words-trailing-zero"),
            ("壹万零元", "amount-words-trailing-zero"),
            ("壹元零", "amount-words-trailing-zero"),
            ("壹拾贰佰元", "amount-words-order"),
            ("壹拾佰元", "amount-words-unit-without-digit"),
            ("壹佰壹仟元", "amount-words-order"),
            ("贰贰元", "amount-words-two-digits"),
            ("佰元", "amount-words-unit-without-digit"),
            ("壹万拾元", "amount-words-unit-without-digit"),   // bare 拾 only opens the number
            ("万元", "amount-words-missing-digits"),
            ("元整", "amount-words-missing-digits"),
            ("壹万万元", "amount-words-repeated"),
            ("壹元壹元", "amount-words-repeated"),
            ("壹佰", "amount-words-no-unit"),
            ("整", "amount-words-empty"),
            ("", "amount-words-empty"),
            ("一百元", "amount-words-character"),             // lower-case numerals are not 大写
            ("壹佰元整伍角", "amount-words-misplaced"),
            ("壹元伍分伍角", "amount-words-misplaced"),
            ("伍零元", "amount-words-zero-after-digit"),
        ]
        for (words, code) in refused {
            #expect(throws: ChineseAmountProblem.self, "\(words)") { try ChineseAmount.parse(words) }
            do {
                _ = try ChineseAmount.parse(words)
            } catch {
                #expect(error.code == code, "\(words): \(error.englishMessage)")
                #expect(error.chineseMessage.contains("无法识读") && error.englishMessage.contains("cannot be read"))
            }
        }
    }

    @Test func cannotWriteWhatIsNotAnAmountOfMoney() {
        #expect(ChineseAmount.words(for: Self.amount("-1")) == nil)
        #expect(ChineseAmount.words(for: Self.amount("0.001")) == nil)      // finer than a fen
        #expect(ChineseAmount.words(for: Fraction(1, 3)) == nil)
        #expect(ChineseAmount.words(for: ChineseAmount.limit) == nil)       // 10^16
    }

    /// Twenty thousand amounts of every magnitude (SplitMix64, fixed seed): written, read back
    /// the same; never 零零, never a trailing 零, 整 exactly when there is no 角 or 分.
    @Test func randomAmountsRoundTrip() throws {
        var state: UInt64 = 0x5EED_2026_1210_0930
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<20_000 {
            let digits = Int(next() % 18) + 1                     // 0.0x … 10^16 − 0.01
            var cents = Int128(next() % UInt64(ChineseAmount.tenTo(digits)))
            if next() % 3 == 0 { cents -= cents % 100 }           // whole yuan often
            let amount = Fraction(cents, 100)
            let words = try #require(ChineseAmount.words(for: amount))
            #expect(try ChineseAmount.parse(words) == amount, "\(amount.decimalText) → \(words)")
            #expect(!words.contains("零零") && !words.hasSuffix("零"), "\(words)")
            #expect(words.hasSuffix("整") == (cents % 100 == 0), "\(words)")
        }
    }

    /// Every amount to the fen up to 10^16 round-trips; a sweep over the places where 零 and
    /// the section markers interact.
    @Test func roundTripsAcrossSectionBoundaries() throws {
        let wholes: [Int64] = [1, 9, 10, 11, 19, 100, 101, 110, 999, 1000, 1001, 1010, 1100, 9999,
                               10_000, 10_001, 10_010, 10_100, 11_000, 100_001, 1_000_100, 10_000_000, 10_001_000,
                               99_999_999, 100_000_000, 100_000_001, 100_010_000, 101_000_000, 1_000_000_001,
                               10_000_000_000, 100_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000, 9_000_000_000_000_009]
        for whole in wholes {
            for cents in [0, 1, 10, 99] {
                let amount = Fraction(Int128(whole) * 100 + Int128(cents), 100)
                let words = try #require(ChineseAmount.words(for: amount))
                #expect(try ChineseAmount.parse(words) == amount, "\(whole).\(cents) → \(words)")
            }
        }
    }
}
