import Foundation
import Canonical

/// A small ASN.1 DER/BER reader and DER writer: enough for CMS SignedData,
/// certificates' TBS fields and CRLs. OpenSSL 3.0 cannot handle CMS with SM2
/// keys, so roomd reads and writes SignedData itself, for every algorithm.
///
/// The reader is written for hostile input: every length is checked against
/// what is left, nesting is bounded, and nothing is trusted.
enum DER {
    struct Error: Swift.Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    enum Tag {
        static let boolean: UInt8 = 0x01
        static let integer: UInt8 = 0x02
        static let bitString: UInt8 = 0x03
        static let octetString: UInt8 = 0x04
        static let null: UInt8 = 0x05
        static let oid: UInt8 = 0x06
        static let utf8String: UInt8 = 0x0c
        static let printableString: UInt8 = 0x13
        static let ia5String: UInt8 = 0x16
        static let utcTime: UInt8 = 0x17
        static let generalizedTime: UInt8 = 0x18
        static let bmpString: UInt8 = 0x1e
        static let sequence: UInt8 = 0x30
        static let set: UInt8 = 0x31
        /// `[n]` context-specific, constructed (EXPLICIT, or IMPLICIT over a constructed type).
        static func context(_ n: UInt8) -> UInt8 { 0xa0 | n }
        /// `[n]` context-specific, primitive (IMPLICIT over a primitive type).
        static func contextPrimitive(_ n: UInt8) -> UInt8 { 0x80 | n }
    }

    /// One element: its tag, its whole encoding and its contents. Indefinite
    /// lengths (BER, as streaming CMS writers produce) are accepted; `contents`
    /// then excludes the end-of-contents octets.
    struct Node {
        let tag: UInt8
        let encoded: ArraySlice<UInt8>
        let contents: ArraySlice<UInt8>

        var isConstructed: Bool { tag & 0x20 != 0 }

        /// The children of a constructed element.
        func children() throws -> [Node] {
            guard isConstructed else { throw Error("element with tag 0x\(String(tag, radix: 16)) is not constructed") }
            var reader = Reader(contents)
            var out: [Node] = []
            while !reader.isAtEnd { out.append(try reader.next()) }
            return out
        }

        func expect(_ expected: UInt8, _ what: String) throws -> Node {
            guard tag == expected else {
                throw Error("\(what): expected tag 0x\(String(expected, radix: 16)), found 0x\(String(tag, radix: 16))")
            }
            return self
        }

        /// Dotted-decimal text of an OBJECT IDENTIFIER.
        func oid() throws -> String {
            guard tag == Tag.oid, !contents.isEmpty, contents.count <= 64 else { throw Error("not an object identifier") }
            var arcs: [UInt64] = []
            var value: UInt64 = 0
            var first = true
            for byte in contents {
                guard value <= (UInt64.max >> 7) else { throw Error("object identifier arc too large") }
                value = value << 7 | UInt64(byte & 0x7f)
                if byte & 0x80 == 0 {
                    if first {
                        let top: UInt64 = value < 40 ? 0 : value < 80 ? 1 : 2
                        arcs.append(top)
                        arcs.append(value - top * 40)
                        first = false
                    } else {
                        arcs.append(value)
                    }
                    value = 0
                }
            }
            guard contents.last! & 0x80 == 0 else { throw Error("truncated object identifier") }
            return arcs.map(String.init).joined(separator: ".")
        }

