public import Foundation
public import Logging
import AsyncHTTPClient
import Identity
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where and how roomd delivers to an S3-compatible store.
public struct S3Configuration: Sendable, Equatable {
    public enum Addressing: String, Sendable, Codable {
        /// `https://endpoint/bucket/key` (MinIO, Ceph and most on-premises stores).
        case path
        /// `https://bucket.endpoint/key` (AWS's default).
        case virtualHosted
    }

    /// `http://host:port` or `https://host[:port]`, without a path.
    public var endpoint: URL
    public var region: String
    public var bucket: String
    /// Put before every name: `roomd/` makes `roomd/<room>/<session>.tar`.
    public var keyPrefix: String
    public var addressing: Addressing
    public var credentials: S3Credentials
    /// PEM file with the CA(s) that sign the endpoint's certificate; nil = the system's roots.
    public var caFile: String?
    /// When set, every object is created under Object Lock COMPLIANCE until now + this many days
    /// (the bucket must have Object Lock enabled).
    public var objectLockDays: Int?
    /// Parts sent at the same time (reading and hashing the next part overlaps with them).
    public var partsInFlight: Int

    public init(endpoint: URL, region: String, bucket: String, keyPrefix: String = "", addressing: Addressing = .path,
                credentials: S3Credentials, caFile: String? = nil, objectLockDays: Int? = nil, partsInFlight: Int = 2) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.keyPrefix = keyPrefix
        self.addressing = addressing
        self.credentials = credentials
        self.caFile = caFile
        self.objectLockDays = objectLockDays
        self.partsInFlight = partsInFlight
    }

    /// The object key of a package name.
    public func key(for name: String) -> String { keyPrefix + name }
}

/// Multipart upload to S3 (Signature Version 4, SHA-256 part checksums),
/// resumable from a persisted `UploadState`, idempotent, paced by a shared
/// `BandwidthLimiter`. See docs/formats.md, "S3 delivery".
public final class S3Uploader: PackageUploader {
    public static let minimumPartSize: Int64 = 5 << 20
    public static let maximumParts: Int64 = 10_000
    /// The metadata header carrying the package's SHA-256 (hex): `x-amz-meta-roomd-sha256`.
    public static let sha256MetadataHeader = "x-amz-meta-roomd-sha256"

    public let configuration: S3Configuration
    private let client: HTTPClient
    private let limiter: BandwidthLimiter?
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let signer: SigV4
    /// `scheme://host[:port]` requests go to, and the Host header that is signed.
    private let origin: String
    private let host: String
    private let pathPrefix: String

