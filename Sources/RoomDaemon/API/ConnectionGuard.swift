import CProcess
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Identity
import Logging
import NIOCore
import NIOHTTPTypes
import NIOSSL
import NIOTLS
import RoomConfig
import Synchronization
import Store

/// How many connections the HTTPS API holds, in all and per peer address.
/// Over the per-address cap a new connection is closed the moment it is
/// accepted, before any TLS state exists. At the total cap, the oldest
/// connection still in its TLS handshake makes room for the new one (a
/// client that completed a handshake is never pushed out; one that never
/// speaks TLS is the first to go); only when every connection is past its
/// handshake is the newcomer refused. So connections alone can neither run
/// roomd out of descriptors (segment files, the database and the admin socket
/// need them) nor, spread over many addresses, lock clients out.
final class ConnectionLimiter: Sendable {
    enum Refusal: String {
        case total = "connection-limit"
        case perAddress = "connection-limit-per-address"
    }

    private struct State {
        var total = 0
        var peak = 0
        var evicted = 0
        /// The most open since memory was last handed back.
        var sinceTrim = 0
        var perAddress: [String: Int] = [:]
        /// Connections not past their TLS handshake, oldest first.
        var handshaking: [(id: ObjectIdentifier, channel: any Channel)] = []
    }

    let limits: RoomConfiguration.ConnectionLimits
    private let state = Mutex(State())

    init(limits: RoomConfiguration.ConnectionLimits) {
        self.limits = limits
    }

    /// nil when `channel` may proceed (release it once closed); a refused one is not counted.
    func admit(_ address: String, channel: any Channel) -> Refusal? {
        let (refusal, evict): (Refusal?, (any Channel)?) = state.withLock { state in
            if state.perAddress[address, default: 0] >= limits.maxConnectionsPerAddress { return (.perAddress, nil) }
            var evict: (any Channel)?
            if state.total >= limits.maxConnections {
                guard !state.handshaking.isEmpty else { return (.total, nil) }
                evict = state.handshaking.removeFirst().channel
                state.evicted += 1
            }
            state.total += 1
            state.peak = max(state.peak, state.total)
            state.sinceTrim = max(state.sinceTrim, state.total)
            state.perAddress[address, default: 0] += 1
            state.handshaking.append((ObjectIdentifier(channel as AnyObject), channel))
            return (nil, evict)
        }
        evict?.close(promise: nil)
        return refusal
    }

    /// The connection finished its TLS handshake: it is a client now, not a candidate for eviction.
    func established(_ channel: any Channel) {
        let id = ObjectIdentifier(channel as AnyObject)
        state.withLock { $0.handshaking.removeAll { $0.id == id } }
    }

    func release(_ address: String, channel: any Channel) {
        let id = ObjectIdentifier(channel as AnyObject)
        let burstOver = state.withLock { state -> Bool in
            state.total -= 1
            let left = state.perAddress[address, default: 1] - 1
            state.perAddress[address] = left > 0 ? left : nil
            state.handshaking.removeAll { $0.id == id }
            // A burst of connections is over (a flood released, or timed out):
            // hand the memory malloc kept for them back to the kernel, or it
            // stays with roomd (measured: 30 MB after 20,000 connections).
            guard state.sinceTrim >= Self.burst, state.total <= Self.burst / 8 else { return false }
            state.sinceTrim = state.total
            return true
        }
        if burstOver { _ = roomd_malloc_trim() }
    }

    /// Connections open at once that count as a burst worth trimming memory after.
    static let burst = 64

    var counts: (open: Int, peak: Int, evicted: Int) { state.withLock { ($0.total, $0.peak, $0.evicted) } }
}

/// Why a TLS handshake failed, told apart as far as the failure shows: from
/// the certificate the client presented (BoringSSL keeps it even when it
/// refuses it), else from BoringSSL's error.
enum HandshakeFailure: String {
    case certificateExpired = "tls-certificate-expired"
    case certificateNotYetValid = "tls-certificate-not-yet-valid"
    case certificateUntrusted = "tls-certificate-untrusted"
    case noCertificate = "tls-no-certificate"
    case notTLS = "tls-not-tls"
    case abandoned = "tls-handshake-abandoned"
    case other = "tls-handshake-failed"

    static func classify(_ error: any Error, peer: Certificate?, now: Date) -> HandshakeFailure {
        if let peer {
            if peer.notAfter < now { return .certificateExpired }
            if peer.notBefore > now { return .certificateNotYetValid }
            return .certificateUntrusted
        }
        let text = "\(error)"
        if text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || text.contains("CERTIFICATE_REQUIRED") { return .noCertificate }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("UNKNOWN_PROTOCOL")
            || text.contains("RECORD_TOO_LARGE") { return .notTLS }
        if text.contains("EOF during handshake") || text.contains("uncleanShutdown") { return .abandoned }
        return .other
    }

