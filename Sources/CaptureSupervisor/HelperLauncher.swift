import Glibc

/// Starts `roomd-capture record` helpers for ``CaptureProcess``.
public protocol HelperLauncher: Sendable {
    func launch() throws -> any LaunchedHelper
}

/// A running `roomd-capture record`, however it was started. Its
/// ``CaptureProcess`` owns (and closes) ``input`` and ``output``.
public protocol LaunchedHelper: AnyObject, Sendable {
    var pid: Int32 { get }
    /// Write end of the helper's stdin.
    var input: Int32 { get }
    /// Read end of the helper's stdout.
    var output: Int32 { get }
    /// SIGKILL.
    func kill()
    /// Waits up to `seconds` for the helper to end; how it ended, or nil if
    /// it has not (a thread held by a debugger or stuck in the kernel).
    func wait(seconds: Double) -> ChildProcess.Exit?
    /// The helper did not end after SIGKILL (stuck in a driver call): stop
    /// waiting; it is reaped whenever it finally ends.
    func abandon()
}

/// `posix_spawn` of `roomd-capture record` per helper: what one shared helper
/// (`capture_isolation: shared`) uses, and tests that want a plain child.
public struct SpawnLauncher: HelperLauncher {
    let helperPath: String

    public init(helperPath: String) { self.helperPath = helperPath }

    public func launch() throws -> any LaunchedHelper {
        let spawned = try ChildProcess.spawn(helperPath, arguments: ["roomd-capture", "record"])
        return SpawnedHelper(pid: spawned.pid, input: spawned.input, output: spawned.output)
    }
}

/// A helper that is roomd's own child.
final class SpawnedHelper: LaunchedHelper {
    let pid: pid_t
    let input: Int32
    let output: Int32

    init(pid: pid_t, input: Int32, output: Int32) {
        self.pid = pid
        self.input = input
        self.output = output
    }

    func kill() {
        // Not reaped before `wait()`, so the pid still names this child.
        Glibc.kill(pid, SIGKILL)
    }

    func wait(seconds: Double) -> ChildProcess.Exit? {
        defer { ChildProcess.reapAbandoned() }
        return ChildProcess.wait(pid, seconds: seconds)
    }

    func abandon() {
        ChildProcess.reapLater(pid)
    }
}
