public import Foundation
internal import COpenSSL
import Canonical

/// Reason codes of check-in outcomes that are not about the signature itself
/// (those are ``SignatureRejectionCode``) nor the roster (``RosterMatchResult``).
/// Stable: stored in the database and the audit ledger.
public enum CheckInReason {
    public static let accepted = "accepted"
    public static let challengeExpired = "challenge-expired"
    public static let nonceReplayed = "nonce-replayed"
    public static let rosterMissing = "roster-missing"
    public static let wrongRosterEntry = "wrong-roster-entry"
}

/// What an expert signs: check-in, the commitment letter, score sheets, the report.
public enum SigningPurpose: String, Codable, Sendable, CaseIterable {
    case checkIn = "checkin"
    case commitmentLetter = "commitment-letter"
    case scoreSheet = "score-sheet"
    case report

    public var chinese: String {
        switch self {
        case .checkIn: "签到"
        case .commitmentLetter: "评审承诺书"
        case .scoreSheet: "评分表"
        case .report: "评审报告"
        }
    }
}

/// A request for one signature, issued by roomd to one station for one roster
/// entry and one document. The expert's cloud-sign app signs exactly
/// ``signedBytes()`` — the bytes the QR code carries — so the signature binds
/// the nonce, the room, session, station, person, purpose, document and
/// expiry together; none of them can be swapped afterwards.
public struct SigningChallenge: Codable, Sendable, Hashable {
    /// Names the format inside the signed bytes, so a signature over a
    /// challenge can never be mistaken for a signature over anything else.
    public static let format = "roomd-signing-challenge/1"
    public static let defaultLifetime: TimeInterval = 120

    /// 128-bit random request id, lowercase hex.
    public let request: String
    /// 128-bit random nonce, lowercase hex; answered at most once.
    public let nonce: String
    public let room: String
    public let session: String
    public let station: String
    public let rosterEntry: String
    public let purpose: SigningPurpose
    /// Lowercase hex SHA-256 of the document to sign (for check-in: of the check-in statement).
    public let documentSHA256: String
    /// Milliseconds since the Unix epoch, roomd's clock.
    public let issuedMs: Int64
    public let expiresMs: Int64

    public init(request: String, nonce: String, room: String, session: String, station: String, rosterEntry: String,
                purpose: SigningPurpose, documentSHA256: String, issuedMs: Int64, expiresMs: Int64) {
        self.request = request
        self.nonce = nonce
        self.room = room
        self.session = session
        self.station = station
        self.rosterEntry = rosterEntry
        self.purpose = purpose
        self.documentSHA256 = documentSHA256
        self.issuedMs = issuedMs
        self.expiresMs = expiresMs
    }

    /// A fresh challenge with random request id and nonce from OpenSSL's CSPRNG.
    public static func issue(room: String, session: String, station: String, rosterEntry: String,
                             purpose: SigningPurpose, documentSHA256: String, now: Date,
                             lifetime: TimeInterval = defaultLifetime) throws -> SigningChallenge {
        let issued = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        return SigningChallenge(request: try randomHex(16), nonce: try randomHex(16), room: room, session: session,
                                station: station, rosterEntry: rosterEntry, purpose: purpose,
                                documentSHA256: documentSHA256.lowercased(), issuedMs: issued,
                                expiresMs: issued + Int64(lifetime * 1000))
    }

    public func isExpired(at time: Date) -> Bool {
        Int64((time.timeIntervalSince1970 * 1000).rounded(.down)) > expiresMs
    }

    /// The canonical JSON the expert signs: keys sorted, no whitespace, every
    /// value a string or an integer. Identifiers are restricted to printable
    /// ASCII without quotes or backslashes when issued, so no escaping arises.
    public func signedBytes() -> [UInt8] {
        let fields: CanonicalJSON = [
            "document_sha256": .string(documentSHA256), "expires_ms": .integer(expiresMs), "format": .string(Self.format),
            "issued_ms": .integer(issuedMs), "nonce": .string(nonce), "purpose": .string(purpose.rawValue),
            "request": .string(request), "room": .string(room), "roster_entry": .string(rosterEntry),
            "session": .string(session), "station": .string(station),
        ]
        // Cannot fail: eleven distinct keys, no decimals.
        return (try? fields.canonicalBytes()) ?? []
    }

    /// Whether `text` may appear in a challenge field (see ``signedBytes()``).
    public static func isPlainIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    private static func randomHex(_ count: Int) throws -> String { try Digest.randomHex(count) }
}