    /// - Parameters:
    ///   - limiter: the process's shared bandwidth cap; nil = none.
    ///   - now: the clock requests are signed with, and Object Lock dates count from.
    /// Call `shutdown()` when done (it closes the uploader's HTTP connections).
    public init(configuration: S3Configuration, limiter: BandwidthLimiter? = nil,
                logger: Logger = Logger(label: "roomd.delivery.s3"), now: @escaping @Sendable () -> Date = { Date() }) throws {
        let endpoint = configuration.endpoint
        guard let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https", let endpointHost = endpoint.host,
              !endpointHost.isEmpty
        else {
            throw DeliveryError(operation: "configuration", object: configuration.bucket,
                                reason: .configuration("the endpoint \(endpoint) is not an http:// or https:// URL with a host. Fix the S3 endpoint in the configuration."))
        }
        var hostName = endpointHost.contains(":") ? "[\(endpointHost)]" : endpointHost
        if configuration.addressing == .virtualHosted { hostName = "\(configuration.bucket).\(hostName)" }
        if let port = endpoint.port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) { hostName += ":\(port)" }
        self.configuration = configuration
        self.limiter = limiter
        self.logger = logger
        self.now = now
        signer = SigV4(credentials: configuration.credentials, region: configuration.region)
        host = hostName
        origin = "\(scheme)://\(hostName)"
        pathPrefix = configuration.addressing == .path ? "/\(configuration.bucket)" : ""

        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .disallow
        http.timeout = .init(connect: .seconds(15), read: .seconds(180))
        http.decompression = .disabled
        if scheme == "https" {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = configuration.caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw DeliveryError(operation: "configuration", object: configuration.bucket,
                                        reason: .configuration("the CA file \(caFile) cannot be read. Fix the S3 CA file in the configuration."))
                }
                tls.trustRoots = .file(caFile)
            }
            http.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    public func shutdown() async throws { try await client.shutdown() }

    /// A fresh state for a source of `size` bytes: `partSize` (at least 5 MiB),
    /// grown when the object would need more than 10,000 parts.
    public static func initialState(size: Int64, partSize: Int64 = 16 << 20) -> UploadState {
        UploadState(partSize: effectivePartSize(size: size, requested: partSize))
    }

    static func effectivePartSize(size: Int64, requested: Int64) -> Int64 {
        var partSize = max(requested, minimumPartSize)
        if (size + partSize - 1) / partSize > maximumParts {
            let mib: Int64 = 1 << 20
            partSize = ((size + maximumParts - 1) / maximumParts + mib - 1) / mib * mib
        }
        return partSize
    }

    // MARK: - Upload

    public func upload(name: String, source: UploadSource, state initial: UploadState,
                       persist: @escaping @Sendable (UploadState) async throws -> Void,
                       progress: @escaping @Sendable (_ confirmed: Int64, _ total: Int64) -> Void) async throws -> UploadReceipt {
        let key = configuration.key(for: name)
        var state = initial
        var serverParts: [Int: ServerPart] = [:]

        if state.completed, let receipt = try await delivered(key: key, source: source) {
            progress(source.size, source.size)
            return receipt
        }
        if state.completed { state = UploadState(partSize: state.partSize) }  // claimed complete, but not there: start again

        if let uploadID = state.uploadID {
            do {
                serverParts = try await listParts(key: key, uploadID: uploadID)
                let reconciled = state.parts.filter { part in
                    guard let held = serverParts[part.number], held.size == part.size else { return false }
                    if let checksum = held.checksumSHA256 { return checksum == Self.base64(hex: part.sha256) }
                    return part.etag.map(Self.unquoted) == Self.unquoted(held.etag)
                }
                if reconciled != state.parts {
                    logger.info("S3 holds fewer parts than recorded; they are sent again",
                                metadata: ["key": "\(key)", "recorded": "\(state.parts.count)", "held": "\(reconciled.count)"])
                    state.parts = reconciled
                    try await persist(state)
                }
            } catch let error as DeliveryError where error.code == "NoSuchUpload" {
                logger.info("S3 no longer knows the upload; starting a new one", metadata: ["key": "\(key)", "upload": "\(uploadID)"])
                state = UploadState(partSize: state.partSize)
                serverParts = [:]
                try await persist(state)
            }
        }

        if state.uploadID == nil {
            if let receipt = try await delivered(key: key, source: source) {
                progress(source.size, source.size)
                return receipt
            }
            state.partSize = Self.effectivePartSize(size: source.size, requested: state.partSize)
            state.parts = []
            state.uploadID = try await createUpload(key: key, source: source)
            try await persist(state)
        }
        guard let uploadID = state.uploadID else { preconditionFailure("the upload was just created") }
        let partSize = state.partSize
        let partCount = max(1, Int((source.size + partSize - 1) / partSize))
        guard partCount <= Int(Self.maximumParts) else {
            throw DeliveryError(operation: "UploadPart", object: "\(configuration.bucket)/\(key)",
                                reason: .configuration("\(partCount) parts of \(partSize) bytes exceed S3's 10,000 parts; the upload state's part size is too small for this package."))
        }
        progress(state.bytesConfirmed, source.size)

        // Parts go out in order, `partsInFlight` at a time; reading and hashing
        // the next part overlaps with sending. Every byte is read and hashed,
        // sent or not, so the whole package is checked against its SHA-256
        // before the upload is completed.
        let whole = SHA256Hasher()
        var checksums: [Int: String] = [:]
        try await withThrowingTaskGroup(of: UploadState.Part.self) { group in
            var inFlight = 0
            func record(_ part: UploadState.Part) async throws {
                state.parts.removeAll { $0.number == part.number }
                state.parts.append(part)
                state.parts.sort { $0.number < $1.number }
                try await persist(state)
                progress(state.bytesConfirmed, source.size)
            }
            for number in 1...partCount {
                let offset = Int64(number - 1) * partSize
                let count = Int(min(partSize, source.size - offset))
                let bytes = try await source.read(offset, count)
                guard bytes.count == count else {
                    throw DeliveryError(operation: "read part \(number)", object: "\(configuration.bucket)/\(key)",
                                        reason: .sourceMismatch(expected: "\(count) bytes at offset \(offset)", actual: "\(bytes.count) bytes"))
                }
                whole.update(bytes)
                let digest = Digest.sha256(bytes)
                let hexDigest = SigV4.hex(digest)
                let checksum = Data(digest).base64EncodedString()
                checksums[number] = checksum
                if let done = state.parts.first(where: { $0.number == number }) {
                    guard done.sha256 == hexDigest, done.size == Int64(count) else {
                        throw DeliveryError(operation: "UploadPart \(number)", object: "\(configuration.bucket)/\(key)", reason: .sourceChanged(part: number))
                    }
                    continue
                }
                if let held = serverParts[number], held.size == Int64(count), held.checksumSHA256 == checksum {
                    try await record(.init(number: number, size: Int64(count), sha256: hexDigest, etag: held.etag))
                    continue
                }
                if inFlight >= max(1, configuration.partsInFlight), let finished = try await group.next() {
                    inFlight -= 1
                    try await record(finished)
                }
                let buffer = ByteBuffer(bytes: bytes)
                group.addTask {
                    let etag = try await self.uploadPart(key: key, uploadID: uploadID, number: number, body: buffer,
                                                         sha256Hex: hexDigest, checksum: checksum)
                    return .init(number: number, size: Int64(count), sha256: hexDigest, etag: etag)
                }
                inFlight += 1
            }
            while let finished = try await group.next() { try await record(finished) }
        }

        let actual = whole.finishHex()
        guard actual == source.sha256.lowercased() else {
            try? await abort(key: key, uploadID: uploadID)
            try await persist(UploadState(partSize: partSize))
            throw DeliveryError(operation: "CompleteMultipartUpload", object: "\(configuration.bucket)/\(key)",
                                reason: .sourceMismatch(expected: source.sha256, actual: actual))
        }

        let completion: (etag: String?, versionID: String?)
        do {
            completion = try await complete(key: key, uploadID: uploadID, parts: state.parts, checksums: checksums)
        } catch let error as DeliveryError where error.code == "NoSuchUpload" {
            // Completed by an earlier attempt whose answer was lost?
            if let receipt = try await delivered(key: key, source: source) { return receipt }
            throw error
        }
        state.completed = true
        try await persist(state)

        let expectedComposite = Self.compositeChecksum(state.parts.map { checksums[$0.number] ?? Self.base64(hex: $0.sha256) })
        let head = try await headObject(key: key, checksumMode: true, operation: "HeadObject (verify)")
        guard let head, head.size == source.size else {
            throw DeliveryError(operation: "HeadObject (verify)", object: "\(configuration.bucket)/\(key)",
                                reason: .unexpectedResponse("after CompleteMultipartUpload the object has \(head.map { "\($0.size)" } ?? "no") bytes, not \(source.size)"))
        }
        if let checksum = head.checksumSHA256, checksum.contains("-"), checksum != expectedComposite {
            throw DeliveryError(operation: "HeadObject (verify)", object: "\(configuration.bucket)/\(key)",
                                reason: .unexpectedResponse("the server's composite SHA-256 \(checksum) differs from roomd's \(expectedComposite): the stored bytes are not the package's"))
        }
        if let days = configuration.objectLockDays, head.lockMode != "COMPLIANCE" {
            // Some S3-compatible stores (and moto) drop the lock headers of CreateMultipartUpload: set it on the version now.
            try await putRetention(key: key, versionID: completion.versionID ?? head.versionID, days: days)
        }
        progress(source.size, source.size)
        logger.info("package delivered to S3", metadata: ["key": "\(key)", "bytes": "\(source.size)", "parts": "\(partCount)"])
        return receipt(key: key, etag: completion.etag ?? head.etag, versionID: completion.versionID ?? head.versionID)
    }

    /// The object already in place with this package's size and SHA-256 metadata, as a receipt; nil otherwise.
    private func delivered(key: String, source: UploadSource) async throws -> UploadReceipt? {
        guard let head = try await headObject(key: key, checksumMode: false, operation: "HeadObject") else { return nil }
        guard head.size == source.size, head.sha256?.lowercased() == source.sha256.lowercased() else {
            logger.warning("an object with another content is at the key; uploading a new version",
                           metadata: ["key": "\(key)", "size": "\(head.size)", "sha256": "\(head.sha256 ?? "none")"])
            return nil
        }
        logger.info("package already delivered to S3", metadata: ["key": "\(key)"])
        return receipt(key: key, etag: head.etag, versionID: head.versionID)
    }

    private func receipt(key: String, etag: String?, versionID: String?) -> UploadReceipt {
        var reference: [String] = []
        if let versionID { reference.append("version \(versionID)") }
        if let etag { reference.append("etag \(etag)") }
        return UploadReceipt(location: "s3://\(configuration.bucket)/\(key)", targetReference: reference.isEmpty ? nil : reference.joined(separator: ", "))
    }

    // MARK: - S3 operations

    struct ServerPart: Sendable {
        var size: Int64
        var etag: String
        var checksumSHA256: String?
    }

    struct Head: Sendable {
        var size: Int64
        var sha256: String?
        var etag: String?
        var versionID: String?
        var checksumSHA256: String?
        var lockMode: String?
    }

    private func putRetention(key: String, versionID: String?, days: Int) async throws {
        let until = Self.iso8601(now().addingTimeInterval(Double(days) * 86_400))
        let body = Array("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>\(until)</RetainUntilDate></Retention>".utf8)
        var query = [("retention", "")]
        if let versionID { query.append(("versionId", versionID)) }
        _ = try await send("PutObjectRetention", method: .PUT, key: key, query: query,
                           headers: [("content-type", "application/xml"), ("x-amz-checksum-sha256", Data(Digest.sha256(body)).base64EncodedString())],
                           body: ByteBuffer(bytes: body), payloadSHA256: Digest.sha256Hex(body), pace: false)
        logger.info("Object Lock retention set after completion", metadata: ["key": "\(key)", "until": "\(until)"])
    }

    private func headObject(key: String, checksumMode: Bool, operation: String) async throws -> Head? {
        let response = try await send(operation, method: .HEAD, key: key, query: [],
                                      headers: checksumMode ? [("x-amz-checksum-mode", "ENABLED")] : [], accept: [200, 404])
        if response.status == 404 { return nil }
        let headers = response.headers
        return Head(size: headers.first(name: "content-length").flatMap { Int64($0) } ?? -1,
                    sha256: headers.first(name: Self.sha256MetadataHeader), etag: headers.first(name: "etag"),
                    versionID: headers.first(name: "x-amz-version-id"), checksumSHA256: headers.first(name: "x-amz-checksum-sha256"),
                    lockMode: headers.first(name: "x-amz-object-lock-mode"))
    }

    private func createUpload(key: String, source: UploadSource) async throws -> String {
        var headers: [(String, String)] = [
            ("content-type", "application/x-tar"),
            ("x-amz-checksum-algorithm", "SHA256"),
            (Self.sha256MetadataHeader, source.sha256.lowercased()),
        ]
        if let days = configuration.objectLockDays {
            let until = now().addingTimeInterval(Double(days) * 86_400)
            headers.append(("x-amz-object-lock-mode", "COMPLIANCE"))
            headers.append(("x-amz-object-lock-retain-until-date", Self.iso8601(until)))
        }
        let response = try await send("CreateMultipartUpload", method: .POST, key: key, query: [("uploads", "")], headers: headers)
        guard let uploadID = S3XML.parse(response.body)?.value("UploadId"), !uploadID.isEmpty else {
            throw DeliveryError(operation: "CreateMultipartUpload", object: "\(configuration.bucket)/\(key)",
                                reason: .unexpectedResponse("no UploadId in the answer"))
        }
        logger.info("S3 multipart upload created", metadata: ["key": "\(key)", "upload": "\(uploadID)"])
        return uploadID
    }

    private func listParts(key: String, uploadID: String) async throws -> [Int: ServerPart] {
        var parts: [Int: ServerPart] = [:]
        var marker = 0
        while true {
            var query = [("uploadId", uploadID)]
            if marker > 0 { query.append(("part-number-marker", "\(marker)")) }
            let response = try await send("ListParts", method: .GET, key: key, query: query)
            guard let root = S3XML.parse(response.body) else {
                throw DeliveryError(operation: "ListParts", object: "\(configuration.bucket)/\(key)", reason: .unexpectedResponse("unparsable XML"))
            }
            for part in root.all("Part") {
                guard let number = part.value("PartNumber").flatMap(Int.init), let size = part.value("Size").flatMap(Int64.init) else { continue }
                parts[number] = ServerPart(size: size, etag: part.value("ETag") ?? "", checksumSHA256: part.value("ChecksumSHA256"))
            }
            guard root.value("IsTruncated") == "true", let next = root.value("NextPartNumberMarker").flatMap(Int.init), next > marker else { break }
            marker = next
        }
        return parts
    }

    private func uploadPart(key: String, uploadID: String, number: Int, body: ByteBuffer, sha256Hex: String, checksum: String) async throws -> String {
        let response = try await send("UploadPart \(number)", method: .PUT, key: key,
                                      query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
                                      headers: [("x-amz-checksum-sha256", checksum)],
                                      body: body, payloadSHA256: sha256Hex)
        guard let etag = response.headers.first(name: "etag") else {
            throw DeliveryError(operation: "UploadPart \(number)", object: "\(configuration.bucket)/\(key)", reason: .unexpectedResponse("no ETag in the answer"))
        }
        if let echoed = response.headers.first(name: "x-amz-checksum-sha256"), echoed != checksum {
            throw DeliveryError(operation: "UploadPart \(number)", object: "\(configuration.bucket)/\(key)",
                                reason: .server(status: response.status, code: "BadDigest", message: "the server computed SHA-256 \(echoed), roomd sent \(checksum)", requestID: nil))
        }
        return etag
    }

    private func complete(key: String, uploadID: String, parts: [UploadState.Part], checksums: [Int: String]) async throws -> (etag: String?, versionID: String?) {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(xmlEscaped(part.etag ?? ""))</ETag>"
            xml += "<ChecksumSHA256>\(checksums[part.number] ?? Self.base64(hex: part.sha256))</ChecksumSHA256></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        let response = try await send("CompleteMultipartUpload", method: .POST, key: key, query: [("uploadId", uploadID)],
                                      headers: [("content-type", "application/xml")],
                                      body: ByteBuffer(bytes: body), payloadSHA256: Digest.sha256Hex(body), pace: false)
        // S3 answers 200 and then, possibly much later, an <Error> body.
        guard let root = S3XML.parse(response.body) else {
            throw DeliveryError(operation: "CompleteMultipartUpload", object: "\(configuration.bucket)/\(key)", reason: .unexpectedResponse("unparsable XML"))
        }
        if root.name == "Error" {
            throw DeliveryError(operation: "CompleteMultipartUpload", object: "\(configuration.bucket)/\(key)",
                                reason: .server(status: response.status, code: root.value("Code"), message: root.value("Message"), requestID: root.value("RequestId")))
        }
        return (root.value("ETag"), response.headers.first(name: "x-amz-version-id"))
    }

    private func abort(key: String, uploadID: String) async throws {
        _ = try await send("AbortMultipartUpload", method: .DELETE, key: key, query: [("uploadId", uploadID)], accept: [200, 204, 404])
    }

    // MARK: - HTTP

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    private func send(_ operation: String, method: HTTPMethod, key: String, query: [(String, String)],
                      headers: [(String, String)] = [], body: ByteBuffer? = nil, payloadSHA256: String = SigV4.emptyPayloadSHA256,
                      pace: Bool = true, accept: Set<Int> = [200, 204]) async throws -> Response {
        let object = "\(configuration.bucket)/\(key)"
        let path = SigV4.encodePath(pathPrefix + "/" + key)
        let wireQuery = Self.wireQuery(query)
        let signed = signer.sign(method: method.rawValue, host: host, encodedPath: path, query: query, headers: headers,
                                 payloadSHA256: payloadSHA256, date: now())
        var request = HTTPClientRequest(url: origin + path + (wireQuery.isEmpty ? "" : "?" + wireQuery))
        request.method = method
        for header in signed.headers { request.headers.add(name: header.name, value: header.value) }
        let length = body?.readableBytes ?? 0
        if let body {
            if pace, let limiter, limiter.bytesPerSecond > 0 {
                request.body = HTTPClientRequest.Body.stream(PacedBody(buffer: body, limiter: limiter), length: .known(Int64(length)))
            } else {
                request.body = HTTPClientRequest.Body.bytes(body)
            }
        }
        let response: HTTPClientResponse
        let bytes: [UInt8]
        do {
            // A generous deadline: a minute plus the body at 128 KiB/s (the limiter may pace slower; the read timeout catches a dead peer).
            response = try await client.execute(request, timeout: .seconds(60 + Int64(length / (128 << 10))), logger: logger)
            var collected = try await response.body.collect(upTo: 16 << 20)
            bytes = collected.readBytes(length: collected.readableBytes) ?? []
        } catch let error as NIOSSLError {
            throw DeliveryError(operation: operation, object: object, reason: .tls("\(error)"))
        } catch let error as BoringSSLError {
            throw DeliveryError(operation: operation, object: object, reason: .tls("\(error)"))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw DeliveryError(operation: operation, object: object, reason: .network("\(error)"))
        }
        let status = Int(response.status.code)
        guard accept.contains(status) else {
            var code: String?, message: String?, requestID = response.headers.first(name: "x-amz-request-id")
            if let root = S3XML.parse(bytes), root.name == "Error" {
                code = root.value("Code")
                message = root.value("Message")
                requestID = root.value("RequestId") ?? requestID
            } else if method == .HEAD {
                // HEAD answers carry no body: ask the same question with a GET to learn the error code.
                if status == 403 || status == 400 {
                    code = try await diagnose(key: key)
                }
            }
            throw DeliveryError(operation: operation, object: object,
                                reason: .server(status: status, code: code, message: message, requestID: requestID))
        }
        return Response(status: status, headers: response.headers, body: bytes)
    }

    /// The query as sent: like the canonical one, but a name without value goes alone (`?uploads`).
    private static func wireQuery(_ query: [(String, String)]) -> String {
        var pairs: [(name: String, value: String)] = query.map { (name: SigV4.encode($0.0), value: SigV4.encode($0.1)) }
        pairs.sort { (a: (name: String, value: String), b: (name: String, value: String)) -> Bool in
            a.name != b.name ? a.name < b.name : a.value < b.value
        }
        let items: [String] = pairs.map { (pair: (name: String, value: String)) -> String in
            pair.value.isEmpty ? pair.name : pair.name + "=" + pair.value
        }
        return items.joined(separator: "&")
    }

    /// The S3 error code of a 1-byte GET of `key` (what a failed HEAD does not say).
    private func diagnose(key: String) async throws -> String? {
        do {
            _ = try await send("GetObject (diagnose)", method: .GET, key: key, query: [], headers: [("range", "bytes=0-0")],
                               accept: [200, 206, 404, 416])
            return nil
        } catch let error as DeliveryError {
            return error.code
        }
    }

    // MARK: - Encodings

    static func base64(hex: String) -> String {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = nibble(high), let l = nibble(low) else { return "" }
            bytes.append(h << 4 | l)
        }
        return Data(bytes).base64EncodedString()
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// S3's checksum of a multipart object with SHA-256 parts: base64 of the
    /// SHA-256 of the parts' raw digests, then `-<parts>`.
    static func compositeChecksum(_ partChecksums: [String]) -> String {
        var raw: [UInt8] = []
        for checksum in partChecksums { raw += Data(base64Encoded: checksum).map(Array.init) ?? [] }
        return Data(Digest.sha256(raw)).base64EncodedString() + "-\(partChecksums.count)"
    }

    static func unquoted(_ etag: String) -> String { etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }

    static func iso8601(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}

/// A part's body in 64 KiB slices, each let out by the bandwidth limiter.
struct PacedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer
    let limiter: BandwidthLimiter
    static let chunk = 64 << 10

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ByteBuffer
        let limiter: BandwidthLimiter

        mutating func next() async throws -> ByteBuffer? {
            guard remaining.readableBytes > 0 else { return nil }
            let count = Swift.min(PacedBody.chunk, remaining.readableBytes)
            try await limiter.acquire(count)
            return remaining.readSlice(length: count)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffer, limiter: limiter) }
}
