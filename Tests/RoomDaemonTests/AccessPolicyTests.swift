import Identity
import RoomConfig
import Testing

@testable import RoomDaemon

struct AccessPolicyTests {
    @Test func everyRouteHasExactlyOnePolicyEntryAndViceVersa() {
        let routes = Set((APIRoutes.routes + CheckInService.routes).map { "\($0.0) \($0.1)" })
        let policy = AccessPolicy.table.map { "\($0.method) \($0.path)" }
        #expect(Set(policy) == routes)
        #expect(policy.count == Set(policy).count, "duplicate entries in the access table")
    }

    @Test func decisions() {
        #expect(AccessPolicy.decide(method: .get, path: "/healthz", role: .station) == .allow)
        #expect(AccessPolicy.decide(method: .get, path: "/v1/station/self", role: .supervisor) == .forbidden([.station]))
        #expect(AccessPolicy.decide(method: .post, path: "/healthz", role: .operator) == .notFound)
        #expect(AccessPolicy.decide(method: .get, path: "/healthz/extra", role: .operator) == .notFound)
        #expect(AccessPolicy.matches(pattern: "/v1/stations/:id", path: "/v1/stations/S01"))
        #expect(!AccessPolicy.matches(pattern: "/v1/stations/:id", path: "/v1/stations"))
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
