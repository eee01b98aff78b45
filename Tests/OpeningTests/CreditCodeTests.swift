import Testing
@testable import Opening

/// 统一社会信用代码 check characters. 91350100M000100Y43 is the example printed in GB 32100-2015;
/// the others were computed independently (Python, the standard's weights 3^(i−1) mod 31).
@Suite struct CreditCodeTests {
    @Test func acceptsCodesWithTheirCheckCharacter() throws {
        for code in ["91350100M000100Y43", "91110108MA01XXXXXB", "91150100MA0N7L2K1Q", "52150000MJY123456K",
                     "91440300708461136T", "12100000400000624D"] {
            #expect(try CreditCode(code).text == code)
        }
    }

    @Test func checkCharacterZeroWhenTheSumIsAMultipleOf31() throws {
        // Weighted sum ≡ 0 (mod 31) → 31 − 0 = 31, written 0.
        let chars = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        var found: String?
        search: for a in chars {
            for b in chars {
                let body = "9\(a)350100M000100Y\(b)"
                guard (try? CreditCode(body + "0")) != nil else { continue }
                found = body + "0"
                break search
            }
        }
        let code = try #require(found)
        #expect(CreditCode.weights.count == 17)
        #expect(try CreditCode(code).text.last == "0")
    }

    @Test func refusesWithTheReason() {
        #expect(throws: CreditCodeProblem.checkCharacter("91350100M000100Y44", expected: "3")) { try CreditCode("91350100M000100Y44") }
        #expect(throws: CreditCodeProblem.length("91350100M000100Y4", 17)) { try CreditCode("91350100M000100Y4") }
        #expect(throws: CreditCodeProblem.character("91350100M0001O0Y43", position: 14, "O")) { try CreditCode("91350100M0001O0Y43") }
        #expect(throws: CreditCodeProblem.character("91350100m000100Y43", position: 9, "m")) { try CreditCode("91350100m000100Y43") }
        #expect(throws: CreditCodeProblem.region("913501A0M000100Y43")) { try CreditCode("913501A0M000100Y43") }
        let message = CreditCodeProblem.checkCharacter("91350100M000100Y44", expected: "3").chineseMessage
        #expect(message.contains("校验位") && message.contains("请核对营业执照"))
    }
}
