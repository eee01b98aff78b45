import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The platform's side of roomd's HTTPS API: mutual TLS with the platform's
/// client certificate (role `urn:roomd:role:platform`), roomd's certificate
/// checked against the room CA.
struct PlatformRoomOptions: ParsableArguments {
    @Option(help: "roomd's HTTPS API, e.g. https://127.0.0.1:8443.")
    var room: String

    @Option(help: "The platform's client certificate (PEM), e.g. PKI/clients/platform.crt.")
    var cert: String

    @Option(help: "Its private key (PEM).")
    var key: String

    @Option(help: "The room CA that issued roomd's server certificate (PEM).")
    var ca: String
}

final class PlatformRoomClient: Sendable {
    let base: String
    let client: HTTPClient

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// Trying again may help (network, 5xx).
        var retryable: Bool
        var status: Int?
    }

    init(_ options: PlatformRoomOptions) throws {
        var base = options.room
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(options.cert).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: options.key, format: .pem))
        tls.trustRoots = .file(options.ca)
        tls.minimumTLSVersion = .tlsv12
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async { try? await client.shutdown() }

    /// A short exchange: (status, body). Network failures become a retryable ``Failure``.
    func exchange(_ method: HTTPMethod, _ path: String, json: [UInt8]? = nil) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 16 << 20)))
        } catch {
            throw Failure(description: "\(method) \(base)\(path) failed: \(error)", retryable: true, status: nil)
        }
    }

    /// The refusal roomd (or the simulator) explained, as one line.
    static func explain(_ status: Int, _ body: [UInt8]) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            let code = object["error"] as? String ?? object["code"] as? String ?? "?"
            let detail = object["detail"] as? String ?? object["english"] as? String ?? ""
            let chinese = object["message"] as? String ?? object["chinese"] as? String ?? ""
            return "HTTP \(status) \(code): \(detail) \(chinese)".trimmingCharacters(in: .whitespaces)
        }
        return "HTTP \(status): \(String(decoding: body.prefix(300), as: UTF8.self))"
    }
}