        /// UTCTime or GeneralizedTime ("Z" form, as DER requires).
        func time() throws -> Date {
            let text = String(decoding: contents, as: UTF8.self)
            let digits = text.dropLast()
            guard text.hasSuffix("Z"), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw Error("time \(text) is not in the form DER requires")
            }
            var fields = Array(digits).map { Int(String($0))! }
            var year: Int
            switch (tag, fields.count) {
            case (Tag.utcTime, 12):
                year = fields[0] * 10 + fields[1]
                year += year < 50 ? 2000 : 1900
                fields.removeFirst(2)
            case (Tag.generalizedTime, 14):
                year = fields[0] * 1000 + fields[1] * 100 + fields[2] * 10 + fields[3]
                fields.removeFirst(4)
            default:
                throw Error("not a UTCTime or GeneralizedTime")
            }
            func pair(_ i: Int) -> Int { fields[i] * 10 + fields[i + 1] }
            guard let seconds = CivilTime.unixSeconds(year: year, month: pair(0), day: pair(2),
                                                      hour: pair(4), minute: pair(6), second: pair(8)) else {
                throw Error("invalid date \(text)")
            }
            return Date(timeIntervalSince1970: TimeInterval(seconds))
        }
    }

    struct Reader {
        private var bytes: ArraySlice<UInt8>
        private let depth: Int

        init(_ bytes: ArraySlice<UInt8>, depth: Int = 0) {
            self.bytes = bytes
            self.depth = depth
        }

        init(_ bytes: [UInt8]) { self.init(bytes[...]) }

        var isAtEnd: Bool { bytes.isEmpty }

        /// Reads the one element `bytes` must consist of.
        static func single(_ bytes: ArraySlice<UInt8>) throws -> Node {
            var reader = Reader(bytes)
            let node = try reader.next()
            guard reader.isAtEnd else { throw Error("trailing bytes after the outer element") }
            return node
        }

        mutating func next() throws -> Node {
            // Deep nesting only comes from hostile input; bound the recursion.
            guard depth < 32 else { throw Error("nesting too deep") }
            let start = bytes.startIndex
            guard let tag = bytes.first else { throw Error("unexpected end of data") }
            guard tag & 0x1f != 0x1f else { throw Error("multi-byte tags are not used in CMS") }
            var cursor = start + 1
            guard cursor < bytes.endIndex else { throw Error("missing length") }
            let first = bytes[cursor]
            cursor += 1
            if first == 0x80 {
                // Indefinite length: only for constructed elements; ends with 00 00.
                guard tag & 0x20 != 0 else { throw Error("indefinite length on a primitive element") }
                var inner = Reader(bytes[cursor...], depth: depth + 1)
                while true {
                    guard inner.bytes.count >= 2 else { throw Error("missing end-of-contents") }
                    if inner.bytes.first == 0, inner.bytes[inner.bytes.startIndex + 1] == 0 { break }
                    _ = try inner.next()
                }
                let contentsEnd = inner.bytes.startIndex
                let end = contentsEnd + 2
                let node = Node(tag: tag, encoded: bytes[start..<end], contents: bytes[cursor..<contentsEnd])
                bytes = bytes[end...]
                return node
            }
            var length = 0
            if first & 0x80 == 0 {
                length = Int(first)
            } else {
                let count = Int(first & 0x7f)
                guard count <= 4, cursor + count <= bytes.endIndex else { throw Error("bad length") }
                for byte in bytes[cursor..<cursor + count] { length = length << 8 | Int(byte) }
                cursor += count
            }
            guard length <= bytes.endIndex - cursor else { throw Error("length \(length) runs past the end of the data") }
            let end = cursor + length
            // Children are parsed (and checked) when asked for, by children().
            let node = Node(tag: tag, encoded: bytes[start..<end], contents: bytes[cursor..<end])
            bytes = bytes[end...]
            return node
        }
    }

    // MARK: - Writing (DER only)

    static func encode(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        let length = contents.count
        if length < 0x80 {
            out.append(UInt8(length))
        } else {
            var lengthBytes: [UInt8] = []
            var remaining = length
            while remaining > 0 {
                lengthBytes.insert(UInt8(remaining & 0xff), at: 0)
                remaining >>= 8
            }
            out.append(0x80 | UInt8(lengthBytes.count))
            out += lengthBytes
        }
        return out + contents
    }

    static func sequence(_ elements: [[UInt8]]) -> [UInt8] { encode(Tag.sequence, elements.flatMap { $0 }) }

    /// A DER SET OF: elements sorted by their encodings (X.690 11.6).
    static func set(_ elements: [[UInt8]]) -> [UInt8] {
        encode(Tag.set, elements.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { $0 })
    }

    static func integer(_ value: Int) -> [UInt8] {
        precondition(value >= 0 && value < 0x80, "only small version numbers are written")
        return encode(Tag.integer, [UInt8(value)])
    }

    static func octetString(_ bytes: [UInt8]) -> [UInt8] { encode(Tag.octetString, bytes) }

    static let null: [UInt8] = [Tag.null, 0]

    static func oid(_ dotted: String) -> [UInt8] {
        let arcs = dotted.split(separator: ".").map { UInt64($0)! }
        var body: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var chunk: [UInt8] = [UInt8(arc & 0x7f)]
            var rest = arc >> 7
            while rest > 0 {
                chunk.insert(UInt8(rest & 0x7f) | 0x80, at: 0)
                rest >>= 7
            }
            body += chunk
        }
        return encode(Tag.oid, body)
    }

    /// UTCTime for 1950–2049 and GeneralizedTime otherwise (RFC 5652 11.3).
    static func time(_ date: Date) -> [UInt8] {
        let c = CivilTime(Int64(date.timeIntervalSince1970.rounded(.down)))
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let rest = two(c.month) + two(c.day) + two(c.hour) + two(c.minute) + two(c.second) + "Z"
        if (1950..<2050).contains(c.year) {
            return encode(Tag.utcTime, Array((two(c.year % 100) + rest).utf8))
        }
        return encode(Tag.generalizedTime, Array((String(c.year) + rest).utf8))
    }
}
