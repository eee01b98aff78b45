import AsyncHTTPClient
import Foundation
import Glibc
import Identity
import NIOHTTP1
import Testing

@testable import RoomDaemon

/// Bad input from clients the room trusts (they hold certificates): no
/// request crashes roomd, every number is bounded where it enters, every
/// refusal has the documented body, and nothing malformed is stored.
@Suite(.serialized)
struct HostileInputTests {
    /// The integer query parameters roomd reads, and the routes that read them.
    static let numericParameters: [String: Set<String>] = [
        "/v1/ledger/entries": ["from", "to"],
        "/v1/ledger/proof/inclusion": ["entry", "size"],
        "/v1/ledger/proof/consistency": ["from", "to"],
        "/v1/events": ["limit"],
    ]
    static let extremes = ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "-1", "0", "1",
                           "99999999999999999999999999", "1e3", "0x10", "NaN", "", "%00", " 1", "1.5", "+1",
                           String(repeating: "9", count: 4000)]

    static func role(for route: DemoRoom.DeclaredRoute) -> String {
        if route.roles.contains("station") { return "S01" }
        return ["supervisor", "operator", "platform"].first { route.roles.contains($0) } ?? "operator"
    }

    static func concrete(_ path: String) -> String {
        "/" + path.split(separator: "/").map { $0.hasPrefix(":") ? "ZC-1" : String($0) }.joined(separator: "/")
    }

    @Test func theOverflowRequestIsRefusedAndRoomdKeepsRunning() async throws {
        let room = try DemoRoom()
        let daemon = try room.start()
        let supervisor = try APIClient(room, as: "supervisor")
        defer { _ = daemon.terminate() }
        let answer = try await supervisor.send(.GET, "/v1/ledger/entries?from=9223372036854775807")
        #expect(answer.status == 400 && answer.json?["error"] as? String == "bad-query", "\(answer.text)")
        #expect(answer.json?["message"] is String && answer.json?["detail"] is String)
        // Still there, still recording.
        #expect(try await supervisor.send(.GET, "/healthz").status == 200)
        #expect(daemon.process.isRunning)
        await supervisor.shutdown()
    }

    /// A property test, seeded: every route of the access table, each integer
    /// parameter roomd reads, extreme and random values. No answer is a 5xx,
    /// every refusal has the documented body, and a value a route reads but
    /// cannot take is a 400.
    @Test func everyRouteAnswersExtremeQueryValuesWithoutFalling() async throws {
        let room = try DemoRoom(extraYAML: "identity: { expert_trust_dir: trust }\n")
        try FileManager.default.createDirectory(atPath: room.dir.path + "/trust/anchors", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: room.pki + "/room-ca.crt", toPath: room.dir.path + "/trust/anchors/ca.crt")
        let daemon = try room.start()
        defer { _ = daemon.terminate() }
        var clients: [String: APIClient] = [:]
        for name in ["S01", "operator", "supervisor", "platform"] { clients[name] = try APIClient(room, as: name) }
        var random = SeededGenerator(seed: 20261204)
        var checked = 0
        for entry in try room.declaredRoutes() {
            let client = clients[Self.role(for: entry)]!
            let path = Self.concrete(entry.path)
            let reads = Self.numericParameters[entry.path] ?? []
            for name in ["from", "to", "size", "entry", "limit", "events"] {
                var values = Self.extremes
                for _ in 0..<4 { values.append(String(Int64.random(in: Int64.min...Int64.max, using: &random))) }
                for value in values {
                    let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
                    let answer = try await client.send(entry.method == "POST" ? .POST : .GET, "\(path)?\(name)=\(encoded)",
                                                       body: entry.method == "POST" ? Array("{}".utf8) : nil)
                    checked += 1
                    #expect(answer.status < 500, "\(entry.method) \(path)?\(name)=\(value.prefix(30)): \(answer.status) \(answer.text.prefix(200))")
                    if answer.status >= 400 {
                        #expect(answer.json?["error"] is String && answer.json?["message"] is String && answer.json?["detail"] is String,
                                "\(entry.method) \(path)?\(name)=\(value.prefix(30)): undocumented body \(answer.text.prefix(200))")
                    }
                    let acceptable = Int(value).map { (0...(1 << 53)).contains($0) && (name != "limit" || (1...1000).contains($0)) } ?? false
                    if reads.contains(name), !acceptable {
                        #expect(answer.status == 400, "\(path)?\(name)=\(value.prefix(30)) should be refused, was \(answer.status)")
                    }
                }
            }
        }
        #expect(checked > 1000)
        // The admin socket bounds its numbers the same way.
        let admin = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", room.dir.path + "/state/admin.sock",
                                              "http://roomd/v1/status?events=9223372036854775808"])
        #expect(admin.stdout == "400")
        #expect(try await clients["S01"]!.send(.GET, "/healthz").status == 200)
        #expect(daemon.process.isRunning)
        for client in clients.values { await client.shutdown() }
    }

    @Test func malformedOrOversizedBodiesAreRefusedWithTheDocumentedBodyAndNotStored() async throws {
        let room = try DemoRoom()
        let daemon = try room.start()
        defer { _ = daemon.terminate() }
        let station = try APIClient(room, as: "S02")
        #expect(try await station.send(.POST, "/v1/station/heartbeat", body: Array(#"{"agent":"ok"}"#.utf8)).status == 204)
        // JSON that Foundation's decoders would take, and roomd does not.
        for bad in [#"{"a":1,}"#, #"{"a":1}{"#, #"{"a":NaN}"#, #"{'a':1}"#, #"{"a":1 /* c */}"#, #"{"a":1,"a":2}"#, "[1,2,]", "\"x"] {
            let answer = try await station.send(.POST, "/v1/station/heartbeat", body: Array(bad.utf8))
            #expect(answer.status == 400 && answer.json?["error"] as? String == "bad-heartbeat", "\(bad): \(answer.text)")
        }
        let stored = try run("/usr/bin/env", ["python3", "-c",
                                              "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select last_report from stations where id='S02'\").fetchone()[0])",
                                              room.dir.path + "/state/roomd.sqlite"])
        #expect(stored.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"agent":"ok"}"#)
        // Over the limit: 413, with the body every refusal has.
        let large = try await station.send(.POST, "/v1/station/heartbeat", body: Array(repeating: UInt8(ascii: " "), count: 17 * 1024))
        #expect(large.status == 413 && large.json?["error"] as? String == "body-too-large", "\(large.text)")
        #expect(large.json?["message"] is String && large.json?["detail"] is String)
        let unknown = try await station.send(.GET, "/v1/nothing-here")
        #expect(unknown.status == 404 && unknown.json?["error"] as? String == "no-such-route")
        await station.shutdown()
    }
}

/// SplitMix64: the same sequence for the same seed on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension DemoRoom {
    /// roomd on this room, ready (READY=1), or a thrown failure with its log.
    func start(timeout: TimeInterval = 60) throws -> RunningDaemon {
        let notify = try NotifyListener(directory: dir.path)
        let daemon = try RunningDaemon(config: configPath, notifySocket: notify.path, logDirectory: dir.path)
        guard notify.wait(for: "READY=1", timeout: timeout) else { throw TestFailure("no READY=1; log:\n\(daemon.log)") }
        daemon.keep(notify)
        return daemon
    }
}
