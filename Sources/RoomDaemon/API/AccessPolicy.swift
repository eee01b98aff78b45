import Canonical
import HTTPTypes
import Identity
import RoomConfig
import Store

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

/// Maps a verified client certificate to exactly one role, by the rules of
/// `tls.roles`. A certificate that matches rules of two different roles is
/// refused: one certificate, one role.
struct RoleMapper: Sendable {
    enum Denial: Error, Equatable, CustomStringConvertible, ExplainedRefusal {
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

        var explanation: Explanation {
            Explanation(code: "certificate-not-accepted", chinese: "客户端证书未被本评标室接受，请联系代理机构管理员重新签发证书。",
                        english: description)
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
