import Archive
import Canonical
public import Foundation
public import GRDB
import Identity

/// Tables of evaluation sessions (docs/formats.md, "Session tables"): the
/// definitions as received, the accepted commands (the session *is* their
/// ordered list; the engine replays it), and the experts' score drafts. All
/// append-only: a definition is replaced by importing a new version before the
/// session opens, a draft by saving a newer one.
public enum SessionSchema {
    public static let appendOnly = ["session_definitions", "session_events", "score_drafts"]

    public static func create(_ db: Database) throws {
        try db.execute(sql: """
            -- One row per imported definition; the newest row of a session is its definition.
            -- definition holds the exact bytes that were signed (or imported unsigned by the operator).
            CREATE TABLE session_definitions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                lot TEXT NOT NULL,
                imported_ns INTEGER NOT NULL,
                imported_by TEXT NOT NULL,
                source TEXT NOT NULL,
                definition BLOB NOT NULL,
                sha256 TEXT NOT NULL,
                signature BLOB,
                signer_fingerprint TEXT,
                signer_name TEXT
            );
            CREATE INDEX session_definitions_by_session ON session_definitions(session_id, id);
            -- Every accepted command, in order: event is the canonical JSON of the engine's Event.
            -- request_id, when the sender gave one, makes a repeated send return the first answer.
            CREATE TABLE session_events (
                session_id TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                at_ms INTEGER NOT NULL,
                actor TEXT NOT NULL,
                command TEXT NOT NULL,
                event BLOB NOT NULL,
                request_id TEXT,
                ledger_seq INTEGER NOT NULL,
                PRIMARY KEY (session_id, sequence)
            );
            CREATE UNIQUE INDEX session_events_request ON session_events(session_id, request_id) WHERE request_id IS NOT NULL;
            -- Score drafts as the expert types them: every save is a row, the newest per
            -- (session, member, bidder) is the draft. Not evidence of a decision (that is
            -- the enterScoreSheet/submitScores events), but never lost either.
            CREATE TABLE score_drafts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                member TEXT NOT NULL,
                bidder TEXT NOT NULL,
                station_id TEXT NOT NULL,
                saved_ns INTEGER NOT NULL,
                scores_json TEXT NOT NULL
            );
            CREATE INDEX score_drafts_latest ON score_drafts(session_id, member, bidder, id);
            """)
        for table in appendOnly { try RoomStore.makeAppendOnly(db, table: table) }
    }
}

/// A session definition as stored.
public struct StoredDefinition: Sendable {
    public var id: Int64
    public var session: String
    public var lot: String
    public var importedNanoseconds: Int64
    public var importedBy: String
    /// `platform` (signed, verified) or `operator` (imported on the admin socket or by the operator role).
    public var source: String
    public var bytes: Data
    public var sha256: String
    public var signerFingerprint: String?
    public var signerName: String?
}

/// One stored command of a session.
public struct StoredSessionEvent: Sendable {
    public var sequence: Int
    public var actor: String
    /// The canonical JSON of the engine's `Event`.
    public var event: Data
    public var requestID: String?
}

/// The outcome of importing a definition.
public enum DefinitionImport: Sendable {
    /// Stored as the session's definition (a new version if one existed).
    case stored(StoredDefinition)
    /// The same bytes for the same lot were the newest definition already: nothing stored.
    case unchanged(StoredDefinition)
    /// The session has accepted commands: its definition can no longer change.
    case sessionStarted(events: Int)
}

struct SessionDefinitionRecord: SnakeCaseRecord {
    var id: Int64
    var sessionId: String
    var lot: String
    var importedNs: Int64
    var importedBy: String
    var source: String
    var definition: Data
    var sha256: String
    var signerFingerprint: String?
    var signerName: String?

    var stored: StoredDefinition {
        StoredDefinition(id: id, session: sessionId, lot: lot, importedNanoseconds: importedNs, importedBy: importedBy, source: source,
                         bytes: definition, sha256: sha256, signerFingerprint: signerFingerprint, signerName: signerName)
    }
}

struct SessionEventRecord: SnakeCaseRecord {
    var sessionId: String
    var sequence: Int
    var actor: String
    var event: Data
    var requestId: String?
}

struct ScoreDraftRecord: SnakeCaseRecord {
    var member: String
    var bidder: String
    var savedNs: Int64
    var scoresJson: String
}

