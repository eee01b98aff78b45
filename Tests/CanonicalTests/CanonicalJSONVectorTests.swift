import Canonical
import Foundation
import Testing

/// The test vectors of docs/formats.md ("Canonical JSON"): each value, its
/// bytes. Where JCS (RFC 8785) would write something else, the vector says so.
struct CanonicalJSONVectorTests {
    static let vectors: [(name: String, value: CanonicalJSON, bytes: String)] = [
        ("empty object", [:], "{}"),
        ("literals", [nil, true, false, [], [:]], "[null,true,false,[],{}]"),
        ("integers, Int64 exact (JCS: IEEE doubles, 2^53 at most)",
         [.integer(0), .integer(-1), .integer(1_733_300_000_123_456_789), .integer(Int64.min)],
         "[0,-1,1733300000123456789,-9223372036854775808]"),
        ("decimals are written as given (JCS would write 150000 and 0.00001)",
         [.decimal("150000.00"), .decimal("-0.5"), .decimal("1e-05")], "[150000.00,-0.5,1e-05]"),
        ("keys by their UTF-8 bytes", ["b": 1, "a": 2, "Z": 3, "_": 4, "é": 5, "中": 6],
         #"{"Z":3,"_":4,"a":2,"b":1,"é":5,"中":6}"#),
        ("keys by UTF-8, not UTF-16 (JCS puts 😀 U+1F600, surrogates D83D…, before U+FF5E)",
         ["\u{FF5E}": 1, "\u{1F600}": 2], "{\"\u{FF5E}\":1,\"\u{1F600}\":2}"),
        ("strings and keys NFC-normalised (JCS: as given)", ["e\u{301}": .string("Cafe\u{301}")], "{\"é\":\"Café\"}"),
        ("only what RFC 8259 requires is escaped (as JCS)", .string("\"\\/\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}\u{2028}中"),
         "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7F}\u{2028}中\""),
        ("nested", ["payload": ["detail": ["reason": "accepted"], "seq": 7]],
         #"{"payload":{"detail":{"reason":"accepted"},"seq":7}}"#),
    ]

    @Test(arguments: 0..<vectors.count)
    func eachVectorEncodesToItsBytes(_ index: Int) throws {
        let vector = Self.vectors[index]
        #expect(String(decoding: try vector.value.canonicalBytes(), as: UTF8.self) == vector.bytes, "\(vector.name)")
        // And reads back to the same bytes.
        let reparsed = try CanonicalJSON(parsing: Array(vector.bytes.utf8), decimals: true)
        #expect(String(decoding: try reparsed.canonicalBytes(), as: UTF8.self) == vector.bytes, "\(vector.name)")
    }

    @Test func decimalsMustBeNumbersAndTheLedgerParserRefusesThem() throws {
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.decimal("1.").canonicalBytes() }
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.decimal("NaN").canonicalBytes() }
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.decimal("1,5").canonicalBytes() }
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON(parsing: "[1.5]") }
        #expect(try CanonicalJSON(parsing: "[1.5]", decimals: true) == [.decimal("1.5")])
    }

    @Test func foundationsLenienciesAreRefused() {
        for text in [#"{"a":1,}"#, "[1,2,]", #"{"a":1}{"#, "{'a':1}", "[NaN]", #"{"a":1,"a":2}"#, "[1 /* */]", "\u{FEFF}{}"] {
            #expect(throws: CanonicalJSONError.self, "\(text)") { try CanonicalJSON(parsing: text, decimals: true) }
        }
    }

    @Test func encodableValuesGoThroughTheSameEncoder() throws {
        struct Record: Encodable {
            var zeta = 1
            var alpha = "Cafe\u{301}/x"
            var list = [3, 1]
        }
        #expect(String(decoding: try CanonicalJSON.canonicalBytes(encoding: Record()), as: UTF8.self)
                == #"{"alpha":"Café/x","list":[3,1],"zeta":1}"#)
    }
}
