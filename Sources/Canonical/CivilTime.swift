/// Calendar fields of a UTC instant, and back (days-from-civil, H. Hinnant):
/// no clock, no locale, no ICU. The one way roomd writes and reads dates —
/// certificates' GeneralizedTime, the API's RFC 3339 times, export folder
/// names, the engine's notices. (Foundation's Calendar costs tens of microseconds a
/// call on Linux, too much per signature, and its formatters load ICU.)
public struct CivilTime: Sendable, Hashable {
    public let year, month, day, hour, minute, second: Int

    public init(_ unixSeconds: Int64) {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = Int(unixSeconds - days * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
    }

    /// nil for a date that does not exist (month 13, 30 February, hour 24, …).
    public static func unixSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
              (0...59).contains(minute), (0...59).contains(second) else { return nil }
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let result = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        // Round-trips only for real dates: rejects 31 April and 29 February of common years.
        let check = CivilTime(result)
        guard check.day == day, check.month == month else { return nil }
        return result
    }
}

extension CivilTime {
    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `2026-11-26T17:58:10.744Z` (RFC 3339, UTC, milliseconds) from nanoseconds since the epoch.
    public static func iso8601(nanoseconds: Int64) -> String {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let millis = Int((nanoseconds - seconds * 1_000_000_000) / 1_000_000)
        let c = CivilTime(seconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(millis, 3))Z"
    }

    /// `2026-11-26T17:58:10Z` (UTC, whole seconds) from seconds since the epoch.
    public static func iso8601(seconds: Int64) -> String {
        let c = CivilTime(seconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
    }

    /// `20261126T175810Z`: for file and folder names.
    public static func compact(seconds: Int64) -> String {
        let c = CivilTime(seconds)
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))Z"
    }

    /// `2026-11-26 17:58` in Beijing time (UTC+8, no daylight saving), for people.
    public static func beijing(seconds: Int64) -> String {
        let c = CivilTime(seconds + 8 * 3600)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2)) \(pad(c.hour, 2)):\(pad(c.minute, 2))"
    }
}

extension CivilTime {
    /// Reads an RFC 3339 time: `2026-05-01T09:00:00Z`, with optional
    /// fractional seconds (to nanoseconds) and a `Z` or `±hh:mm` offset
    /// (`2026-05-01T17:00:00+08:00`). nil for anything else, or a date that
    /// does not exist.
    public static func parseRFC3339(_ text: String) -> WallTime? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3A, b[16] == 0x3A,
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              let seconds = unixSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if b[i] == 0x2E {
            i += 1
            var digits = 0
            while i < b.count, (0x30...0x39).contains(b[i]) {
                if digits < 9 { fraction = fraction * 10 + Int64(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard b.count == i + 6, b[i + 3] == 0x3A, let h = number(i + 1..<i + 3), let m = number(i + 4..<i + 6), h < 24, m < 60 else { return nil }
            offset = Int64(h * 3600 + m * 60) * (b[i] == 0x2B ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        return WallTime(nanoseconds: (seconds - offset) * 1_000_000_000 + fraction)
    }
}
