import Canonical
import Testing

/// The one calendar: vectors checked against `date -u -d @SECONDS`.
struct CivilTimeTests {
    @Test func instantsFormatTheSameEveryWhere() {
        #expect(CivilTime.iso8601(nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(CivilTime.iso8601(nanoseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(CivilTime.iso8601(nanoseconds: 951_782_400_123_000_000) == "2000-02-29T00:00:00.123Z")
        #expect(CivilTime.iso8601(seconds: 1_798_761_599) == "2026-12-31T23:59:59Z")
        #expect(CivilTime.compact(seconds: 1_796_315_890) == "20261203T163810Z")
        #expect(CivilTime.beijing(seconds: 1_796_315_890) == "2026-12-04 00:38")
    }

    @Test func realDatesRoundTripAndImpossibleOnesDoNot() {
        for seconds: Int64 in [0, 951_782_400, 4_107_542_399, -2_208_988_800] {
            let c = CivilTime(seconds)
            #expect(CivilTime.unixSeconds(year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second) == seconds)
        }
        #expect(CivilTime.unixSeconds(year: 2026, month: 2, day: 29, hour: 0, minute: 0, second: 0) == nil)
        #expect(CivilTime.unixSeconds(year: 2026, month: 4, day: 31, hour: 0, minute: 0, second: 0) == nil)
    }

    @Test func rfc3339TimesAreReadWithTheirOffsetsAndNothingElseIs() {
        // Vectors from `date -u -d TEXT +%s.%N`.
        #expect(CivilTime.parseRFC3339("2026-05-01T09:00:00Z") == WallTime(nanoseconds: 1_777_626_000_000_000_000))
        #expect(CivilTime.parseRFC3339("2026-05-01T17:00:00+08:00") == WallTime(nanoseconds: 1_777_626_000_000_000_000))
        #expect(CivilTime.parseRFC3339("1999-12-31T23:59:59.5-05:30") == WallTime(nanoseconds: 946_704_599_500_000_000))
        #expect(CivilTime.parseRFC3339("2026-11-26T17:58:10.744Z")?.description == "2026-11-26T17:58:10.744Z")
        #expect(CivilTime.parseRFC3339("2026-01-01T00:00:00.123456789123Z")?.nanoseconds == 1_767_225_600_123_456_789)
        for bad in ["2026-05-01", "2026-05-01T09:00:00", "2026-02-29T00:00:00Z", "2026-05-01T24:00:00Z", "2026-05-01T09:00:00.Z",
                    "2026-05-01T09:00:00+8:00", "2026-05-01T09:00:00+08:00x", "2026-05-01 09:00:00Z", "２026-05-01T09:00:00Z", ""] {
            #expect(CivilTime.parseRFC3339(bad) == nil, "\(bad)")
        }
    }
}
