import Archive
import ArgumentParser
import Foundation
import Identity
import RoomConfig

/// `roomctl package`: sealed session packages (docs/operations.md, "Sealed packages").
struct PackageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package", abstract: "Sealed session packages: seal, list, verify, retry delivery.",
        subcommands: [Seal.self, List.self, Verify.self, Retry.self, Sample.self])

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal a session now (sealing is automatic once a session ended and its recording margin passed).")
        @OptionGroup var socket: AdminSocketOptions
        @Argument(help: "The session id.") var session: String
        @Flag(help: "Seal even if the session has not ended or segments are still being written (they are left out).") var force = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let client = AdminClient(socketPath: try socket.resolve())
            let path = "/v1/packages/\(session.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? session)/seal" + (force ? "?force=1" : "")
            let answer = try await client.post(path, as: PackageSummary.self)
            if json {
                FileHandle.standardOutput.write(Data(try JSONEncoder().encode(answer)) + Data("\n".utf8))
            } else {
                print("sealed / 已封包: " + answer.line)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sealed packages with their check, delivery and acknowledgement.")
        @OptionGroup var socket: AdminSocketOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let client = AdminClient(socketPath: try socket.resolve())
            let listing = try await client.get("/v1/packages/all", as: PackageList.self)
            if json {
                FileHandle.standardOutput.write(Data(try JSONEncoder().encode(listing)) + Data("\n".utf8))
                return
            }
            if listing.packages.isEmpty { print("no sealed packages yet / 暂无封包") }
            for package in listing.packages { print(package.line) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retry deliveries that stopped on a permanent error (after fixing its cause).")
        @OptionGroup var socket: AdminSocketOptions
        @Option(help: "Only this session.") var session: String?

        func run() async throws {
            struct Answer: Decodable { var retried: Int }
            let client = AdminClient(socketPath: try socket.resolve())
            let path = "/v1/packages/retry" + (session.map { "?session=" + ($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0) } ?? "")
            print("\(try await client.post(path, as: Answer.self).retried) delivery(ies) will be retried now / 已安排重试")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a sealed package offline: bag, every hash, the seal and its chain, the timestamp, the ledger proofs; an opening's events, record and supplier signatures.",
            discussion: "PATH is the package folder or its tar. Exit 0 when everything holds, 1 when anything fails.")
        @Argument(help: "The package folder or .tar.") var path: String
        @Option(help: "CA certificate(s) the seal must chain to (the room CA; repeatable). Default: /etc/roomd/tls/room-ca.crt if present.")
        var ca: [String] = []
        @Option(help: "The TSA's CA certificate, to check the RFC 3161 timestamp (repeatable).") var tsaCa: [String] = []
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            var anchorsFiles = ca
            if anchorsFiles.isEmpty, FileManager.default.fileExists(atPath: "/etc/roomd/tls/room-ca.crt") { anchorsFiles = ["/etc/roomd/tls/room-ca.crt"] }
            let anchors = try anchorsFiles.flatMap { try Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: $0)))) }
            let tsa = try tsaCa.flatMap { try Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: $0)))) }
            var folder = path
            var scratch: String?
            defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("\(path) does not exist")
            }
            if !isDirectory.boolValue {
                let dir = NSTemporaryDirectory() + "roomctl-verify-\(getpid())"
                scratch = dir
                try Tar.extract(archive: path, into: dir)
                folder = dir
            }
            if !FileManager.default.fileExists(atPath: folder + "/" + Bag.declarationFile),
               let entries = try? FileManager.default.contentsOfDirectory(atPath: folder), entries.count == 1 {
                folder += "/" + entries[0]
            }
            let report = PackageVerifier.verify(folder: folder, options: .init(anchors: anchors, tsaAnchors: tsa))
            if json {
                FileHandle.standardOutput.write(Data(try JSONEncoder().encode(report)) + Data("\n".utf8))
            } else {
                for finding in report.findings { print(finding.description) }
                for note in report.notes { print("NOTE  \(note)") }
                print(report.passed ? "package verifies / 封包校验通过" : "PACKAGE DOES NOT VERIFY: \(report.failures.count) problem(s) / 封包校验未通过")
            }
            if !report.passed { throw ExitCode(1) }
        }
    }

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a small sealed sample package (a platform can try receiving and verifying before a room delivers).")
        @Option(help: "The folder to create.") var out: String
        @Option(help: "Seal key (PEM), e.g. PKI/server.key.") var key: String
        @Option(help: "Seal certificate (PEM), e.g. PKI/room-seal.crt.") var certificate: String
        @Option(help: "Room id.") var room = "SAMPLE-ROOM"
        @Option(help: "Session id.") var session = "SAMPLE"
        @Option(help: "Payload bytes.") var bytes = 1 << 20

        func run() throws {
            let privateKey = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: key))))
            let cert = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: certificate))))
            var generator = SystemRandomNumberGenerator()
            let payload = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try PackageSample.make(folder: out, room: room, session: session, payload: [("sample.bin", payload)], key: privateKey, certificate: cert)
            print("sample package sealed in \(out)")
        }
    }
}

extension PackageSummary {
    /// What `roomctl package list` prints for one package.
    var line: String {
        var text = "\(session)  \(state)  \(name).tar  \(size) bytes  sealed \(sealed_at)"
        if let sha256 { text += "\n    sha256 \(sha256)" }
        if let check_error { text += "\n    check failed: \(check_error)" }
        if let delivery {
            let percent = size > 0 ? Int(Double(delivery.bytes_confirmed) / Double(size) * 100) : 100
            text += "\n    push (\(delivery.target)): "
                + (delivery.delivered_at.map { "delivered \($0)" } ?? "\(percent)% confirmed, \(delivery.attempts) failed attempt(s)")
            if let error = delivery.last_error, delivery.delivered_at == nil { text += (delivery.permanent ? " — STOPPED: " : " — last error: ") + error }
        }
        if let acknowledged_at { text += "\n    acknowledged by the platform \(acknowledged_at)" }
        return text
    }
}
