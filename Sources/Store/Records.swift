import Foundation
import GRDB

// One Codable record per kind of row roomd reads (and, for challenges,
// writes), with a property per column: GRDB maps the snake_case columns to
// them. Repositories fetch these and turn them into the domain and wire types
// the rest of roomd uses (redacting legacy text, formatting times), so a
// column name is spelled in the schema, in SQL and here, never as
// `row["column"]` in a repository. (Segment rows are `SegmentIndex.Row`.)

/// Columns are snake_case, properties camelCase.
protocol SnakeCaseRecord: FetchableRecord, Decodable {}

extension SnakeCaseRecord {
    static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
}

/// `stations`: configured stations and their latest heartbeat.
struct StationRecord: SnakeCaseRecord {
    var id: String
    var host: String?
    var camera: String?
    var microphone: String?
    var lastSeenNs: Int64?
    var lastSeenAddress: String?
    var lastReport: String?
}

/// `events`: one thing that happened (evidence; never updated).
struct EventRecord: SnakeCaseRecord {
    var id: Int64
    var timeNs: Int64
    var kind: String
    var severity: String
    var subject: String?
    var detail: String
}

/// `station_certificates`: an enrolled station certificate.
struct EnrollmentRecord: SnakeCaseRecord {
    var fingerprint: String
    var stationId: String
    var subject: String
    var notAfterNs: Int64
    var enrolledNs: Int64
    var enrolledBy: String
}

/// `certificate_revocations`: one certificate, or (no fingerprint) all of a
/// station's certificates enrolled before it.
struct RevocationRecord: SnakeCaseRecord {
    var id: Int64
    var stationId: String
    var fingerprint: String?
    var revokedNs: Int64
    var revokedBy: String
    var reason: String
}

/// `rosters`: one imported version of a session's roster.
struct RosterRecord: SnakeCaseRecord {
    var id: Int64
    var sessionId: String
    var importedNs: Int64
    var importedBy: String
    var entriesJson: String
    var sha256: String
}

/// `challenges`: what a station was asked to have signed, with the exact bytes.
struct ChallengeRecord: SnakeCaseRecord, Encodable, PersistableRecord {
    static let databaseTableName = "challenges"
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }

    var requestId: String
    var nonce: String
    var sessionId: String
    var stationId: String
    var rosterEntry: String
    var purpose: String
    var documentSha256: String
    var issuedMs: Int64
    var expiresMs: Int64
    var signedBytes: Data
}

/// A `signatures` row joined with its challenge (`CheckInRepository.signatureSelect`).
struct SignatureJoinRecord: SnakeCaseRecord {
    var id: Int64
    var requestId: String
    var receivedNs: Int64
    var verdict: String
    var reason: String
    var detail: String
    var format: String
    var algorithm: String?
    var signerFingerprint: String?
    var signerName: String?
    var signatureSha256: String
    var sessionId: String
    var stationId: String
    var rosterEntry: String
    var purpose: String
    var documentSha256: String
    var handwritten: Bool
}
