import Foundation
import HTTPTypes
import Hummingbird
import RoomConfig
import Synchronization
import Store

/// Where a route is registered, the roles that may call it are declared.
/// The same registration code serves the HTTPS API (each route behind a
/// ``RoleGate`` for its roles) and the admin socket (reached only by root and
/// the `roomd` group: file permissions, no roles).
protocol RouteRegistrar<Context> {
    associatedtype Context: RequestContext
    func add(_ method: HTTPRequest.Method, _ path: String, roles: Set<Role>, purpose: String,
             _ handler: @escaping @Sendable (Request, Context) async throws -> Response)
}

extension RouteRegistrar {
    func get(_ path: String, roles: Set<Role>, purpose: String, _ handler: @escaping @Sendable (Request, Context) async throws -> Response) {
        add(.get, path, roles: roles, purpose: purpose, handler)
    }

    func post(_ path: String, roles: Set<Role>, purpose: String, _ handler: @escaping @Sendable (Request, Context) async throws -> Response) {
        add(.post, path, roles: roles, purpose: purpose, handler)
    }
}

extension Set where Element == Role {
    static var everyone: Set<Role> { Set(Role.allCases) }
}

/// The HTTPS API's routes. The list the registrations build *is* the access
/// policy: `GET /v1/routes` on the admin socket shows it, docs/formats.md
/// describes it, and a test calls every route with every role against it.
final class APIRouteTable: RouteRegistrar {
    typealias Context = RoomRequestContext

    let router: Router<RoomRequestContext>
    let refusals: EventAggregator
    let declared = RouteDeclarations()

    init(router: Router<RoomRequestContext>, refusals: EventAggregator) {
        self.router = router
        self.refusals = refusals
    }

    func add(_ method: HTTPRequest.Method, _ path: String, roles: Set<Role>, purpose: String,
             _ handler: @escaping @Sendable (Request, RoomRequestContext) async throws -> Response) {
        declared.append(.init(method: method.rawValue, path: path, roles: roles.map(\.rawValue).sorted(), purpose: purpose))
        router.group().add(middleware: RoleGate(roles: roles, refusals: refusals))
            .on(RouterPath(path), method: method) { request, context in try await handler(request, context) }
    }
}

/// What the HTTPS API's registrations declared: each route and its roles.
final class RouteDeclarations: Sendable {
    struct Route: Codable, Sendable, Hashable {
        var method: String
        var path: String
        var roles: [String]
        var purpose: String
    }

    private let routes = Mutex<[Route]>([])

    func append(_ route: Route) { routes.withLock { $0.append(route) } }

    var all: [Route] { routes.withLock { $0 } }

    /// The roles of a declared route (e.g. who may read ledger entries).
    func roles(_ method: HTTPRequest.Method, _ path: String) -> Set<Role> {
        Set(all.first { $0.method == method.rawValue && $0.path == path }?.roles.compactMap(Role.init(rawValue:)) ?? [])
    }
}

/// The admin socket's routes: no roles (see ``RouteRegistrar``).
struct AdminRouteTable: RouteRegistrar {
    typealias Context = BasicRequestContext
    let router: Router<BasicRequestContext>

    func add(_ method: HTTPRequest.Method, _ path: String, roles: Set<Role>, purpose: String,
             _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        router.on(RouterPath(path), method: method) { request, context in try await handler(request, context) }
    }
}

/// In front of one route: the caller's role (established by
/// ``AccessMiddleware``) must be one the route declared.
struct RoleGate: RouterMiddleware {
    typealias Context = RoomRequestContext

    let roles: Set<Role>
    let refusals: EventAggregator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let peer = context.peer else {
            throw Refusal(.forbidden, code: "certificate-not-accepted", chinese: "客户端证书未被本评标室接受，请联系代理机构管理员重新签发证书。",
                          english: "no identified client certificate")
        }
        guard roles.contains(peer.role) else {
            let reason = "\(peer) may not call \(request.method) \(request.uri.path); allowed: \(roles.map(\.rawValue).sorted().joined(separator: ", "))"
            AccessMiddleware.deny(refusals, request: request, context: context, who: peer.description, reason: reason, code: "role-not-permitted")
            throw Refusal(.forbidden, code: "role-not-permitted", chinese: "当前身份（\(peer.role.chinese)）无权执行此操作。", english: reason)
        }
        return try await next(request, context)
    }
}
