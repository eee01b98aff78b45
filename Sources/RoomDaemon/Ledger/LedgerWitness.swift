import Archive
import AsyncHTTPClient
import Canonical
import Foundation
import Identity
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import RoomConfig
import ServiceLifecycle
import Store

/// Gets every checkpoint witnessed by others: an RFC 3161 timestamp from the
/// configured TSA, and delivery to the central platform, which keeps the
/// checkpoints it receives (and may answer with its cosignature). Both are
/// retried until they succeed; nothing is skipped, oldest first. A room that
/// could rewrite its ledger would have to fork from checkpoints others hold.
final class LedgerWitness: Sendable {
    struct TSA: Sendable {
        let url: String
        let anchors: [Certificate]
        let client: HTTPClient
    }

    struct Platform: Sendable {
        let endpoint: String
        let client: HTTPClient
    }

    let ledger: RoomLedger
    let tsa: TSA?
    let platform: Platform?
    let logger: Logger

    init(config: RoomConfiguration, ledger: RoomLedger, logger: Logger) throws {
        self.ledger = ledger
        self.logger = logger
        if let url = config.ledger.tsaURL, let certificates = config.ledger.tsaCertificates {
            let anchors = try Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: certificates))))
            var tsaConfig = HTTPClient.Configuration()
            tsaConfig.timeout = .init(connect: .seconds(3), read: .seconds(30))
            tsa = TSA(url: url, anchors: anchors, client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: tsaConfig))
        } else {
            tsa = nil
        }
        if let platformConfig = config.platform {
            // The room presents its own certificate; the platform's is checked
            // against platform.ca_certificate (or the system's roots).
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(config.tls.certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: config.tls.key, format: .pem))
            if let ca = platformConfig.caCertificate { tls.trustRoots = .file(ca) }
            tls.minimumTLSVersion = .tlsv12
            var clientConfig = HTTPClient.Configuration(tlsConfiguration: tls)
            clientConfig.timeout = .init(connect: .seconds(3), read: .seconds(30))
            let base = platformConfig.endpoint.hasSuffix("/") ? String(platformConfig.endpoint.dropLast()) : platformConfig.endpoint
            platform = Platform(endpoint: base + "/ledger/checkpoints",
                                client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig))
        } else {
            platform = nil
        }
    }

    var isEnabled: Bool { tsa != nil || platform != nil }

    /// One pass: timestamps, then deliveries. Returns false when something
    /// failed and should be retried later.
    func work() async -> Bool {
        var ok = true
        if let tsa { ok = await timestampPending(tsa) && ok }
        if let platform { ok = await deliverPending(platform) && ok }
        return ok
    }

    /// An RFC 3161 TimeStampResp (DER, checked) for `data` from the configured
    /// TSA — a sealed package's signature file. Nil when no TSA is configured.
    func timestampResponse(for data: [UInt8]) async throws -> [UInt8]? {
        guard let tsa else { return nil }
        let query = try TimestampQuery(for: data)
        var request = HTTPClientRequest(url: tsa.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/timestamp-query")
        request.body = .bytes(ByteBuffer(bytes: query.der))
        let response = try await tsa.client.execute(request, timeout: .seconds(30))
        let body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok else { throw WitnessFailure(description: "TSA \(tsa.url) answered HTTP \(response.status.code)") }
        _ = try TimestampToken(response: body, answering: query, trusting: tsa.anchors)
        return body
    }

    private func timestampPending(_ tsa: TSA) async -> Bool {
        do {
            for stored in try await runBlocking({ try self.ledger.ledger.checkpointsWithoutTimestamp() }) {
                let query = try TimestampQuery(for: Array(stored.checkpoint.text.utf8))
                var request = HTTPClientRequest(url: tsa.url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/timestamp-query")
                request.body = .bytes(ByteBuffer(bytes: query.der))
                let response = try await tsa.client.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else {
                    throw WitnessFailure(description: "TSA \(tsa.url) answered HTTP \(response.status.code)")
                }
                let token = try TimestampToken(response: Array(buffer: body), answering: query, trusting: tsa.anchors)
                let record = CheckpointTimestamp(checkpointID: stored.id, token: token.der, time: token.time, tsa: tsa.url)
                try await runBlocking { try self.ledger.ledger.storeTimestamp(record, receivedNs: self.ledger.clock.now().nanoseconds) }
                logger.info("ledger checkpoint timestamped", metadata: [
                    "size": .string(String(stored.checkpoint.size)), "tsa": .string(tsa.url),
                    "time": .string(Text.iso8601(nanoseconds: Int64(token.time.timeIntervalSince1970) * 1_000_000_000)),
                ])
            }
            return true
        } catch {
            logger.warning("checkpoint timestamp not obtained; will retry / 检查点时间戳获取失败，稍后重试",
                           metadata: ["tsa": .string(tsa.url), "error": .string("\(error)")])
            return false
        }
    }

    private func deliverPending(_ platform: Platform) async -> Bool {
        do {
            for stored in try await runBlocking({ try self.ledger.ledger.checkpointsNotDelivered(to: platform.endpoint) }) {
                var request = HTTPClientRequest(url: platform.endpoint)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
                request.body = .bytes(ByteBuffer(string: stored.checkpoint.text))
                let response = try await platform.client.execute(request, timeout: .seconds(30))
                let body = String(buffer: try await response.body.collect(upTo: 64 * 1024))
                guard (200..<300).contains(Int(response.status.code)) else {
                    throw WitnessFailure(description: "platform \(platform.endpoint) answered HTTP \(response.status.code): \(body.prefix(200))")
                }
                try await runBlocking {
                    try self.ledger.ledger.recordDelivery(checkpointID: stored.id, endpoint: platform.endpoint,
                                                          status: Int(response.status.code), response: body,
                                                          deliveredNs: self.ledger.clock.now().nanoseconds)
                }
                logger.info("ledger checkpoint delivered to the platform", metadata: [
                    "size": .string(String(stored.checkpoint.size)), "endpoint": .string(platform.endpoint),
                ])
            }
            return true
        } catch {
            logger.warning("checkpoint not delivered to the platform; will retry / 检查点未能送达平台，稍后重试",
                           metadata: ["endpoint": .string(platform.endpoint), "error": .string("\(error)")])
            return false
        }
    }

    func shutdown() async {
        try? await tsa?.client.shutdown()
        try? await platform?.client.shutdown()
    }
}

struct WitnessFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs ``LedgerWitness`` every few seconds, backing off to five minutes
/// while the TSA or the platform cannot be reached.
struct LedgerWitnessService: Service {
    let witness: LedgerWitness
    static let interval: Duration = .seconds(5)
    static let longestBackoff: Duration = .seconds(300)

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var wait = Self.interval
                while true {
                    wait = await witness.work() ? Self.interval : min(wait * 2, Self.longestBackoff)
                    try await witness.ledger.clock.sleep(for: wait)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: the daemon makes one last pass after its final checkpoint.
        }
    }
}
