import Hummingbird
import Identity
import Logging
import Metrics
import NIOCore
import NIOSSL
import RoomConfig

/// The single place where access is decided: the TLS peer certificate is
/// mapped to a role, the role is checked against ``AccessPolicy/table``, and
/// every refusal is logged and stored as an event.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = RoomRequestContext

    let gate: CertificateGate
    /// Refusals are aggregated: a client retrying in a loop adds one event a window, not one a request.
    let refusals: EventAggregator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let path = request.uri.path
        let identity: PeerIdentity
        let certificate: Certificate
        switch await peerIdentity(context.channel) {
        case .failure(let denial):
            deny(request, context, who: "unidentified", reason: denial.description, code: "certificate-not-accepted")
            return .problem(.forbidden, code: "certificate-not-accepted",
                            chinese: "客户端证书未被本评标室接受，请联系代理机构管理员重新签发证书。",
                            english: denial.description)
        case .success(let (peer, presented)):
            identity = peer
            certificate = presented
        }
        // A connection opened before a revocation, or before its certificate
        // expired, must not outlive it.
        if let refusal = gate.refusal(for: certificate) {
            deny(request, context, who: identity.description, reason: refusal.description, code: refusal.code)
            var response = Response.problem(.forbidden, code: refusal.code, chinese: refusal.chinese, english: refusal.description)
            response.headers[.connection] = "close"
            return response
        }
        switch AccessPolicy.decide(method: request.method, path: path, role: identity.role) {
        case .allow:
            context.peer = identity
            Counter(label: "roomd_http_requests_total", dimensions: [("role", identity.role.rawValue)]).increment()
            return try await next(request, context)
        case .notFound:
            return .problem(.notFound, code: "no-such-route", chinese: "请求的地址不存在。",
                            english: "no route \(request.method) \(path)")
        case .forbidden(let allowed):
            let reason = "\(identity) may not call \(request.method) \(path); allowed: \(allowed.map(\.rawValue).sorted().joined(separator: ", "))"
            deny(request, context, who: identity.description, reason: reason, code: "role-not-permitted")
            return .problem(.forbidden, code: "role-not-permitted",
                            chinese: "当前身份（\(identity.role.chinese)）无权执行此操作。",
                            english: reason)
        }
    }

    private func peerIdentity(_ channel: any Channel) async -> Result<(PeerIdentity, Certificate), RoleMapper.Denial> {
        let peer: NIOSSLCertificate?
        do {
            peer = try await channel.nioSSL_peerCertificate().get()
        } catch {
            return .failure(.unreadable("\(error)"))
        }
        guard let peer else { return .failure(.noCertificate) }
        do {
            let certificate = try Certificate(der: try peer.toDERBytes())
            return gate.mapper.identify(certificate).map { ($0, certificate) }
        } catch {
            return .failure(.unreadable("\(error)"))
        }
    }

    private func deny(_ request: Request, _ context: Context, who: String, reason: String, code: String) {
        Self.deny(refusals, request: request, context: context, who: who, reason: reason, code: code)
    }

    /// Counts, logs and reports (aggregated) one refused request; handlers
    /// that refuse for access reasons of their own (another station's
    /// challenge) leave the same trace.
    static func deny(_ refusals: EventAggregator, request: Request, context: Context, who: String, reason: String, code: String) {
        Counter(label: "roomd_access_denials_total", dimensions: [("reason", code)]).increment()
        context.logger.warning("access denied", metadata: [
            "peer": .string(who), "remote": .string(context.remoteAddress ?? "?"),
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "reason": .string(reason),
        ])
        refusals.report(kind: "access.denied", severity: "warning", subject: who, code: code, detail: [
            "remote": context.remoteAddress ?? "", "method": request.method.rawValue, "path": request.uri.path, "reason": reason,
        ])
    }
}

extension RoomConfiguration.Role {
    var chinese: String {
        switch self {
        case .station: "评审终端"
        case .operator: "代理机构操作员"
        case .supervisor: "监督人员"
        case .platform: "政府采购云平台"
        }
    }
}
