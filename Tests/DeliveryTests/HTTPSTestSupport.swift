import Archive
import Delivery
import Foundation
import Glibc
import Identity
import Testing

/// The built binaries beside the test bundle (.build/debug).
enum HTTPSBinaries {
    static let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    static var roomctl: String { directory.appendingPathComponent("roomctl").path }
}

struct HTTPSTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct HTTPSProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

@discardableResult
func httpsRun(_ executable: String, _ arguments: [String]) throws -> HTTPSProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return HTTPSProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                              stderr: String(decoding: stderr, as: UTF8.self))
}

/// A free TCP port on 127.0.0.1 (bound, read back, released).
func httpsFreePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
            _ = bind(fd, sa, length)
            return getsockname(fd, sa, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits for `condition`, polling; never a fixed sleep.
func httpsWait(_ timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A folder with a demo PKI (the room's) and a second, foreign one.
final class HTTPSWorkspace: @unchecked Sendable {
    let path: String
    var pki: String { path + "/pki" }
    var foreign: String { path + "/foreign" }

    init() throws {
        var template = Array("/tmp/roomd-https-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HTTPSTestFailure("mkdtemp") }
        path = String(cString: made)
        for (dir, room) in [(pki, "TEST-ROOM"), (foreign, "OTHER-ROOM")] {
            let made = try httpsRun(HTTPSBinaries.roomctl, ["pki", "init", "--dir", dir, "--room-id", room])
            guard made.status == 0 else { throw HTTPSTestFailure("roomctl pki init: \(made.stderr)") }
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A BagIt bag as a ustar tar (GNU tar: an implementation independent of
    /// roomd's): `payload` random bytes in data/payload.bin. Returns the tar's path.
    /// A real sealed package (Archive's `PackageSample`: payload, its own ledger,
    /// manifests, the CMS seal by the test room's seal certificate) as the
    /// room's deterministic tar. `valid: false` changes the payload after sealing.
    func makePackage(_ name: String, payload: Int, valid: Bool = true) throws -> String {
        let bag = "\(path)/bag-\(name)"
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<payload).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: pki + "/server.key"))))
        let certificate = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: pki + "/room-seal.crt"))))
        try PackageSample.make(folder: bag, room: "TEST-ROOM", session: name, payload: [("payload.bin", bytes)], key: key, certificate: certificate)
        if !valid {
            // The payload no longer matches its manifest.
            try Data(bytes.reversed()).write(to: URL(fileURLWithPath: bag + "/data/payload.bin"))
        }
        let tar = "\(path)/\(name).tar"
        let layout = try PackageTar(folder: bag, name: "TEST-ROOM_\(name)", mtime: 1_700_000_000)
        _ = FileManager.default.createFile(atPath: tar, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: tar))
        defer { try? out.close() }
        var offset: Int64 = 0
        while offset < layout.size {
            let chunk = try layout.read(offset: offset, count: 1 << 20)
            try out.write(contentsOf: chunk)
            offset += Int64(chunk.count)
        }
        return tar
    }

    /// `curl` as an independent client of the simulator. Returns (exit status, HTTP code, body).
    func curl(_ url: String, method: String, pki: String? = nil, headers: [String] = [], dataFile: String? = nil,
              json: String? = nil) throws -> (Int32, Int, String) {
        let identity = pki ?? self.pki
        var args = ["-s", "-S", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "--cacert", self.pki + "/room-ca.crt",
                    "--cert", identity + "/server.crt", "--key", identity + "/server.key", "-X", method]
        for header in headers { args += ["-H", header] }
        if let dataFile { args += ["--data-binary", "@" + dataFile] }
        if let json { args += ["-H", "Content-Type: application/json", "--data", json] }
        args.append(url)
        let result = try httpsRun("/usr/bin/curl", args)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (result.status, Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}

/// `roomctl platform serve` in the background.
final class PlatformSimulator: @unchecked Sendable {
    let workspace: HTTPSWorkspace
    let port: Int
    let dir: String
    private var process: Process?
    private let lock = NSLock()

    var base: String { "https://127.0.0.1:\(port)/roomd/v1" }
    var logPath: String { dir + "/serve.log" }

    init(workspace: HTTPSWorkspace, name: String = "platform") throws {
        self.workspace = workspace
        port = httpsFreePort()
        dir = workspace.path + "/" + name
        try start()
    }

    /// Starts (again) on the same port and folder; returns once it listens.
    func start() throws {
        unlink(dir + "/serve.json")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: HTTPSBinaries.roomctl)
        process.arguments = ["platform", "serve", "--listen", "127.0.0.1:\(port)", "--cert", workspace.pki + "/server.crt",
                             "--key", workspace.pki + "/server.key", "--room-ca", workspace.pki + "/room-ca.crt", "--dir", dir]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        lock.withLock { self.process = process }
        let pid = Int(process.processIdentifier)
        let ready = httpsWait(60) {
            guard let data = FileManager.default.contents(atPath: dir + "/serve.json"),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
            return object["pid"] as? Int == pid
        }
        guard ready, process.isRunning else {
            throw HTTPSTestFailure("the simulator did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
    }

    /// SIGKILL: no chance to tidy up.
    func kill9() {
        guard let process = lock.withLock({ self.process }) else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Parsed lines of requests.log.
    func requests() -> [[String: String]] {
        let text = (try? String(contentsOfFile: dir + "/requests.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String]
        }
    }

    /// How many PUTs of each part the simulator accepted.
    func acceptedPUTs() -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for line in requests() where line["op"] == "part" && line["status"] == "ok" {
            counts[Int(line["part"] ?? "") ?? 0, default: 0] += 1
        }
        return counts
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// An upload source over a file, read on a GCD thread (never the Swift
/// concurrency pool). `alter` may change what a read returns (the n-th read, 1-based).
func fileSource(_ path: String, alter: (@Sendable (_ read: Int, _ offset: Int64, _ bytes: [UInt8]) -> [UInt8])? = nil) throws -> UploadSource {
    let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    let sha = try SHA256Hasher.file(path)
    let reads = ReadCounter()
    return UploadSource(size: size, sha256: sha) { offset, count in
        let bytes: [UInt8] = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    guard let handle = FileHandle(forReadingAtPath: path) else { throw HTTPSTestFailure("open \(path)") }
                    defer { try? handle.close() }
                    try handle.seek(toOffset: UInt64(offset))
                    continuation.resume(returning: [UInt8](try handle.read(upToCount: count) ?? Data()))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        let n = reads.next()
        return alter?(n, offset, bytes) ?? bytes
    }
}

final class ReadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int { lock.withLock { count += 1; return count } }
}

/// The last state an uploader persisted, and every one before it.
actor HTTPSPersistedStates {
    private(set) var all: [UploadState] = []
    var last: UploadState? { all.last }
    func record(_ state: UploadState) { all.append(state) }
}
