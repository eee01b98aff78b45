import Canonical

/// UTC ISO 8601 from milliseconds since the epoch (civil-from-days, H. Hinnant); no clock, no locale.
func isoDateTime(_ ms: Instant) -> String {
    CivilTime.iso8601(seconds: ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
}
