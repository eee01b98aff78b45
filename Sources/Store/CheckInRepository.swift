public import Canonical
import Foundation
public import GRDB
public import Identity
import RoomConfig

/// Tables of expert check-in and signatures (docs/formats.md, "Check-in
/// tables"). All append-only: a roster is replaced by importing a new version,
/// a challenge is answered by adding a signature row.
public enum CheckInSchema {
    public static let appendOnly = ["rosters", "challenges", "signatures", "handwritten_signatures"]

    public static func create(_ db: Database) throws {
        try db.execute(sql: """
            -- One row per imported roster version; the newest row of a session is its roster.
            -- entries_json holds RosterEntry values: names and ProtectedIDs, never ID numbers.
            CREATE TABLE rosters (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                imported_ns INTEGER NOT NULL,
                imported_by TEXT NOT NULL,
                entries_json TEXT NOT NULL,
                sha256 TEXT NOT NULL
            );
            CREATE INDEX rosters_by_session ON rosters(session_id, id);
            CREATE TABLE challenges (
                request_id TEXT PRIMARY KEY NOT NULL,
                nonce TEXT NOT NULL UNIQUE,
                session_id TEXT NOT NULL,
                station_id TEXT NOT NULL,
                roster_entry TEXT NOT NULL,
                purpose TEXT NOT NULL,
                document_sha256 TEXT NOT NULL,
                issued_ms INTEGER NOT NULL,
                expires_ms INTEGER NOT NULL,
                signed_bytes BLOB NOT NULL
            );
            -- Every answer to a challenge, accepted or not. The first row for a
            -- request uses its nonce; any later one is a replay.
            CREATE TABLE signatures (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                request_id TEXT NOT NULL REFERENCES challenges(request_id),
                received_ns INTEGER NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
                reason TEXT NOT NULL,
                detail TEXT NOT NULL,
                format TEXT NOT NULL,
                algorithm TEXT,
                signer_fingerprint TEXT,
                signer_name TEXT,
                certificate_pem TEXT,
                signature BLOB NOT NULL,
                signature_sha256 TEXT NOT NULL
            );
            CREATE INDEX signatures_by_request ON signatures(request_id);
            CREATE TABLE handwritten_signatures (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                signature_id INTEGER NOT NULL REFERENCES signatures(id),
                received_ns INTEGER NOT NULL,
                strokes_json TEXT NOT NULL,
                sha256 TEXT NOT NULL
            );
            """)
        for table in appendOnly { try RoomStore.makeAppendOnly(db, table: table) }
    }
}

extension RoomStore {
    public struct StoredRoster: Sendable {
        public var id: Int64
        public var sessionID: String
        public var roster: Roster
        public var sha256: String
    }

    /// Stores a new roster version for the session (event + ledger entry: the
    /// roster's hash and entry ids, no names or ID digits).
    public func importRoster(session: String, roster: Roster, actor: String) async throws -> StoredRoster {
        let json = String(decoding: try CanonicalJSON.canonicalBytes(encoding: roster.entries), as: UTF8.self)
        let sha = Digest.sha256Hex(Array(json.utf8))
        return try await write { db in
            let time = self.clock.now().nanoseconds
            try db.execute(sql: "INSERT INTO rosters (session_id, imported_ns, imported_by, entries_json, sha256) VALUES (?, ?, ?, ?, ?)",
                           arguments: [session, time, actor, json, sha])
            let id = db.lastInsertedRowID
            let detail = ["roster": String(id), "sha256": sha, "entries": roster.entries.map(\.id).joined(separator: ","),
                          "experts": String(roster.entries.filter { $0.role == .expert }.count)]
            try Self.insertEvent(db, time, "session.roster-imported", "notice", session, try Self.detailJSON(detail), detail, actor)
            return StoredRoster(id: id, sessionID: session, roster: roster, sha256: sha)
        }
    }

