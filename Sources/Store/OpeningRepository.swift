import Archive
import Canonical
public import Foundation
public import GRDB
import Identity

/// Tables of openings (开标, docs/formats.md "Opening tables"): the definition as received, the
/// sealed bids as the platform delivered them, and the opening's events — accepted commands and
/// commands recorded as rejections alike, since the opening *is* their ordered list
/// (`OpeningSession.replay`). All append-only.
public enum OpeningSchema {
    public static let appendOnly = ["opening_definitions", "opening_events", "opening_sealed_bids"]

    public static func create(_ db: Database) throws {
        try db.execute(sql: """
            -- One row per imported definition; the newest row of an opening is its definition.
            CREATE TABLE opening_definitions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                opening_id TEXT NOT NULL,
                imported_ns INTEGER NOT NULL,
                imported_by TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('platform', 'operator')),
                definition BLOB NOT NULL,
                sha256 TEXT NOT NULL,
                signature BLOB,
                signer_fingerprint TEXT,
                signer_name TEXT
            );
            CREATE INDEX opening_definitions_by_opening ON opening_definitions(opening_id, id);
            -- event: the canonical JSON of the opening's OpeningEvent; ledger_seq: its ledger entry.
            CREATE TABLE opening_events (
                opening_id TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                at_ms INTEGER NOT NULL,
                actor TEXT NOT NULL,
                command TEXT NOT NULL,
                event BLOB NOT NULL,
                rejection TEXT,
                ledger_seq INTEGER NOT NULL,
                PRIMARY KEY (opening_id, sequence)
            );
            -- The bytes of each sealed bid received (stored with its receiveSealedBid event).
            CREATE TABLE opening_sealed_bids (
                opening_id TEXT NOT NULL,
                supplier TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                bytes BLOB NOT NULL,
                PRIMARY KEY (opening_id, sequence)
            );
            """)
        for table in appendOnly { try RoomStore.makeAppendOnly(db, table: table) }
    }