    var english: String {
        switch self {
        case .certificateExpired: "the client certificate has expired"
        case .certificateNotYetValid: "the client certificate is not valid yet"
        case .certificateUntrusted: "the client certificate is not issued by a CA the room trusts (or its chain is invalid)"
        case .noCertificate: "no client certificate was presented"
        case .notTLS: "the client did not speak TLS"
        case .abandoned: "the client closed the connection during the handshake"
        case .other: "the TLS handshake failed"
        }
    }
}

/// After the TLS handler: the handshake deadline, the gate on the
/// certificate once the handshake completes (revoked, not enrolled, expired —
/// checked on every handshake, resumed TLS 1.3 sessions included, since a
/// resumed session's certificate is not verified again), and refused
/// handshakes reported — aggregated, never one event each.
final class HandshakeGuard: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    let refusals: EventAggregator
    let logger: Logger
    let gate: CertificateGate
    let limiter: ConnectionLimiter
    let deadline: TimeAmount
    private let completed = Mutex(false)

    init(refusals: EventAggregator, logger: Logger, gate: CertificateGate, limiter: ConnectionLimiter) {
        self.refusals = refusals
        self.logger = logger
        self.gate = gate
        self.limiter = limiter
        deadline = .seconds(Int64(limiter.limits.handshakeSeconds))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let remote = context.remoteAddress?.ipAddress ?? "?"
        context.eventLoop.scheduleTask(in: deadline) { [self] in
            guard !completed.withLock({ $0 }), channel.isActive else { return }
            refusals.report(kind: "access.denied", severity: "warning", subject: remote, code: "tls-handshake-timeout",
                            detail: ["remote": remote, "reason": "no TLS handshake within \(deadline.nanoseconds / 1_000_000_000) s"])
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            completed.withLock { $0 = true }
            limiter.established(context.channel)
            if let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
               let peer = tls.peerCertificate, let der = try? peer.toDERBytes(),
               let certificate = try? Certificate(der: der), let refusal = gate.refusal(for: certificate) {
                let remote = context.remoteAddress?.ipAddress ?? "?"
                logger.warning("access denied at handshake", metadata: ["remote": .string(remote), "reason": .string(refusal.description)])
                refusals.report(kind: "access.denied", severity: "warning", subject: remote, code: refusal.code,
                                detail: ["remote": remote, "reason": refusal.description, "certificate": certificate.subject])
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            let remote = context.remoteAddress?.ipAddress ?? "?"
            let peer = (try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self))?.peerCertificate
                .flatMap { try? $0.toDERBytes() }.flatMap { try? Certificate(der: $0) }
            let failure = HandshakeFailure.classify(error, peer: peer, now: gate.clock.now().date)
            logger.debug("TLS handshake refused", metadata: ["remote": .string(remote), "reason": .string(failure.rawValue)])
            var detail = ["remote": remote, "reason": failure.english]
            if let peer { detail["certificate"] = peer.subject }
            refusals.report(kind: "access.denied", severity: "warning", subject: remote, code: failure.rawValue, detail: detail)
        }
        context.fireErrorCaught(error)
    }
}

/// After the HTTP codec: the first request's head must arrive within the
/// header deadline of the handshake (slow-header clients), every body within
/// the body deadline of its head (slow-body clients), and a kept-alive
/// connection's next head within the idle time of the previous response's end.
/// Long responses are never cut: no deadline runs while roomd writes.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let refusals: EventAggregator
    let header: TimeAmount
    let body: TimeAmount
    let idle: TimeAmount
    private var timer: Scheduled<Void>?
    private var generation = 0

    init(refusals: EventAggregator, limits: RoomConfiguration.ConnectionLimits) {
        self.refusals = refusals
        header = .seconds(Int64(limits.headerSeconds))
        body = .seconds(Int64(limits.bodySeconds))
        idle = .seconds(Int64(limits.idleSeconds))
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount, code: String, what: String) {
        timer?.cancel()
        generation += 1
        let expected = generation
        let channel = context.channel
        let remote = context.remoteAddress?.ipAddress ?? "?"
        let refusals = self.refusals
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: after) {
            guard loopBound.value.generation == expected, channel.isActive else { return }
            refusals.report(kind: "access.denied", severity: "warning", subject: remote, code: code,
                            detail: ["remote": remote, "reason": "\(what) within \(after.nanoseconds / 1_000_000_000) s"])
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        generation += 1
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            arm(context, header, code: "header-timeout", what: "no complete request head")
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, body, code: "body-timeout", what: "request body not complete")
        case .end: disarm()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // Keep-alive: the next request's head within the idle time.
            arm(context, idle, code: "idle-timeout", what: "no next request")
        }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }
    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }
}