    public func roster(session: String) async throws -> StoredRoster? {
        try await pool.read { db in
            guard let stored = try RosterRecord.fetchOne(db, sql: "SELECT * FROM rosters WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                                                         arguments: [session]) else { return nil }
            let entries = try JSONDecoder().decode([RosterEntry].self, from: Data(stored.entriesJson.utf8))
            return StoredRoster(id: stored.id, sessionID: session, roster: try Roster(entries: entries), sha256: stored.sha256)
        }
    }

    public static func insertChallenge(_ db: Database, _ challenge: SigningChallenge) throws {
        try ChallengeRecord(requestId: challenge.request, nonce: challenge.nonce, sessionId: challenge.session,
                            stationId: challenge.station, rosterEntry: challenge.rosterEntry, purpose: challenge.purpose.rawValue,
                            documentSha256: challenge.documentSHA256, issuedMs: challenge.issuedMs, expiresMs: challenge.expiresMs,
                            signedBytes: Data(challenge.signedBytes())).insert(db)
    }

    /// Stores `challenge` unless its station was issued `limit` challenges
    /// since `sinceMs`: count and insert in one write transaction, so parallel
    /// requests cannot all pass the count (60 at once issue at most `limit`).
    public func storeChallenge(_ challenge: SigningChallenge, limit: Int, sinceMs: Int64) async throws -> Bool {
        try await write { db in
            let issued = try Int.fetchOne(db, sql: "SELECT count(*) FROM challenges WHERE station_id = ? AND issued_ms >= ?",
                                          arguments: [challenge.station, sinceMs]) ?? 0
            guard issued < limit else { return false }
            try Self.insertChallenge(db, challenge)
            return true
        }
    }

    /// Accepted check-ins of a session: who sits where (roster entry → station).
    public func checkIns(session: String) async throws -> [(entry: String, station: String)] {
        try await pool.read { db in try Self.checkIns(db, session: session) }
    }

    public static func checkIns(_ db: Database, session: String) throws -> [(entry: String, station: String)] {
        try Row.fetchAll(db, sql: """
            SELECT c.roster_entry, c.station_id FROM signatures s JOIN challenges c ON c.request_id = s.request_id
            WHERE c.session_id = ? AND c.purpose = ? AND s.verdict = 'accepted' ORDER BY s.id
            """, arguments: [session, SigningPurpose.checkIn.rawValue]).map { ($0[0], $0[1]) }
    }

    public func isAnswered(request: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM signatures WHERE request_id = ?", arguments: [request]) ?? false
        }
    }

    public func challenge(request: String, room: String) async throws -> SigningChallenge? {
        try await pool.read { db in
            try ChallengeRecord.fetchOne(db, key: request).map {
                SigningChallenge(request: $0.requestId, nonce: $0.nonce, room: room, session: $0.sessionId,
                                 station: $0.stationId, rosterEntry: $0.rosterEntry,
                                 purpose: SigningPurpose(rawValue: $0.purpose) ?? .checkIn,
                                 documentSHA256: $0.documentSha256, issuedMs: $0.issuedMs, expiresMs: $0.expiresMs)
            }
        }
    }

