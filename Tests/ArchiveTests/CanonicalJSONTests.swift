import Canonical
import Archive
import Foundation
import Testing

@Suite("Canonical JSON")
struct CanonicalJSONTests {
    func text(_ value: CanonicalJSON) throws -> String { String(decoding: try value.canonicalBytes(), as: UTF8.self) }

    @Test func keysAreSortedByTheirUTF8Bytes() throws {
        let value: CanonicalJSON = ["b": 1, "a": 2, "aa": 3, "Z": 4, "é": 5, "中": 6, "_": 7]
        // Uppercase before "_" before lowercase; multi-byte UTF-8 after ASCII, "é" (C3 A9) before "中" (E4 B8 AD).
        #expect(try text(value) == #"{"Z":4,"_":7,"a":2,"aa":3,"b":1,"é":5,"中":6}"#)
    }

    @Test func stringsAndKeysAreNFCNormalised() throws {
        let decomposed = "e\u{301}"  // e + COMBINING ACUTE
        let bytes = try CanonicalJSON.object([decomposed: .string("Cafe\u{301}")]).canonicalBytes()
        #expect(bytes == Array("{\"\u{E9}\":\"Caf\u{E9}\"}".utf8))
        #expect(bytes.contains(0xCC) == false, "no combining mark bytes remain")
        // Hangul jamo compose too.
        #expect(try text(.string("\u{1100}\u{1161}")) == "\"\u{AC00}\"")
    }

    @Test func onlyRequiredCharactersAreEscaped() throws {
        let value = CanonicalJSON.string("q\" b\\ / \u{8}\u{C}\n\r\t \u{0}\u{1F} \u{7F} \u{2028} 中")
        #expect(try text(value) == "\"q\\\" b\\\\ / \\b\\f\\n\\r\\t \\u0000\\u001f \u{7F} \u{2028} 中\"")
    }

    @Test func integersAndLiteralsHaveOneSpelling() throws {
        let value: CanonicalJSON = [.integer(Int64.min), .integer(Int64.max), 0, -1, true, false, nil, [], [:]]
        #expect(try text(value) == "[-9223372036854775808,9223372036854775807,0,-1,true,false,null,[],{}]")
    }

    @Test func parsingThenEncodingRemovesInsignificantWhitespaceAndEscapes() throws {
        let loose = " { \"b\" : [ 1 , 2 ] ,\n \"a\" : \"\\u00e9\\/\\ud83d\\ude00\" } "
        #expect(try text(try CanonicalJSON(parsing: loose)) == "{\"a\":\"é/😀\",\"b\":[1,2]}")
    }

    @Test(arguments: [
        "1.5", "1e3", "01", "-", "[1,]", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "\"\\udc00x\"", "\"\u{1}\"", "tru", "1 2",
        "{\"e\u{301}\":1,\"\u{E9}\":2}", "99999999999999999999",
    ])
    func parserRejectsWhatHasNoCanonicalForm(_ input: String) {
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON(parsing: input) }
    }

    @Test func entryBytesMustAlreadyBeCanonical() throws {
        let entry = LedgerEntry(seq: 7, draft: LedgerDraft(time: 42, kind: "k", actor: "a", payload: ["x": 1]))
        let bytes = try entry.canonicalBytes()
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"actor":"a","kind":"k","payload":{"x":1},"seq":7,"time":42}"#)
        #expect(try LedgerEntry(canonical: bytes) == entry)
        let spaced = Array(#"{"actor":"a", "kind":"k","payload":{"x":1},"seq":7,"time":42}"#.utf8)
        #expect(throws: LedgerError.self) { try LedgerEntry(canonical: spaced) }
        let extra = Array(#"{"actor":"a","extra":1,"kind":"k","payload":{"x":1},"seq":7,"time":42}"#.utf8)
        #expect(throws: LedgerError.self) { try LedgerEntry(canonical: extra) }
    }

    @Test func theEntryFastPathEncodesExactlyLikeTheGeneralEncoder() throws {
        for i in 0..<200 {
            let entry = LedgerEntry(seq: i * 7919, draft: sampleEntry(i))
            #expect(try entry.canonicalBytes() == entry.json.canonicalBytes())
        }
        let awkward = LedgerEntry(
            seq: 0, draft: LedgerDraft(time: -5, kind: "k\u{1}\"", actor: "Cafe\u{301}\\", payload: nil))
        #expect(try awkward.canonicalBytes() == awkward.json.canonicalBytes())
    }

    @Test func nestingTheVerifierCouldNotReadIsRefusedOnAppend() throws {
        // Depth counts from the entry object (0); the payload is at depth 1.
        func nested(_ levels: Int) -> CanonicalJSON {
            var value: CanonicalJSON = 1
            for _ in 0..<levels { value = [value] }
            return value
        }
        func entry(_ payload: CanonicalJSON) -> LedgerEntry {
            LedgerEntry(seq: 0, draft: LedgerDraft(time: 0, kind: "k", actor: "a", payload: payload))
        }
        let deepest = entry(nested(CanonicalJSON.maximumDepth - 2))
        let bytes = try deepest.canonicalBytes()
        #expect(try LedgerEntry(canonical: bytes) == deepest)
        #expect(throws: CanonicalJSONError.tooDeep) { try entry(nested(CanonicalJSON.maximumDepth - 1)).canonicalBytes() }
        #expect(throws: CanonicalJSONError.tooDeep) { try entry(nested(CanonicalJSON.maximumDepth - 1)).json.canonicalBytes() }
        // The parser draws the line at the same place.
        let oneDeeper = String(decoding: bytes, as: UTF8.self)
            .replacingOccurrences(of: #""payload":"#, with: #""payload":["#)
            .replacingOccurrences(of: #","seq""#, with: #"],"seq""#)
        #expect(throws: CanonicalJSONError.tooDeep) { try CanonicalJSON(parsing: oneDeeper) }
        let t = try TestLedger()
        #expect(throws: CanonicalJSONError.tooDeep) {
            try t.ledger.append(LedgerDraft(time: 0, kind: "k", actor: "a", payload: nested(CanonicalJSON.maximumDepth)))
        }
        #expect(try t.ledger.treeHead().size == 0)
    }

    @Test func theLedgerHoldsIntegersOnly() throws {
        let t = try TestLedger()
        #expect(throws: CanonicalJSONError.self) {
            try t.ledger.append(LedgerDraft(time: 0, kind: "k", actor: "a", payload: ["price": .decimal("1234.50")]))
        }
        #expect(try t.ledger.treeHead().size == 0)
    }

    @Test func leafHashIsSHA256OfZeroByteAndEntry() throws {
        // Vector: SHA-256(0x00 || "{}") computed independently with `printf '\0{}' | sha256sum`.
        #expect(MerkleHash.leaf(Array("{}".utf8)).hex == "28a3a18f6cd6406b086e9ffda1f9b8a13dbcf44b0f3f32cb9031a11fd053acf9")
        #expect(MerkleHash.emptyTree.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
