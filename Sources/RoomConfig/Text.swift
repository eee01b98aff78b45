internal import CBuildInfo
import Canonical
import Glibc

/// Small text rules and formats, written out by hand: Foundation's regular
/// expressions and date formatters pull in ICU, whose pages alone cost the
/// daemon several megabytes of resident memory.
public enum Text {
    /// UTC time as `2026-11-26T17:58:10.744Z` (RFC 3339, milliseconds).
    public static func iso8601(nanoseconds: Int64) -> String { CivilTime.iso8601(nanoseconds: nanoseconds) }

    static func isASCIIAlphanumeric(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber)
    }

    /// `S01`, `C07`: a letter and exactly two digits.
    static func isDeviceID(_ text: String, prefix: Character) -> Bool {
        let chars = Array(text)
        return chars.count == 3 && chars[0] == prefix && chars[1].isASCII && chars[1].isNumber
            && chars[2].isASCII && chars[2].isNumber
    }

    /// `1.2.156.10260.4.1.1`: at least two arcs of decimal digits.
    static func isDottedOID(_ text: String) -> Bool {
        let arcs = text.split(separator: ".", omittingEmptySubsequences: false)
        return arcs.count >= 2 && arcs.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// 1–64 of letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    static func isRoomID(_ text: String) -> Bool {
        guard let first = text.first, isASCIIAlphanumeric(first), text.count <= 64 else { return false }
        return text.allSatisfy { isASCIIAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// An ALSA PCM name: `hw:CARD=S01,DEV=0`, `plughw:1,0`, `default`, a
    /// `pcm.NAME` defined in asound.conf, …
    static func isALSAName(_ text: String) -> Bool {
        let known = ["hw", "plughw", "dsnoop", "default", "sysdefault", "null", "file"]
        let head = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if known.contains(head) { return !text.contains(where: { $0.isWhitespace }) }
        guard let first = text.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { isASCIIAlphanumeric($0) || $0 == "_" }
    }
}

/// The version the build stamped in (VERSION, or ROOMD_VERSION at build time).
public enum BuildInfo {
    public static let version = String(cString: roomd_version())
}
