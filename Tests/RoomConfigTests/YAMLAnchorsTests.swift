import Testing

@testable import RoomConfig

/// Anchors and aliases are refused before the YAML library sees them (nine
/// levels of aliases as mapping keys hung it); quoted text, comments, block
/// scalars and `&` inside a value are not mistaken for them.
struct YAMLAnchorsTests {
    @Test func anchorsAndAliasesAreRefusedWithTheirLine() {
        for (text, line) in [("a: &x 1\nb: *x\n", 1), ("a: 1\nb: [*x]\n", 2), ("- &x {k: 1}\n", 1), ("a:\n  - *x\n", 2),
                             ("{*a : 1}\n", 1), ("a: {k: *x}\n", 1), ("? *x\n: 1\n", 1)] {
            #expect(YAMLAnchors.problem(in: text)?.line == line, "\(text)")
        }
    }

    @Test func lookalikesArePassed() {
        for text in ["a: 'x &y *z'\n", "a: \"*x\"\n", "# &anchor *alias\na: 1\n", "url: https://h/p?a=1&b=2\n", "a: 1 # note *x\n",
                     "text: |\n  *not an alias\n  &nor this\nb: 2\n", "name: 测试&评标\n", "a: 'it''s *fine'\n", "a: x*y\n"] {
            #expect(YAMLAnchors.problem(in: text) == nil, "\(text)")
        }
    }

    @Test func theAliasBombIsRefusedBeforeParsing() throws {
        var bomb = "a0: &a0 {x: 1, y: 2}\n"
        for level in 1...9 { bomb += "a\(level): &a\(level) {*a\(level - 1): 1, *a\(level - 1) : 2}\n" }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(bomb, sourcePath: "/tmp/roomd.yaml") }
    }
}
