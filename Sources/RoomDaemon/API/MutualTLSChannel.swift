import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Hummingbird's TLS child channel, plus one thing it does not do: a
/// connection refused during the handshake (no client certificate, one from
/// a CA the room does not trust, an expired one) is logged and stored as an
/// `access.denied` event like every other refusal.
struct MutualTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let context: NIOSSLContext
    let events: EventRecorder

    init(_ base: Base, tlsConfiguration: TLSConfiguration, events: EventRecorder) throws {
        self.base = base
        self.context = try NIOSSLContext(configuration: tlsConfiguration)
        self.events = events
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(HandshakeRefusalLogger(events: events, logger: logger))
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

/// Sees TLS errors before the HTTP handlers do; reports handshake refusals.
final class HandshakeRefusalLogger: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    let events: EventRecorder
    let logger: Logger

    init(events: EventRecorder, logger: Logger) {
        self.events = events
        self.logger = logger
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
