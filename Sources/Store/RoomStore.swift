#if canImport(Glibc)
import Glibc
#endif
public import Canonical
import Foundation
public import Archive
public import GRDB
import Identity
public import RoomConfig

/// roomd's SQLite state: stations, events and (as later modules land) the
/// recording index and the audit ledger. One file, WAL mode.
///
/// Durability: `synchronous=FULL` on every connection. SQLite sets synchronous
/// per connection, not per table, and most of what this database holds is
/// evidence (events, segment rows, ledger entries), so the whole file pays
/// the price of an fsync per commit; the non-evidence tables are small.
public final class RoomStore: Sendable {

    public let pool: DatabasePool
    /// The audit ledger, in the same file: an event and its ledger entry commit
    /// in one transaction, so neither exists without the other.
    public let ledger: Ledger
    /// The recording index (segments), written by the capture helpers' supervisors.
    public let segments: SegmentIndex
    /// SQLite has one writer, and GRDB queues writes first come, first served.
    /// Writes caused by the network (events, check-in, heartbeats) pass here
    /// one at a time, so however many requests arrive, a recorder's segment-
    /// index write waits behind at most one of them (plus its fsync), never a queue.
    private let networkWrites = AsyncGate(permits: 1)
    /// Where "now" comes from for every row this store stamps itself.
    public let clock: any RoomClock

    public enum OpenError: Error, CustomStringConvertible {
        case newerDatabase(unknown: [String], path: String)
        case notDurable(path: String, level: Int)

        public var description: String {
            switch self {
            case .newerDatabase(let unknown, let path):
                return "database \(path) was written by a newer roomd (its migrations \(unknown.joined(separator: ", ")) are unknown to this build); refusing to start rather than damage it. Install the newer roomd again, or restore a backup made by this version. / 数据库由更新版本的roomd写入，已拒绝启动以免损坏数据"
            case .notDurable(let path, let level):
                return "database \(path) would not switch to synchronous=FULL (got \(level)); refusing to record evidence without it"
            }
        }
    }

    public init(path: String, clock: any RoomClock = SystemClock()) throws {
        self.clock = clock
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB turns the writer to synchronous=NORMAL when it enables WAL,
        // after prepareDatabase has run: set FULL on the writer again, and
        // refuse to run on evidence with anything less.
        let level = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 0
        }
        guard level == 2 else { throw OpenError.notDurable(path: path, level: level) }

