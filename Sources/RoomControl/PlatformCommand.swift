import ArgumentParser
import Foundation
import Identity
import Logging
import NIOPosix

/// `roomctl platform …`: a stand-in for the central platform, for the demo
/// and the tests (docs/formats.md, "Platform simulator"). It receives
/// packages the way a real platform would (mutual TLS, resumable upload,
/// verification), pushes signed session definitions and pulls packages.
struct PlatformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform",
        abstract: "A central-platform simulator: receive uploads, push definitions, pull packages.",
        subcommands: [Serve.self, PushDefinition.self, Pull.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive packages (resumable HTTPS upload) and ledger checkpoints from rooms, over mutual TLS.",
            discussion: """
                Completed packages are verified and kept in DIR/packages/<room>/<session>.tar with a JSON receipt; \
                refused ones in DIR/refused/. Point a room's platform.endpoint at https://HOST:PORT<base-path>. \
                DIR/serve.json is written once the server listens.
                """)

        @Option(help: "Address to listen on, HOST:PORT.")
        var listen: String

        @Option(help: "The simulator's TLS server certificate (PEM).")
        var cert: String

        @Option(help: "Its private key (PEM).")
        var key: String

        @Option(help: "A room CA whose certificates may connect (repeat for several rooms).")
        var roomCa: [String]

        @Option(help: "Where uploads, packages, checkpoints and requests.log are kept.")
        var dir: String

        @Option(help: "The path the protocol's base URL has.")
        var basePath = "/roomd/v1"

        @Option(help: "The TSA's CA certificate: packages' RFC 3161 timestamps are checked against it (repeatable).")
        var tsaCa: [String] = []

        func validate() throws {
            guard !roomCa.isEmpty else { throw ValidationError("--room-ca is required (the CA of the rooms that may deliver)") }
            guard Self.split(listen) != nil else { throw ValidationError("--listen must be HOST:PORT") }
        }

        static func split(_ address: String) -> (String, Int)? {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                  (0...65535).contains(port) else { return nil }
            return (String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
        }

        func run() async throws {
            guard let (host, port) = Self.split(listen) else { throw ValidationError("--listen must be HOST:PORT") }
            var trimmed = basePath.hasPrefix("/") ? basePath : "/" + basePath
            while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
            let base = trimmed
            let store = try PlatformReceiverStore(dir: dir, publicBase: "https://\(listen)\(base)",
                                                 trust: try PackageTrust(anchorFiles: roomCa, tsaFiles: tsaCa))
            let pool = NIOThreadPool(numberOfThreads: 2)
            pool.start()
            var logger = Logger(label: "roomctl.platform")
            logger.logLevel = .info
            let dir = self.dir, listen = self.listen
            try await PlatformServer(store: store, pool: pool, logger: logger).run(
                host: host, port: port, basePath: base, certificate: cert, key: key, roomCAs: roomCa
            ) { address in
                pool.submit { _ in
                    let ready: [String: Any] = ["pid": Int(getpid()), "address": address, "listen": listen,
                                                "base": "https://\(listen)\(base)"]
                    if let data = try? JSONSerialization.data(withJSONObject: ready, options: [.sortedKeys]) {
                        try? PlatformReceiverStore.writeAtomically(Array(data) + [0x0a], to: dir + "/serve.json")
                    }
                    FileHandle.standardOutput.write(Data("platform simulator listening on https://\(listen)\(base) (mutual TLS) / 平台模拟器已启动\n".utf8))
                }
            }
            try await pool.shutdownGracefully()
        }
    }

    struct PushDefinition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push-definition",
            abstract: "Sign a session definition (detached CMS) and push it to roomd as the platform.")

        @OptionGroup var room: PlatformRoomOptions

        @Option(help: "The session id.")
        var session: String

        @Option(help: "The definition file; its exact bytes are signed and sent.")
        var definition: String

        @Option(help: "The platform signing certificate (PEM), e.g. PKI/platform/signer.crt.")
        var signerCert: String

        @Option(help: "Its private key (PEM).")
        var signerKey: String

        @Option(help: "The lot (包) this room evaluates.")
        var lot: String?

        @Flag(help: "Print roomd's answer as JSON.")
        var json = false

        func run() async throws {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: definition)))
            let certificate = try Certificate.all(pemOrDER: Array(try Data(contentsOf: URL(fileURLWithPath: signerCert))))[0]
            let key = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: signerKey))))
            let algorithm: SignatureAlgorithm
            switch certificate.publicKeyAlgorithm {
            case .ecP256: algorithm = .ecdsaP256SHA256
            case .rsa: algorithm = .rsaPKCS1SHA256
            case .sm2: algorithm = .sm2SM3
            case .other(let name): throw ValidationError("the signer's key is \(name); RSA, ECDSA P-256 and SM2 can sign")
            }
            let signature = try ExpertSigner.signCMS(content: bytes, key: key, certificate: certificate, algorithm: algorithm)
            var body: [String: String] = ["definition": Data(bytes).base64EncodedString(),
                                          "signature": Data(signature).base64EncodedString()]
            if let lot { body["lot"] = lot }
            guard PlatformNames.isSafe(session) else { throw ValidationError("--session must be letters, digits, - _ .") }
            let request = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
            let client = try PlatformRoomClient(room)
            let status: Int, answer: [UInt8]
            do {
                (status, answer) = try await client.exchange(.POST, "/v1/sessions/\(session)/definition", json: request)
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
            if json {
                FileHandle.standardOutput.write(Data(answer))
            }
            guard (200..<300).contains(status) else {
                FileHandle.standardError.write(Data("roomd refused the definition: \(PlatformRoomClient.explain(status, answer))\n".utf8))
                throw ExitCode(1)
            }
            if !json {
                print("definition of \(session) pushed (\(bytes.count) bytes, \(algorithm.rawValue) CMS signature): HTTP \(status)"
                      + (status == 200 ? " (unchanged)" : ""))
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch sealed packages from roomd, verify them and acknowledge them.",
            discussion: """
                Packages go to DIR/pulled/<session>.tar (DIR/pulled/<session>.tar.partial while downloading; \
                a cut download resumes with Range). A package is acknowledged with the SHA-256 of what arrived, \
                only if it matches roomd's listing and verifies. The cursor is kept in DIR/cursor.
                """)

        @OptionGroup var room: PlatformRoomOptions

        @Option(help: "Where pulled packages and the cursor are kept.")
        var dir: String

        @Option(help: "List packages after this cursor (default: DIR/cursor, else 0).")
        var since: Int?

        @Flag(help: "One pass, then exit (else poll every --interval seconds).")
        var once = false

        @Option(help: "Seconds between passes without --once.")
        var interval = 10

        @Flag(help: "Print the summary as JSON.")
        var json = false

        @Option(help: "The TSA's CA certificate: packages' RFC 3161 timestamps are checked against it (repeatable).")
        var tsaCa: [String] = []

        func run() async throws {
            let client = try PlatformRoomClient(room)
            let puller = PlatformPuller(client: client, dir: dir, trust: try PackageTrust(anchorFiles: [room.ca], tsaFiles: tsaCa), quiet: false)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var cursor = since ?? puller.savedCursor() ?? 0
            var failures = 0
            while true {
                do {
                    let (outcomes, next) = try await puller.pass(since: cursor)
                    cursor = next
                    failures = outcomes.filter { $0.result == "failed" || $0.result == "refused" }.count
                    report(outcomes, cursor: cursor)
                } catch {
                    FileHandle.standardError.write(Data("pull failed: \(error)\n".utf8))
                    failures += 1
                    if once {
                        await client.shutdown()
                        throw ExitCode(2)
                    }
                }
                if once { break }
                try await Task.sleep(for: .seconds(max(1, interval)))
            }
            await client.shutdown()
            if failures > 0 { throw ExitCode(1) }
        }

        private func report(_ outcomes: [PlatformPuller.Outcome], cursor: Int) {
            if json {
                struct Summary: Encodable {
                    var packages: [PlatformPuller.Outcome]
                    var cursor: Int
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                if let data = try? encoder.encode(Summary(packages: outcomes, cursor: cursor)) {
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                }
                return
            }
            let counts = Dictionary(grouping: outcomes, by: \.result).mapValues(\.count)
            print("pulled: \(counts["acknowledged"] ?? 0) acknowledged, \(counts["refused"] ?? 0) refused, "
                  + "\(counts["failed"] ?? 0) failed, \(counts["already-acknowledged"] ?? 0) already acknowledged; cursor \(cursor)")
        }
    }
}
