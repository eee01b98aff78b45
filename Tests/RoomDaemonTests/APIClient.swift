import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// An HTTPS client with one of a demo room's client certificates, for tests
/// that send many requests (curl would start a process for each).
final class APIClient: Sendable {
    let http: HTTPClient
    let base: String

    init(pki: String, port: Int, as client: String, host: String = "127.0.0.1") throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki + "/room-ca.crt"))
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki + "/clients/\(client).crt").map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki + "/clients/\(client).key", format: .pem))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        base = "https://\(host):\(port)"
    }

    convenience init(_ room: DemoRoom, as client: String) throws {
        try self.init(pki: room.pki, port: room.port, as: client)
    }

    struct Answer: Sendable {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    func send(_ method: HTTPMethod = .GET, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json") async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), body: Array(buffer: collected))
    }

    func shutdown() async { try? await http.shutdown() }
}
