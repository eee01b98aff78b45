import CaptureProtocol
import CProcess
import Foundation
import Glibc
public import Logging

/// roomd's side of `roomd-capture forkserver`: one process that has FFmpeg
/// and the capture code loaded, asked to fork a `record` helper per device.
/// Forked helpers share the server's relocated library pages copy-on-write
/// (an exec'd helper carries ~5 MB of its own), and are otherwise the same
/// helpers: same pipes, same protocol, same supervision.
///
/// The helpers are the server's children, not roomd's. roomd signals them
/// through pidfds, which name one process for good (a pid can be reused once
/// its process is reaped, and roomd does not reap these); the server reaps
/// them and reports each exit status. If the server itself dies, its helpers
/// carry on (init adopts them) and roomd still sees them end, through their
/// pidfds, though not with which status. The next launch starts a new server.
public final class ForkServer: HelperLauncher, @unchecked Sendable {
    /// A launch the server has not answered in this time means a hung server: it is killed.
    static let answerLimit: Double = 10

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One server process and roomd's end of its socket. The descriptor is
    /// closed when the last user lets go, never while one may still use it.
    final class Connection: @unchecked Sendable {
        let pid: pid_t
        let socket: Int32
        /// Guarded by the ForkServer's condition.
        var alive = true

        init(pid: pid_t, socket: Int32) {
            self.pid = pid
            self.socket = socket
        }

        deinit { close(socket) }
    }

    private struct Launched {
        var pid: pid_t
        var pidfd: Int32
    }

    private let helperPath: String
    private let logger: Logger
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var server: Connection?
    private var stopped = false
    private var nextRequest: Int64 = 1
    private var answers: [Int64: Result<Launched, Failure>] = [:]
    private var givenUp: Set<Int64> = []
    private var exits: [pid_t: Int32] = [:]
    private var forgotten: Set<pid_t> = []
    private var started = 0

    public init(helperPath: String, logger: Logger) {
        self.helperPath = helperPath
        self.logger = logger
    }

    /// The running server's pid, if one runs.
    public var serverPID: Int32? {
        condition.lock()
        defer { condition.unlock() }
        return server.map(\.pid)
    }

    /// How many servers have been started (1 unless one died).
    public var serversStarted: Int {
        condition.lock()
        defer { condition.unlock() }
        return started
    }

    public func launch() throws -> any LaunchedHelper {
        let connection = try running()
        condition.lock()
        let request = nextRequest
        nextRequest += 1
        condition.unlock()
        let payload = try JSONEncoder().encode(ForkServerRequest.launch(request: request))
        let toChild = try ChildProcess.pipe()
        let fromChild: (read: Int32, write: Int32)
        do { fromChild = try ChildProcess.pipe() } catch {
            close(toChild.read); close(toChild.write)
            throw error
        }
        let attached = [toChild.read, fromChild.write]
        let sent = payload.withUnsafeBytes { raw in
            roomd_send_with_fds(connection.socket, raw.baseAddress, raw.count, attached, 2)
        }
        let sendError = errno
        close(toChild.read)
        close(fromChild.write)
        func giveUp(_ failure: Failure) -> Failure {
            close(toChild.write)
            close(fromChild.read)
            return failure
        }
        guard sent >= 0 else {
            throw giveUp(Failure(description: "cannot reach the capture fork server: \(String(cString: strerror(sendError)))"))
        }

        condition.lock()
        let deadline = Date().addingTimeInterval(Self.answerLimit)
        while answers[request] == nil, connection.alive {
            if !condition.wait(until: deadline) { break }
        }
        let answer = answers.removeValue(forKey: request)
        let hung = answer == nil && connection.alive
        if answer == nil { givenUp.insert(request) }
        if hung {
            // Not reaped yet (its reader reaps only after the socket closed),
            // so the pid still names the server.
            Glibc.kill(connection.pid, SIGKILL)
        }
        condition.unlock()
        switch answer {
        case .success(let launched)?:
            return ForkedHelper(server: self, connection: connection, pid: launched.pid, pidfd: launched.pidfd,
                                input: toChild.write, output: fromChild.read)
        case .failure(let failure)?:
            throw giveUp(failure)
        case nil:
            if hung {
                logger.error("capture fork server did not answer; killed, a new one starts / 录像派生进程无响应，已重启",
                             metadata: ["pid": .string(String(connection.pid))])
                throw giveUp(Failure(description: "the capture fork server did not answer within \(Int(Self.answerLimit)) s"))
            }
            throw giveUp(Failure(description: "the capture fork server ended before answering"))
        }
    }

    /// Closes roomd's end: the server exits (helpers it forked carry on until
    /// their own pipes close). Call after every helper has been stopped.
    public func stop() {
        condition.lock()
        stopped = true
        let connection = server
        condition.unlock()
        guard let connection else { return }
        shutdown(connection.socket, Int32(SHUT_RDWR))
        condition.lock()
        let deadline = Date().addingTimeInterval(5)
        while connection.alive {
            if !condition.wait(until: deadline) {
                Glibc.kill(connection.pid, SIGKILL)
                break
            }
        }
        while connection.alive { condition.wait() }
        condition.unlock()
    }

    // MARK: Server process

