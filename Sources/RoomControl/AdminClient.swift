#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A minimal HTTP/1.1 client for roomd's admin Unix socket: one request per
/// connection, blocking, no dependencies. roomctl runs one command and exits,
/// so nothing here needs an event loop.
struct AdminClient {
    let socketPath: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func get(_ path: String) throws -> (status: Int, body: [UInt8]) { try request("GET", path) }

    func post(_ path: String, body: [UInt8] = []) throws -> (status: Int, body: [UInt8]) { try request("POST", path, body: body) }

    func request(_ method: String, _ path: String, body: [UInt8] = []) throws -> (status: Int, body: [UInt8]) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let why = String(cString: strerror(errno))
            throw Failure(description: "cannot reach roomd at \(socketPath): \(why). Is roomd running, and are you root or in its group? / 无法连接roomd管理接口")
        }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: roomd\r\nConnection: close\r\nContent-Length: \(body.count)\r\nAccept: application/json\r\n\r\n".utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(description: "recv: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response += chunk[0..<n]
        }
        return try Self.parse(response)
    }

    static func parse(_ response: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = response.firstRange(of: separator) else { throw Failure(description: "malformed HTTP response") }
        let head = String(decoding: response[..<headerEnd.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "malformed status line") }
        let headers = lines.dropFirst().reduce(into: [String: String]()) { result, line in
            guard let colon = line.firstIndex(of: ":") else { return }
            result[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(response[headerEnd.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded: [UInt8] = []
            var index = 0
            while index < body.count {
                guard let lineEnd = body[index...].firstRange(of: [13, 10]) else { break }
                let sizeText = String(decoding: body[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure(description: "bad chunk") }
                if size == 0 { break }
                let start = lineEnd.upperBound
                guard start + size <= body.count else { throw Failure(description: "truncated chunk") }
                decoded += body[start..<start + size]
                index = start + size + 2
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap(Int.init), length <= body.count {
            body = Array(body.prefix(length))
        }
        return (status, body)
    }
}
