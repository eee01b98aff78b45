import AsyncHTTPClient
import Foundation
import Identity
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Delivers a sealed package to the central platform with the resumable HTTPS
/// upload (docs/formats.md, "Resumable HTTPS upload"): mutual TLS with the
/// room's certificate, the package cut into parts of `state.partSize`, each
/// sent with its `Content-Digest` and confirmed by the receiver, the whole
/// checked against its SHA-256 on completion.
///
/// Resuming: when `state` names an upload, the receiver is asked what it holds
/// and only the parts it lacks (or holds with another SHA-256) are sent; an
/// upload the receiver no longer knows (404) starts over.
public final class HTTPSUploader: PackageUploader {
    /// `https://platform.example/roomd/v1`, without a trailing slash.
    public let endpoint: String
    private let client: HTTPClient
    private let pace: (@Sendable (Int) async -> Void)?
    private let chunkSize: Int
    private let requestTimeout: TimeAmount
    private let logger: Logger

    /// - Parameters:
    ///   - endpoint: the platform's base URL (`platform.endpoint`), e.g. `https://platform.example/roomd/v1`.
    ///   - certificate: PEM file of the room's certificate (chain), presented as the TLS client certificate.
    ///   - key: PEM file of its private key.
    ///   - trustRoots: PEM file of the CA(s) the platform's certificate must chain to; nil: the system's roots.
    ///   - alsoSystemRoots: with `trustRoots`, trust the system's roots as well.
    ///   - pace: called with each chunk's byte count before the chunk is sent (a bandwidth limiter waits there).
    ///   - chunkSize: bytes handed to the connection (and to `pace`) at a time.
    ///   - requestTimeout: the longest one request (one part) may take.
    public init(endpoint: String, certificate: String, key: String, trustRoots: String?, alsoSystemRoots: Bool = false,
                pace: (@Sendable (Int) async -> Void)? = nil, chunkSize: Int = 64 << 10,
                requestTimeout: Duration = .seconds(300), logger: Logger = Logger(label: "roomd.delivery.https")) throws {
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        guard base.lowercased().hasPrefix("https://") else {
            throw HTTPSUploadError(kind: .configuration, description: "the platform endpoint \(endpoint) is not an https:// URL")
        }
        self.endpoint = base
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            if let trustRoots {
                if alsoSystemRoots {
                    tls.trustRoots = .default
                    tls.additionalTrustRoots = [.file(trustRoots)]
                } else {
                    tls.trustRoots = .file(trustRoots)
                }
            }
        } catch {
            throw HTTPSUploadError(kind: .configuration,
                                   description: "the room's TLS certificate \(certificate) / key \(key) is unusable: \(error)")
        }
        tls.minimumTLSVersion = .tlsv12
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.pace = pace
        self.chunkSize = max(1024, chunkSize)
        let (seconds, attoseconds) = requestTimeout.components
        self.requestTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        self.logger = logger
    }

    /// Closes the connections. Call once no upload is running.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func upload(name: String, source: UploadSource, state initial: UploadState,
                       persist: @escaping @Sendable (UploadState) async throws -> Void,
                       progress: @escaping @Sendable (_ confirmed: Int64, _ total: Int64) -> Void) async throws -> UploadReceipt {
        var state = initial
        guard state.partSize >= HTTPSUploadProtocol.minimumPartSize, state.partSize <= HTTPSUploadProtocol.maximumPartSize else {
            throw HTTPSUploadError(kind: .configuration, description: """
                part size \(state.partSize) is outside \(HTTPSUploadProtocol.minimumPartSize)…\(HTTPSUploadProtocol.maximumPartSize) bytes
                """)
        }
        let expected = source.sha256.lowercased()

        // 1. Where does the receiver stand?
        var held: [Int: HTTPSUploadProtocol.Part] = [:]
        if let id = state.uploadID {
            switch try await status(id) {
            case .some(let status) where status.name == name && status.sha256 == expected && status.size == source.size
                && status.partSize == state.partSize && !status.complete:
                for part in status.parts { held[part.number] = part }
            default:
                // Unknown (404), already complete or not this package: ask afresh
                // (a complete one is answered 200 by create).
                logger.info("resuming: the receiver no longer holds the upload; starting it again",
                            metadata: ["upload": .string(id), "name": .string(name)])
                state = UploadState(partSize: state.partSize)
            }
        }
        if state.uploadID == nil {
            let answer = try await create(.init(name: name, size: source.size, sha256: expected, partSize: state.partSize))
            if answer.complete == true {
                state.completed = true
                try await persist(state)
                progress(source.size, source.size)
                return UploadReceipt(location: answer.location ?? "", targetReference: expected)
            }
            guard let id = answer.uploadID else {
                throw HTTPSUploadError(kind: .protocolViolation, description: "the receiver created an upload without an upload_id")
            }
            if let size = answer.partSize, size != state.partSize {
                guard size >= HTTPSUploadProtocol.minimumPartSize, size <= HTTPSUploadProtocol.maximumPartSize else {
                    throw HTTPSUploadError(kind: .protocolViolation, description: "the receiver chose part size \(size)")
                }
                state.partSize = size
            }
            state.uploadID = id
            state.parts = []
            state.completed = false
            for part in answer.parts ?? [] { held[part.number] = part }
            try await persist(state)
        }
        guard let id = state.uploadID else { preconditionFailure("an upload id was set above") }

        // 2. Reconcile: a part counts only if the receiver holds it with the
        // SHA-256 the room has for it (recorded, or computed now).
        let count = HTTPSUploadProtocol.partCount(size: source.size, partSize: state.partSize)
        let recorded = Dictionary(state.parts.map { ($0.number, $0) }, uniquingKeysWith: { _, last in last })
        var confirmed: [UploadState.Part] = []
        for number in 1...count {
            guard let theirs = held[number] else { continue }
            let length = HTTPSUploadProtocol.partLength(number: number, size: source.size, partSize: state.partSize)
            guard theirs.size == length else { continue }
            if let ours = recorded[number], ours.size == length, ours.sha256 == theirs.sha256 {
                confirmed.append(ours)
            } else {
                let bytes = try await readPart(number, of: source, partSize: state.partSize)
                if Digest.sha256Hex(bytes) == theirs.sha256 {
                    confirmed.append(.init(number: number, size: length, sha256: theirs.sha256))
                }
            }
        }
        if confirmed != state.parts {
            state.parts = confirmed
            try await persist(state)
        }
        progress(state.bytesConfirmed, source.size)

        // 3. Send what is missing, in order.
        let have = Set(state.parts.map(\.number))
        for number in 1...count where !have.contains(number) {
            let part = try await sendPart(number, uploadID: id, source: source, partSize: state.partSize, state: &state, persist: persist)
            state.parts.append(part)
            state.parts.sort { $0.number < $1.number }
            try await persist(state)
            progress(state.bytesConfirmed, source.size)
        }

        // 4. Complete.
        do {
            let done = try await complete(id)
            guard done.sha256.lowercased() == expected else {
                throw HTTPSUploadError(kind: .protocolViolation,
                                       description: "the receiver completed the upload with SHA-256 \(done.sha256), not \(expected)")
            }
            state.completed = true
            try await persist(state)
            progress(source.size, source.size)
            return UploadReceipt(location: done.location, targetReference: done.sha256)
        } catch let error as HTTPSUploadError where error.code == "sha256-mismatch" || error.status == 404 {
            // The receiver discarded the upload (or never had it): start over next time.
            try await persist(UploadState(partSize: state.partSize))
            throw error
        }
    }

    // MARK: - One part

    private func readPart(_ number: Int, of source: UploadSource, partSize: Int64) async throws -> [UInt8] {
        let offset = Int64(number - 1) * partSize
        let length = HTTPSUploadProtocol.partLength(number: number, size: source.size, partSize: partSize)
        let bytes = try await source.read(offset, Int(length))
        guard bytes.count == Int(length) else {
            throw HTTPSUploadError(kind: .source, description: "the package gave \(bytes.count) bytes at \(offset), not \(length)")
        }
        return bytes
    }

    /// Sends part `number`; a size or digest refusal (the bytes changed on the
    /// way) is answered by reading and sending the part once more.
    private func sendPart(_ number: Int, uploadID: String, source: UploadSource, partSize: Int64, state: inout UploadState,
                          persist: @escaping @Sendable (UploadState) async throws -> Void) async throws -> UploadState.Part {
        var attempt = 0
        while true {
            attempt += 1
            let bytes = try await readPart(number, of: source, partSize: partSize)
            let digest = Digest.sha256(bytes)
            let hexDigest = HTTPSUploadProtocol.hex(digest)
            do {
                let answer = try await put(uploadID: uploadID, number: number, bytes: bytes, digest: digest)
                guard answer.number == number, answer.size == Int64(bytes.count), answer.sha256.lowercased() == hexDigest else {
                    throw HTTPSUploadError(kind: .protocolViolation, description: """
                        the receiver confirmed part \(answer.number) (\(answer.size) bytes, \(answer.sha256)) \
                        for part \(number) (\(bytes.count) bytes, \(hexDigest))
                        """)
                }
                return .init(number: number, size: Int64(bytes.count), sha256: hexDigest)
            } catch let error as HTTPSUploadError where error.status == 422 && attempt == 1
                        && (error.code == "digest-mismatch" || error.code == "size-mismatch") {
                logger.warning("the receiver refused a part's bytes; sending it again", metadata: [
                    "upload": .string(uploadID), "part": .string(String(number)), "error": .string(error.description),
                ])
            } catch let error as HTTPSUploadError where error.status == 404 {
                try await persist(UploadState(partSize: state.partSize))
                throw error
            }
        }
    }

    // MARK: - Requests

    private func url(_ path: String) -> String { endpoint + path }

    private func status(_ id: String) async throws -> HTTPSUploadProtocol.Status? {
        let (status, body) = try await exchange(.GET, "/packages/uploads/\(escaped(id))")
        if status == 404 { return nil }
        try check(status, body, "GET upload \(id)")
        return try decode(HTTPSUploadProtocol.Status.self, body)
    }

    private func create(_ request: HTTPSUploadProtocol.CreateRequest) async throws -> HTTPSUploadProtocol.CreateAnswer {
        let (status, body) = try await exchange(.POST, "/packages/uploads", json: try JSONEncoder().encode(request))
        try check(status, body, "create upload of \(request.name)")
        return try decode(HTTPSUploadProtocol.CreateAnswer.self, body)
    }

    private func complete(_ id: String) async throws -> HTTPSUploadProtocol.Completed {
        let (status, body) = try await exchange(.POST, "/packages/uploads/\(escaped(id))/complete", json: Data("{}".utf8))
        try check(status, body, "complete upload \(id)")
        return try decode(HTTPSUploadProtocol.Completed.self, body)
    }

    private func put(uploadID: String, number: Int, bytes: [UInt8], digest: [UInt8]) async throws -> HTTPSUploadProtocol.Part {
        var request = HTTPClientRequest(url: url("/packages/uploads/\(escaped(uploadID))/parts/\(number)"))
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "Content-Digest", value: HTTPSUploadProtocol.contentDigest(sha256: digest))
        request.body = .stream(PacedChunks(bytes: bytes, chunkSize: chunkSize, pace: pace), length: .known(Int64(bytes.count)))
        let (status, body) = try await execute(request, what: "PUT part \(number)")
        try check(status, body, "PUT part \(number) of upload \(uploadID)")
        return try decode(HTTPSUploadProtocol.Part.self, body)
    }

    private func exchange(_ method: HTTPMethod, _ path: String, json: Data? = nil) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        return try await execute(request, what: "\(method) \(path)")
    }

    private func execute(_ request: HTTPClientRequest, what: String) async throws -> (Int, [UInt8]) {
        do {
            let response = try await client.execute(request, timeout: requestTimeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), Array(buffer: body))
        } catch let error as HTTPSUploadError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw HTTPSUploadError(kind: .network, description: "\(what) at \(endpoint) failed: \(error)")
        }
    }

    private func check(_ status: Int, _ body: [UInt8], _ what: String) throws {
        guard !(200..<300).contains(status) else { return }
        let refusal = try? JSONDecoder().decode(HTTPSUploadProtocol.ErrorBody.self, from: Data(body))
        let detail = refusal.map { "\($0.code): \($0.english)" } ?? String(decoding: body.prefix(300), as: UTF8.self)
        throw HTTPSUploadError(kind: .refused(status: status, code: refusal?.code),
                               description: "\(what): the platform answered HTTP \(status) \(detail)")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw HTTPSUploadError(kind: .protocolViolation,
                                   description: "the platform's answer is not a \(type): \(String(decoding: body.prefix(300), as: UTF8.self))")
        }
    }

    private func escaped(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? component
    }
}

