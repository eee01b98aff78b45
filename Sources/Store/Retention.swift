import Archive
import Canonical
import RoomConfig
import Foundation
public import GRDB

/// Tables of retention and delivery (docs/formats.md, "Retention"):
/// two-phase deletion of segment files (a mark, then the unlink, each a row
/// that is never changed), and the platform's acknowledgements of sealed
/// packages, which make a session's recordings deletable.
/// A sealed package is keyed by what it seals: a session's id, or `opening:<id>` for an opening
/// (开标). Session ids may not begin with `opening:`, so the two never meet — in `packages`,
/// `package_outbox`, `package_acknowledgements` and the pull API's `{session}`.
public enum PackageKey {
    public static let openingPrefix = "opening:"

    public static func opening(_ id: String) -> String { openingPrefix + id }

    /// The opening a package key names, nil for a session's.
    public static func openingID(_ key: String) -> String? {
        key.hasPrefix(openingPrefix) ? String(key.dropFirst(openingPrefix.count)) : nil
    }
}

public enum RetentionSchema {
    public static let appendOnly = ["retention_marks", "retention_unlinks", "package_acknowledgements"]

    public static func create(_ db: Database) throws {
        try db.execute(sql: """
            -- Phase 1: a segment chosen for deletion, with the rule and what allowed it.
            CREATE TABLE retention_marks (
                segment_id INTEGER PRIMARY KEY REFERENCES segments(id),
                marked_ns INTEGER NOT NULL,
                rule TEXT NOT NULL,
                basis TEXT NOT NULL
            );
            -- Phase 2: the file is gone (unlinked and its folder synced); the ledger entry says so.
            CREATE TABLE retention_unlinks (
                segment_id INTEGER PRIMARY KEY REFERENCES retention_marks(segment_id),
                unlinked_ns INTEGER NOT NULL,
                bytes INTEGER NOT NULL,
                ledger_seq INTEGER NOT NULL
            );
            -- A session's sealed package, acknowledged by the platform with its own SHA-256.
            CREATE TABLE package_acknowledgements (
                session_id TEXT PRIMARY KEY,
                package_sha256 TEXT NOT NULL,
                acknowledged_ns INTEGER NOT NULL,
                acknowledged_by TEXT NOT NULL
            );
            CREATE INDEX segments_time ON segments(wall_start_ns);
            """)
        for table in appendOnly { try RoomStore.makeAppendOnly(db, table: table) }
    }
}

/// Retention policy (`retention:` in the configuration, docs/formats.md "Retention").
public struct RetentionPolicy: Sendable, Equatable {
    /// Recordings of sessions whose package the platform acknowledged are due this old.
    public var keepDeliveredNanoseconds: Int64
    /// Recordings outside every session are due this old.
    public var keepUnassignedNanoseconds: Int64
    /// Below this much free space, the oldest deletable segments are due until it is back.
    public var freeSpaceBytes: Int64
    /// Under space pressure, a segment outside every session may go only this old.
    public var unassignedMinimumNanoseconds: Int64
    /// A session's recordings: from this long before its first command to this long after its last.
    public var sessionMarginNanoseconds: Int64

    public init(keepDeliveredNanoseconds: Int64, keepUnassignedNanoseconds: Int64, freeSpaceBytes: Int64,
                unassignedMinimumNanoseconds: Int64, sessionMarginNanoseconds: Int64) {
        self.keepDeliveredNanoseconds = keepDeliveredNanoseconds
        self.keepUnassignedNanoseconds = keepUnassignedNanoseconds
        self.freeSpaceBytes = freeSpaceBytes
        self.unassignedMinimumNanoseconds = unassignedMinimumNanoseconds
        self.sessionMarginNanoseconds = sessionMarginNanoseconds
    }
}

/// The evidence side of retention: which segments may go, marking them, and
/// recording each unlink. The file system work (unlink, fsync) is the
/// caller's, between ``mark`` and ``recordUnlink``; a crash in between leaves
/// marks without unlinks, which ``pendingMarks`` returns on the next run.
public struct RetentionStore: Sendable {
    public let store: RoomStore

    public init(store: RoomStore) { self.store = store }

    public struct Candidate: Sendable, Equatable {
        public var segment: Int64
        public var device: String
        public var path: String
        public var start: Int64
        public var end: Int64
        public var bytes: Int64
        public var sha256: String

