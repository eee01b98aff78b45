import Canonical
import Foundation
public import GRDB

/// Sealed packages and their delivery (docs/formats.md, "Sealed packages",
/// "Delivery"). These rows are state, not evidence: what a package holds is
/// fixed by its signed tag manifest, and every step (sealed, checked,
/// offered, delivered, acknowledged) is an event with its ledger entry.
public enum PackageSchema {
    public static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE packages (
                session_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,               -- <room>_<session>: folder under packages_dir and the tar's top folder
                sealed_ns INTEGER NOT NULL,
                window_start_ns INTEGER NOT NULL,
                window_end_ns INTEGER NOT NULL,
                tagmanifest_sha256 TEXT NOT NULL,
                payload_oxum TEXT NOT NULL,
                tar_bytes INTEGER NOT NULL,
                tar_sha256 TEXT,                  -- set by the check after sealing (every byte read once)
                checked_ns INTEGER,
                check_error TEXT,                 -- the check failed: never offered
                cursor INTEGER UNIQUE             -- offered to the platform (pull list order)
            );
            CREATE TABLE package_outbox (
                session_id TEXT PRIMARY KEY REFERENCES packages(session_id),
                target TEXT NOT NULL,             -- https | s3
                state_json TEXT NOT NULL,         -- Delivery.UploadState
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_ns INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                permanent INTEGER NOT NULL DEFAULT 0,
                bytes_confirmed INTEGER NOT NULL DEFAULT 0,
                delivered_ns INTEGER,
                receipt_json TEXT
            );
            """)
    }
}

extension RoomStore {
    public struct PackageRow: Sendable, Codable, Equatable {
        public var session: String
        public var name: String
        public var sealedNs: Int64
        public var windowStartNs: Int64
        public var windowEndNs: Int64
        public var tagManifestSHA256: String
        public var payloadOxum: String
        public var tarBytes: Int64
        public var tarSHA256: String?
        public var checkedNs: Int64?
        public var checkError: String?
        public var cursor: Int64?
        public var acknowledgedNs: Int64?
        public var acknowledgedSHA256: String?

        public init(session: String, name: String, sealedNs: Int64, windowStartNs: Int64, windowEndNs: Int64, tagManifestSHA256: String,
                    payloadOxum: String, tarBytes: Int64) {
            self.session = session; self.name = name; self.sealedNs = sealedNs; self.windowStartNs = windowStartNs
            self.windowEndNs = windowEndNs; self.tagManifestSHA256 = tagManifestSHA256; self.payloadOxum = payloadOxum; self.tarBytes = tarBytes
        }

        init(_ row: Row) {
            session = row["session_id"]; name = row["name"]; sealedNs = row["sealed_ns"]
            windowStartNs = row["window_start_ns"]; windowEndNs = row["window_end_ns"]
            tagManifestSHA256 = row["tagmanifest_sha256"]; payloadOxum = row["payload_oxum"]; tarBytes = row["tar_bytes"]
            tarSHA256 = row["tar_sha256"]; checkedNs = row["checked_ns"]; checkError = row["check_error"]; cursor = row["cursor"]
            acknowledgedNs = row["acknowledged_ns"]; acknowledgedSHA256 = row["package_sha256"]
        }
    }

    static let packageColumns = """
        SELECT p.*, a.acknowledged_ns, a.package_sha256 FROM packages p
        LEFT JOIN package_acknowledgements a ON a.session_id = p.session_id
        """

    public func package(session: String) async throws -> PackageRow? {
        try await pool.read { db in try Row.fetchOne(db, sql: Self.packageColumns + " WHERE p.session_id = ?", arguments: [session]).map(PackageRow.init) }
    }

    public func packages() async throws -> [PackageRow] {
        try await pool.read { db in try Row.fetchAll(db, sql: Self.packageColumns + " ORDER BY p.sealed_ns").map(PackageRow.init) }
    }

    /// Offered packages after `cursor`, in offer order.
    public func offeredPackages(after cursor: Int64, limit: Int) async throws -> [PackageRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: Self.packageColumns + " WHERE p.cursor > ? ORDER BY p.cursor LIMIT ?", arguments: [cursor, limit]).map(PackageRow.init)
        }
    }

    /// A package is sealed: its row and the `package.sealed` event (ledger entry) in one transaction.
    public func recordSeal(_ row: PackageRow, detail: [String: String], actor: String, now: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO packages (session_id, name, sealed_ns, window_start_ns, window_end_ns, tagmanifest_sha256, payload_oxum, tar_bytes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [row.session, row.name, row.sealedNs, row.windowStartNs, row.windowEndNs, row.tagManifestSHA256, row.payloadOxum, row.tarBytes])
            try RoomStore.insertEvent(db, now, "package.sealed", "notice", row.session, try RoomStore.detailJSON(detail), detail, actor)
        }
    }

    /// The check after sealing: passed (the tar's SHA-256; the package is offered: next cursor, outbox row) or failed (never offered).
    public func recordCheck(session: String, tarSHA256: String?, error: String?, outboxTarget: String?, initialState: String?, now: Int64) async throws {
        try await pool.write { db in
            // Checked once: a second check of the same package (two passes racing) changes nothing.
            guard try Bool.fetchOne(db, sql: "SELECT checked_ns IS NULL FROM packages WHERE session_id = ?", arguments: [session]) == true else { return }
            if let tarSHA256 {
                let cursor = (try Int64.fetchOne(db, sql: "SELECT MAX(cursor) FROM packages") ?? 0) + 1
                try db.execute(sql: "UPDATE packages SET tar_sha256 = ?, checked_ns = ?, check_error = NULL, cursor = ? WHERE session_id = ?",
                               arguments: [tarSHA256, now, cursor, session])
                if let outboxTarget, let initialState {
                    try db.execute(sql: "INSERT OR IGNORE INTO package_outbox (session_id, target, state_json) VALUES (?, ?, ?)",
                                   arguments: [session, outboxTarget, initialState])
                }
                let detail = ["session": session, "tar_sha256": tarSHA256, "cursor": String(cursor)]
                try RoomStore.insertEvent(db, now, "package.offered", "notice", session, try RoomStore.detailJSON(detail), detail, "system:packages")
            } else {
                let reason = error ?? "unknown"
                try db.execute(sql: "UPDATE packages SET checked_ns = ?, check_error = ? WHERE session_id = ?", arguments: [now, reason, session])
                let detail = ["session": session, "error": reason]
                try RoomStore.insertEvent(db, now, "package.check-failed", "critical", session, try RoomStore.detailJSON(detail), detail, "system:packages")
            }
        }
    }

    // MARK: Outbox

    public struct OutboxRow: Sendable, Equatable {
        public var session: String
        public var name: String
        public var target: String
        public var stateJSON: String
        public var attempts: Int
        public var nextAttemptNs: Int64
        public var lastError: String?
        public var permanent: Bool
        public var bytesConfirmed: Int64
        public var deliveredNs: Int64?
        public var tarBytes: Int64
        public var tarSHA256: String

        init(_ row: Row) {
            session = row["session_id"]; name = row["name"]; target = row["target"]; stateJSON = row["state_json"]
            attempts = row["attempts"]; nextAttemptNs = row["next_attempt_ns"]; lastError = row["last_error"]
            permanent = row["permanent"]; bytesConfirmed = row["bytes_confirmed"]; deliveredNs = row["delivered_ns"]
            tarBytes = row["tar_bytes"]; tarSHA256 = row["tar_sha256"]
        }
    }

    static let outboxColumns = """
        SELECT o.*, p.name, p.tar_bytes, p.tar_sha256 FROM package_outbox o JOIN packages p ON p.session_id = o.session_id
        """

    public func outbox() async throws -> [OutboxRow] {
        try await pool.read { db in try Row.fetchAll(db, sql: Self.outboxColumns + " ORDER BY p.cursor").map(OutboxRow.init) }
    }

    public func saveOutboxState(session: String, stateJSON: String, bytesConfirmed: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE package_outbox SET state_json = ?, bytes_confirmed = ? WHERE session_id = ?",
                           arguments: [stateJSON, bytesConfirmed, session])
        }
    }

    public func recordOutboxFailure(session: String, error: String, permanent: Bool, nextAttemptNs: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE package_outbox SET attempts = attempts + 1, last_error = ?, permanent = ?, next_attempt_ns = ? WHERE session_id = ?
                """, arguments: [error, permanent, nextAttemptNs, session])
        }
    }

    /// Resets a permanent failure (after the operator fixed the configuration): retried at once.
    public func retryOutbox(session: String?) async throws -> Int {
        try await pool.write { db in
            if let session {
                try db.execute(sql: "UPDATE package_outbox SET permanent = 0, next_attempt_ns = 0 WHERE session_id = ? AND delivered_ns IS NULL", arguments: [session])
            } else {
                try db.execute(sql: "UPDATE package_outbox SET permanent = 0, next_attempt_ns = 0 WHERE delivered_ns IS NULL")
            }
            return db.changesCount
        }
    }

    public func recordDelivery(session: String, target: String, receiptJSON: String, detail: [String: String], now: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE package_outbox SET delivered_ns = ?, receipt_json = ?, last_error = NULL WHERE session_id = ?",
                           arguments: [now, receiptJSON, session])
            try RoomStore.insertEvent(db, now, "package.delivered", "notice", session, try RoomStore.detailJSON(detail), detail, "system:outbox")
        }
    }

    /// An acknowledgement that was refused (wrong hash, unknown package): an event, so it is on the record.
    public func recordRefusedAcknowledgement(session: String, claimed: String, expected: String?, by: String, reason: String, now: Int64) async throws {
        try await pool.write { db in
            let detail = ["session": session, "claimed_sha256": claimed, "expected_sha256": expected ?? "", "reason": reason]
            try RoomStore.insertEvent(db, now, "package.acknowledgement-refused", "warning", session, try RoomStore.detailJSON(detail), detail, by)
        }
    }
}
