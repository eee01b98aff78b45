import Canonical
import Foundation
import RoomConfig
import Synchronization
import Store

/// Which station certificates the room accepts beyond what TLS checks (chain
/// to the room CA, validity): revoked certificates are refused at the
/// handshake, and once a station has been enrolled or revoked, only
/// certificates enrolled for it are accepted. The rows live in the store; this
/// is their in-memory form, consulted on every handshake and request.
final class StationCertificates: Sendable {
    enum Refusal: Error, Equatable, CustomStringConvertible, ExplainedRefusal {
        case revoked(fingerprint: String, station: String)
        case notEnrolled(fingerprint: String, station: String)
        case expired(fingerprint: String, notAfter: Date)
        case notYetValid(fingerprint: String, notBefore: Date)

        var code: String {
            switch self {
            case .revoked: "certificate-revoked"
            case .notEnrolled: "certificate-not-enrolled"
            case .expired: "certificate-expired"
            case .notYetValid: "certificate-not-yet-valid"
            }
        }

        var description: String {
            switch self {
            case .expired(let fp, let notAfter):
                "certificate sha256:\(fp) expired at \(Text.iso8601(nanoseconds: Int64(notAfter.timeIntervalSince1970) * 1_000_000_000))"
            case .notYetValid(let fp, let notBefore):
                "certificate sha256:\(fp) is valid only from \(Text.iso8601(nanoseconds: Int64(notBefore.timeIntervalSince1970) * 1_000_000_000))"
            case .revoked(let fp, let station):
                "certificate sha256:\(fp) of station \(station) is revoked"
            case .notEnrolled(let fp, let station):
                "certificate sha256:\(fp) is not enrolled for station \(station); only enrolled certificates are accepted"
            }
        }

        var explanation: Explanation { Explanation(code: code, chinese: chinese, english: description) }

        var chinese: String {
            switch self {
            case .expired:
                "客户端证书已过期，请联系代理机构管理员重新签发证书。"
            case .notYetValid:
                "客户端证书尚未生效，请核对终端时间或联系代理机构管理员。"
            case .revoked(_, let station):
                "终端 \(station) 的证书已被吊销，请联系代理机构管理员重新登记（roomctl station enroll \(station)）。"
            case .notEnrolled(_, let station):
                "该证书未登记为终端 \(station) 的证书，请联系代理机构管理员登记后再使用。"
            }
        }
    }

    private struct State {
        var enrollments: [RoomStore.Enrollment] = []
        var revocations: [RoomStore.Revocation] = []
    }

    private let state: Mutex<State>

    init(enrollments: [RoomStore.Enrollment], revocations: [RoomStore.Revocation]) {
        state = Mutex(State(enrollments: enrollments, revocations: revocations))
    }

    func add(_ enrollment: RoomStore.Enrollment) { state.withLock { $0.enrollments.append(enrollment) } }
    func add(_ revocation: RoomStore.Revocation) { state.withLock { $0.revocations.append(revocation) } }

    /// nil when the certificate may be used. `stationID` is the station the
    /// certificate names (nil for other roles, which are checked only against
    /// revocations of their fingerprint).
    func check(fingerprint: String, stationID: String?) -> Refusal? {
        state.withLock { state in
            let enrolled = state.enrollments.first { $0.fingerprint == fingerprint }
            for revocation in state.revocations {
                if revocation.fingerprint == fingerprint {
                    return .revoked(fingerprint: fingerprint, station: revocation.stationID)
                }
                if revocation.fingerprint == nil, let enrolled, enrolled.stationID == revocation.stationID,
                   enrolled.enrolledNanoseconds <= revocation.revokedNanoseconds {
                    return .revoked(fingerprint: fingerprint, station: revocation.stationID)
                }
            }
            guard let stationID else { return nil }
            if let enrolled, enrolled.stationID == stationID { return nil }
            if state.revocations.contains(where: { $0.stationID == stationID && $0.fingerprint == nil }) {
                return .revoked(fingerprint: fingerprint, station: stationID)
            }
            if state.enrollments.contains(where: { $0.stationID == stationID }) {
                return .notEnrolled(fingerprint: fingerprint, station: stationID)
            }
            return nil
        }
    }
}
