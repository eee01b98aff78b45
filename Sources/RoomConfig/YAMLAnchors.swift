/// roomd.yaml uses no YAML anchors or aliases (`&name`, `*name`), and they
/// are refused before the YAML library sees the text: aliases used as mapping
/// keys make its duplicate-key check hash an exponentially growing tree (nine
/// levels hung `check-config`). A configuration this small has nothing to share.
///
/// A small lexer, not a YAML parser: it skips comments, quoted scalars and
/// block scalars (`|`, `>`), and reports `&` or `*` where a node may begin —
/// at the start of a line's content, after `- `, `: `, `? `, `[`, `{` or `,`.
/// A plain value like `Tom &Jerry` is refused too, with advice to quote it.
enum YAMLAnchors {
    /// (1-based line, message) of the first anchor or alias, or nil.
    static func problem(in text: String) -> (line: Int, message: String)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
        var blockIndent: Int?  // inside a block scalar: lines indented more than this belong to it
        var quote: UInt8?  // inside a quoted scalar that spans lines
        for (number, line) in lines.enumerated() {
            let indent = line.prefix { $0 == UInt8(ascii: " ") }.count
            if let block = blockIndent {
                if indent > block || line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                blockIndent = nil
            }
            var index = 0
            var nodeMayStart = quote == nil
            while index < line.count {
                let byte = line[index]
                if let open = quote {
                    if byte == UInt8(ascii: "\\"), open == UInt8(ascii: "\"") {
                        index += 2
                        continue
                    }
                    if byte == open {
                        // '' inside single quotes is an escaped quote.
                        if open == UInt8(ascii: "'"), index + 1 < line.count, line[index + 1] == open {
                            index += 2
                            continue
                        }
                        quote = nil
                    }
                    index += 1
                    continue
                }
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    index += 1
                    continue
                case UInt8(ascii: "#") where index == 0 || line[index - 1] == UInt8(ascii: " ") || line[index - 1] == UInt8(ascii: "\t"):
                    index = line.count
                    continue
                case _ where nodeMayStart && (byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")):
                    quote = byte
                case _ where nodeMayStart && (byte == UInt8(ascii: "&") || byte == UInt8(ascii: "*")):
                    let what = byte == UInt8(ascii: "&") ? "an anchor" : "an alias"
                    return (number + 1, "\(what) ('\(Character(Unicode.Scalar(byte)))…', column \(index + 1)): roomd.yaml does not use YAML anchors or aliases; write the value out (quote it if it starts with & or *)")
                case _ where nodeMayStart && (byte == UInt8(ascii: "|") || byte == UInt8(ascii: ">")):
                    blockIndent = indent
                    index = line.count
                    continue
                default:
                    break
                }
                let mayFollow: Set<UInt8> = [UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "?"), UInt8(ascii: "["),
                                             UInt8(ascii: "{"), UInt8(ascii: ",")]
                if quote == nil {
                    // `-`, `:` and `?` start a node only when a space follows them.
                    let next = index + 1 < line.count ? line[index + 1] : UInt8(ascii: " ")
                    let spaced = next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\r")
                    if [UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ",")].contains(byte) {
                        nodeMayStart = true
                    } else if mayFollow.contains(byte), spaced {
                        nodeMayStart = true
                    } else {
                        nodeMayStart = false
                    }
                }
                index += 1
            }
        }
        return nil
    }
}
