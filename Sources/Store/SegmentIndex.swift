import Foundation
public import GRDB

/// The recording index: one row per segment file, in SQLite.
///
/// Invariants (see docs/formats.md, "Segment index"):
/// - a row in state `writing` exists before the segment file's first byte;
/// - a row becomes `closed` only after the file and its folder are fsync'ed,
///   with the file's size and SHA-256;
/// - rows are never deleted by anything but retention, which logs it;
/// - after a crash, `writing` rows become `recovered` (file cut back to its
///   last whole fragment and rehashed) and files with no row are indexed as
///   `orphan`; rows whose file is gone are flagged `missing`. Nothing is
///   dropped silently.
public final class SegmentIndex: Sendable {
    public enum State: String, Sendable, Codable {
        case writing, closed, recovered, orphan, missing
    }

    public struct Row: Sendable, Codable, Equatable, FetchableRecord {
        public var id: Int64
        public var device: String
        public var sequence: Int64
        public var path: String
        public var wallStartNs: Int64
        public var wallEndNs: Int64?
        public var monotonicStartNs: Int64
        public var frames: Int64
        public var droppedFrames: Int64
        public var audioXruns: Int64
        public var bytes: Int64?
        public var durableBytes: Int64
        public var sha256: String?
        public var videoCodec: String?
        public var audioCodec: String?
        public var state: State
        public var closeReason: String?
        public var synthetic: Bool

        public enum CodingKeys: String, CodingKey {
            case id, device, sequence, path
            case wallStartNs = "wall_start_ns", wallEndNs = "wall_end_ns", monotonicStartNs = "monotonic_start_ns"
            case frames, droppedFrames = "dropped_frames", audioXruns = "audio_xruns", bytes
            case durableBytes = "durable_bytes", sha256, videoCodec = "video_codec", audioCodec = "audio_codec"
            case state, closeReason = "close_reason", synthetic
        }
    }

    public let writer: any DatabaseWriter

    public init(writer: any DatabaseWriter) { self.writer = writer }

    /// Creates the table; the daemon's migrator calls this in its migration
    /// that introduces the index (and bumps the schema version).
    public static func createSchema(_ db: Database) throws {
            try db.execute(sql: """
                CREATE TABLE segments (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    path TEXT NOT NULL UNIQUE,
                    wall_start_ns INTEGER NOT NULL,
                    wall_end_ns INTEGER,
                    monotonic_start_ns INTEGER NOT NULL,
                    frames INTEGER NOT NULL DEFAULT 0,
                    dropped_frames INTEGER NOT NULL DEFAULT 0,
                    audio_xruns INTEGER NOT NULL DEFAULT 0,
                    bytes INTEGER,
                    durable_bytes INTEGER NOT NULL DEFAULT 0,
                    sha256 TEXT,
                    video_codec TEXT,
                    audio_codec TEXT,
                    state TEXT NOT NULL CHECK (state IN ('writing','closed','recovered','orphan','missing')),
                    close_reason TEXT,
                    synthetic INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (device, sequence)
                );
                CREATE INDEX segments_device_time ON segments(device, wall_start_ns);
                CREATE INDEX segments_state ON segments(state) WHERE state != 'closed';
                -- A closed segment's identity is evidence: its hash, size and times never change.
                CREATE TRIGGER segments_closed_immutable BEFORE UPDATE ON segments
                    WHEN OLD.state IN ('closed','recovered','orphan')
                     AND NOT (NEW.state = 'missing' AND NEW.sha256 IS OLD.sha256 AND NEW.bytes IS OLD.bytes)
                    BEGIN SELECT RAISE(ABORT, 'a closed segment row is evidence: UPDATE refused'); END;
                """)
    }

    public func nextSequence(device: String) throws -> Int64 {
        try writer.read { db in
            (try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM segments WHERE device = ?", arguments: [device]) ?? 0) + 1
        }
    }

    /// Inserts the `writing` row; durable when this returns.
    public func opened(device: String, sequence: Int64, path: String, wallStartNs: Int64, monotonicStartNs: Int64,
                       videoCodec: String?, audioCodec: String?, synthetic: Bool) throws -> Int64 {
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO segments (device, sequence, path, wall_start_ns, monotonic_start_ns, video_codec, audio_codec, state, synthetic)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'writing', ?)
                """, arguments: [device, sequence, path, wallStartNs, monotonicStartNs, videoCodec, audioCodec, synthetic])
            return db.lastInsertedRowID
        }
    }

    public func progressed(id: Int64, durableBytes: Int64, wallEndNs: Int64, frames: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE segments SET durable_bytes = ?, wall_end_ns = ?, frames = ? WHERE id = ? AND state = 'writing'",
                           arguments: [durableBytes, wallEndNs, frames, id])
        }
    }

    public func closed(id: Int64, wallEndNs: Int64, frames: Int64, droppedFrames: Int64, audioXruns: Int64,
                       bytes: Int64, sha256: String, reason: String) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE segments SET state = 'closed', wall_end_ns = ?, frames = ?, dropped_frames = ?, audio_xruns = ?,
                    bytes = ?, durable_bytes = ?, sha256 = ?, close_reason = ? WHERE id = ? AND state = 'writing'
                """, arguments: [wallEndNs, frames, droppedFrames, audioXruns, bytes, bytes, sha256, reason, id])
        }
    }

    public func recovered(id: Int64, wallEndNs: Int64, frames: Int64, bytes: Int64, sha256: String, reason: String) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE segments SET state = 'recovered', wall_end_ns = ?, frames = ?, bytes = ?, durable_bytes = ?, sha256 = ?,
                    close_reason = ? WHERE id = ? AND state = 'writing'
                """, arguments: [wallEndNs, frames, bytes, bytes, sha256, reason, id])
        }
    }

    /// The file of segment `id`, if there is such a row.
    public func path(id: Int64) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT path FROM segments WHERE id = ?", arguments: [id]) }
    }

    public func markMissing(id: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE segments SET state = 'missing' WHERE id = ?", arguments: [id])
        }
    }

    public func indexOrphan(device: String, path: String, wallStartNs: Int64, wallEndNs: Int64, frames: Int64,
                            bytes: Int64, sha256: String) throws -> Int64 {
        try writer.write { db in
            let sequence = (try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM segments WHERE device = ?", arguments: [device]) ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO segments (device, sequence, path, wall_start_ns, wall_end_ns, monotonic_start_ns, frames, bytes,
                    durable_bytes, sha256, state, close_reason)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 'orphan', 'found-without-row')
                """, arguments: [device, sequence, path, wallStartNs, wallEndNs, frames, bytes, bytes, sha256])
            return db.lastInsertedRowID
        }
    }

    public func rows(state: State) throws -> [Row] {
        try writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM segments WHERE state = ? ORDER BY id", arguments: [state.rawValue]) }
    }

    public func rows(device: String? = nil, limit: Int = 1000) throws -> [Row] {
        try writer.read { db in
            if let device {
                return try Row.fetchAll(db, sql: "SELECT * FROM segments WHERE device = ? ORDER BY id DESC LIMIT ?", arguments: [device, limit])
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM segments ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }

    /// Segments retention has marked (their files are or will be gone on purpose).
    public func retentionMarked() throws -> Set<Int64> {
        try writer.read { db in Set(try Int64.fetchAll(db, sql: "SELECT segment_id FROM retention_marks")) }
    }

    public func allPaths() throws -> Set<String> {
        try writer.read { db in Set(try String.fetchAll(db, sql: "SELECT path FROM segments")) }
    }
}
