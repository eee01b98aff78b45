import Foundation
import GRDB

/// Station enrollment and revocation rows. Each change is an event and a
/// ledger entry in the same transaction as its row.
extension RoomStore {
    public struct Enrollment: Sendable, Equatable {
        public var stationID: String
        public var fingerprint: String
        public var subject: String
        public var notAfterNanoseconds: Int64
        public var enrolledNanoseconds: Int64
    }

    public struct Revocation: Sendable, Equatable {
        public var stationID: String
        /// nil: every certificate of the station enrolled before `revokedNanoseconds`.
        public var fingerprint: String?
        public var revokedNanoseconds: Int64
    }

    public enum EnrollmentError: Error, CustomStringConvertible {
        case alreadyEnrolled(fingerprint: String, station: String)
        case revoked(fingerprint: String)

        public var description: String {
            switch self {
            case .alreadyEnrolled(let fp, let station):
                "certificate sha256:\(fp) is already enrolled for \(station) / 该证书已登记"
            case .revoked(let fp):
                "certificate sha256:\(fp) was revoked; revocation is permanent, issue a new certificate / 该证书已被吊销，请重新签发"
            }
        }
    }

    public func enroll(station: String, fingerprint: String, subject: String, notAfter: Int64, pem: String,
                actor: String, at time: Int64? = nil) async throws -> Enrollment {
        let time = time ?? clock.now().nanoseconds
        return try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM certificate_revocations WHERE fingerprint = ?", arguments: [fingerprint]) == true {
                throw EnrollmentError.revoked(fingerprint: fingerprint)
            }
            if let existing = try String.fetchOne(db, sql: "SELECT station_id FROM station_certificates WHERE fingerprint = ?",
                                                  arguments: [fingerprint]) {
                throw EnrollmentError.alreadyEnrolled(fingerprint: fingerprint, station: existing)
            }
            try db.execute(sql: """
                INSERT INTO station_certificates (fingerprint, station_id, subject, not_after_ns, certificate_pem, enrolled_ns, enrolled_by)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [fingerprint, station, subject, notAfter, pem, time, actor])
            let detail = ["fingerprint": fingerprint, "subject": subject, "certificate": pem,
                          "not_after": String(notAfter / 1_000_000_000)]
            try Self.insertEvent(db, time, "certificate.enrolled", "notice", station, try Self.detailJSON(detail), detail, actor)
            return Enrollment(stationID: station, fingerprint: fingerprint, subject: subject, notAfterNanoseconds: notAfter,
                              enrolledNanoseconds: time)
        }
    }

    /// Revokes one certificate, or (fingerprint nil) every certificate of the station.
    public func revoke(station: String, fingerprint: String?, reason: String, actor: String,
                at time: Int64? = nil) async throws -> Revocation {
        let time = time ?? clock.now().nanoseconds
        return try await write { db in
            try db.execute(sql: """
                INSERT INTO certificate_revocations (station_id, fingerprint, revoked_ns, revoked_by, reason) VALUES (?, ?, ?, ?, ?)
                """, arguments: [station, fingerprint, time, actor, reason])
            var detail = ["reason": reason, "scope": fingerprint == nil ? "station" : "certificate"]
            if let fingerprint { detail["fingerprint"] = fingerprint }
            try Self.insertEvent(db, time, "certificate.revoked", "warning", station, try Self.detailJSON(detail), detail, actor)
            return Revocation(stationID: station, fingerprint: fingerprint, revokedNanoseconds: time)
        }
    }

    public func stationCertificates() throws -> (enrollments: [Enrollment], revocations: [Revocation]) {
        try pool.read { db in
            let enrollments = try EnrollmentRecord.fetchAll(db, sql: "SELECT * FROM station_certificates ORDER BY enrolled_ns").map {
                Enrollment(stationID: $0.stationId, fingerprint: $0.fingerprint, subject: $0.subject,
                           notAfterNanoseconds: $0.notAfterNs, enrolledNanoseconds: $0.enrolledNs)
            }
            let revocations = try RevocationRecord.fetchAll(db, sql: "SELECT * FROM certificate_revocations ORDER BY id").map {
                Revocation(stationID: $0.stationId, fingerprint: $0.fingerprint, revokedNanoseconds: $0.revokedNs)
            }
            return (enrollments, revocations)
        }
    }
}

/// What the operator has told a station: locked or not (and why), and the messages pushed to it.
/// Kept as events (`station.locked`, `station.unlocked`, `station.message`, each with its ledger
/// entry): the state is the newest lock or unlock of the station.
public struct StationControl: Sendable, Codable {
    public struct Message: Sendable, Codable {
        public var text: String
        /// Milliseconds since the epoch.
        public var at: Int64
    }

    public var station: String
    public var locked: Bool
    public var reason: String?
    /// Newest first, at most ten, from the last hour.
    public var messages: [Message]
}

extension RoomStore {
    public func stationControl(station: String) async throws -> StationControl {
        let since = clock.now().nanoseconds - 3_600_000_000_000
        return try await pool.read { db in
            let lock = try EventRecord.fetchOne(db, sql: """
                SELECT * FROM events WHERE kind IN ('station.locked', 'station.unlocked') AND subject = ? ORDER BY id DESC LIMIT 1
                """, arguments: [station])
            let messages = try EventRecord.fetchAll(db, sql: """
                SELECT * FROM events WHERE kind = 'station.message' AND (subject = ? OR subject = '*') AND time_ns >= ?
                ORDER BY id DESC LIMIT 10
                """, arguments: [station, since])
            func text(_ detail: String, _ key: String) -> String? {
                (try? JSONDecoder().decode([String: String].self, from: Data(detail.utf8)))?[key]
            }
            return StationControl(station: station, locked: lock?.kind == "station.locked",
                                  reason: lock.flatMap { $0.kind == "station.locked" ? text($0.detail, "reason") : nil },
                                  messages: messages.map { .init(text: text($0.detail, "text") ?? "", at: $0.timeNs / 1_000_000) })
        }
    }
}
