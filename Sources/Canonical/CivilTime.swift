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
