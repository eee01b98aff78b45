import Canonical
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RoomConfig
import Store

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

    init(_ status: HTTPResponse.Status, _ refused: some ExplainedRefusal) {
        let explanation = refused.explanation
        self.init(status, code: explanation.code, chinese: explanation.chinese, english: explanation.english)
    }

    var description: String { "\(status.code) \(code): \(english)" }

    var response: Response {
        var response = (try? Response.json(RefusalBody(error: code, message: chinese, detail: english), status: status))
            ?? Response(status: status)
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

/// Bodies are strict RFC 8259 JSON, checked by the same parser that reads
/// evidence (``CanonicalJSON``): no trailing commas, comments, single quotes,
/// NaN or bare control characters; duplicate keys refused; nesting bounded.
enum StrictJSON {
    /// nil when `bytes` is one valid JSON text; otherwise what is wrong, and where.
    static func problem(in bytes: [UInt8]) -> String? {
        do {
            _ = try CanonicalJSON(parsing: bytes, decimals: true)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
