import HTTPTypes
import Identity
import RoomConfig

typealias Role = RoomConfiguration.Role

/// Who is calling: the role a client certificate maps to.
struct PeerIdentity: Sendable, Equatable, CustomStringConvertible {
    var role: Role
    /// Set for stations: the station id taken from the certificate.
    var stationID: String?
    var subject: String
    var fingerprint: String

    var description: String {
        if let stationID { return "\(role.rawValue) \(stationID) (\(subject))" }
        return "\(role.rawValue) (\(subject))"
    }
}

/// The one table of which role may call which route. Every route the HTTPS
/// API serves is listed here; a request for anything else is answered 404 by
/// the access middleware before any handler runs. Keep this table and the
/// router (`APIRoutes`) in step — a test checks they agree.
enum AccessPolicy {
    struct Entry: Sendable {
        var method: HTTPRequest.Method
        /// Path with `:name` segments for parameters.
        var path: String
        var roles: Set<Role>
        var purpose: String
    }

    static let table: [Entry] = [
        Entry(method: .get, path: "/healthz", roles: Set(Role.allCases), purpose: "liveness"),
        Entry(method: .get, path: "/readyz", roles: Set(Role.allCases), purpose: "readiness with health checks"),
        Entry(method: .get, path: "/metrics", roles: [.operator, .supervisor, .platform], purpose: "Prometheus metrics"),
        Entry(method: .get, path: "/v1/room", roles: [.operator, .supervisor, .platform], purpose: "room and station status"),
        Entry(method: .get, path: "/v1/station/self", roles: [.station], purpose: "the calling station's own record"),
        Entry(method: .post, path: "/v1/station/heartbeat", roles: [.station], purpose: "station health report"),
        Entry(method: .get, path: "/v1/events", roles: [.operator, .supervisor], purpose: "recent room events"),
        Entry(method: .get, path: "/v1/ledger/checkpoint", roles: [.operator, .supervisor, .platform],
              purpose: "the latest signed checkpoint of the audit ledger (witnesses keep it)"),
        Entry(method: .get, path: "/v1/ledger/proof/inclusion", roles: [.operator, .supervisor, .platform],
              purpose: "RFC 9162 inclusion proof of one entry"),
        Entry(method: .get, path: "/v1/ledger/proof/consistency", roles: [.operator, .supervisor, .platform],
              purpose: "RFC 9162 consistency proof between two tree sizes"),
        Entry(method: .get, path: "/v1/ledger/entries", roles: [.supervisor, .platform],
              purpose: "ledger entries as canonical JSON lines"),
        // Expert check-in and signatures (CheckInService).
        Entry(method: .post, path: "/v1/sessions/:session/roster", roles: [.operator],
              purpose: "import the session's drawn experts and purchaser representatives"),
        Entry(method: .get, path: "/v1/sessions/:session/signatures", roles: [.operator, .supervisor],
              purpose: "check-ins and signatures of a session, accepted and rejected"),
        Entry(method: .post, path: "/v1/checkin/challenges", roles: [.station],
              purpose: "a signing challenge for the person in this seat"),
        Entry(method: .get, path: "/v1/checkin/challenges/:request/qr.svg", roles: [.station], purpose: "the challenge as a QR code (SVG)"),
        Entry(method: .get, path: "/v1/checkin/challenges/:request/qr.png", roles: [.station], purpose: "the challenge as a QR code (PNG)"),
        Entry(method: .post, path: "/v1/checkin/challenges/:request/answer", roles: [.station],
              purpose: "the expert's signature over the challenge, relayed by the station"),
        Entry(method: .post, path: "/v1/checkin/signatures/:signature/handwriting", roles: [.station],
              purpose: "the handwritten signature of an accepted check-in"),
        Entry(method: .get, path: "/v1/checkin/signatures/:signature/handwriting.svg", roles: [.operator, .supervisor],
              purpose: "a handwritten signature drawn as SVG"),
        Entry(method: .get, path: "/v1/checkin/signatures/:signature/handwriting.png", roles: [.operator, .supervisor],
              purpose: "a handwritten signature drawn as PNG"),
    ]

    enum Decision: Equatable {
        case allow
        case notFound
        case forbidden(Set<Role>)
    }

    static func decide(method: HTTPRequest.Method, path: String, role: Role) -> Decision {
        guard let entry = table.first(where: { $0.method == method && matches(pattern: $0.path, path: path) }) else {
            return .notFound
        }
        return entry.roles.contains(role) ? .allow : .forbidden(entry.roles)
    }

    static func matches(pattern: String, path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: true)
        let s = path.split(separator: "/", omittingEmptySubsequences: true)
        guard p.count == s.count else { return false }
        return zip(p, s).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
    }
}

/// Maps a verified client certificate to exactly one role, by the rules of
/// `tls.roles`. A certificate that matches rules of two different roles is
/// refused: one certificate, one role.
struct RoleMapper: Sendable {
    enum Denial: Error, Equatable, CustomStringConvertible {
        case noCertificate
        case unreadable(String)
        case noRule(subject: String, uris: [String])
        case ambiguous(subject: String, roles: [Role])
        case unknownStation(subject: String, id: String)

        var description: String {
            switch self {
            case .noCertificate: "no client certificate"
            case .unreadable(let why): "client certificate unreadable: \(why)"
            case .noRule(let subject, let uris): "certificate \(subject) (SAN URIs \(uris)) matches no role rule"
            case .ambiguous(let subject, let roles): "certificate \(subject) matches several roles \(roles.map(\.rawValue)); refused"
            case .unknownStation(let subject, let id): "certificate \(subject) names station \(id), which this room does not have"
            }
        }
    }

    private let rules: [(Role, RoomConfiguration.RoleRule.Match, Certificate?)]
    private let stationIDs: Set<String>

    init(rules: [RoomConfiguration.RoleRule], stationIDs: Set<String>, issuers: [String: Certificate]) {
        self.rules = rules.map { rule in
            if case .issuerCA(let path) = rule.match { return (rule.role, rule.match, issuers[path]) }
            return (rule.role, rule.match, nil)
        }
        self.stationIDs = stationIDs
    }

    func identify(_ certificate: Certificate) -> Result<PeerIdentity, Denial> {
        let uris = certificate.subjectAltNameURIs
        let subject = certificate.subject
        var found: [(Role, String?)] = []
        for (role, match, issuer) in rules {
            switch match {
            case .sanURI(let uri) where uris.contains(uri):
                found.append((role, nil))
            case .sanURIPrefix(let prefix):
                for uri in uris where uri.hasPrefix(prefix) {
                    found.append((role, role == .station ? String(uri.dropFirst(prefix.count)) : nil))
                }
            case .issuerCA where issuer.map(certificate.isIssued(byNameOf:)) == true:
                found.append((role, nil))
            default:
                continue
            }
        }
        let roles = Set(found.map(\.0))
        guard let role = roles.first else { return .failure(.noRule(subject: subject, uris: uris)) }
        guard roles.count == 1 else { return .failure(.ambiguous(subject: subject, roles: roles.sorted { $0.rawValue < $1.rawValue })) }
        var stationID: String?
        if role == .station {
            let ids = Set(found.compactMap(\.1))
            guard ids.count == 1, let id = ids.first else { return .failure(.ambiguous(subject: subject, roles: [.station])) }
            guard stationIDs.contains(id) else { return .failure(.unknownStation(subject: subject, id: id)) }
            stationID = id
        }
        let fingerprint = (try? certificate.sha256Fingerprint()) ?? ""
        return .success(PeerIdentity(role: role, stationID: stationID, subject: subject, fingerprint: fingerprint))
    }
}
