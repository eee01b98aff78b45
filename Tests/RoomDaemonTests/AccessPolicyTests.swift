import Identity
import RoomConfig
import Foundation
import NIOHTTP1
import Testing

@testable import RoomDaemon

struct AccessPolicyTests {
    /// The access policy is what the registrations declared (`GET /v1/routes`
    /// on the admin socket). Every declared route is called with every role's
    /// certificate against the running roomd: the roles it declared get past
    /// the gate, every other role gets 403 `role-not-permitted`; a path nobody
    /// declared is 404 `no-such-route`.
    @Test func everyDeclaredRouteAdmitsExactlyItsRoles() async throws {
        let room = try DemoRoom(extraYAML: "identity: { expert_trust_dir: trust }\n")
        try FileManager.default.createDirectory(atPath: room.dir.path + "/trust/anchors", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: room.pki + "/room-ca.crt", toPath: room.dir.path + "/trust/anchors/ca.crt")
        let daemon = try room.start()
        defer { _ = daemon.terminate() }
        let routes = try room.declaredRoutes()
        #expect(routes.count >= 20, "\(routes)")
        #expect(routes.contains { $0.method == "GET" && $0.path == "/v1/ledger/entries" && $0.roles == ["platform", "supervisor"] })
        #expect(routes.contains { $0.method == "GET" && $0.path == "/healthz" && Set($0.roles) == Set(Role.allCases.map(\.rawValue)) })
        #expect(Set(routes.map { "\($0.method) \($0.path)" }).count == routes.count, "a route declared twice")
        var clients: [Role: APIClient] = [:]
        for role in Role.allCases { clients[role] = try APIClient(room, as: role == .station ? "S01" : role.rawValue) }
        for route in routes {
            let path = "/" + route.path.split(separator: "/").map { $0.hasPrefix(":") ? "ZC-1" : String($0) }.joined(separator: "/")
            for role in Role.allCases {
                let answer = try await clients[role]!.send(HTTPMethod(rawValue: route.method), path,
                                                            body: route.method == "GET" ? nil : Array("{}".utf8))
                let code = answer.json?["error"] as? String
                if route.roles.contains(role.rawValue) {
                    #expect(code != "role-not-permitted" && code != "no-such-route", "\(role) on \(route.method) \(path): \(answer.text.prefix(200))")
                } else {
                    #expect(answer.status == 403 && code == "role-not-permitted", "\(role) on \(route.method) \(path): \(answer.text.prefix(200))")
                }
            }
        }
        let unknown = try await clients[.operator]!.send(.GET, "/v1/no/such/route")
        #expect(unknown.status == 404 && unknown.json?["error"] as? String == "no-such-route")
        for client in clients.values { await client.shutdown() }
    }

    @Test func certificateMapsToExactlyOneRole() throws {
        let ca = try PrivateKey.generateP256()
        let caCert = try CertificateIssuer.issue(CertificateRequest(subject: [("CN", "CA")], validity: 86_400, isCA: true), publicKeyOf: ca)
        func leaf(_ uris: [String]) throws -> Certificate {
            try CertificateIssuer.issue(CertificateRequest(subject: [("CN", "leaf")], validity: 86_400, uris: uris, clientAuth: true),
                                        publicKeyOf: try PrivateKey.generateP256(), issuer: (caCert, ca))
        }
        let mapper = RoleMapper(rules: [
            .init(role: .station, match: .sanURIPrefix("urn:roomd:station:")),
            .init(role: .operator, match: .sanURI("urn:roomd:role:operator")),
        ], stationIDs: ["S01"], issuers: [:])

        let station = try mapper.identify(leaf(["urn:roomd:station:S01"])).get()
        #expect(station.role == .station && station.stationID == "S01")
        #expect(try mapper.identify(leaf(["urn:roomd:role:operator"])).get().role == .operator)

        guard case .failure(.unknownStation(_, "S09")) = mapper.identify(try leaf(["urn:roomd:station:S09"])) else {
            Issue.record("a station this room does not have must be refused"); return
        }
        guard case .failure(.ambiguous) = mapper.identify(try leaf(["urn:roomd:station:S01", "urn:roomd:role:operator"])) else {
            Issue.record("a certificate matching two roles must be refused"); return
        }
        guard case .failure(.noRule) = mapper.identify(try leaf(["urn:example:other"])) else {
            Issue.record("an unmapped certificate must be refused"); return
        }

        let byIssuer = RoleMapper(rules: [.init(role: .supervisor, match: .issuerCA(path: "/ca.pem"))], stationIDs: [],
                                  issuers: ["/ca.pem": caCert])
        #expect(try byIssuer.identify(leaf([])).get().role == .supervisor)
    }
}
