import Hummingbird
import RoomConfig

/// The local admin API, served on a Unix socket (mode 0660) for `roomctl`.
/// Access is by file permission: root, the roomd user and its group.
struct AdminRoutes: Sendable {
    let status: StatusReporter

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/status") { request, _ in
            let events = min(max(request.uri.queryParameters.get("events", as: Int.self) ?? 10, 0), 500)
            return try Response.json(try await status.snapshot(events: events))
        }
    }
}