    /// The exact bytes a challenge asked to be signed, as issued.
    public func challengeSignedBytes(request: String) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT signed_bytes FROM challenges WHERE request_id = ?", arguments: [request]).map(Array.init)
        }
    }

    public struct SignatureRecord: Sendable, Codable {
        public var id: Int64
        public var requestID: String
        public var session: String
        public var station: String
        public var rosterEntry: String
        public var purpose: String
        public var documentSHA256: String
        public var receivedAt: String
        public var verdict: String
        public var reason: String
        public var detail: String
        public var format: String
        public var algorithm: String?
        public var signerFingerprint: String?
        public var signerName: String?
        public var signatureSHA256: String
        public var handwritten: Bool
    }

    public struct SignatureAttempt: Sendable {
        public var requestID: String
        public var receivedNanoseconds: Int64
        public var accepted: Bool
        public var reason: String
        public var detail: String
        public var format: String
        public var algorithm: String?
        public var signerFingerprint: String?
        public var signerName: String?
        public var certificatePEM: String?
        public var signature: [UInt8]

        public init(requestID: String, receivedNanoseconds: Int64, accepted: Bool, reason: String, detail: String, format: String,
                    algorithm: String?, signerFingerprint: String?, signerName: String?, certificatePEM: String?, signature: [UInt8]) {
            self.requestID = requestID; self.receivedNanoseconds = receivedNanoseconds; self.accepted = accepted
            self.reason = reason; self.detail = detail; self.format = format; self.algorithm = algorithm
            self.signerFingerprint = signerFingerprint; self.signerName = signerName; self.certificatePEM = certificatePEM
            self.signature = signature
        }
    }

    public enum AttemptOutcome: Sendable {
        /// Stored; `conflict` when a check-in the verifier accepted was refused
        /// because of who sits where (and stored as that refusal).
        case recorded(id: Int64, conflict: CheckInSeating.Conflict?)
        /// The challenge had been answered already (a replay, or the loser of
        /// two racing answers): nothing was stored, its body included.
        case replay(firstAnswer: Int64)
    }

    /// Records an answer. Inside the transaction it re-checks that the
    /// challenge was not answered before, so two racing answers cannot both
    /// use the nonce, and — for a check-in — that the expert is not checked in
    /// at another station and the station holds no other expert of the session.
    public func recordSignature(_ attempt: SignatureAttempt, challenge: SigningChallenge, actor: String) async throws -> AttemptOutcome {
        try await write { db in
            if let first = try Int64.fetchOne(db, sql: "SELECT id FROM signatures WHERE request_id = ? ORDER BY id LIMIT 1",
                                              arguments: [attempt.requestID]) {
                return .replay(firstAnswer: first)
            }
            var attempt = attempt
            var conflict: CheckInSeating.Conflict?
            if attempt.accepted, challenge.purpose == .checkIn {
                conflict = CheckInSeating(try Self.checkIns(db, session: challenge.session))
                    .conflict(entry: challenge.rosterEntry, station: challenge.station)
            }
            if let conflict {
                attempt.accepted = false
                attempt.reason = conflict.code
                attempt.detail = conflict.english
            }
            let signatureSHA = Digest.sha256Hex(attempt.signature)
            let salt = try Digest.randomHex(16)
            try db.execute(sql: """
                INSERT INTO signatures (request_id, received_ns, verdict, reason, detail, detail_salt, format, algorithm,
                                        signer_fingerprint, signer_name, certificate_pem, signature, signature_sha256)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [attempt.requestID, attempt.receivedNanoseconds, attempt.accepted ? "accepted" : "rejected",
                                 attempt.reason, attempt.detail, salt, attempt.format, attempt.algorithm, attempt.signerFingerprint,
                                 attempt.signerName, attempt.certificatePEM, Data(attempt.signature), signatureSHA])
            let id = db.lastInsertedRowID
            var detail = [
                "signature": String(id), "request": attempt.requestID, "purpose": challenge.purpose.rawValue,
                "station": challenge.station, "roster_entry": challenge.rosterEntry, "document_sha256": challenge.documentSHA256,
                "nonce": challenge.nonce, "reason": attempt.reason, "signature_sha256": signatureSHA, "format": attempt.format,
            ]
            if let fp = attempt.signerFingerprint { detail["signer_fingerprint"] = fp }
            if let algorithm = attempt.algorithm { detail["algorithm"] = algorithm }
            // The verifier's words describe the signer's certificate: they stay in
            // the signatures row, and the event and ledger carry only a salted
            // commitment to them, so no text taken from a certificate can ever
            // reach the append-only, exported ledger (docs/formats.md, "Personal data").
            detail["detail_commitment"] = Digest.commitment(salt: salt, text: attempt.detail)
            let kind = attempt.accepted ? (challenge.purpose == .checkIn ? "session.checkin" : "session.signature")
                                        : "session.signature-rejected"
            try Self.insertEvent(db, attempt.receivedNanoseconds, kind, attempt.accepted ? "notice" : "warning", challenge.session,
                                 try Self.detailJSON(detail), detail, actor)
            return .recorded(id: id, conflict: conflict)
        }
    }

    /// A signature row with its challenge's fields and whether it has handwriting.
    private static let signatureSelect = """
        SELECT s.*, c.session_id, c.station_id, c.roster_entry, c.purpose, c.document_sha256,
               EXISTS (SELECT 1 FROM handwritten_signatures h WHERE h.signature_id = s.id) AS handwritten
        FROM signatures s JOIN challenges c ON c.request_id = s.request_id
        """

    /// Signature verdicts so far, by verdict (`accepted`, `rejected`): the metrics' view.
    public func signatureVerdictCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT verdict, count(*) FROM signatures GROUP BY verdict") {
                out[row[0]] = row[1]
            }
            return out
        }
    }

    public func signatures(session: String) async throws -> [SignatureRecord] {
        try await pool.read { db in
            try SignatureJoinRecord.fetchAll(db, sql: Self.signatureSelect + " WHERE c.session_id = ? ORDER BY s.id", arguments: [session])
                .map(Self.signatureRecord)
        }
    }

    public func signature(id: Int64) async throws -> SignatureRecord? {
        try await pool.read { db in
            try SignatureJoinRecord.fetchOne(db, sql: Self.signatureSelect + " WHERE s.id = ?", arguments: [id]).map(Self.signatureRecord)
        }
    }

    private static func signatureRecord(_ row: SignatureJoinRecord) -> SignatureRecord {
        SignatureRecord(id: row.id, requestID: row.requestId, session: row.sessionId, station: row.stationId,
                        rosterEntry: row.rosterEntry, purpose: row.purpose, documentSHA256: row.documentSha256,
                        receivedAt: Text.iso8601(nanoseconds: row.receivedNs), verdict: row.verdict, reason: row.reason,
                        // Rows an older roomd wrote may name an ID number in their detail.
                        detail: ResidentIDScan.redacting(row.detail), format: row.format, algorithm: row.algorithm,
                        signerFingerprint: row.signerFingerprint, signerName: row.signerName,
                        signatureSHA256: row.signatureSha256, handwritten: row.handwritten)
    }

    /// Binds a handwritten signature to an accepted check-in; one per check-in.
    public func storeHandwriting(signatureID: Int64, signature: HandwrittenSignature, session: String, actor: String) async throws -> Int64 {
        let json = String(decoding: signature.canonicalJSON(), as: UTF8.self)
        return try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM handwritten_signatures WHERE signature_id = ?", arguments: [signatureID]) == true {
                throw CheckInConflict(description: "check-in \(signatureID) already has a handwritten signature")
            }
            let time = self.clock.now().nanoseconds
            try db.execute(sql: "INSERT INTO handwritten_signatures (signature_id, received_ns, strokes_json, sha256) VALUES (?, ?, ?, ?)",
                           arguments: [signatureID, time, json, signature.sha256])
            let id = db.lastInsertedRowID
            let detail = ["signature": String(signatureID), "handwriting": String(id), "sha256": signature.sha256,
                          "strokes": String(signature.strokes.count)]
            try Self.insertEvent(db, time, "session.handwritten-signature", "notice", session, try Self.detailJSON(detail), detail, actor)
            return id
        }
    }

    public func handwriting(signatureID: Int64) async throws -> HandwrittenSignature? {
        try await pool.read { db in
            guard let json = try String.fetchOne(db, sql: "SELECT strokes_json FROM handwritten_signatures WHERE signature_id = ?",
                                                 arguments: [signatureID]) else { return nil }
            return try HandwrittenSignature(json: Data(json.utf8))
        }
    }
}

public struct CheckInConflict: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// One expert at one station per session, one expert per station: who sits
/// where is decided by the session's accepted check-ins.
public struct CheckInSeating {
    public let seats: [(entry: String, station: String)]

    public init(_ seats: [(entry: String, station: String)]) { self.seats = seats }

    public struct Conflict: Sendable, ExplainedRefusal {
        public var code: String
        public var chinese: String
        public var english: String

        public var explanation: Explanation { Explanation(code: code, chinese: chinese, english: english) }
    }

    /// Why `entry` may not check in at `station`, or nil.
    public func conflict(entry: String, station: String) -> Conflict? {
        if let elsewhere = seats.first(where: { $0.entry == entry && $0.station != station }) {
            return Conflict(code: "expert-checked-in-elsewhere",
                            chinese: "名单编号 \(entry) 的专家已在终端 \(elsewhere.station) 签到，同一场评审中不能在其他终端再次签到；如需更换座位请联系代理机构操作员。",
                            english: "roster entry \(entry) is checked in at station \(elsewhere.station) already; one expert, one station per session")
        }
        if let holder = seats.first(where: { $0.station == station && $0.entry != entry }) {
            return Conflict(code: "station-occupied",
                            chinese: "本终端已由名单编号 \(holder.entry) 的专家签到使用，一台终端只能供一位专家使用；请到分配给您的终端签到。",
                            english: "station \(station) holds roster entry \(holder.entry) already; one expert per station per session")
        }
        if seats.contains(where: { $0.station == station && $0.entry == entry }) {
            return Conflict(code: "already-checked-in", chinese: "您已在本终端签到，无需重复签到。",
                            english: "roster entry \(entry) is checked in at station \(station) already")
        }
        return nil
    }

    /// Whether `entry` is checked in at `station` (needed before it signs anything else there).
    public func holds(entry: String, station: String) -> Bool {
        seats.contains { $0.entry == entry && $0.station == station }
    }
}
