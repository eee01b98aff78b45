import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Every refusal roomd answers with: a stable code for programs, a Chinese
/// message for the person at the station or console, English for logs
/// (docs/formats.md, "HTTPS API errors"). Handlers throw it; the
/// ``RefusalMiddleware`` renders it, and renders everything else that goes
/// wrong in a request (a body over its limit, a route that does not exist,
/// an unexpected error) in the same documented shape.
struct Refusal: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var code: String
    var chinese: String
    var english: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, code: String, chinese: String, english: String) {
        self.status = status
        self.code = code
        self.chinese = chinese
        self.english = english
    }

    var description: String { "\(status.code) \(code): \(english)" }

    var response: Response {
        var response = Response.problem(status, code: code, chinese: chinese, english: english)
        for field in headers { response.headers.append(field) }
        return response
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { response }

    static func badQuery(_ english: String) -> Refusal {
        Refusal(.badRequest, code: "bad-query", chinese: "请求参数有误，请检查后重试。", english: english)
    }
}

/// Outermost middleware of both routers: whatever a handler or the framework
/// throws becomes a ``Refusal`` body, never Hummingbird's own shape or an
/// empty 413.
struct RefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let refusal as Refusal {
            return refusal.response
        } catch is NIOTooManyBytesError {
            return Refusal(.contentTooLarge, code: "body-too-large", chinese: "提交的数据过大，已拒绝。",
                           english: "the request body exceeds the limit of \(request.method) \(request.uri.path) (docs/formats.md)").response
        } catch let error as HTTPError {
            let code = switch error.status {
            case .notFound: "no-such-route"
            case .methodNotAllowed: "method-not-allowed"
            case .contentTooLarge: "body-too-large"
            default: "bad-request"
            }
            return Refusal(error.status, code: code, chinese: "请求无法处理（\(error.status.code)），请检查后重试。",
                           english: "\(request.method) \(request.uri.path): \(error.body ?? error.status.reasonPhrase)").response
        } catch let error as any HTTPResponseError {
            return Refusal(error.status, code: "bad-request", chinese: "请求无法处理（\(error.status.code)），请检查后重试。",
                           english: "\(request.method) \(request.uri.path): \(error)").response
        } catch {
            logger.error("request failed / 请求处理失败", metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path), "error": .string("\(error)"),
            ])
            return Refusal(.internalServerError, code: "internal-error", chinese: "服务器内部错误，请稍后重试；如持续出现请联系代理机构管理员。",
                           english: "\(request.method) \(request.uri.path) failed; see roomd's log").response
        }
    }
}

extension Request {
    /// An integer query parameter, parsed once, here, into `range`: anything
    /// else (not a number, out of the range, past Int64) is the caller's
    /// mistake (400 `bad-query`), so arithmetic on what comes back cannot trap.
    func bounded(_ name: String, in range: ClosedRange<Int>) throws(Refusal) -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard text.utf8.count <= 20, let value = Int(text), range.contains(value) else {
            throw Refusal.badQuery("query parameter \(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// The body as `T`: at most `limit` bytes (else 413), strict RFC 8259
    /// JSON (Foundation's decoders accept `{"a":1,}`; roomd does not store
    /// what it would not write), then decoded.
    func decodeStrict<T: Decodable>(_ type: T.Type, limit: Int, refusal: (String) -> Refusal) async throws -> T {
        let bytes = Array(buffer: try await body.collect(upTo: limit))
        if let problem = StrictJSON.problem(in: bytes) { throw refusal(problem) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw refusal("\(error)")
        }
    }
}

/// RFC 8259 syntax, nothing more lenient: no trailing commas, comments,
/// single quotes, NaN or bare control characters; duplicate keys refused;
/// nesting bounded. Validates without building anything.
enum StrictJSON {
    static let maximumDepth = 64

    /// nil when `bytes` is one valid JSON text; otherwise what is wrong, and where.
    static func problem(in bytes: [UInt8]) -> String? {
        var parser = Parser(bytes: bytes)
        do {
            parser.skipSpace()
            try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.index == bytes.count else { throw parser.error("unexpected data after the JSON value") }
            return nil
        } catch let error as Parser.Failure {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    struct Parser {
        struct Failure: Error, CustomStringConvertible {
            var description: String
        }

        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ what: String) -> Failure { Failure(description: "invalid JSON at byte \(index): \(what)") }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            for byte in literal.utf8 {
                guard current == byte else { throw error("expected \(literal)") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws {
            guard depth < StrictJSON.maximumDepth else { throw error("nested deeper than \(StrictJSON.maximumDepth)") }
            switch current {
            case UInt8(ascii: "{"):
                index += 1
                skipSpace()
                var keys = Set<[UInt8]>()
                if current == UInt8(ascii: "}") { index += 1; return }
                while true {
                    skipSpace()
                    guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    let start = index
                    try string()
                    guard keys.insert(Array(bytes[start..<index])).inserted else { throw error("duplicate key") }
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    try value(depth: depth + 1)
                    skipSpace()
                    if current == UInt8(ascii: ",") { index += 1; continue }
                    try expect("}")
                    return
                }
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if current == UInt8(ascii: "]") { index += 1; return }
                while true {
                    skipSpace()
                    try value(depth: depth + 1)
                    skipSpace()
                    if current == UInt8(ascii: ",") { index += 1; continue }
                    try expect("]")
                    return
                }
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try expect("true")
            case UInt8(ascii: "f"): try expect("false")
            case UInt8(ascii: "n"): try expect("null")
            case let byte? where byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte): try number()
            default: throw error("expected a value")
            }
        }

        mutating func string() throws {
            index += 1  // the opening quote
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { throw error("unterminated escape") }
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            index += 1
                            guard let hex = current, (0x30...0x39).contains(hex) || (0x41...0x46).contains(hex)
                                || (0x61...0x66).contains(hex) else { throw error("bad \\u escape") }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(escaped) {
                        throw error("bad escape")
                    }
                    index += 1
                case 0..<0x20:
                    throw error("control character in a string")
                default:
                    index += 1
                }
            }
            throw error("unterminated string")
        }

        mutating func number() throws {
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, (0x30...0x39).contains(first) else { throw error("bad number") }
            index += 1
            if first != UInt8(ascii: "0") { while let d = current, (0x30...0x39).contains(d) { index += 1 } }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let d = current, (0x30...0x39).contains(d) else { throw error("bad fraction") }
                while let d = current, (0x30...0x39).contains(d) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let d = current, (0x30...0x39).contains(d) else { throw error("bad exponent") }
                while let d = current, (0x30...0x39).contains(d) { index += 1 }
            }
        }
    }
}
