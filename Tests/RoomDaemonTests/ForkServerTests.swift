import CaptureSupervisor
import Foundation
import Glibc
import Logging
import Testing

/// roomd's `ForkServer` against the real `roomd-capture forkserver`: the
/// helpers it forks, how they end, and a server that stops answering.
@Suite(.serialized)
struct ForkServerTests {
    let logger = Logger(label: "fork-server-test")

    /// A forked helper that gets no start message (its pipes closed) exits
    /// 2, as `roomd-capture record` does; roomd hears the status from the
    /// server, which reaped it.
    func launchAndEnd(_ server: ForkServer) throws -> ChildProcess.Exit? {
        let helper = try server.launch()
        // The child renames itself right after the fork, while the server answers.
        var command = ""
        for _ in 0..<50 {
            command = (try? String(contentsOfFile: "/proc/\(helper.pid)/cmdline", encoding: .utf8)) ?? ""
            if command.hasPrefix("roomd-capture\0record") { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(command.hasPrefix("roomd-capture\0record"), "\(command)")
        close(helper.input)
        close(helper.output)
        return helper.wait(seconds: 10)
    }

    @Test func forkedHelpersEndWithTheirStatusAndStopReapsTheServer() throws {
        let server = ForkServer(helperPath: Binaries.roomdCapture, logger: logger)
        #expect(try launchAndEnd(server) == .exited(2))
        #expect(try launchAndEnd(server) == .exited(2))
        #expect(server.serversStarted == 1, "one server forks every helper")
        guard let pid = server.serverPID else { Issue.record("no server"); return }
        server.stop()
        #expect(server.serverPID == nil)
        // Reaped: the pid no longer names a process (or zombie) of ours.
        var status: Int32 = 0
        #expect(waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD)
        #expect(throws: (any Error).self) { try server.launch() }
    }

    /// A server that stops answering (SIGSTOP) fails the launch after 10 s
    /// and is killed; the next launch starts a new server.
    @Test func unansweredLaunchKillsTheServerAndTheNextStartsAnother() throws {
        let server = ForkServer(helperPath: Binaries.roomdCapture, logger: logger)
        #expect(try launchAndEnd(server) == .exited(2))
        guard let hung = server.serverPID else { Issue.record("no server"); return }
        kill(hung, SIGSTOP)
        let asked = Date()
        #expect {
            _ = try server.launch()
        } throws: { error in
            "\(error)".contains("did not answer within 10 s")
        }
        #expect(Date().timeIntervalSince(asked) >= 9.5)
        for _ in 0..<50 where server.serverPID != nil { Thread.sleep(forTimeInterval: 0.1) }
        #expect(server.serverPID == nil, "the hung server was killed and reaped")
        #expect(try launchAndEnd(server) == .exited(2))
        #expect(server.serversStarted == 2 && server.serverPID != hung)
        server.stop()
    }
}
