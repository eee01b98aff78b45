import Hummingbird
import Identity
import Logging
import Metrics
import NIOCore
import NIOSSL
import RoomConfig
import Store

/// Who is calling: the TLS peer certificate is mapped to exactly one role,
/// and a certificate revoked, not enrolled or out of its dates since the
/// connection opened is refused. Which role may call which route is declared
/// with the route (``RouteRegistrar``, ``RoleGate``). Every refusal is
/// logged and reported, aggregated.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = RoomRequestContext

    let gate: CertificateGate
    /// Refusals are aggregated: a client retrying in a loop adds one event a window, not one a request.
    let refusals: EventAggregator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let identity: PeerIdentity
        let certificate: Certificate
        switch await peerIdentity(context.channel) {
        case .failure(let denial):
            deny(request, context, who: "unidentified", reason: denial.description, code: denial.explanation.code)
            throw Refusal(.forbidden, denial)
        case .success(let (peer, presented)):
            identity = peer
            certificate = presented
        }
        // A connection opened before a revocation, or before its certificate
        // expired, must not outlive it.
        if let refusal = gate.refusal(for: certificate) {
            deny(request, context, who: identity.description, reason: refusal.description, code: refusal.code)
            var closing = Refusal(.forbidden, refusal)
            closing.headers[.connection] = "close"
            throw closing
        }
        context.peer = identity
        Counter(label: "roomd_http_requests_total", dimensions: [("role", identity.role.rawValue)]).increment()
        return try await next(request, context)
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
