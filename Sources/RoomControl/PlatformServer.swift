import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Identity
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Per request: Hummingbird's storage and the connection (for the room's certificate).
struct PlatformRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

extension PlatformRefusal: HTTPResponseError {
    var status: HTTPResponse.Status { .init(code: statusCode) }
    var headers: HTTPFields { [:] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        PlatformServer.json(body, status: statusCode)
    }
}

/// `roomctl platform serve`: the central platform's receiving side as roomd
/// sees it — the resumable HTTPS upload (docs/formats.md) and checkpoint
/// witnessing — over mutual TLS, accepting only certificates of the
/// configured room CA(s). Blocking disk work runs on its own thread pool.
struct PlatformServer {
    let store: PlatformReceiverStore
    let pool: NIOThreadPool
    let logger: Logger

    static func json(_ value: some Encodable, status: Int) -> Response {
        let bytes = (try? PlatformReceiverStore.json(value)) ?? Array("{}\n".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The room named by the peer certificate's `urn:roomd:room:<id>` SAN URI
    /// (the chain was verified against the room CA(s) in the handshake).
    static func room(_ context: PlatformRequestContext) async throws -> String {
        let peer: NIOSSLCertificate?
        do {
            peer = try await context.channel.nioSSL_peerCertificate().get()
        } catch {
            peer = nil
        }
        guard let peer, let certificate = try? Certificate(der: try peer.toDERBytes()) else {
            throw PlatformRefusal(status: 403, code: "no-certificate", english: "no client certificate", chinese: "未出示客户端证书。")
        }
        let prefix = "urn:roomd:room:"
        guard let uri = certificate.subjectAltNameURIs.first(where: { $0.hasPrefix(prefix) }), uri.count > prefix.count else {
            throw PlatformRefusal(status: 403, code: "not-a-room",
                                  english: "the certificate \(certificate.subject) names no room (SAN URI urn:roomd:room:<id>)",
                                  chinese: "该证书不是评标室证书。")
        }
        return String(uri.dropFirst(prefix.count))
    }

    func router(basePath: String) -> Router<PlatformRequestContext> {
        let router = Router(context: PlatformRequestContext.self)
        let group = router.group(RouterPath(basePath))
        let store = self.store, pool = self.pool, logger = self.logger

        group.post("packages/uploads") { request, context -> Response in
            let room = try await Self.room(context)
            let body = Array(buffer: try await request.body.collect(upTo: 64 << 10))
            guard let create = try? JSONDecoder().decode(HTTPSUploadProtocol.CreateRequest.self, from: Data(body)) else {
                throw PlatformRefusal(status: 400, code: "bad-request", english: #"body must be {"name", "size", "sha256", "part_size"}"#,
                                      chinese: "请求格式错误。")
            }
            let answer = try await Self.logged(store, pool, ["method": "POST", "op": "create", "room": room, "name": create.name]) {
                try store.create(room: room, request: create)
            }
            switch answer {
            case .created(let created):
                logger.info("upload created", metadata: ["room": .string(room), "name": .string(create.name),
                                                         "upload": .string(created.uploadID ?? "")])
                return Self.json(created, status: 201)
            case .alreadyComplete(let done):
                return Self.json(done, status: 200)
            }
        }

        group.get("packages/uploads/:id") { _, context -> Response in
            let room = try await Self.room(context)
            let id = try context.parameters.require("id")
            let status = try await pool.runIfActive { try store.status(room: room, id: id) }
            return Self.json(status, status: 200)
        }

        group.put("packages/uploads/:id/parts/:number") { request, context -> Response in
            let room = try await Self.room(context)
            let id = try context.parameters.require("id")
            let number = try context.parameters.require("number", as: Int.self)
            let fields = ["method": "PUT", "op": "part", "room": room, "upload": id, "part": String(number)]
            return try await Self.logged(store, pool, fields) {
                try await receivePart(request, room: room, id: id, number: number)
            } render: { part in
                Self.json(part, status: 200)
            }
        }

        group.post("packages/uploads/:id/complete") { _, context -> Response in
            let room = try await Self.room(context)
            let id = try context.parameters.require("id")
            let done = try await Self.logged(store, pool, ["method": "POST", "op": "complete", "room": room, "upload": id]) {
                try store.complete(room: room, id: id)
            }
            logger.notice("package received", metadata: ["room": .string(room), "location": .string(done.location),
                                                         "sha256": .string(done.sha256)])
            return Self.json(done, status: 200)
        }

        group.post("ledger/checkpoints") { request, context -> Response in
            let room = try await Self.room(context)
            let text = Array(buffer: try await request.body.collect(upTo: 64 << 10))
            let n = try await pool.runIfActive { try store.storeCheckpoint(room: room, text: text) }
            logger.info("checkpoint received", metadata: ["room": .string(room), "n": .string(String(n))])
            // Not a cosignature: the simulator holds no key. A receipt line naming what was kept.
            let answer = "\u{2014} roomctl-platform-simulator \(Data(Digest.sha256(text)).base64EncodedString())\n"
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        return router
    }

    /// Streams a part to disk (written on the thread pool), checking its
    /// length and `Content-Digest` on the way; a refused part leaves nothing.
    private func receivePart(_ request: Request, room: String, id: String, number: Int) async throws -> HTTPSUploadProtocol.Part {
        let store = self.store, pool = self.pool
        guard let field = request.headers[HTTPField.Name("Content-Digest")!] else {
            throw PlatformRefusal(status: 400, code: "digest-required", english: "a part needs Content-Digest: sha-256=:<base64>:",
                                  chinese: "缺少分片摘要。")
        }
        guard let declared = HTTPSUploadProtocol.sha256(fromContentDigest: field).map(HTTPSUploadProtocol.hex) else {
            throw PlatformRefusal(status: 400, code: "bad-digest", english: "Content-Digest has no sha-256 of 32 bytes", chinese: "分片摘要格式错误。")
        }
        let (path, length) = try await pool.runIfActive { try store.beginPart(room: room, id: id, number: number) }
        if let announced = request.headers[.contentLength].flatMap({ Int64($0) }), announced != length {
            throw PlatformRefusal(status: 422, code: "size-mismatch",
                                  english: "part \(number) must be \(length) bytes; Content-Length says \(announced)", chinese: "分片大小不符。")
        }
        let incoming = try await pool.runIfActive { try IncomingPart(path: path) }
        var kept = false
        do {
            var pending: [UInt8] = []
            pending.reserveCapacity(1 << 20)
            var received: Int64 = 0
            for try await buffer in request.body {
                received += Int64(buffer.readableBytes)
                guard received <= length else {
                    throw PlatformRefusal(status: 422, code: "size-mismatch",
                                          english: "part \(number) must be \(length) bytes; more arrived", chinese: "分片大小不符。")
                }
                pending.append(contentsOf: buffer.readableBytesView)
                if pending.count >= 1 << 20 {
                    let block = pending
                    pending.removeAll(keepingCapacity: true)
                    try await pool.runIfActive { try incoming.write(block) }
                }
            }
            let block = pending, total = received
            let sha = try await pool.runIfActive { () throws -> String in
                try incoming.write(block)
                return incoming.finish()
            }
            guard received == length else {
                await Self.remove(path, pool)
                kept = true
                throw PlatformRefusal(status: 422, code: "size-mismatch",
                                      english: "part \(number) must be \(length) bytes; \(received) arrived", chinese: "分片大小不符（传输不完整）。")
            }
            guard sha == declared else {
                await Self.remove(path, pool)
                kept = true
                throw PlatformRefusal(status: 422, code: "digest-mismatch",
                                      english: "part \(number) has SHA-256 \(sha); Content-Digest says \(declared)", chinese: "分片摘要不符。")
            }
            kept = true
            return try await pool.runIfActive {
                do {
                    return try store.commitPart(room: room, id: id, number: number, incoming: path, size: total, sha256: sha)
                } catch {
                    unlink(path)
                    throw error
                }
            }
        } catch {
            if !kept { try? await pool.runIfActive { incoming.abandon() } }
            throw error
        }
    }

    private static func remove(_ path: String, _ pool: NIOThreadPool) async {
        try? await pool.runIfActive { _ = unlink(path) }
    }

    /// Runs `work` (on the thread pool unless it is async) and logs the outcome to requests.log.
    static func logged<T: Sendable>(_ store: PlatformReceiverStore, _ pool: NIOThreadPool, _ fields: [String: String],
                                    _ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            let value = try await pool.runIfActive(work)
            try? await pool.runIfActive { store.log(fields.merging(["status": "ok"]) { $1 }) }
            return value
        } catch {
            let refusal = error as? PlatformRefusal
            try? await pool.runIfActive {
                store.log(fields.merging(["status": refusal.map { String($0.statusCode) } ?? "error", "code": refusal?.code ?? "\(error)"]) { $1 })
            }
            throw error
        }
    }

    static func logged<T: Sendable>(_ store: PlatformReceiverStore, _ pool: NIOThreadPool, _ fields: [String: String],
                                    _ work: () async throws -> T, render: (T) -> Response) async throws -> Response {
        do {
            let value = try await work()
            try? await pool.runIfActive { store.log(fields.merging(["status": "ok"]) { $1 }) }
            return render(value)
        } catch {
            let refusal = error as? PlatformRefusal
            try? await pool.runIfActive {
                store.log(fields.merging(["status": refusal.map { String($0.statusCode) } ?? "error", "code": refusal?.code ?? "\(error)"]) { $1 })
            }
            throw error
        }
    }

    /// Serves until SIGTERM/SIGINT. `ready` is called with the bound address.
    func run(host: String, port: Int, basePath: String, certificate: String, key: String, roomCAs: [String],
             ready: @escaping @Sendable (String) -> Void) async throws {
        var anchors: [NIOSSLCertificate] = []
        for file in roomCAs { anchors += try NIOSSLCertificate.fromPEMFile(file) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        // Server side: demand a client certificate and verify its chain against the room CA(s).
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(anchors)
        tls.minimumTLSVersion = .tlsv12
        let app = Application(
            router: router(basePath: basePath),
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(host, port: port), serverName: "roomctl-platform"),
            onServerRunning: { channel in ready(channel.localAddress.map { "\($0)" } ?? "\(host):\(port)") },
            logger: logger)
        try await app.runService()
    }
}
