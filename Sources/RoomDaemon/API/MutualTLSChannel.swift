import Hummingbird
import Identity
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Hummingbird's TLS child channel, plus two things it does not do: a
/// connection refused during the handshake (no client certificate, one from
/// a CA the room does not trust, an expired one) is logged and stored as an
/// `access.denied` event like every other refusal; and a certificate the room
/// revoked (or a station certificate it never enrolled, once the station has
/// enrolled ones) is cut off the moment the handshake completes, before any
/// request is read.
struct MutualTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let context: NIOSSLContext
    let events: EventRecorder
    let gate: CertificateGate

    init(_ base: Base, tlsConfiguration: TLSConfiguration, events: EventRecorder, gate: CertificateGate) throws {
        self.base = base
        self.context = try NIOSSLContext(configuration: tlsConfiguration)
        self.events = events
        self.gate = gate
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(HandshakeRefusalLogger(events: events, logger: logger, gate: gate))
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

    /// nil when the peer may proceed to HTTP. Unmappable certificates pass
    /// here: the access middleware refuses them with a precise HTTP answer.
    func refusal(for certificate: Certificate) -> StationCertificates.Refusal? {
        guard let fingerprint = try? certificate.sha256Fingerprint() else { return nil }
        let station = (try? mapper.identify(certificate).get())?.stationID
        return certificates.check(fingerprint: fingerprint, stationID: station)
    }
}

/// Sees TLS errors and the handshake's end before the HTTP handlers do;
/// reports handshake refusals and closes connections of revoked certificates.
final class HandshakeRefusalLogger: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    let events: EventRecorder
    let logger: Logger
    let gate: CertificateGate

    init(events: EventRecorder, logger: Logger, gate: CertificateGate) {
        self.events = events
        self.logger = logger
        self.gate = gate
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent,
           let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
           let peer = tls.peerCertificate, let der = try? peer.toDERBytes(),
           let certificate = try? Certificate(der: der), let refusal = gate.refusal(for: certificate) {
            let remote = context.remoteAddress?.ipAddress ?? "?"
            logger.warning("access denied at handshake", metadata: ["remote": .string(remote), "reason": .string(refusal.description)])
            let events = self.events
            let subject = certificate.subject
            Task { await events.record(kind: "access.denied", severity: "warning", subject: subject,
                                       detail: ["remote": remote, "reason": refusal.description, "code": refusal.code]) }
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            let remote = context.remoteAddress?.ipAddress ?? "?"
            let reason = "TLS handshake refused: \(error)"
            logger.warning("access denied", metadata: ["remote": .string(remote), "reason": .string(reason)])
            let events = self.events
            Task { await events.record(kind: "access.denied", severity: "warning", subject: "unidentified",
                                       detail: ["remote": remote, "reason": reason, "code": "tls-handshake-refused"]) }
        }
        context.fireErrorCaught(error)
    }
}
