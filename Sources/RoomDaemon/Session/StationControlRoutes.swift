import Foundation
import Hummingbird
import Store

/// The operator locks and unlocks stations and pushes messages to them (console, roomctl's admin
/// socket); a station reads its own state and follows it live. A locked station's commands and
/// drafts are refused by roomd, not only hidden by its page.
struct StationControlRoutes: Sendable {
    let store: RoomStore
    let stationIDs: Set<String>
    let updates: SessionUpdates

    struct LockBody: Decodable { var reason: String? }
    struct MessageBody: Decodable {
        var text: String
        /// Nil: every station.
        var stations: [String]?
    }

    static func badBody(_ why: String) -> Refusal {
        Refusal(.badRequest, code: "bad-station-control", chinese: "请求格式错误。", english: why)
    }

    func station(_ id: String) throws -> String {
        guard stationIDs.contains(id) else {
            throw Refusal(.notFound, code: "station-unknown", chinese: "本评标室没有终端 \(id)。", english: "no station \(id) in this room")
        }
        return id
    }

    func registerOperatorRoutes<Routes: RouteRegistrar>(on routes: Routes, who: @escaping @Sendable (Routes.Context) -> String) {
        for (verb, kind) in [("lock", "station.locked"), ("unlock", "station.unlocked")] {
            routes.post("/v1/stations/:id/\(verb)", roles: [.operator], purpose: "\(verb) a station (its commands are refused while locked)") { request, context in
                let id = try station(try context.parameters.require("id"))
                let body = try await request.decodeStrict(LockBody.self, limit: 4096) { Self.badBody("body must be {\"reason\"?: text}: \($0)") }
                var detail = ["by": who(context)]
                if let reason = body.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty { detail["reason"] = String(reason.prefix(500)) }
                try await store.appendEvent(kind: kind, severity: "notice", subject: id, detail: detail, actor: who(context))
                updates.publish(session: "*", sequence: 0, phase: kind)
                return try Response.json(try await store.stationControl(station: id))
            }
        }
        routes.post("/v1/stations/message", roles: [.operator], purpose: "push a message to stations (all, or those named)") { request, context in
            let body = try await request.decodeStrict(MessageBody.self, limit: 8192) { Self.badBody("body must be {\"text\", \"stations\"?: [id]}: \($0)") }
            let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.count <= 500 else {
                throw Refusal(.badRequest, code: "bad-station-control", chinese: "通知内容须为1至500字。", english: "text must be 1-500 characters")
            }
            let targets = try body.stations.map { try $0.map(station) } ?? ["*"]
            for target in targets {
                try await store.appendEvent(kind: "station.message", severity: "info", subject: target, detail: ["text": text, "by": who(context)],
                                            actor: who(context))
            }
            updates.publish(session: "*", sequence: 0, phase: "station.message")
            return try Response.json(["stations": targets])
        }
    }

    func registerStationRoutes(on routes: APIRouteTable) {
        routes.get("/v1/station/control", roles: [.station], purpose: "whether this station is locked, and the operator's messages to it") { _, context in
            guard let id = context.peer?.stationID else { throw CheckInService.notAStation }
            return try Response.json(try await store.stationControl(station: id))
        }
    }

    /// Throws when the operator has locked `station`.
    static func refuseIfLocked(_ store: RoomStore, station: String) async throws {
        let control = try await store.stationControl(station: station)
        guard control.locked else { return }
        throw Refusal(.conflict, code: "station-locked", chinese: "本终端已被操作员锁定\(control.reason.map { "（\($0)）" } ?? "")，请联系操作员。",
                      english: "station \(station) is locked by the operator")
    }
}
