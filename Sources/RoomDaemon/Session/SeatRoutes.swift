import Evaluation
import Foundation
import Hummingbird
import Identity
import Store

/// The operator assigns experts to stations, or has roomd draw the seats by lot; the plan is
/// recorded (event and ledger entry, with the draw's seed) and check-in follows it: an expert
/// checks in only at their seat. Seats are fixed once the first expert has checked in.
struct SeatRoutes: Sendable {
    let registry: SessionRegistry
    let store: RoomStore
    let stationIDs: [String]

    struct Body: Decodable {
        /// Member id → station; or nil with `draw: true`.
        var seats: [String: String]?
        var draw: Bool?
    }

    /// The engine's lottery (SplitMix64 Fisher–Yates, docs/formats.md) over the stations in id order:
    /// members in id order are dealt the shuffled stations, so the draw can be redone from the seed.
    static func draw(members: [String], stations: [String], seed: UInt64) -> [String: String] {
        Dictionary(uniqueKeysWithValues: zip(members.sorted(), LotteryDraw.draw(stations, seed: seed)))
    }

    func register<Routes: RouteRegistrar>(on routes: Routes, who: @escaping @Sendable (Routes.Context) -> String) {
        routes.post("/v1/sessions/:session/seats", roles: [.operator],
                    purpose: "assign the members to stations, or draw the seats by lot (before check-in)") { request, context in
            let id = try context.parameters.require("session")
            let live = try await registry.state(id)
            let body = try await request.decodeStrict(Body.self, limit: 16 * 1024) { why in
                Refusal(.badRequest, code: "bad-seats", chinese: "座位安排格式错误。", english: "body must be {\"seats\": {member: station}} or {\"draw\": true}: \(why)")
            }
            let members = live.session.state.members.map(\.id)
            let plan: SeatPlan
            if body.draw == true {
                guard members.count <= stationIDs.count else {
                    throw Refusal(.conflict, code: "too-few-stations", chinese: "评审成员多于终端数量，无法分配座位。",
                                  english: "\(members.count) members, \(stationIDs.count) stations")
                }
                let seedHex = try Digest.randomHex(8)
                let seed = UInt64(seedHex, radix: 16) ?? 0
                plan = SeatPlan(seats: Self.draw(members: members, stations: stationIDs, seed: seed), method: "drawn", seed: seedHex, by: who(context))
            } else {
                guard let seats = body.seats, Set(seats.keys) == Set(members), Set(seats.values).count == seats.count,
                      seats.values.allSatisfy(stationIDs.contains) else {
                    throw Refusal(.unprocessableContent, code: "bad-seats", chinese: "座位安排须为每位评审成员指定一台不同的终端。",
                                  english: "seats must give every member (\(members.joined(separator: ","))) a different station of this room")
                }
                plan = SeatPlan(seats: seats, method: "assigned", seed: nil, by: who(context))
            }
            guard try await store.assignSeats(session: id, plan: plan, actor: who(context)) else {
                throw Refusal(.conflict, code: "seats-fixed", chinese: "已有专家签到，座位不能再调整。",
                              english: "an expert has checked in to session \(id); the seats are fixed")
            }
            registry.updates.publish(session: id, sequence: live.session.events.count, phase: live.session.state.phase.rawValue)
            return try Response.json(plan)
        }
        routes.get("/v1/sessions/:session/seats", roles: [.operator, .supervisor, .station], purpose: "the session's seat plan") { _, context in
            let id = try context.parameters.require("session")
            guard let plan = try await store.seatPlan(session: id) else {
                throw Refusal(.notFound, code: "no-seat-plan", chinese: "本场未分配座位，专家可在任一终端签到。", english: "no seat plan for \(id)")
            }
            return try Response.json(plan)
        }
    }
}