        // One migrator owns every table (the ledger's and the segment index's
        // included). A database that has migrations this build does not know
        // was written by a newer roomd: GRDB says so (hasBeenSuperseded), and
        // roomd refuses it rather than run old code on a newer schema.
        let migrator = Self.migrator
        let (superseded, unknown) = try pool.read { db in
            (try migrator.hasBeenSuperseded(db), try migrator.appliedIdentifiers(db).subtracting(migrator.migrations))
        }
        if superseded { throw OpenError.newerDatabase(unknown: unknown.sorted(), path: path) }
        try migrator.migrate(pool)
        ledger = try Ledger(database: pool)
        segments = SegmentIndex(writer: pool)
    }

    /// A write on behalf of the network: through ``networkWrites``. Recorders
    /// and start-up use `pool.write` directly.
    public func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await networkWrites.run { try await self.pool.write(updates) }
    }

    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                CREATE TABLE stations (
                    id TEXT PRIMARY KEY NOT NULL,
                    host TEXT,
                    camera TEXT,
                    microphone TEXT,
                    last_seen_ns INTEGER,
                    last_seen_address TEXT,
                    last_report TEXT
                );
                -- Everything that happened in the room, in order. Evidence: never
                -- updated, never deleted (the triggers make SQLite refuse).
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time_ns INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    subject TEXT,
                    detail TEXT NOT NULL
                );
                CREATE INDEX events_kind_time ON events(kind, time_ns);
                CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'events are evidence: UPDATE refused'); END;
                CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                    BEGIN SELECT RAISE(ABORT, 'events are evidence: DELETE refused'); END;
                PRAGMA user_version = 1;
                """)
        }
        migrator.registerMigration("v2-segments") { db in
            try SegmentIndex.createSchema(db)
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        LedgerSchema.registerMigrations(&migrator)
        migrator.registerMigration("v3-ledger") { db in
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        migrator.registerMigration("v4-station-certificates") { db in
            try db.execute(sql: """
                -- Station client certificates issued or imported by `roomctl station enroll`.
                CREATE TABLE station_certificates (
                    fingerprint TEXT PRIMARY KEY NOT NULL,
                    station_id TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    not_after_ns INTEGER NOT NULL,
                    certificate_pem TEXT NOT NULL,
                    enrolled_ns INTEGER NOT NULL,
                    enrolled_by TEXT NOT NULL
                );
                CREATE INDEX station_certificates_by_station ON station_certificates(station_id);
                -- Revocations are permanent. fingerprint NULL revokes every certificate
                -- of the station enrolled before it, and from then on the station is
                -- accepted only with a certificate enrolled afterwards.
                CREATE TABLE certificate_revocations (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    station_id TEXT NOT NULL,
                    fingerprint TEXT,
                    revoked_ns INTEGER NOT NULL,
                    revoked_by TEXT NOT NULL,
                    reason TEXT NOT NULL
                );
                PRAGMA user_version = 4;
                """)
            for table in ["station_certificates", "certificate_revocations"] { try makeAppendOnly(db, table: table) }
        }
        migrator.registerMigration("v5-checkin") { db in
            try CheckInSchema.create(db)
            try db.execute(sql: "PRAGMA user_version = 5")
        }
        // The ledger's witness tables (ledger-v2-witness) are registered with its other migrations.
        migrator.registerMigration("v6-ledger-witness") { db in
            try db.execute(sql: "PRAGMA user_version = 6")
        }
        // The salt of each signature's detail commitment (its event and ledger
        // entry carry SHA-256(salt ‖ detail), never the detail itself).
        migrator.registerMigration("v7-signature-detail-salt") { db in
            try db.execute(sql: "ALTER TABLE signatures ADD COLUMN detail_salt TEXT")
        }
        // Evaluation sessions: definitions, accepted commands, score drafts.
        migrator.registerMigration("v8-sessions") { db in
            try SessionSchema.create(db)
        }
        // Retention (two-phase deletion) and the platform's package acknowledgements.
        migrator.registerMigration("v9-retention") { db in
            try RetentionSchema.create(db)
        }
        // Sealed packages and their delivery (outbox).
        migrator.registerMigration("v10-packages") { db in
            try PackageSchema.create(db)
        }
        // Openings (开标): definitions, sealed bids, events.
        migrator.registerMigration("v11-openings") { db in
            try OpeningSchema.create(db)
        }
        // The suppliers' signatures of an opening as received (sign-in, confirmation, objection), for its package.
        migrator.registerMigration("v12-opening-signatures") { db in
            try OpeningSchema.createSignatures(db)
        }
        // (v1–v6 also set PRAGMA user_version, which nothing reads any more:
        // they ran on databases in the field and stay as they were.)
        return migrator
    }

    /// Evidence tables refuse UPDATE and DELETE (triggers): mistakes and casual
    /// edits stop here; deliberate tampering is what the ledger's checkpoints catch.
    public static func makeAppendOnly(_ db: Database, table: String) throws {
        try db.execute(sql: """
            CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) are evidence: UPDATE refused'); END;
            CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) are evidence: DELETE refused'); END;
            """)
    }

    // MARK: Stations

    /// Makes the stations table match the configuration: new stations are
    /// added, devices updated; stations no longer configured are kept (their
    /// history is evidence) but no longer reported.
    public func syncStations(_ stations: [RoomConfiguration.Station]) throws {
        try pool.write { db in
            for station in stations {
                try db.execute(sql: """
                    INSERT INTO stations (id, host, camera, microphone) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET host = excluded.host, camera = excluded.camera,
                        microphone = excluded.microphone
                    """, arguments: [station.id, station.host, station.camera?.label, station.microphone?.label])
            }
        }
    }

    public struct StationRow: Sendable, Codable {
        public var id: String
        public var host: String?
        public var camera: String?
        public var microphone: String?
        public var lastSeenNanoseconds: Int64?
        public var lastSeenAddress: String?
        public var lastReport: String?
    }

    public func stations() async throws -> [StationRow] {
        try await pool.read { db in
            try StationRecord.fetchAll(db, sql: "SELECT * FROM stations ORDER BY id").map {
                StationRow(id: $0.id, host: $0.host, camera: $0.camera, microphone: $0.microphone,
                           lastSeenNanoseconds: $0.lastSeenNs, lastSeenAddress: $0.lastSeenAddress, lastReport: $0.lastReport)
            }
        }
    }

    public func recordHeartbeat(station: String, at time: Int64, address: String?, report: String) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE stations SET last_seen_ns = ?, last_seen_address = ?, last_report = ? WHERE id = ?",
                           arguments: [time, address, report, station])
        }
    }

    // MARK: Events

    public struct Event: Sendable, Codable {
        public var id: Int64
        public var timeNanoseconds: Int64
        public var kind: String
        public var severity: String
        public var subject: String?
        public var detail: String
    }

    /// Appends an event and its audit-ledger entry in one transaction; durable
    /// when this returns. `actor` is who caused it (a certificate identity,
    /// "operator", "system"); `subject` what it is about (a device, a station).
    public func appendEvent(kind: String, severity: String, subject: String?, detail: [String: String],
                     actor: String = "system", at time: Int64? = nil) async throws {
        let json = try Self.detailJSON(detail)
        let time = time ?? clock.now().nanoseconds
        try await write { db in
            try Self.insertEvent(db, time, kind, severity, subject, json, detail, actor)
        }
    }

    /// The same, for callers on their own threads (recorders): blocks this thread only.
    public func appendEventNow(kind: String, severity: String, subject: String?, detail: [String: String],
                        actor: String = "system", at time: Int64? = nil) throws {
        let json = try Self.detailJSON(detail)
        let time = time ?? clock.now().nanoseconds
        try pool.write { db in try Self.insertEvent(db, time, kind, severity, subject, json, detail, actor) }
    }

    /// The event's detail as canonical JSON (keys in byte order, no whitespace),
    /// the same encoding as its ledger entry's. Not JSONSerialization's
    /// `.sortedKeys`: that sorts through a Locale, which loads ICU's data
    /// (~5 MB of resident memory) on the first event.
    public static func detailJSON(_ detail: [String: String]) throws -> String {
        String(decoding: try CanonicalJSON.object(detail.mapValues { .string($0) }).canonicalBytes(), as: UTF8.self)
    }

    /// Inside the caller's transaction: the event row, then the ledger entry
    /// that makes it tamper-evident (payload: event id, severity, subject, detail).
    public static func insertEvent(_ db: Database, _ time: Int64, _ kind: String, _ severity: String,
                            _ subject: String?, _ json: String, _ detail: [String: String], _ actor: String) throws {
        try db.execute(sql: "INSERT INTO events (time_ns, kind, severity, subject, detail) VALUES (?, ?, ?, ?, ?)",
                       arguments: [time, kind, severity, subject, json])
        var payload: [String: CanonicalJSON] = [
            "event": .integer(db.lastInsertedRowID),
            "severity": .string(severity),
            "detail": .object(detail.mapValues { .string($0) }),
        ]
        if let subject { payload["subject"] = .string(subject) }
        _ = try Ledger.append([LedgerDraft(time: time, kind: kind, actor: actor, payload: .object(payload))], in: db)
    }

    /// Compares the configuration file with the one the previous start used
    /// and records "config.initial" or "config.changed" (with the whole text:
    /// it names paths, never secrets) in the same transaction as the new hash.
    /// Returns the event kind recorded, or nil when nothing changed.
    @discardableResult
    public func recordConfiguration(path: String, text: String, sha256: String, actor: String = "system") async throws -> String? {
        try await write { db in
            let previous = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'config.sha256'")
            guard previous != sha256 else { return nil }
            let kind = previous == nil ? "config.initial" : "config.changed"
            var detail = ["path": path, "sha256": sha256, "text": text]
            if let previous { detail["previous_sha256"] = previous }
            try Self.insertEvent(db, self.clock.now().nanoseconds, kind, "notice", path, try Self.detailJSON(detail), detail, actor)
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('config.sha256', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [sha256])
            return kind
        }
    }

    /// Newest first. Text an older roomd stored with an ID number in it
    /// (refusal details) is shown redacted: events leave the room here.
    public func recentEvents(limit: Int) async throws -> [Event] {
        try await pool.read { db in
            try EventRecord.fetchAll(db, sql: "SELECT * FROM events ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                Event(id: $0.id, timeNanoseconds: $0.timeNs, kind: $0.kind, severity: $0.severity,
                      subject: $0.subject.map { ResidentIDScan.redacting($0) }, detail: ResidentIDScan.redacting($0.detail))
            }
        }
    }

    /// How the previous run of roomd ended, read from the events it left.
    public struct PreviousRun: Sendable, CustomStringConvertible {
        public var clean: Bool
        public var description: String
    }

    public func previousRun() async throws -> PreviousRun {
        try await pool.read { db in
            guard let last = try EventRecord.fetchOne(db, sql: """
                SELECT * FROM events WHERE kind IN ('daemon.started', 'daemon.stopped', 'daemon.failed')
                ORDER BY id DESC LIMIT 1
                """) else { return PreviousRun(clean: true, description: "none (first start)") }
            let time = Text.iso8601(nanoseconds: last.timeNs)
            switch last.kind {
            case "daemon.stopped": return PreviousRun(clean: true, description: "stopped cleanly at \(time)")
            case "daemon.failed": return PreviousRun(clean: false, description: "failed at \(time) (see that event)")
            default:
                return PreviousRun(clean: false, description: "ended uncleanly: started at \(time) and never stopped (killed, crashed or power lost)")
            }
        }
    }

    /// A cheap query proving the database answers (the store's health check).
    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM meta") }
    }

    /// Flushes the WAL into the main file and closes every connection.
    public func close() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        try pool.close()
    }
}

extension RoomConfiguration.VideoSource {
    public var label: String {
        switch self {
        case .v4l2(let path): path
        case .synthetic: "synthetic"
        }
    }
}

extension RoomConfiguration.AudioSource {
    public var label: String {
        switch self {
        case .alsa(let device): device
        case .synthetic: "synthetic"
        }
    }
}
