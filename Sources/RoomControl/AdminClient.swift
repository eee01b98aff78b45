import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import RoomConfig

/// roomctl's side of roomd's admin socket: HTTP over the Unix socket
/// (AsyncHTTPClient, `http+unix://`), answers decoded into the same Codable
/// types roomd encodes (RoomConfig/AdminProtocol.swift), and one error path:
/// a refusal is shown as roomd explained it (Chinese message, English detail),
/// an unreachable socket with what to check.
/// An id as one URL path segment (RFC 3986 unreserved characters kept, everything else percent-encoded).
func pathSegment(_ id: String) -> String {
    id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? id
}

struct AdminClient {
    let socketPath: String

    /// roomd could not be reached, or answered something roomctl cannot read.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// roomd refused: its explanation, as every refusal carries it.
    struct Refused: Error, CustomStringConvertible {
        var status: Int
        var body: RefusalBody
        var description: String { "roomd refused (HTTP \(status) \(body.error)): \(body.detail)\n\(body.message)" }
    }

    func get<Answer: Decodable>(_ path: String, as type: Answer.Type) async throws -> Answer {
        try decode(type, from: try await send(.GET, path))
    }

    func post<Answer: Decodable>(_ path: String, body: [UInt8] = [], as type: Answer.Type) async throws -> Answer {
        try decode(type, from: try await send(.POST, path, body: body))
    }

    /// The answer's bytes (2xx), for answers that are documents rather than JSON.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8] = []) async throws -> [UInt8] {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw Failure(description: "cannot address the socket \(socketPath)")
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let bytes = try await exchange(client, url: url, method, body: body)
            try? await client.shutdown()
            return bytes
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func exchange(_ client: HTTPClient, url: URL, _ method: HTTPMethod, body: [UInt8]) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        if method == .POST { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(600))
        } catch {
            throw Failure(description: """
                cannot reach roomd at \(socketPath): \(error). Is roomd running, and are you root or in its group? \
                / 无法连接roomd管理接口
                """)
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: 256 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            let refusal = (try? JSONDecoder().decode(RefusalBody.self, from: Data(bytes)))
                ?? RefusalBody(error: "http-\(response.status.code)", message: "", detail: String(decoding: bytes.prefix(500), as: UTF8.self))
            throw Refused(status: Int(response.status.code), body: refusal)
        }
        return bytes
    }

    /// Streams a long answer (an export, a dossier) into `file`: written to
    /// `file.partial` and renamed only when whole, so an interrupted download
    /// leaves nothing that looks finished. `progress` gets the bytes so far.
    /// Returns the answer's headers (and trailers, when roomd sent some).
    func download(_ path: String, to file: String, progress: (Int64) -> Void) async throws -> [String: String] {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw Failure(description: "cannot address the socket \(socketPath)")
        }
        let partial = file + ".partial"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .hours(6))
        } catch {
            throw Failure(description: "cannot reach roomd at \(socketPath): \(error) / 无法连接roomd管理接口")
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            let refusal = (try? JSONDecoder().decode(RefusalBody.self, from: Data(bytes)))
                ?? RefusalBody(error: "http-\(response.status.code)", message: "", detail: String(decoding: bytes.prefix(500), as: UTF8.self))
            throw Refused(status: Int(response.status.code), body: refusal)
        }
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            throw Failure(description: "cannot write \(partial)")
        }
        // Ctrl-C or a kill while downloading: the half-written file goes too.
        PartialFile.guarding(partial)
        defer { PartialFile.release() }
        var written: Int64 = 0
        do {
            for try await chunk in response.body {
                try handle.write(contentsOf: Data(chunk.readableBytesView))
                written += Int64(chunk.readableBytes)
                progress(written)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(partial)
            throw Failure(description: "the download from roomd broke off after \(written) bytes: \(error); nothing was kept")
        }
        guard rename(partial, file) == 0 else {
            unlink(partial)
            throw Failure(description: "cannot rename \(partial) to \(file)")
        }
        var headers: [String: String] = [:]
        for field in response.headers { headers[field.name.lowercased()] = field.value }
        return headers
    }

    private func decode<Answer: Decodable>(_ type: Answer.Type, from bytes: [UInt8]) throws -> Answer {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw Failure(description: "roomd's answer is not a \(type): \(error); is roomctl the same version as roomd (roomd --version)?")
        }
    }
}

/// The file a download is writing, removed if roomctl is interrupted
/// (SIGINT, SIGTERM, SIGHUP) before it is whole: an interrupted export or
/// dossier leaves nothing that looks finished, nor anything half-written.
enum PartialFile {
    nonisolated(unsafe) private static var path: UnsafeMutablePointer<CChar>?

    static func guarding(_ file: String) {
        path = strdup(file)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            Glibc.signal(signal) { number in
                if let path = PartialFile.path { unlink(path) }
                _exit(128 + number)
            }
        }
    }

    static func release() {
        for signal in [SIGINT, SIGTERM, SIGHUP] { Glibc.signal(signal, SIG_DFL) }
        if let held = path {
            path = nil
            free(held)
        }
    }
}
