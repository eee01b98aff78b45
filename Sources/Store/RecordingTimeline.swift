import Foundation
public import RoomConfig
public import GRDB
import Synchronization

extension RecordingTimeline {
    /// Two segments closer than this are one span: the next segment starts
    /// with the frame after the previous one's last (measured: 12–13 µs
    /// apart), so only clock jitter separates them. A helper restart, a lost
    /// device or a stopped roomd takes far longer.
    public static let contiguityTolerance: Int64 = 200_000_000
    /// How far around a gap the events that explain it are looked for.
    static let explanationWindow: Int64 = 5_000_000_000

    /// One row of the index, as the timeline reads it (no Codable decoding:
    /// a month of one room is ~390,000 rows).
    struct SegmentRow {
        var id: Int64
        var start: Int64
        var end: Int64
        var state: String
        var frames: Int64
        var dropped: Int64
        var xruns: Int64
        var bytes: Int64
        var videoCodec: String?
        var audioCodec: String?
        var deleted: Bool
    }

    /// Builds the timeline. `now` bounds open segments and marks the part of
    /// the range that lies in the future as not yet recorded. `cache` holds
    /// the spans of closed segments between calls (roomd keeps one); without
    /// it they are read from the index for this call.
    public static func build(_ db: Database, devices: [String], from: Int64, to: Int64, now: Int64,
                             cache: TimelineSpanCache? = nil) throws -> RecordingTimeline {
        let cache = cache ?? TimelineSpanCache()
        try cache.refresh(db, devices: devices)
        var result: [Device] = []
        for device in devices {
            var spans = cache.spans(device: device, from: from, to: to)
            // Segments still being written are not in the cache: their end moves.
            for row in try writingRows(db, device: device, from: from, to: to, now: now) where !merge(row, into: &spans) {
                // Out of order (it starts before a closed span ends): its own span, in place.
                var alone: [Span] = []
                merge(row, into: &alone)
                spans.insert(contentsOf: alone, at: spans.firstIndex { $0.start > row.start } ?? spans.endIndex)
            }
            result.append(try assemble(db, device: device, spans: spans, from: from, to: to, now: now))
        }
        return RecordingTimeline(from: from, to: to, devices: result)
    }

    /// Appends `row` to `spans` (sorted by start): extends the last span when
    /// it joins it, else starts a new one. False when `row` is not after the
    /// last span (out of order: the caller rebuilds).
    @discardableResult
    static func merge(_ row: SegmentRow, into spans: inout [Span]) -> Bool {
        let state = row.deleted ? "deleted" : row.state == "missing" ? "missing" : "recorded"
        if var last = spans.last {
            guard row.start >= last.end - contiguityTolerance else { return false }
            if last.state == state, row.start - last.end <= contiguityTolerance {
                last.end = max(last.end, row.end)
                last.segments += 1
                last.lastSegment = row.id
                last.frames += row.frames
                last.droppedFrames += row.dropped
                last.audioXruns += row.xruns
                last.bytes += row.bytes
                last.open = row.state == "writing"
                last.videoCodec = last.videoCodec ?? row.videoCodec
                last.audioCodec = last.audioCodec ?? row.audioCodec
                spans[spans.count - 1] = last
                return true
            }
        }
        spans.append(Span(start: row.start, end: row.end, state: state, segments: 1, firstSegment: row.id, lastSegment: row.id,
                          frames: row.frames, droppedFrames: row.dropped, audioXruns: row.xruns, bytes: row.bytes,
                          open: row.state == "writing", videoCodec: row.videoCodec, audioCodec: row.audioCodec))
        return true
    }

    static let rowColumns = """
        s.id, s.wall_start_ns, COALESCE(s.wall_end_ns, s.wall_start_ns), s.state, s.frames, s.dropped_frames,
        s.audio_xruns, COALESCE(s.bytes, s.durable_bytes), s.video_codec, s.audio_codec,
        EXISTS (SELECT 1 FROM retention_unlinks u WHERE u.segment_id = s.id), s.device
        """

