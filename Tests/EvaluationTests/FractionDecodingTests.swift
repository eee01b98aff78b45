import Foundation
import Testing

@testable import Evaluation

struct FractionDecodingTests {
    func decode(_ text: String) throws -> Fraction {
        try JSONDecoder().decode([Fraction].self, from: Data("[\"\(text)\"]".utf8))[0]
    }

    @Test func decimalsAndRatiosDecodeExactly() throws {
        #expect(try decode("12.5") == Fraction(25, 2))
        #expect(try decode("800/27") == Fraction(800, 27))
        #expect(try decode("-3") == Fraction(-3))
        #expect(try decode("1000000000000000") == Fraction.largestAccepted)
    }

    /// An absurd amount gets a decoding error, not a 128-bit overflow that
    /// would stop the daemon later in the arithmetic.
    @Test func absurdAmountsAreRefusedWithAnError() {
        #expect(throws: DecodingError.self) { try decode("1000000000000001") }
        #expect(throws: DecodingError.self) { try decode("99999999999999999999999999") }
        #expect(throws: DecodingError.self) { try decode("-2000000000000000/1") }
        #expect(throws: DecodingError.self) { try decode("twelve") }
    }
}
