import Delivery
import Foundation
import Identity

/// Paths, child processes and waiting helpers for the S3 tests: moto_server
/// (from the pinned venv), the s3front.py proxy, boto3 via s3tool.py.
enum S3Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// ROOMD_TEST_PYTHON, else the repository's venv (scripts set it up: .build-python).
    static var python: String {
        if let python = ProcessInfo.processInfo.environment["ROOMD_TEST_PYTHON"], !python.isEmpty { return python }
        return repository.appendingPathComponent(".build-python/venv/bin/python3").path
    }

    static func script(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("roomd-s3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A port nothing listens on right now (bound to 0 and released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw FixtureError("cannot bind a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func portAccepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Polls `condition` every 50 ms until it holds; throws after `timeout`.
    static func waitUntil(_ what: String, timeout: Duration = .seconds(90), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw FixtureError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func fileContains(_ path: String, _ text: String) -> Bool {
        (try? String(contentsOfFile: path, encoding: .utf8))?.contains(text) ?? false
    }

    /// Runs `python script args` to its end; stdout as JSON.
    static func python(_ script: String, _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) async throws -> Any {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ChildProcess(python, [Self.script(script)] + arguments, environment: environment, directory: directory, stdin: stdin)
        let status = await child.exit()
        let out = try Data(contentsOf: directory.appendingPathComponent("stdout"))
        guard status == 0 else {
            let err = (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
            throw FixtureError("\(script) \(arguments.joined(separator: " ")) exited \(status): \(err.suffix(2000))")
        }
        return try JSONSerialization.jsonObject(with: out)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process with stdout and stderr in files of `directory`.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let exited: AsyncStream<Int32>
    private let continuation: AsyncStream<Int32>.Continuation

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: URL, stdin: Data? = nil) throws {
        (exited, continuation) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = directory.appendingPathComponent("stdout"), err = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let stdin {
            let input = directory.appendingPathComponent("stdin")
            try stdin.write(to: input)
            process.standardInput = try FileHandle(forReadingFrom: input)
        }
        let continuation = self.continuation
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try process.run()
    }

    func exit() async -> Int32 {
        for await status in exited { return status }
        return process.terminationStatus
    }

    /// SIGKILL, as a crash would end it, and waits for it.
    func kill() async {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        _ = await exit()
    }
}

/// moto_server with Signature V4 checks after the setup calls, an IAM user's
/// key, and a bucket with Object Lock enabled.
final class MotoServer: Sendable {
    let port: Int
    let credentials: S3Credentials
    let bucket = "roomd-delivery"
    private let child: ChildProcess
    let directory: URL

    /// The 4 unauthenticated calls are s3tool.py setup's: create user, policy, access key, bucket.
    static func start() async throws -> MotoServer {
        let directory = try S3Fixtures.temporaryDirectory()
        let port = try S3Fixtures.freePort()
        let child = try ChildProcess(S3Fixtures.python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", "\(port)"],
                                     environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "4"], directory: directory)
        try await S3Fixtures.waitUntil("moto_server on port \(port)") { S3Fixtures.portAccepts(port) }
        let keys = try await S3Fixtures.python("s3tool.py", ["http://127.0.0.1:\(port)", "setup", "roomd-delivery"],
                                               environment: ["AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup"]) as? [String: String]
        guard let keys, let id = keys["access_key_id"], let secret = keys["secret_access_key"] else { throw FixtureError("setup printed no key") }
        return MotoServer(port: port, credentials: S3Credentials(accessKeyID: id, secretAccessKey: secret), child: child, directory: directory)
    }

    private init(port: Int, credentials: S3Credentials, child: ChildProcess, directory: URL) {
        self.port = port
        self.credentials = credentials
        self.child = child
        self.directory = directory
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// boto3 (s3tool.py) with the IAM user's key.
    func tool(_ arguments: [String]) async throws -> [String: Any] {
        let result = try await S3Fixtures.python("s3tool.py", [endpoint] + arguments,
                                                 environment: ["AWS_ACCESS_KEY_ID": credentials.accessKeyID,
                                                               "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey])
        guard let object = result as? [String: Any] else { throw FixtureError("s3tool printed no object") }
        return object
    }

    func stop() async {
        await child.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// s3front.py in front of moto: logs requests, checks part checksums, can hang mid-part to be killed.
final class S3Front: Sendable {
    let port: Int
    let log: String
    private let child: ChildProcess

    static func start(upstream: Int, port: Int = 0, log: String, options: [String] = []) async throws -> S3Front {
        let directory = try S3Fixtures.temporaryDirectory()
        let portFile = directory.appendingPathComponent("port").path
        let child = try ChildProcess(S3Fixtures.python, [S3Fixtures.script("s3front.py"), "--upstream", "\(upstream)", "--port", "\(port)",
                                                         "--port-file", portFile, "--log", log] + options, directory: directory)
        try await S3Fixtures.waitUntil("s3front's port file") { FileManager.default.fileExists(atPath: portFile) }
        guard let text = try? String(contentsOfFile: portFile, encoding: .utf8), let bound = Int(text) else { throw FixtureError("bad port file") }
        return S3Front(port: bound, log: log, child: child)
    }

    private init(port: Int, log: String, child: ChildProcess) {
        self.port = port
        self.log = log
        self.child = child
    }

    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    func kill() async { await child.kill() }

    /// Log lines so far.
    func lines() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// UploadPart requests seen per part number.
    func partRequests() -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for line in lines() where line.hasPrefix("PUT ") {
            guard let range = line.range(of: "partNumber=") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let number = Int(digits) { counts[number, default: 0] += 1 }
        }
        return counts
    }
}

/// Deterministic bytes and an UploadSource over them (optionally lying about some bytes).
struct TestPackage: Sendable {
    let bytes: [UInt8]
    let sha256: String

    init(size: Int, seed: UInt64 = 42) {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: size)
        for index in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        self.bytes = bytes
        sha256 = Digest.sha256Hex(bytes)
    }

    /// The source; `flipAt` makes reads return one byte different from what `sha256` covers.
    func source(flipAt: Int? = nil) -> UploadSource {
        let bytes = bytes
        return UploadSource(size: Int64(bytes.count), sha256: sha256) { offset, count in
            var slice = Array(bytes[Int(offset)..<Int(offset) + count])
            if let flipAt, flipAt >= Int(offset), flipAt < Int(offset) + count { slice[flipAt - Int(offset)] ^= 0xFF }
            return slice
        }
    }
}

/// Every state the uploader persisted, in order.
final class PersistedStates: @unchecked Sendable {
    private let lock = NSLock()
    private var states: [UploadState] = []

    var last: UploadState? { lock.withLock { states.last } }
    var all: [UploadState] { lock.withLock { states } }

    var persist: @Sendable (UploadState) async throws -> Void {
        { state in self.lock.withLock { self.states.append(state) } }
    }
}
