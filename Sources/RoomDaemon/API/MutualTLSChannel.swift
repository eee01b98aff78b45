import Canonical
import Foundation
import Hummingbird
import Identity
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Store

/// Hummingbird's TLS child channel, plus two things it does not do: a
/// connection refused during the handshake (no client certificate, one from
/// a CA the room does not trust, an expired one) is logged and stored as an
/// `access.denied` event like every other refusal; and a certificate the room
/// revoked (or a station certificate it never enrolled, once the station has
/// enrolled ones) is cut off the moment the handshake completes, before any
/// request is read.
struct MutualTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    struct Refused: Error {}

    let base: Base
    let context: NIOSSLContext
    let refusals: EventAggregator
    let gate: CertificateGate
    let limiter: ConnectionLimiter

    init(_ base: Base, tlsConfiguration: TLSConfiguration, refusals: EventAggregator, gate: CertificateGate,
         limiter: ConnectionLimiter) throws {
        self.base = base
        self.context = try NIOSSLContext(configuration: tlsConfiguration)
        self.refusals = refusals
        self.gate = gate
        self.limiter = limiter
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let remote = channel.remoteAddress?.ipAddress ?? "?"
        if let refused = limiter.admit(remote, channel: channel) {
            refusals.report(kind: "access.denied", severity: "warning", subject: remote, code: refused.rawValue,
                            detail: ["remote": remote, "reason": "connection refused: \(limiter.limits.maxConnections) in all or \(limiter.limits.maxConnectionsPerAddress) from one address are open"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        let limiter = self.limiter
        channel.closeFuture.whenComplete { _ in limiter.release(remote, channel: channel) }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(HandshakeGuard(refusals: refusals, logger: logger, gate: gate, limiter: limiter))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension MutualTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

/// Role mapping plus enrollment state: what the handshake gate needs.
struct CertificateGate: Sendable {
    let mapper: RoleMapper
    let certificates: StationCertificates
    /// What "now" is for a certificate's validity dates.
    let clock: any RoomClock

    /// nil when the peer may proceed to HTTP. Unmappable certificates pass
    /// here: the access middleware refuses them with a precise HTTP answer.
    /// Validity is checked here too: a resumed TLS session skips the chain
    /// verification its first handshake had, so a certificate that expired
    /// since would otherwise keep working.
    func refusal(for certificate: Certificate) -> StationCertificates.Refusal? {
        let now = clock.now().date
        guard let fingerprint = try? certificate.sha256Fingerprint() else { return nil }
        if certificate.notAfter < now { return .expired(fingerprint: fingerprint, notAfter: certificate.notAfter) }
        if certificate.notBefore > now { return .notYetValid(fingerprint: fingerprint, notBefore: certificate.notBefore) }
        let station = (try? mapper.identify(certificate).get())?.stationID
        return certificates.check(fingerprint: fingerprint, stationID: station)
    }
}