    static func readRows(_ statement: Statement, _ arguments: StatementArguments, now: Int64) throws -> [(String, SegmentRow)] {
        var rows: [(String, SegmentRow)] = []
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() {
            let state: String = row[3]
            var end: Int64 = row[2]
            if state == "writing" { end = max(end, min(now, end + 5_000_000_000)) }
            rows.append((row[11], SegmentRow(id: row[0], start: row[1], end: end, state: state, frames: row[4], dropped: row[5],
                                             xruns: row[6], bytes: row[7], videoCodec: row[8], audioCodec: row[9], deleted: row[10])))
        }
        return rows
    }

    /// The device's segments being written that reach into [from, to) (the partial index on state finds them).
    static func writingRows(_ db: Database, device: String, from: Int64, to: Int64, now: Int64) throws -> [SegmentRow] {
        let statement = try db.cachedStatement(sql: """
            SELECT \(rowColumns) FROM segments s INDEXED BY segments_state WHERE s.state != 'closed' AND s.state = 'writing' AND s.device = ? ORDER BY s.wall_start_ns
            """)
        return try readRows(statement, [device], now: now).map(\.1).filter { $0.start < to && $0.end > from }
    }

    static func assemble(_ db: Database, device: String, spans: [Span], from: Int64, to: Int64, now: Int64) throws -> Device {
        var gaps: [Gap] = []
        let horizon = min(to, now)
        var cursor = from
        for span in spans {
            if span.start - cursor > contiguityTolerance, cursor < horizon {
                gaps.append(try explain(db, device: device, start: cursor, end: min(span.start, horizon)))
            }
            if span.state != "recorded" {
                let reason: Reason = span.state == "deleted" ? .deletedByRetention : .fileMissing
                gaps.append(Gap(start: max(span.start, from), end: min(span.end, to), reason: reason,
                                detail: span.state == "deleted"
                                    ? "segments \(span.firstSegment)–\(span.lastSegment) deleted by retention (their hashes stay in the index and the ledger)"
                                    : "segment files \(span.firstSegment)–\(span.lastSegment) are missing from disk"))
            }
            cursor = max(cursor, span.end)
        }
        if horizon - cursor > contiguityTolerance {
            gaps.append(try explain(db, device: device, start: cursor, end: horizon))
        }
        if to > now, now >= from {
            gaps.append(Gap(start: max(now, from), end: to, reason: .notYetRecorded, detail: "the range reaches past now"))
        }
        gaps += try impairments(db, device: device, from: from, to: to, spans: spans, holes: gaps)
        gaps.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        let recorded = spans.filter { $0.state == "recorded" }.reduce(Int64(0)) { $0 + max(0, min($1.end, to) - max($1.start, from)) }
        return Device(device: device, spans: spans, gaps: gaps, recordedNanoseconds: recorded)
    }

    /// Why nothing was recorded in [start, end): the most specific event of
    /// this device (or of the daemon) near the hole.
    static func explain(_ db: Database, device: String, start: Int64, end: Int64) throws -> Gap {
        let low = start - explanationWindow, high = end + explanationWindow
        let events = try Row.fetchAll(db, sql: """
            SELECT kind, time_ns, detail FROM events
            WHERE kind IN ('storage.disk-full', 'device.lost', 'device.missing', 'capture.helper-exited', 'daemon.started', 'daemon.stopped', 'daemon.failed')
              AND time_ns BETWEEN ? AND ? AND (subject = ? OR kind LIKE 'daemon.%')
            ORDER BY time_ns
            """, arguments: [low, high, device])
        let priority: [(Set<String>, Reason)] = [
            (["storage.disk-full"], .diskFull),
            (["device.lost", "device.missing"], .deviceLost),
            (["capture.helper-exited"], .helperRestarted),
            (["daemon.started", "daemon.stopped", "daemon.failed"], .daemonNotRunning),
        ]
        for (kinds, reason) in priority {
            let matching = events.filter { kinds.contains($0["kind"] as String) }
            guard let first = matching.first else { continue }
            let time: Int64 = first["time_ns"]
            let text: String = first["detail"]
            return Gap(start: start, end: end, reason: reason,
                       detail: "\(first["kind"] as String) at \(Text.iso8601(nanoseconds: time)): \(text)")
        }
        return Gap(start: start, end: end, reason: .unexplained, detail: "no event of this device or of roomd explains this hole")
    }