extension RoomStore {
    /// Stores a definition (exact bytes) unless the session has started; a
    /// ledger entry `session.definition-imported` records its hash and signer.
    public func importDefinition(session: String, lot: String, bytes: Data, source: String, signature: Data?,
                                 signerFingerprint: String?, signerName: String?, actor: String) async throws -> DefinitionImport {
        let sha = Digest.sha256Hex(Array(bytes))
        let time = clock.now().nanoseconds
        return try await write { db in
            let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM session_events WHERE session_id = ?", arguments: [session]) ?? 0
            guard events == 0 else { return .sessionStarted(events: events) }
            if let newest = try Self.definition(db, session: session), newest.sha256 == sha, newest.lot == lot {
                return .unchanged(newest)
            }
            try db.execute(sql: """
                INSERT INTO session_definitions (session_id, lot, imported_ns, imported_by, source, definition, sha256, signature,
                    signer_fingerprint, signer_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [session, lot, time, actor, source, bytes, sha, signature, signerFingerprint, signerName])
            let id = db.lastInsertedRowID
            var detail = ["definition": String(id), "lot": lot, "sha256": sha, "source": source]
            if let signerFingerprint { detail["signer_fingerprint"] = signerFingerprint }
            if let signature { detail["signature_sha256"] = Digest.sha256Hex(Array(signature)) }
            try Self.insertEvent(db, time, "session.definition-imported", "notice", session, try Self.detailJSON(detail), detail, actor)
            return .stored(try Self.definition(db, session: session)!)
        }
    }

    static func definition(_ db: Database, session: String) throws -> StoredDefinition? {
        try SessionDefinitionRecord.fetchOne(db, sql: """
            SELECT * FROM session_definitions WHERE session_id = ? ORDER BY id DESC LIMIT 1
            """, arguments: [session])?.stored
    }

    /// The newest definition of every session, by session id.
    public func sessionDefinitions() async throws -> [StoredDefinition] {
        try await pool.read { db in
            try SessionDefinitionRecord.fetchAll(db, sql: """
                SELECT * FROM session_definitions d WHERE d.id = (SELECT max(id) FROM session_definitions WHERE session_id = d.session_id)
                ORDER BY d.session_id
                """).map(\.stored)
        }
    }

    /// A session's accepted commands, in order.
    public func sessionEvents(session: String) async throws -> [StoredSessionEvent] {
        try await pool.read { db in
            try SessionEventRecord.fetchAll(db, sql: """
                SELECT session_id, sequence, actor, event, request_id FROM session_events WHERE session_id = ? ORDER BY sequence
                """, arguments: [session]).map {
                StoredSessionEvent(sequence: $0.sequence, actor: $0.actor, event: $0.event, requestID: $0.requestId)
            }
        }
    }

    /// Stores an accepted command and its ledger entry in one transaction.
    /// The primary key (session, sequence) refuses a second writer of the
    /// same sequence; the ledger entry carries the event's canonical bytes.
    /// Returns the ledger sequence number.
    @discardableResult
    public func appendSessionEvent(session: String, sequence: Int, atMilliseconds: Int64, actor: String, command: String,
                                   event: Data, requestID: String?) async throws -> Int {
        let parsed = try CanonicalJSON(parsing: Array(event))
        return try await write { db in
            let time = atMilliseconds * 1_000_000
            var payload: [String: CanonicalJSON] = [
                "session": .string(session), "sequence": .integer(Int64(sequence)), "command": .string(command), "event": parsed,
            ]
            if let requestID { payload["request"] = .string(requestID) }
            let appended = try Ledger.append([LedgerDraft(time: time, kind: "session.command", actor: actor, payload: .object(payload))], in: db)
            let ledgerSeq = appended.entries.first.map(\.seq) ?? -1
            try db.execute(sql: """
                INSERT INTO session_events (session_id, sequence, at_ms, actor, command, event, request_id, ledger_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [session, sequence, atMilliseconds, actor, command, event, requestID, ledgerSeq])
            return ledgerSeq
        }
    }

    /// Saves one draft of a member's score sheet for a bidder (criterion → value text).
    public func saveScoreDraft(session: String, member: String, bidder: String, station: String, scores: [String: String]) async throws -> Int64 {
        let json = try Self.detailJSON(scores)
        let time = clock.now().nanoseconds
        try await write { db in
            try db.execute(sql: """
                INSERT INTO score_drafts (session_id, member, bidder, station_id, saved_ns, scores_json) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [session, member, bidder, station, time, json])
        }
        return time
    }

    /// The newest draft per bidder of one member: bidder → (criterion → value text, saved at).
    public func scoreDrafts(session: String, member: String) async throws -> [String: (scores: [String: String], savedNanoseconds: Int64)] {
        try await pool.read { db in
            let rows = try ScoreDraftRecord.fetchAll(db, sql: """
                SELECT member, bidder, saved_ns, scores_json FROM score_drafts d
                WHERE session_id = ? AND member = ? AND id = (SELECT max(id) FROM score_drafts
                    WHERE session_id = d.session_id AND member = d.member AND bidder = d.bidder)
                """, arguments: [session, member])
            var out: [String: (scores: [String: String], savedNanoseconds: Int64)] = [:]
            for row in rows {
                let scores = try JSONDecoder().decode([String: String].self, from: Data(row.scoresJson.utf8))
                out[row.bidder] = (scores, row.savedNs)
            }
            return out
        }
    }

}

/// What the report's signature page shows of one accepted signature.
public struct SignatureDetails: Sendable {
    public var id: Int64
    public var signerName: String?
    public var fingerprint: String?
    public var algorithm: String?
    public var receivedNanoseconds: Int64
}

extension RoomStore {
    /// The first accepted signature of `purpose` by `entry` in `session` (at `station`, over
    /// `documentSHA256`, when given), if any.
    public func acceptedSignature(session: String, entry: String, station: String? = nil, purpose: String,
                                  documentSHA256: String? = nil) async throws -> SignatureDetails? {
        try await pool.read { db in
            var sql = """
                SELECT s.id, s.signer_name, s.signer_fingerprint, s.algorithm, s.received_ns FROM signatures s
                JOIN challenges c ON c.request_id = s.request_id
                WHERE c.session_id = ? AND c.roster_entry = ? AND c.purpose = ? AND s.verdict = 'accepted'
                """
            var arguments: StatementArguments = [session, entry, purpose]
            if let station {
                sql += " AND c.station_id = ?"
                arguments += [station]
            }
            if let documentSHA256 {
                sql += " AND c.document_sha256 = ?"
                arguments += [documentSHA256]
            }
            guard let row = try Row.fetchOne(db, sql: sql + " ORDER BY s.id LIMIT 1", arguments: arguments) else { return nil }
            return SignatureDetails(id: row[0], signerName: row[1], fingerprint: row[2], algorithm: row[3], receivedNanoseconds: row[4])
        }
    }

    /// The handwritten signature (its JSON strokes) given with `entry`'s accepted check-in in `session`.
    public func checkInHandwriting(session: String, entry: String) async throws -> Data? {
        try await pool.read { db in
            try String.fetchOne(db, sql: """
                SELECT h.strokes_json FROM handwritten_signatures h JOIN signatures s ON s.id = h.signature_id
                JOIN challenges c ON c.request_id = s.request_id
                WHERE c.session_id = ? AND c.roster_entry = ? AND c.purpose = 'checkin' AND s.verdict = 'accepted'
                ORDER BY h.id LIMIT 1
                """, arguments: [session, entry]).map { Data($0.utf8) }
        }
    }
}

/// The seat plan of a session: which roster entry sits at which station, as the operator assigned
/// it or drew it by lot. Kept as events (`session.seats-assigned`, with its ledger entry); the
/// newest is in force. Without one, an expert checks in wherever they sit.
public struct SeatPlan: Sendable, Codable, Equatable {
    /// Roster entry (member id) → station.
    public var seats: [String: String]
    /// How: `assigned` by the operator, or `drawn` by lot.
    public var method: String
    /// For a draw: the seed (hex) of the shuffle, so anyone can redo it.
    public var seed: String?
    public var by: String

    public init(seats: [String: String], method: String, seed: String?, by: String) {
        self.seats = seats; self.method = method; self.seed = seed; self.by = by
    }
}

extension RoomStore {
    public func seatPlan(session: String) async throws -> SeatPlan? {
        try await pool.read { db in
            guard let detail = try String.fetchOne(db, sql: """
                SELECT detail FROM events WHERE kind = 'session.seats-assigned' AND subject = ? ORDER BY id DESC LIMIT 1
                """, arguments: [session]),
                let fields = try? JSONDecoder().decode([String: String].self, from: Data(detail.utf8)),
                let seats = fields["seats"].flatMap({ try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) })
            else { return nil }
            return SeatPlan(seats: seats, method: fields["method"] ?? "assigned", seed: fields["seed"], by: fields["by"] ?? "")
        }
    }

    /// Records a seat plan unless someone has checked in already (then 'false': seats are fixed).
    public func assignSeats(session: String, plan: SeatPlan, actor: String) async throws -> Bool {
        let seatsJSON = try Self.detailJSON(plan.seats)
        var detail = ["seats": seatsJSON, "method": plan.method, "by": plan.by]
        if let seed = plan.seed { detail["seed"] = seed }
        let json = try Self.detailJSON(detail)
        let time = clock.now().nanoseconds
        let recorded = detail
        return try await write { db in
            guard try Self.checkIns(db, session: session).isEmpty else { return false }
            try Self.insertEvent(db, time, "session.seats-assigned", "notice", session, json, recorded, actor)
            return true
        }
    }
}
