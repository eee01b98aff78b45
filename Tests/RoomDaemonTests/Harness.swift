import Foundation
import Glibc
import Testing

/// Runs the real binaries the package built, next to the test bundle.
enum Binaries {
    static let directory: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent()
    }()

    static var roomd: String { directory.appendingPathComponent("roomd").path }
    static var roomctl: String { directory.appendingPathComponent("roomctl").path }
    /// The capture helper roomd runs (it looks beside its own executable).
    static var roomdCapture: String { directory.appendingPathComponent("roomd-capture").path }
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion, capturing its output.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
         timeout: TimeInterval = 60) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read before waiting so a full pipe cannot deadlock the child.
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    let stderrData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus,
                         stdout: String(decoding: stdoutData, as: UTF8.self),
                         stderr: String(decoding: stderrData, as: UTF8.self))
}

/// A temporary folder removed when the test is done.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "roomd-test") throws {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// The receiving end of sd_notify: a datagram socket the test binds and
/// hands to roomd as NOTIFY_SOCKET.
final class NotifyListener {
    let path: String
    private let fd: Int32
    private(set) var received: [String] = []

    init(directory: String, name: String = "notify.sock") throws {
        path = directory + "/" + name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, rc == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    deinit { close(fd) }

    /// Every message that has arrived and not been drained yet, without waiting.
    func drain() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard n > 0 else { break }
            received.append(String(decoding: buffer[0..<n], as: UTF8.self))
        }
        defer { received.removeAll() }
        return received
    }

    /// Waits until a message containing `field` (e.g. "READY=1") arrives.
    func wait(for field: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if received.contains(where: { $0.split(separator: "\n").contains(Substring(field)) }) { return true }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, ms) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { received.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
        return received.contains(where: { $0.split(separator: "\n").contains(Substring(field)) })
    }
}

/// A free TCP port on 127.0.0.1 (bound, read back, released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
            _ = bind(fd, sa, length)
            return getsockname(fd, sa, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A demo room in a temporary folder: PKI from `roomctl pki init`, and a
/// config like config/demo.yaml pointing at it.
final class DemoRoom {
    let dir: TemporaryDirectory
    let port: Int
    let configPath: String
    var pki: String { dir.path + "/pki" }

    /// `storageYAML`: further keys of the `storage` section, e.g. "capture_isolation: shared".
    /// `quietStations`: further stations (S03…S08) with no camera or microphone.
    init(extraYAML: String = "", storageYAML: String = "", quietStations: [String] = []) throws {
        dir = try TemporaryDirectory()
        port = freePort()
        let made = try run(Binaries.roomctl, ["pki", "init", "--dir", dir.path + "/pki", "--room-id", "TEST-ROOM"])
        guard made.status == 0 else { throw TestFailure("roomctl pki init failed: \(made.stderr)") }
        configPath = try dir.write("roomd.yaml", Self.config(port: port, storage: storageYAML, quietStations: quietStations) + extraYAML)
    }

    static func config(port: Int, storage: String = "", quietStations: [String] = []) -> String {
        """
        room: { id: TEST-ROOM, name: 测试评标室, agency: 测试代理机构, kind: evaluation }
        stations:
          - { id: S01, host: 127.0.0.1, camera: synthetic, format: { width: 320, height: 240, fps: 15 }, microphone: synthetic }
          - { id: S02, host: 127.0.0.1, camera: synthetic, format: { width: 320, height: 240, fps: 15 }, microphone: synthetic }\(quietStations.map { "\n  - { id: \($0), host: 127.0.0.1 }" }.joined())
        storage:
          state_dir: state
          \(storage)
        api:
          listen: 127.0.0.1:\(port)
        \(tlsYAML)
        """
    }

    /// The `tls` section for a PKI made by `roomctl pki init --dir pki`, every role mapped.
    static let tlsYAML = """
        tls:
          certificate: pki/server.crt
          key: pki/server.key
          client_ca: [pki/room-ca.crt]
          roles:
            - { role: station, san_uri_prefix: "urn:roomd:station:" }
            - { role: operator, san_uri: "urn:roomd:role:operator" }
            - { role: supervisor, san_uri: "urn:roomd:role:supervisor" }
            - { role: platform, san_uri: "urn:roomd:role:platform" }

        """

    struct DeclaredRoute: Decodable {
        var method: String
        var path: String
        var roles: [String]
        var purpose: String
    }

    /// The HTTPS API's routes and roles, as the running roomd declared them (admin socket).
    func declaredRoutes() throws -> [DeclaredRoute] {
        let result = try run("/usr/bin/curl", ["-s", "--unix-socket", dir.path + "/state/admin.sock", "http://roomd/v1/routes"])
        return try JSONDecoder().decode([DeclaredRoute].self, from: Data(result.stdout.utf8))
    }

    /// `roomctl status --json` of this room's running roomd, decoded.
    func status() throws -> [String: Any] {
        let result = try run(Binaries.roomctl, ["status", "--json", "--config", configPath])
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
    }

    /// curl as an independent TLS client. Returns (curl exit status, HTTP code, body).
    func curl(_ path: String, as client: String?, method: String = "GET", body: String? = nil,
              headers: [String] = []) throws -> (Int32, Int, String) {
        var args = ["-s", "-S", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", "--cacert", pki + "/room-ca.crt",
                    "-X", method] + headers.flatMap { ["-H", $0] }
        if let client { args += ["--cert", pki + "/clients/\(client).crt", "--key", pki + "/clients/\(client).key"] }
        if let body { args += ["-H", "Content-Type: application/json", "--data", body] }
        args.append("https://127.0.0.1:\(port)\(path)")
        let result = try run("/usr/bin/curl", args)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.last ?? "") ?? 0
        return (result.status, code, lines.dropLast().joined(separator: "\n"))
    }
}

extension DemoRoom {
    /// Starts roomd on this room (log and notify socket in `log`) and returns once it is ready.
    func startDaemon(log: String) throws -> RunningDaemon {
        try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: true)
        let notify = try NotifyListener(directory: log)
        let daemon = try RunningDaemon(config: configPath, notifySocket: notify.path, logDirectory: log)
        daemon.keep(notify)
        guard notify.wait(for: "READY=1", timeout: 60) else { throw TestFailure("no READY=1; log:\n\(daemon.log)") }
        return daemon
    }
}

/// Polls `condition` every 100 ms until it holds; on timeout, fails with the tail of the daemon's log.
func waitFor(_ what: String, _ daemon: RunningDaemon, timeout: TimeInterval = 60, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(100_000)
    }
    throw TestFailure("timed out waiting for \(what); log:\n\(daemon.log.suffix(4000))")
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// roomd running in the background with output collected to a file.
final class RunningDaemon {
    let process = Process()
    let logPath: String
    /// Things that must live as long as the daemon (its notify listener).
    private var kept: [AnyObject] = []

    func keep(_ object: AnyObject) { kept.append(object) }

    init(config: String, notifySocket: String?, logDirectory: String, environment extra: [String: String] = [:]) throws {
        logPath = logDirectory + "/roomd.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        process.executableURL = URL(fileURLWithPath: Binaries.roomd)
        process.arguments = ["--config", config]
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "JOURNAL_STREAM")
        environment.merge(extra) { _, new in new }
        if let notifySocket {
            environment["NOTIFY_SOCKET"] = notifySocket
            environment["WATCHDOG_USEC"] = "1000000"
        }
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func terminate(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32? {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}