    /// Lost frames and audio overruns inside spans, from their events: the
    /// recorder reports dropped frames at most every 10 s with a count, an
    /// overrun each time. Each becomes a short gap at the event's time.
    static func impairments(_ db: Database, device: String, from: Int64, to: Int64, spans: [Span], holes: [Gap]) throws -> [Gap] {
        let events = try Row.fetchAll(db, sql: """
            SELECT kind, time_ns, detail FROM events INDEXED BY events_kind_time
            WHERE kind IN ('capture.frames-dropped', 'capture.audio-xrun') AND time_ns >= ? AND time_ns < ? AND subject = ?
            ORDER BY time_ns
            """, arguments: [from, to, device])
        var gaps: [Gap] = events.map { row in
            let kind: String = row["kind"]
            let time: Int64 = row["time_ns"]
            let detail: String = row["detail"]
            if kind == "capture.frames-dropped" {
                let frames = Self.count(in: detail, key: "frames") ?? 1
                // Frame duration from the span the event falls in (frames / length).
                let span = spans.first { $0.start <= time && time <= $0.end + contiguityTolerance && $0.frames > 0 }
                let frameNs = span.map { max(1, ($0.end - $0.start) / max(1, $0.frames)) } ?? 66_666_667
                return Gap(start: max(from, time - frames * frameNs), end: time, reason: .droppedFrames,
                           detail: "\(frames) frame(s) lost in the 10 s before \(Text.iso8601(nanoseconds: time))")
            }
            return Gap(start: time, end: time, reason: .audioXrun, detail: "audio overrun at \(Text.iso8601(nanoseconds: time)): a few ms of sound lost")
        }
        // A device lost while the other track kept recording (a camera
        // unplugged, its microphone still there) leaves no hole in the index:
        // the loss runs from the event to the device's return.
        let outages = try Row.fetchAll(db, sql: """
            SELECT kind, time_ns, detail FROM events INDEXED BY events_kind_time
            WHERE kind IN ('device.lost', 'device.missing', 'device.returned') AND time_ns >= ? AND time_ns < ? AND subject = ?
            ORDER BY time_ns
            """, arguments: [from - explanationWindow, to, device])
        var lostAt: (Int64, String)?
        // An outage that is already a hole explained by it is not said twice.
        func explained(_ start: Int64) -> Bool {
            holes.contains { $0.reason == .deviceLost && $0.start <= start + explanationWindow && $0.end >= start - explanationWindow }
        }
        for row in outages {
            let kind: String = row["kind"], time: Int64 = row["time_ns"], detail: String = row["detail"]
            if kind == "device.returned" {
                if let (start, why) = lostAt, time > from, !explained(start) {
                    gaps.append(Gap(start: max(start, from), end: min(time, to), reason: .deviceLost, detail: why + "; back at \(Text.iso8601(nanoseconds: time))"))
                }
                lostAt = nil
            } else if lostAt == nil {
                lostAt = (time, "\(kind) at \(Text.iso8601(nanoseconds: time)): \(detail)")
            }
        }
        if let (start, why) = lostAt, start < to, !explained(start) {
            gaps.append(Gap(start: max(start, from), end: to, reason: .deviceLost, detail: why + "; not back in this range"))
        }
        return gaps
    }

    static func count(in json: String, key: String) -> Int64? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] else { return nil }
        return object[key].flatMap { Int64($0) }
    }
}