/// Why an HTTPS upload stopped. `isRetryable`: trying again later (with the
/// last persisted state) may succeed.
public struct HTTPSUploadError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The endpoint, certificate or part size is unusable: fix the configuration.
        case configuration
        /// The platform could not be reached, or the connection broke (TLS refusals included).
        case network
        /// The platform answered with an HTTP error.
        case refused(status: Int, code: String?)
        /// The platform answered something that does not follow the protocol.
        case protocolViolation
        /// The package could not be read.
        case source
    }

    public var kind: Kind
    public var description: String

    public init(kind: Kind, description: String) {
        self.kind = kind
        self.description = description
    }

    /// The HTTP status, when the platform answered with an error.
    public var status: Int? {
        if case .refused(let status, _) = kind { return status }
        return nil
    }

    /// The refusal's code (`digest-mismatch`, `sha256-mismatch`, `package-conflict`, …).
    public var code: String? {
        if case .refused(_, let code) = kind { return code }
        return nil
    }

    public var isRetryable: Bool {
        switch kind {
        case .network, .protocolViolation, .source: return true
        case .configuration: return false
        case .refused(let status, let code):
            if status >= 500 || status == 429 || status == 408 { return true }
            // The receiver discarded the upload or refused bytes that changed on
            // the way: the next attempt starts over / resends.
            if status == 404 { return true }
            if status == 422 { return code == "sha256-mismatch" || code == "digest-mismatch" || code == "size-mismatch" }
            return false
        }
    }
}

/// A part's bytes as the request body, `chunkSize` at a time, each chunk
/// waiting for `pace` (the bandwidth limiter) before it is handed on.
struct PacedChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let bytes: [UInt8]
    let chunkSize: Int
    let pace: (@Sendable (Int) async -> Void)?

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let chunkSize: Int
        let pace: (@Sendable (Int) async -> Void)?
        var offset = 0

        mutating func next() async throws -> ByteBuffer? {
            guard offset < bytes.count else { return nil }
            let end = Swift.min(bytes.count, offset + chunkSize)
            if let pace { await pace(end - offset) }
            try Task.checkCancellation()
            let chunk = ByteBuffer(bytes: bytes[offset..<end])
            offset = end
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, chunkSize: chunkSize, pace: pace) }
}