    /// Migration `v12-opening-signatures`: every supplier signature that became an event — the
    /// exact bytes signed, the signature as received, the certificate roomd verified it with —
    /// stored with its event, so that a sealed opening carries what anyone needs to check them.
    public static func createSignatures(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE opening_signatures (
                opening_id TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                purpose TEXT NOT NULL CHECK (purpose IN ('sign-in', 'confirmation', 'objection')),
                supplier TEXT NOT NULL,
                signed_bytes BLOB NOT NULL,
                signature BLOB NOT NULL,
                certificate_pem TEXT NOT NULL,
                signer_fingerprint TEXT NOT NULL,
                PRIMARY KEY (opening_id, sequence)
            );
            """)
        try RoomStore.makeAppendOnly(db, table: "opening_signatures")
    }
}

/// A supplier's signature as received, stored with the event it made (`opening_signatures`).
public struct OpeningSignature: Sendable {
    public enum Purpose: String, Sendable {
        case signIn = "sign-in", confirmation, objection
    }

    public var purpose: Purpose
    public var supplier: String
    /// The exact bytes signed: the sign-in challenge, the read-out's canonical JSON, the objection's UTF-8.
    public var signedBytes: [UInt8]
    /// Detached CMS (DER), as received.
    public var signature: [UInt8]
    public var certificatePEM: String
    public var signerFingerprint: String

    public init(purpose: Purpose, supplier: String, signedBytes: [UInt8], signature: [UInt8], certificatePEM: String, signerFingerprint: String) {
        self.purpose = purpose
        self.supplier = supplier
        self.signedBytes = signedBytes
        self.signature = signature
        self.certificatePEM = certificatePEM
        self.signerFingerprint = signerFingerprint
    }
}

/// Everything stored about one opening, as its package needs it.
public struct OpeningEvidence: Sendable {
    public struct Event: Sendable {
        public var sequence: Int64
        public var atMs: Int64
        public var actor: String
        public var command: String
        public var event: Data
        public var rejection: String?
        public var ledgerSeq: Int64
    }

    public struct SealedBid: Sendable {
        public var supplier: String
        public var sequence: Int64
        public var sha256: String
        public var bytes: Data
    }

    public struct Signed: Sendable {
        public var sequence: Int64
        public var signature: OpeningSignature
    }

    public var definition: Data
    public var definitionSHA256: String
    public var definitionSource: String
    public var definitionSignature: Data?
    public var events: [Event]
    public var sealedBids: [SealedBid]
    public var signatures: [Signed]
}

/// An opening definition as stored.
public struct StoredOpeningDefinition: Sendable {
    public var id: Int64
    public var opening: String
    public var source: String
    public var bytes: Data
    public var sha256: String
    public var signerName: String?
}

/// The outcome of importing an opening definition.
public enum OpeningDefinitionImport: Sendable {
    case stored(StoredOpeningDefinition)
    /// The same bytes were the newest definition already.
    case unchanged(StoredOpeningDefinition)
    /// The opening has events: its definition can no longer change.
    case openingStarted(events: Int)
}

struct OpeningDefinitionRecord: SnakeCaseRecord {
    var id: Int64
    var openingId: String
    var source: String
    var definition: Data
    var sha256: String
    var signerName: String?

    var stored: StoredOpeningDefinition {
        StoredOpeningDefinition(id: id, opening: openingId, source: source, bytes: definition, sha256: sha256, signerName: signerName)
    }
}

extension RoomStore {
    /// Stores an opening definition (exact bytes) unless the opening has events; a ledger entry
    /// `opening.definition-imported` records its hash and signer.
    public func importOpeningDefinition(opening: String, bytes: Data, source: String, signature: Data?,
                                        signerFingerprint: String?, signerName: String?, actor: String) async throws -> OpeningDefinitionImport {
        let sha = Digest.sha256Hex(Array(bytes))
        let time = clock.now().nanoseconds
        return try await write { db in
            let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM opening_events WHERE opening_id = ?", arguments: [opening]) ?? 0
            guard events == 0 else { return .openingStarted(events: events) }
            if let newest = try Self.openingDefinition(db, opening: opening), newest.sha256 == sha { return .unchanged(newest) }
            try db.execute(sql: """
                INSERT INTO opening_definitions (opening_id, imported_ns, imported_by, source, definition, sha256, signature,
                    signer_fingerprint, signer_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [opening, time, actor, source, bytes, sha, signature, signerFingerprint, signerName])
            var detail = ["definition": String(db.lastInsertedRowID), "sha256": sha, "source": source]
            if let signerFingerprint { detail["signer_fingerprint"] = signerFingerprint }
            if let signature { detail["signature_sha256"] = Digest.sha256Hex(Array(signature)) }
            try Self.insertEvent(db, time, "opening.definition-imported", "notice", opening, try Self.detailJSON(detail), detail, actor)
            return .stored(try Self.openingDefinition(db, opening: opening)!)
        }
    }

    static func openingDefinition(_ db: Database, opening: String) throws -> StoredOpeningDefinition? {
        try OpeningDefinitionRecord.fetchOne(db, sql: """
            SELECT id, opening_id, source, definition, sha256, signer_name FROM opening_definitions
            WHERE opening_id = ? ORDER BY id DESC LIMIT 1
            """, arguments: [opening])?.stored
    }

    /// The newest definition of every opening.
    public func openingDefinitions() async throws -> [StoredOpeningDefinition] {
        try await pool.read { db in
            try OpeningDefinitionRecord.fetchAll(db, sql: """
                SELECT id, opening_id, source, definition, sha256, signer_name FROM opening_definitions d
                WHERE d.id = (SELECT max(id) FROM opening_definitions WHERE opening_id = d.opening_id) ORDER BY d.opening_id
                """).map(\.stored)
        }
    }

    /// An opening's events (canonical JSON), in order.
    public func openingEvents(opening: String) async throws -> [Data] {
        try await pool.read { db in
            try Data.fetchAll(db, sql: "SELECT event FROM opening_events WHERE opening_id = ? ORDER BY sequence", arguments: [opening])
        }
    }

    /// The sealed bid received for `supplier` whose hash the definition fixed, if any.
    public func sealedBid(opening: String, supplier: String, sha256: String) async throws -> Data? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: """
                SELECT bytes FROM opening_sealed_bids WHERE opening_id = ? AND supplier = ? AND sha256 = ? ORDER BY sequence LIMIT 1
                """, arguments: [opening, supplier, sha256])
        }
    }

    /// Everything the opening's package holds from the database: the definition in force as
    /// received (with the platform's signature), every event, every sealed bid, every signature.
    public func openingEvidence(opening: String) async throws -> OpeningEvidence? {
        try await pool.read { db in
            guard let definition = try Row.fetchOne(db, sql: """
                SELECT definition, sha256, source, signature FROM opening_definitions WHERE opening_id = ? ORDER BY id DESC LIMIT 1
                """, arguments: [opening]) else { return nil }
            let events = try Row.fetchAll(db, sql: """
                SELECT sequence, at_ms, actor, command, event, rejection, ledger_seq FROM opening_events WHERE opening_id = ? ORDER BY sequence
                """, arguments: [opening]).map {
                OpeningEvidence.Event(sequence: $0["sequence"], atMs: $0["at_ms"], actor: $0["actor"], command: $0["command"],
                                      event: $0["event"], rejection: $0["rejection"], ledgerSeq: $0["ledger_seq"])
            }
            let bids = try Row.fetchAll(db, sql: """
                SELECT supplier, sequence, sha256, bytes FROM opening_sealed_bids WHERE opening_id = ? ORDER BY sequence
                """, arguments: [opening]).map {
                OpeningEvidence.SealedBid(supplier: $0["supplier"], sequence: $0["sequence"], sha256: $0["sha256"], bytes: $0["bytes"])
            }
            let signatures = try Row.fetchAll(db, sql: """
                SELECT sequence, purpose, supplier, signed_bytes, signature, certificate_pem, signer_fingerprint
                FROM opening_signatures WHERE opening_id = ? ORDER BY sequence
                """, arguments: [opening]).map { row -> OpeningEvidence.Signed in
                let signed: Data = row["signed_bytes"], signature: Data = row["signature"], purpose: String = row["purpose"]
                return OpeningEvidence.Signed(sequence: row["sequence"], signature: OpeningSignature(
                    purpose: OpeningSignature.Purpose(rawValue: purpose) ?? .signIn, supplier: row["supplier"], signedBytes: Array(signed),
                    signature: Array(signature), certificatePEM: row["certificate_pem"], signerFingerprint: row["signer_fingerprint"]))
            }
            return OpeningEvidence(definition: definition["definition"], definitionSHA256: definition["sha256"],
                                   definitionSource: definition["source"], definitionSignature: definition["signature"],
                                   events: events, sealedBids: bids, signatures: signatures)
        }
    }

    /// Stores an opening event, its ledger entry (`opening.command`, carrying the event and the
    /// rejection it was recorded as), for a delivered sealed bid its bytes, and for a supplier's
    /// signed action the signature as received — in one transaction. The primary key refuses a
    /// second writer of the same sequence.
    @discardableResult
    public func appendOpeningEvent(opening: String, sequence: Int, atMilliseconds: Int64, actor: String, command: String,
                                   event: Data, rejection: String?, sealedBid: (supplier: String, bytes: Data)?,
                                   signature: OpeningSignature? = nil) async throws -> Int {
        let parsed = try CanonicalJSON(parsing: Array(event))
        return try await write { db in
            var payload: [String: CanonicalJSON] = [
                "opening": .string(opening), "sequence": .integer(Int64(sequence)), "command": .string(command), "event": parsed,
            ]
            if let rejection { payload["rejection"] = .string(rejection) }
            let appended = try Ledger.append([LedgerDraft(time: atMilliseconds * 1_000_000, kind: "opening.command", actor: actor,
                                                          payload: .object(payload))], in: db)
            let ledgerSeq = appended.entries.first.map(\.seq) ?? -1
            try db.execute(sql: """
                INSERT INTO opening_events (opening_id, sequence, at_ms, actor, command, event, rejection, ledger_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [opening, sequence, atMilliseconds, actor, command, event, rejection, ledgerSeq])
            if let sealedBid {
                try db.execute(sql: """
                    INSERT INTO opening_sealed_bids (opening_id, supplier, sequence, sha256, bytes) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [opening, sealedBid.supplier, sequence, Digest.sha256Hex(Array(sealedBid.bytes)), sealedBid.bytes])
            }
            if let signature {
                try db.execute(sql: """
                    INSERT INTO opening_signatures (opening_id, sequence, purpose, supplier, signed_bytes, signature, certificate_pem,
                        signer_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [opening, sequence, signature.purpose.rawValue, signature.supplier, Data(signature.signedBytes),
                                    Data(signature.signature), signature.certificatePEM, signature.signerFingerprint])
            }
            return ledgerSeq
        }
    }
}