        public init(segment: Int64, device: String, path: String, start: Int64, end: Int64, bytes: Int64, sha256: String) {
            self.segment = segment
            self.device = device
            self.path = path
            self.start = start
            self.end = end
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// The recordings of one session: its window and whether the platform acknowledged its package.
    public struct SessionWindow: Sendable, Equatable, Codable {
        public var session: String
        public var start: Int64
        /// nil while the session has not ended (its last command is not an ending one).
        public var end: Int64?
        public var acknowledged: Bool
    }

    public struct Plan: Sendable {
        public var delete: [(Candidate, rule: String, basis: String)]
        /// Due by the policy but kept: a session not yet sealed, delivered and acknowledged.
        public var blocked: [(Candidate, session: String)]
        public var freeBytesAfter: Int64
    }

    /// Commands after which a session is over (until a 64条 re-evaluation reopens it).
    static let endingCommands: Set<String> = ["leaderConfirm", "halt", "declareFailure"]

    /// The windows of sessions and of openings alike: an opening's recordings are kept like a
    /// session's until its package (key ``PackageKey/opening(_:)``) is acknowledged. An opening
    /// ends with `concludeOpening`.
    public static func sessionWindows(_ db: Database, margin: Int64) throws -> [SessionWindow] {
        try evaluationWindows(db, margin: margin) + openingWindows(db, margin: margin)
    }

    static func openingWindows(_ db: Database, margin: Int64) throws -> [SessionWindow] {
        try Row.fetchAll(db, sql: """
            SELECT e.opening_id AS opening, MIN(e.at_ms) AS first, MAX(e.at_ms) AS last,
                   MAX(CASE WHEN e.command = 'concludeOpening' THEN 1 ELSE 0 END) AS concluded,
                   (SELECT acknowledged_ns FROM package_acknowledgements a WHERE a.session_id = ? || e.opening_id) AS acknowledged
            FROM opening_events e GROUP BY e.opening_id
            """, arguments: [PackageKey.openingPrefix]).map { row in
            let first: Int64 = row["first"], last: Int64 = row["last"], concluded: Bool = row["concluded"]
            let acknowledged: Int64? = row["acknowledged"]
            return SessionWindow(session: PackageKey.opening(row["opening"]), start: first * 1_000_000 - margin,
                                 end: concluded ? last * 1_000_000 + margin : nil,
                                 acknowledged: concluded && acknowledged.map { $0 >= last * 1_000_000 } == true)
        }
    }

    static func evaluationWindows(_ db: Database, margin: Int64) throws -> [SessionWindow] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT e.session_id AS session, MIN(e.at_ms) AS first, MAX(e.at_ms) AS last,
                   (SELECT command FROM session_events l WHERE l.session_id = e.session_id ORDER BY sequence DESC LIMIT 1) AS lastCommand,
                   (SELECT acknowledged_ns FROM package_acknowledgements a WHERE a.session_id = e.session_id) AS acknowledged
            FROM session_events e GROUP BY e.session_id
            """)
        return rows.map { row in
            let first: Int64 = row["first"], last: Int64 = row["last"]
            let command: String = row["lastCommand"]
            let acknowledged: Int64? = row["acknowledged"]
            let ended = endingCommands.contains(command)
            return SessionWindow(session: row["session"], start: first * 1_000_000 - margin,
                                 end: ended ? last * 1_000_000 + margin : nil,
                                 acknowledged: ended && acknowledged.map { $0 >= last * 1_000_000 } == true)
        }
    }

    /// Chooses what to delete now, oldest first: segments past their age
    /// (`keepDelivered` for acknowledged sessions, `keepUnassigned` outside
    /// sessions), and more while `freeBytes` is under the policy's free
    /// space. A segment of a session not yet sealed, delivered and
    /// acknowledged never goes: if it is due, it is returned as blocked.
    public func plan(policy: RetentionPolicy, now: Int64, freeBytes: Int64, batch: Int = 500) async throws -> Plan {
        try await store.pool.read { db in
            let windows = try Self.sessionWindows(db, margin: policy.sessionMarginNanoseconds)
            var free = freeBytes
            var plan = Plan(delete: [], blocked: [], freeBytesAfter: freeBytes)
            let oldestAge = min(policy.keepDeliveredNanoseconds, policy.keepUnassignedNanoseconds)
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT s.id, s.device, s.path, s.wall_start_ns, COALESCE(s.wall_end_ns, s.wall_start_ns) AS end_ns,
                       COALESCE(s.bytes, 0) AS bytes, COALESCE(s.sha256, '') AS sha256
                FROM segments s INDEXED BY segments_time
                WHERE s.state IN ('closed', 'recovered', 'orphan')
                  AND NOT EXISTS (SELECT 1 FROM retention_marks m WHERE m.segment_id = s.id)
                ORDER BY s.wall_start_ns
                """)
            while let row = try cursor.next(), plan.delete.count < batch {
                let candidate = Candidate(segment: row[0], device: row[1], path: row[2], start: row[3], end: row[4], bytes: row[5], sha256: row[6])
                let needSpace = free < policy.freeSpaceBytes
                // Oldest first: once nothing is needed for space and this one is too young for any age rule, none after it is due.
                if !needSpace, candidate.end >= now - oldestAge { break }
                let overlapping = windows.filter { candidate.end > $0.start && ($0.end.map { candidate.start < $0 } ?? true) }
                let dueByAge: Bool, eligibleForSpace: Bool, basis: String
                if overlapping.isEmpty {
                    dueByAge = candidate.end < now - policy.keepUnassignedNanoseconds
                    eligibleForSpace = candidate.end < now - policy.unassignedMinimumNanoseconds
                    basis = "outside every session"
                } else {
                    dueByAge = candidate.end < now - policy.keepDeliveredNanoseconds
                    eligibleForSpace = true
                    basis = "in the acknowledged package(s) of " + overlapping.map(\.session).joined(separator: ", ")
                }
                guard dueByAge || (needSpace && eligibleForSpace) else { continue }
                if let undelivered = overlapping.first(where: { !$0.acknowledged }) {
                    plan.blocked.append((candidate, session: undelivered.session))
                    continue
                }
                plan.delete.append((candidate, rule: dueByAge ? "age" : "free-space", basis: basis))
                free += candidate.bytes
            }
            plan.freeBytesAfter = free
            return plan
        }
    }

    /// Phase 1: durable marks (and one ledger entry naming them) before any file goes.
    public func mark(_ chosen: [(Candidate, rule: String, basis: String)], now: Int64) async throws {
        guard !chosen.isEmpty else { return }
        try await store.pool.write { db in
            for (candidate, rule, basis) in chosen {
                try db.execute(sql: "INSERT INTO retention_marks (segment_id, marked_ns, rule, basis) VALUES (?, ?, ?, ?)",
                               arguments: [candidate.segment, now, rule, basis])
            }
            let detail = ["segments": chosen.map { String($0.0.segment) }.joined(separator: ","), "count": String(chosen.count),
                          "rules": Set(chosen.map(\.rule)).sorted().joined(separator: ",")]
            try RoomStore.insertEvent(db, now, "recording.retention-marked", "notice", nil, try RoomStore.detailJSON(detail), detail, "retention")
        }
    }

    /// Marks whose file has not been recorded as unlinked (a crash came between).
    public func pendingMarks() async throws -> [(Candidate, rule: String)] {
        try await store.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.id, s.device, s.path, s.wall_start_ns, COALESCE(s.wall_end_ns, s.wall_start_ns), COALESCE(s.bytes, 0),
                       COALESCE(s.sha256, ''), m.rule
                FROM retention_marks m JOIN segments s ON s.id = m.segment_id
                WHERE NOT EXISTS (SELECT 1 FROM retention_unlinks u WHERE u.segment_id = m.segment_id)
                ORDER BY s.wall_start_ns
                """).map { row in
                (Candidate(segment: row[0], device: row[1], path: row[2], start: row[3], end: row[4], bytes: row[5], sha256: row[6]), rule: row[7])
            }
        }
    }

    /// Phase 2, after the unlink and the folder's fsync: the unlink row and
    /// its ledger entry (`recording.segment-deleted`: segment, device, path,
    /// SHA-256, bytes, rule) in one transaction.
    public func recordUnlink(_ candidate: Candidate, rule: String, existed: Bool, now: Int64) async throws {
        try await store.pool.write { db in
            let detail = ["segment": String(candidate.segment), "device": candidate.device, "path": candidate.path,
                          "sha256": candidate.sha256, "bytes": String(candidate.bytes), "rule": rule,
                          "start": Text.iso8601(nanoseconds: candidate.start), "end": Text.iso8601(nanoseconds: candidate.end),
                          "file": existed ? "unlinked" : "already absent"]
            try RoomStore.insertEvent(db, now, "recording.segment-deleted", "notice", candidate.device, try RoomStore.detailJSON(detail),
                                      detail, "retention")
            let seq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_entry") ?? 0
            try db.execute(sql: "INSERT INTO retention_unlinks (segment_id, unlinked_ns, bytes, ledger_seq) VALUES (?, ?, ?, ?)",
                           arguments: [candidate.segment, now, candidate.bytes, seq])
        }
    }

    /// The platform acknowledged a session's package (``#16``'s pull and push record this).
    public func acknowledge(session: String, packageSHA256: String, by: String, now: Int64) async throws {
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO package_acknowledgements (session_id, package_sha256, acknowledged_ns, acknowledged_by) VALUES (?, ?, ?, ?)
                """, arguments: [session, packageSHA256, now, by])
            let detail = ["session": session, "package_sha256": packageSHA256]
            try RoomStore.insertEvent(db, now, "package.acknowledged", "notice", session, try RoomStore.detailJSON(detail), detail, by)
        }
    }
}
