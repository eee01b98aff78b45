import Archive
import Foundation
import Hummingbird
import RoomConfig
import Store

/// The local admin API, served on a Unix socket (mode 0660) for `roomctl`.
/// Access is by file permission: root, the roomd user and its group.
struct AdminRoutes: Sendable {
    let status: StatusReporter
    let ledger: RoomLedger
    let stations: StationEnrollment

    /// The routes the HTTPS API shares (the ledger's, the operator's
    /// check-in routes) are registered through the same code, without roles.
    func register(on router: AdminRouteTable, apiRoutes: RouteDeclarations) {
        router.get("/v1/status", roles: [], purpose: "room status for roomctl") { request, _ in
            let events = try request.bounded("events", in: 0...500) ?? 10
            return try Response.json(try await status.snapshot(events: events))
        }
        LedgerRoutes(ledger: ledger).register(on: router) { _ in true }
        stations.register(on: router)
        // A milestone checkpoint on the operator's request (e.g. before handing
        // a checkpoint to a supervisor by hand).
        router.get("/v1/routes", roles: [], purpose: "the HTTPS API's routes and the roles that may call each") { _, _ in
            try Response.json(apiRoutes.all)
        }
        router.post("/v1/ledger/checkpoint", roles: [], purpose: "sign a checkpoint now (a milestone)") { _, _ in
            let stored = try await runBlocking { try ledger.currentCheckpoint() }
            return LedgerRoutes.text(stored.checkpoint.text, type: "text/plain; charset=utf-8")
        }
        router.post("/v1/ledger/export", roles: [], purpose: "export ledger entries with proofs") { request, _ in
            let from = try request.bounded("from", in: LedgerRoutes.positions) ?? 0
            let includePersonal = request.uri.queryParameters.get("include_personal") == "1"
            do {
                let path = try await runBlocking { try ledger.export(firstSeq: from, includePersonalData: includePersonal) }
                return try Response.json(LedgerExportAnswer(path: path))
            } catch let error as LedgerExportError {
                throw Refusal(.badRequest, code: "bad-ledger-export", chinese: "账本导出参数有误。", english: error.description)
            }
        }
    }
}
