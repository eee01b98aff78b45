import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// Blocking work runs on a fixed pool: 500 concurrent proof requests do not
/// make roomd start a thread each, and /healthz keeps answering meanwhile.
@Suite(.serialized)
struct BlockingWorkTests {
    static func threads(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return Int(status.split(separator: "\n").first { $0.hasPrefix("Threads:") }?.split(separator: "\t").last ?? "") ?? -1
    }

    @Test func fiveHundredConcurrentProofRequestsKeepTheThreadCountBounded() async throws {
        // Room for 600 connections from one address, so the 500 reach roomd at once.
        let room = try DemoRoom(extraYAML: "")
        let text = try String(contentsOfFile: room.configPath, encoding: .utf8)
            .replacingOccurrences(of: "listen: 127.0.0.1:\(room.port)",
                                  with: "listen: 127.0.0.1:\(room.port)\n  max_connections: 1000\n  max_connections_per_address: 600")
        try text.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let daemon = try room.start()
        defer { _ = daemon.terminate() }
        let pid = daemon.process.processIdentifier

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(room.pki + "/room-ca.crt"))
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(room.pki + "/clients/supervisor.crt").map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: room.pki + "/clients/supervisor.key", format: .pem))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 500)
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let probe = try APIClient(room, as: "S01")
        let before = Self.threads(pid)

        let sampler = Task {
            var peak = 0, slowestHealth = 0.0, failures = 0
            while !Task.isCancelled {
                peak = max(peak, Self.threads(pid))
                let start = Date()
                let status = try? await probe.send(.GET, "/healthz").status
                // Cancelling the sampler cancels its request in flight: that is not roomd failing.
                if Task.isCancelled { break }
                if status == 200 {
                    slowestHealth = max(slowestHealth, Date().timeIntervalSince(start))
                } else {
                    failures += 1
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (peak, slowestHealth, failures)
        }
        let port = room.port
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<500 {
                group.addTask {
                    var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/ledger/proof/inclusion?entry=\(index % 2)")
                    request.method = .GET
                    let response = try await client.execute(request, timeout: .seconds(60))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    return Int(response.status.code)
                }
            }
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            return statuses
        }
        sampler.cancel()
        let (peak, slowestHealth, failures) = await sampler.value
        try await client.shutdown()
        await probe.shutdown()
        #expect(statuses.count == 500 && statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        // NIO's loops, the store's queues, the blocking pool's four: the same few threads, however many requests.
        #expect(peak - before <= 8, "threads \(before) → peak \(peak)")
        // Answered throughout; the bound is for "answering", not a speed (benchmarks measure that).
        #expect(failures == 0 && slowestHealth < 15, "/healthz: \(failures) failed, slowest \(slowestHealth) s")
        print("500 concurrent proofs: roomd threads \(before) → peak \(peak); slowest /healthz \(String(format: "%.3f", slowestHealth)) s")
    }
}
