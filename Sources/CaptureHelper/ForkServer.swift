import Capture
import CaptureProtocol
import CProcess
import Foundation
import Glibc

/// `roomd-capture forkserver`: loads FFmpeg and the capture code once, then
/// forks a recording helper whenever roomd asks (one per device). A forked
/// helper shares the server's relocated library pages and pre-built codec
/// tables copy-on-write, where an exec'd one would carry its own copy.
///
/// The server stays single-threaded — forking is only safe then — and does
/// nothing but fork and reap: it never touches a device or a segment. Its
/// socket to roomd is its stdin; when roomd closes it, the server exits (the
/// helpers it forked carry on until roomd's end of their own pipes closes).
enum ForkServerMain {
    /// Serves roomd. Returns only in a forked child, which then records.
    static func run() {
        // Descriptors roomd had open are none of ours; 0 is roomd's socket.
        closefrom(3)
        // roomd decides when helpers stop; a Ctrl-C in a terminal reaches the
        // whole process group, and the server must outlive its helpers' stop.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        // What every helper will set up anyway, set up once to be shared.
        CaptureWarmUp.run()
        let children = roomd_signalfd_sigchld()
        guard children >= 0 else { fail("signalfd: \(String(cString: strerror(errno)))") }
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)

        func send(_ message: ForkServerMessage, descriptor: Int32 = -1) {
            guard let data = try? encoder.encode(message) else { return }
            let fds = [descriptor]
            let sent = data.withUnsafeBytes { raw in
                roomd_send_with_fds(STDIN_FILENO, raw.baseAddress, raw.count, fds, descriptor >= 0 ? 1 : 0)
            }
            // roomd is gone: nothing left to serve.
            if sent < 0 { exit(0) }
        }

        func reap() {
            var status: Int32 = 0
            while true {
                let pid = waitpid(-1, &status, WNOHANG)
                if pid <= 0 { return }
                send(.exited(pid: pid, status: status))
            }
        }

        while true {
            var polled = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                          pollfd(fd: children, events: Int16(POLLIN), revents: 0)]
            if poll(&polled, 2, -1) < 0 {
                if errno == EINTR { continue }
                fail("poll: \(String(cString: strerror(errno)))")
            }
            if polled[1].revents != 0 {
                _ = roomd_drain_signalfd(children)
                reap()
            }
            guard polled[0].revents != 0 else { continue }
            var passed = [Int32](repeating: -1, count: 2)
            var count: Int32 = 0
            let n = roomd_recv_with_fds(STDIN_FILENO, &buffer, buffer.count, &passed, 2, &count)
            if n < 0, errno == EAGAIN { continue }
            // roomd closed its end (stopping, or gone).
            if n <= 0 { exit(0) }
            let request: Int64
            do {
                guard case .launch(let number) = try decoder.decode(ForkServerRequest.self, from: Data(buffer[..<n])) else {
                    continue
                }
                request = number
            } catch {
                passed[..<Int(count)].forEach { close($0) }
                FileHandle.standardError.write(Data("roomd-capture forkserver: unreadable request: \(error)\n".utf8))
                continue
            }
            guard count == 2 else {
                passed[..<Int(count)].forEach { close($0) }
                send(.failed(request: request, error: "a launch needs the helper's stdin and stdout attached, got \(count) descriptors"))
                continue
            }
            let pid = roomd_fork()
            if pid == 0 {
                // The helper: its own stdin and stdout, default signals, and
                // `record` where ps shows the arguments.
                close(children)
                roomd_reset_signals()
                dup2(passed[0], STDIN_FILENO)
                dup2(passed[1], STDOUT_FILENO)
                close(passed[0])
                close(passed[1])
                roomd_set_argument(CommandLine.unsafeArgv, 1, "record")
                return
            }
            close(passed[0])
            close(passed[1])
            guard pid > 0 else {
                send(.failed(request: request, error: "fork: \(String(cString: strerror(errno)))"))
                continue
            }
            // Not reaped before this runs (SIGCHLD waits in the signalfd), so
            // the pid still names this child.
            let pidfd = roomd_pidfd_open(pid)
            send(.launched(request: request, pid: pid), descriptor: pidfd)
            if pidfd >= 0 { close(pidfd) }
        }
    }
}