/// The spans of closed segments, per device, kept between timeline queries
/// so a month of a room (~390,000 rows) is not read again for each: built
/// once, then extended by the segments closed since (found by row id), and
/// rebuilt for a device when a row arrives out of order (an orphan, a
/// recovered segment) or for all when retention deleted files or a file went
/// missing. Derived data, never stored.
public final class TimelineSpanCache: Sendable {
    struct State {
        var built = false
        var spans: [String: [RecordingTimeline.Span]] = [:]
        /// Rows with an id below this are merged (or were writing then and
        /// are in `pendingWriting`); rows at or above it are looked at again.
        var watermark: Int64 = 0
        /// Ids at or above the watermark already merged.
        var mergedAbove: Set<Int64> = []
        /// What makes the spans stale other than new rows: unlinks, missing files.
        var signature: [Int64] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Brings the spans up to date with the index (inside a read of `db`).
    func refresh(_ db: Database, devices: [String]) throws {
        try state.withLock { state in
            let signature = [
                try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(rowid), 0) FROM retention_unlinks") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM segments INDEXED BY segments_state WHERE state != 'closed' AND state = 'missing'") ?? 0,
            ]
            let maxID = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM segments") ?? 0
            let lowestWriting = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM segments INDEXED BY segments_state WHERE state != 'closed' AND state = 'writing'")
            if !state.built || signature != state.signature {
                state.spans = [:]
                let statement = try db.cachedStatement(sql: """
                    SELECT \(RecordingTimeline.rowColumns) FROM segments s WHERE s.state != 'writing' AND s.id <= ? ORDER BY s.device, s.wall_start_ns
                    """)
                for (device, row) in try RecordingTimeline.readRows(statement, [maxID], now: 0) {
                    RecordingTimeline.merge(row, into: &state.spans[device, default: []])
                }
                state.built = true
                state.signature = signature
                state.mergedAbove = []
                // Writing rows below maxID come back when they close.
                let writing = Set(try Int64.fetchAll(db, sql: "SELECT id FROM segments INDEXED BY segments_state WHERE state != 'closed' AND state = 'writing'"))
                state.watermark = lowestWriting ?? (maxID + 1)
                let merged = try Int64.fetchAll(db, sql: "SELECT id FROM segments WHERE id >= ? AND id <= ?", arguments: [state.watermark, maxID])
                state.mergedAbove = Set(merged).subtracting(writing)
                return
            }
            // New (or newly closed) rows since the last refresh.
            let statement = try db.cachedStatement(sql: """
                SELECT \(RecordingTimeline.rowColumns) FROM segments s WHERE s.id >= ? AND s.id <= ? AND s.state != 'writing' ORDER BY s.wall_start_ns
                """)
            var rebuild = Set<String>()
            for (device, row) in try RecordingTimeline.readRows(statement, [state.watermark, maxID], now: 0)
            where !state.mergedAbove.contains(row.id) {
                state.mergedAbove.insert(row.id)
                if !RecordingTimeline.merge(row, into: &state.spans[device, default: []]) { rebuild.insert(device) }
            }
            for device in rebuild {
                let statement = try db.cachedStatement(sql: """
                    SELECT \(RecordingTimeline.rowColumns) FROM segments s INDEXED BY segments_device_time
                    WHERE s.device = ? AND s.state != 'writing' AND s.id <= ? ORDER BY s.wall_start_ns
                    """)
                var spans: [RecordingTimeline.Span] = []
                for (_, row) in try RecordingTimeline.readRows(statement, [device, maxID], now: 0) { RecordingTimeline.merge(row, into: &spans) }
                state.spans[device] = spans
            }
            let watermark = lowestWriting ?? (maxID + 1)
            if watermark > state.watermark {
                state.watermark = watermark
                state.mergedAbove = state.mergedAbove.filter { $0 >= watermark }
            }
        }
    }

    /// The device's spans that overlap [from, to), in order.
    func spans(device: String, from: Int64, to: Int64) -> [RecordingTimeline.Span] {
        state.withLock { state in
            guard let all = state.spans[device], !all.isEmpty else { return [] }
            // Spans are sorted by start and do not overlap: binary search the first ending after `from`.
            var low = 0, high = all.count
            while low < high {
                let mid = (low + high) / 2
                if all[mid].end <= from { low = mid + 1 } else { high = mid }
            }
            var result: [RecordingTimeline.Span] = []
            var i = low
            while i < all.count, all[i].start < to {
                result.append(all[i])
                i += 1
            }
            return result
        }
    }
}