    private func running() throws -> Connection {
        condition.lock()
        defer { condition.unlock() }
        if stopped { throw Failure(description: "recording is stopping") }
        if let server { return server }
        var pair: [Int32] = [-1, -1]
        guard roomd_socketpair_seqpacket(&pair) == 0 else {
            throw Failure(description: "socketpair: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(helperPath, arguments: ["roomd-capture", "forkserver"], standardInput: pair[1])
        } catch {
            close(pair[0]); close(pair[1])
            throw error
        }
        close(pair[1])
        let connection = Connection(pid: pid, socket: pair[0])
        server = connection
        started += 1
        let reader = Thread { [self] in
            nameCurrentThread("roomd-forksrv")
            read(connection)
        }
        reader.name = "roomd-forksrv"
        reader.start()
        logger.info("capture fork server started", metadata: ["pid": .string(String(pid))])
        return connection
    }

    /// Delivers the server's answers and exit reports until its socket
    /// closes, then reaps it.
    private func read(_ connection: Connection) {
        let decoder = JSONDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var passed: [Int32] = [-1]
            var count: Int32 = 0
            let n = roomd_recv_with_fds(connection.socket, &buffer, buffer.count, &passed, 1, &count)
            if n <= 0 { break }
            let pidfd = count > 0 ? passed[0] : -1
            guard let message = try? decoder.decode(ForkServerMessage.self, from: Data(buffer[..<n])) else {
                if pidfd >= 0 { close(pidfd) }
                logger.error("unreadable message from the capture fork server", metadata: ["pid": .string(String(connection.pid))])
                continue
            }
            condition.lock()
            switch message {
            case .launched(let request, let pid):
                if givenUp.remove(request) != nil {
                    // Its launcher stopped waiting: the helper finds its pipes
                    // closed and exits; nobody waits for its status.
                    if pidfd >= 0 { close(pidfd) }
                    forgotten.insert(pid)
                } else {
                    answers[request] = .success(Launched(pid: pid, pidfd: pidfd))
                }
            case .failed(let request, let error):
                if pidfd >= 0 { close(pidfd) }
                if givenUp.remove(request) == nil { answers[request] = .failure(Failure(description: "capture fork server: \(error)")) }
            case .exited(let pid, let status):
                if pidfd >= 0 { close(pidfd) }
                if forgotten.remove(pid) == nil { exits[pid] = status }
            }
            condition.broadcast()
            condition.unlock()
        }
        // Reaped before it is marked gone: while `alive`, its pid is safe to signal.
        let exit = ChildProcess.wait(connection.pid)
        condition.lock()
        connection.alive = false
        if server === connection { server = nil }
        let expected = stopped
        condition.broadcast()
        condition.unlock()
        if !expected {
            logger.error("capture fork server ended; its helpers carry on, the next launch starts a new one / 录像派生进程意外退出",
                         metadata: ["pid": .string(String(connection.pid)), "exit": .string(exit.description)])
        }
    }

    // MARK: Helpers' ends

    /// A helper that has ended but whose exit the server has not reported
    /// in this time means a hung server: it is killed (init then reaps).
    static let reportLimit: Int64 = 5_000_000_000

    fileprivate func waitForExit(pid: pid_t, pidfd: Int32, connection: Connection, seconds: Double) -> ChildProcess.Exit? {
        condition.lock()
        defer { condition.unlock() }
        var endedAt: Int64?
        let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
        while true {
            if let status = exits.removeValue(forKey: pid) { return ChildProcess.Exit(waitStatus: status) }
            // Its server is gone (an exit report, had there been one, came
            // before the socket closed): init reaps the helper now.
            if !connection.alive, pidfd < 0 { return .unknown }
            var polled = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            if pidfd >= 0, poll(&polled, 1, 0) > 0 {
                if !connection.alive { return .unknown }
                let now = MonotonicClock.now()
                if let endedAt, now - endedAt > Self.reportLimit {
                    logger.error("capture fork server did not reap an ended helper; killed, a new one starts / 录像派生进程无响应，已重启",
                                 metadata: ["pid": .string(String(connection.pid)), "helper": .string(String(pid))])
                    // Alive, so not reaped: the pid still names the server.
                    Glibc.kill(connection.pid, SIGKILL)
                    return .unknown
                }
                endedAt = endedAt ?? now
            }
            if MonotonicClock.now() >= deadline, endedAt == nil { return nil }
            _ = condition.wait(until: Date().addingTimeInterval(0.2))
        }
    }

    fileprivate func forget(pid: pid_t) {
        condition.lock()
        if exits.removeValue(forKey: pid) == nil { forgotten.insert(pid) }
        condition.unlock()
    }
}

/// A helper the fork server forked.
final class ForkedHelper: LaunchedHelper, @unchecked Sendable {
    let pid: pid_t
    let input: Int32
    let output: Int32
    private let pidfd: Int32
    private let server: ForkServer
    private let connection: ForkServer.Connection

    init(server: ForkServer, connection: ForkServer.Connection, pid: pid_t, pidfd: Int32, input: Int32, output: Int32) {
        self.server = server
        self.connection = connection
        self.pid = pid
        self.pidfd = pidfd
        self.input = input
        self.output = output
    }

    deinit {
        if pidfd >= 0 { close(pidfd) }
    }

    func kill() {
        if pidfd >= 0 {
            _ = roomd_pidfd_send_signal(pidfd, SIGKILL)
        } else {
            // No pidfd (kernel or seccomp without pidfd_open): the pid, which
            // the server has not reaped unless its exit is already reported.
            Glibc.kill(pid, SIGKILL)
        }
    }

    func wait(seconds: Double) -> ChildProcess.Exit? {
        server.waitForExit(pid: pid, pidfd: pidfd, connection: connection, seconds: seconds)
    }

    func abandon() {
        server.forget(pid: pid)
    }
}
