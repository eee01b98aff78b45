public import CaptureProtocol
import CProcess
import Foundation
import Glibc
public import Logging

/// Where a ``CaptureProcess`` records: the segment sink its helper's
/// requests are answered from, plus the repair of segments a dead helper
/// left open. roomd implements it over its SQLite index and event log.
public protocol CaptureIndex: SegmentSink {
    /// A segment left `writing` by a helper that died, cut back and rehashed.
    func segmentRecovered(id: Int64, wallStartNanoseconds: Int64, report: RepairReport) throws
}

/// One capture helper process (`roomd-capture record`) and the devices it
/// records, supervised from a thread of its own.
///
/// roomd answers the helper's requests (next sequence number, segment opened,
/// segment closed) from its segment index — the daemon stays the single
/// writer of the state store — and keeps what the helper reports (status,
/// events, log records, each device's latest still). When the helper ends
/// without being asked (a crash, a kill, a hang roomd put an end to), the
/// segments it had open are repaired like after a power cut, the exit is
/// recorded as an event, and a new helper starts after a short backoff
/// (≤ 2 s). Other devices' helpers never notice.
public final class CaptureProcess: @unchecked Sendable {
    public let configurations: [RecorderConfiguration]
    private let helperPath: String
    private let launcher: any HelperLauncher
    /// Whether the helper confines itself (``SandboxReport``) before recording.
    public let sandbox: Bool
    private let sink: any CaptureIndex
    private let logger: Logger
    /// A helper that says nothing for this long (it reports twice a second) is hung; it is killed and replaced.
    static let silenceLimit: Int64 = 15_000_000_000
    /// roomd taking longer than this to come back to a helper's pipe (one
    /// answer, or between two reads) restarts the helper's silence clock.
    static let stallThreshold: Int64 = 2_000_000_000
    /// At stop, how long the helpers get to close their segments before they are killed.
    static let stopLimit: Int64 = 20_000_000_000
    /// A helper whose pipes closed gets this long to end before roomd stops waiting for it.
    static let reapLimit: Double = 10

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var statuses: [String: RecorderStatus]
    /// Counters of the helpers that ended (see `status(of:)`).
    private var carried: [String: RecorderStatus] = [:]
    private var stopping = false
    private var stopRequestedAt: Int64 = 0
    private var running = false
    private var channel: LineChannel?
    private var child: pid_t = 0
    private var exits = 0
    private var sandboxReport: SandboxReport?
    /// Each device's newest still (``Still``), as its helper last sent it;
    /// kept when a helper ends, when it goes stale (``Still/isFresh(now:)``).
    private let stillLock = NSLock()
    private var stills: [String: Still] = [:]

    /// `launcher` starts the helper: a ``ForkServer`` shared by every
    /// device's process, or (nil) `posix_spawn` of `helperPath`. `sandbox`:
    /// the helper confines itself before it records (`storage.capture_sandbox`).
    public init(configurations: [RecorderConfiguration], helperPath: String, launcher: (any HelperLauncher)? = nil,
                sandbox: Bool = true, sink: any CaptureIndex, logger: Logger) {
        self.configurations = configurations
        self.helperPath = helperPath
        self.launcher = launcher ?? SpawnLauncher(helperPath: helperPath)
        self.sandbox = sandbox
        self.sink = sink
        self.logger = logger
        statuses = Dictionary(uniqueKeysWithValues: configurations.map { ($0.device, RecorderStatus()) })
    }

    /// The running helper's pid, if one runs.
    public var helperPID: Int32? {
        condition.lock()
        defer { condition.unlock() }
        return child > 0 ? child : nil
    }

    /// How the latest helper confined itself, once it has said so.
    public var sandboxed: SandboxReport? {
        condition.lock()
        defer { condition.unlock() }
        return sandboxReport
    }

    /// Helpers that ended without being asked (crash, kill, hang) since start.
    public var unexpectedExits: Int {
        condition.lock()
        defer { condition.unlock() }
        return exits
    }

    /// A device's status, its counters totalled over every helper that
    /// recorded it since roomd started: a replaced helper starts counting from
    /// zero, and its predecessors' frames and segments must not read as lost.
    public func status(of device: String) -> RecorderStatus {
        condition.lock()
        defer { condition.unlock() }
        var status = statuses[device] ?? RecorderStatus()
        if let earlier = carried[device] { status.addCounters(of: earlier) }
        return status
    }

    /// The newest picture of `device` (a JPEG, about twice a second), for
    /// the live wall and the check-in page; nil until its helper has sent
    /// one. Check ``Still/isFresh(now:)``: a lost device's last picture stays.
    public func latestStill(of device: String) -> Still? {
        stillLock.lock()
        defer { stillLock.unlock() }
        return stills[device]
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    public func start() {
        condition.lock()
        running = true
        condition.unlock()
        let name = "roomd-sup-\(configurations.first?.device ?? "?")"
        let thread = Thread { [self] in
            nameCurrentThread(name)
            supervise()
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the helper to close its segments and exit; waits until it has
    /// (killing it after ``stopLimit``) and its segments are in the index.
    public func stop() {
        condition.lock()
        stopping = true
        stopRequestedAt = MonotonicClock.now()
        // Under the lock that also guards closing the pipe: a descriptor
        // closed (and reused by some other file) in between must never
        // receive this line.
        channel?.send(DaemonMessage.stop)
        condition.broadcast()
        while running { condition.wait() }
        for device in statuses.keys { statuses[device]?.state = .stopped }
        condition.unlock()
    }

    // MARK: Supervision

    private func supervise() {
        var backoff = 0.25
        while !isStopping {
            let started = MonotonicClock.now()
            do {
                try runHelper()
            } catch {
                logger.error("cannot start the capture helper; retrying / 录像进程无法启动，正在重试",
                             metadata: ["helper": .string(helperPath), "error": .string("\(error)")])
                updateAll(state: .reconnecting, detail: "capture helper: \(error)")
            }
            if isStopping { break }
            if MonotonicClock.now() - started > 10_000_000_000 { backoff = 0.25 }
            pause(backoff)
            backoff = min(backoff * 2, 2)
        }
    }

    private func pause(_ seconds: Double) {
        condition.lock()
        if !stopping { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        condition.unlock()
    }

    private func updateAll(state: RecorderStatus.State, detail: String) {
        condition.lock()
        for device in statuses.keys {
            statuses[device]?.state = state
            statuses[device]?.detail = detail
            statuses[device]?.loopMonotonic = MonotonicClock.now()
        }
        condition.unlock()
    }

    /// One helper's life: launch, serve until its stdout closes, reap, repair.
    private func runHelper() throws {
        let helper = try launcher.launch()
        let channel = LineChannel(input: helper.output, output: helper.input)
        condition.lock()
        self.channel = channel
        child = helper.pid
        let stopAlready = stopping
        // The new helper's recorders have not turned yet: progress is
        // counted from now, not from before (a long start-up repair).
        for device in statuses.keys { statuses[device]?.loopMonotonic = MonotonicClock.now() }
        condition.unlock()
        channel.send(DaemonMessage.start(recorders: configurations, sandbox: sandbox))
        if stopAlready { channel.send(DaemonMessage.stop) }

        var open: [Int64: SegmentOpened] = [:]
        let (killedFor, abandoned) = serve(channel, helper: helper, open: &open)

        condition.lock()
        self.channel = nil
        child = 0
        close(helper.input)  // under the lock `stop()` sends under
        // What this helper counted stays counted; the next one starts from zero.
        for (device, status) in statuses {
            carried[device, default: RecorderStatus()].addCounters(of: status)
            statuses[device]?.resetCounters()
        }
        condition.unlock()
        close(helper.output)
        let exit: ChildProcess.Exit
        if abandoned {
            // Stuck in the kernel even after SIGKILL (a driver call that never
            // returns): it cannot be reaped now, and it still holds its files.
            // Its segments stay `writing` and are repaired at the next start;
            // a new helper records in the meantime.
            helper.abandon()
            exit = .signaled(SIGKILL)
            open.removeAll()
        } else if let ended = helper.wait(seconds: Self.reapLimit) {
            exit = ended
        } else {
            // Its pipes closed — its files with them — but it has not ended:
            // a thread held by a debugger, or stuck on its way out. Its
            // device must not wait for it.
            helper.kill()
            helper.abandon()
            exit = .unreaped
        }
        // Asked to stop and did. A helper orphaned by a dead fork server
        // leaves no status: that it closed every segment it opened says it.
        let asked = isStopping && killedFor == nil && (exit == .exited(0) || (exit == .unknown && open.isEmpty))
        if !asked {
            condition.lock()
            exits += 1
            condition.unlock()
            let detail = killedFor ?? exit.description
            logger.error("capture helper ended; its devices restart / 录像进程意外退出，正在重启",
                         metadata: ["pid": .string(String(helper.pid)), "exit": .string(detail),
                                    "devices": .string(configurations.map(\.device).joined(separator: ","))])
            for configuration in configurations {
                sink.captureEvent(CaptureEvent(kind: .helperExited, device: configuration.device, wallNanoseconds: MonotonicClock.wallNow(),
                                               detail: ["pid": String(helper.pid), "exit": detail,
                                                        "open_segments": String(open.values.filter { $0.device == configuration.device }.count)]))
            }
            updateAll(state: .reconnecting, detail: "capture helper \(detail)")
        }
        // Segments the helper left open: cut back to their last durable
        // fragment and hashed, exactly as after a power cut.
        for (id, segment) in open.sorted(by: { $0.key < $1.key }) {
            do {
                let report = try SegmentRepairRunner(helperPath: helperPath, sandbox: sandbox).repair(path: segment.path)
                try sink.segmentRecovered(id: id, wallStartNanoseconds: segment.wallStartNanoseconds, report: report)
                sink.captureEvent(.segmentRepaired(id: id, device: segment.device, path: segment.path, report: report,
                                                   problem: "recovered after the capture helper ended"))
            } catch {
                // Left `writing`: the next start of roomd repairs it.
                logger.critical("segment left open by the capture helper could not be repaired now; it will be at the next start / 录像片段暂未修复",
                                metadata: ["path": .string(segment.path), "error": .string("\(error)")])
            }
        }
    }

    /// Answers the helper until its stdout closes. Returns why roomd killed
    /// it, if it did, and whether it had to be abandoned (no exit 10 s after
    /// SIGKILL).
    private func serve(_ channel: LineChannel, helper: any LaunchedHelper, open: inout [Int64: SegmentOpened]) -> (killedFor: String?, abandoned: Bool) {
        let pid = helper.pid
        var lastHeard = MonotonicClock.now()
        // When roomd itself last stopped listening for a while (a database
        // write that waited, a busy machine): time roomd was not reading, or
        // the helper's recorders waited for its reply, is not the helper's
        // silence. A helper is never killed as hung for roomd's own slowness.
        var roomdStalledUntil: Int64 = 0
        var lastReceive = lastHeard
        var killedFor: String?
        var killedAt: Int64 = 0
        func kill(_ reason: String) {
            guard killedFor == nil else { return }
            killedFor = reason
            killedAt = MonotonicClock.now()
            logger.error("killing the capture helper / 终止录像进程", metadata: ["pid": .string(String(pid)), "reason": .string(reason)])
            helper.kill()
        }
        while true {
            let received: LineChannel.Received<HelperMessage>
            do {
                received = try channel.receive(HelperMessage.self, timeout: 1)
            } catch {
                kill("unreadable message: \(error)")
                continue
            }
            var now = MonotonicClock.now()
            // The receive waits at most 1 s; a longer gap is roomd not listening.
            if now - lastReceive > Self.stallThreshold { roomdStalledUntil = now }
            switch received {
            case .closed:
                return (killedFor, false)
            case .timeout:
                break
            case .message(let message):
                lastHeard = now
                handle(message, channel: channel, pid: pid, open: &open)
                let handled = MonotonicClock.now()
                if handled - now > Self.stallThreshold { roomdStalledUntil = handled }
                now = handled
            }
            lastReceive = now
            // Checked after every message, not only when the pipe is quiet: a
            // helper whose status thread still talks can still hang.
            if killedFor != nil {
                if now - killedAt > 10_000_000_000 {
                    logger.critical("capture helper did not exit after SIGKILL (stuck in a driver call?); abandoned, a new one starts / 录像进程无法终止，已另行启动",
                                    metadata: ["pid": .string(String(pid))])
                    return (killedFor, true)
                }
                continue
            }
            condition.lock()
            let stopAge = stopping ? now - stopRequestedAt : 0
            // A recorder thread that stopped turning (a device call that never
            // returns) while the helper's other threads carry on.
            let stuck = stopping ? nil : statuses.first { _, status in
                status.state != .stopped && now - max(status.loopMonotonic, roomdStalledUntil) > Self.silenceLimit
            }?.key
            condition.unlock()
            if stopAge > Self.stopLimit {
                kill("did not stop within \(Self.stopLimit / 1_000_000_000) s")
            } else if now - max(lastHeard, roomdStalledUntil) > Self.silenceLimit {
                kill("silent for \(Self.silenceLimit / 1_000_000_000) s (hung)")
            } else if let stuck {
                kill("recorder of \(stuck) made no progress for \(Self.silenceLimit / 1_000_000_000) s (hung)")
            }
        }
    }

    private func handle(_ message: HelperMessage, channel: LineChannel, pid: pid_t, open: inout [Int64: SegmentOpened]) {
        func answer(_ request: Int64, _ work: () throws -> Int64?) {
            do {
                channel.send(DaemonMessage.reply(request: request, value: try work(), error: nil))
            } catch {
                channel.send(DaemonMessage.reply(request: request, value: nil, error: "\(error)"))
            }
        }
        switch message {
        case .hello(let helperPID, let devices, let sandbox):
            condition.lock()
            sandboxReport = sandbox
            condition.unlock()
            let metadata: Logger.Metadata = ["pid": .string(String(helperPID)), "devices": .string(devices.joined(separator: ",")),
                                             "sandbox": .string(sandbox.summary)]
            logger.info("capture helper started", metadata: metadata)
            if sandbox.enabled && !sandbox.complete {
                // It records all the same: evidence first, hardening second.
                logger.warning("capture helper records without part of its sandbox; see docs/operations.md, \"The helper sandbox\" / 录像进程未能完全隔离，录像照常进行",
                               metadata: metadata)
            }
        case .nextSequence(let request, let device):
            answer(request) { try sink.nextSequence(device: device) }
        case .segmentOpened(let request, let segment):
            answer(request) {
                let id = try sink.segmentOpened(segment)
                open[id] = segment
                return id
            }
        case .segmentClosed(let request, let id, let closed):
            answer(request) {
                try sink.segmentClosed(id: id, closed)
                open[id] = nil
                return nil
            }
        case .segmentProgressed(let id, let progress):
            sink.segmentProgressed(id: id, progress)
        case .event(let event):
            sink.captureEvent(event)
        case .status(let device, let status):
            condition.lock()
            if statuses[device] != nil { statuses[device] = status }
            condition.unlock()
        case .still(let device, let wall, let jpeg):
            // Only the devices this helper records. In arrival order, not by
            // stamp: a wall clock stepped back must not freeze the picture.
            guard configurations.contains(where: { $0.device == device }) else { break }
            stillLock.lock()
            stills[device] = Still(device: device, wallNanoseconds: wall, jpeg: jpeg)
            stillLock.unlock()
        case .log(let level, let text, let metadata):
            var merged = metadata.mapValues { Logger.MetadataValue.string($0) }
            merged["helper_pid"] = .string(String(pid))
            logger.log(level: Logger.Level(rawValue: level) ?? .info, "\(text)", metadata: merged)
        }
    }
}

/// Runs `roomd-capture repair PATH`: the repair needs FFmpeg (to count what
/// the kept fragments hold), and FFmpeg stays out of roomd's process.
public struct SegmentRepairRunner: Sendable {
    let helperPath: String
    /// The repair confines itself to the one file it repairs (``SandboxReport``).
    let sandbox: Bool

    public init(helperPath: String, sandbox: Bool = true) {
        self.helperPath = helperPath
        self.sandbox = sandbox
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    public func repair(path: String) throws -> RepairReport {
        let spawned = try ChildProcess.spawn(helperPath, arguments: ["roomd-capture", "repair"] + (sandbox ? [] : ["--no-sandbox"]) + [path])
        close(spawned.input)
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(spawned.output, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output.append(contentsOf: chunk[..<n])
        }
        close(spawned.output)
        let exit = ChildProcess.wait(spawned.pid)
        guard exit == .exited(0) else { throw Failure(description: "roomd-capture repair \(path): \(exit)") }
        return try JSONDecoder().decode(RepairReport.self, from: output)
    }
}

/// posix_spawn with the child's stdin and stdout on pipes (or stdin on a
/// given descriptor and stdout to /dev/null), stderr shared (FFmpeg's own
/// error lines reach the journal), signals back to defaults and unblocked
/// (roomd blocks SIGTERM for its own handling).
public enum ChildProcess {
    struct Spawned {
        var pid: pid_t
        /// Write end of the child's stdin.
        var input: Int32
        /// Read end of the child's stdout.
        var output: Int32
    }

    public enum Exit: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        /// A helper orphaned when its fork server died: it ended, but no
        /// process roomd can ask saw how.
        case unknown
        /// Closed its pipes but did not end within ``CaptureProcess/reapLimit``.
        case unreaped

        /// Decodes a waitpid(2) status (WIFEXITED / WEXITSTATUS / WTERMSIG are macros).
        init(waitStatus status: Int32) {
            let signal = status & 0x7F
            self = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
        }

        public var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signaled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
            case .unknown: "ended (its exit status was lost with the fork server)"
            case .unreaped: "closed its pipes but did not exit within 10 s (held by a debugger, or stuck in the kernel)"
            }
        }
    }

    struct SpawnFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// `pipe2(O_CLOEXEC)`: no other child spawned meanwhile inherits an end
    /// (the helper's EOF would then never come).
    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard roomd_pipe_cloexec(&fds) == 0 else { throw SpawnFailure(description: "pipe: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    static func spawn(_ path: String, arguments: [String]) throws -> Spawned {
        let toChild = try pipe()
        let fromChild: (read: Int32, write: Int32)
        do { fromChild = try pipe() } catch {
            close(toChild.read); close(toChild.write)
            throw error
        }
        defer { close(toChild.read); close(fromChild.write) }
        do {
            let pid = try spawn(path, arguments: arguments) { actions in
                posix_spawn_file_actions_adddup2(&actions, toChild.read, STDIN_FILENO)
                posix_spawn_file_actions_adddup2(&actions, fromChild.write, STDOUT_FILENO)
            }
            return Spawned(pid: pid, input: toChild.write, output: fromChild.read)
        } catch {
            close(toChild.write); close(fromChild.read)
            throw error
        }
    }

    /// The child's stdin is `standardInput` (the fork server's socket); its stdout is /dev/null.
    static func spawn(_ path: String, arguments: [String], standardInput: Int32) throws -> pid_t {
        try spawn(path, arguments: arguments) { actions in
            posix_spawn_file_actions_adddup2(&actions, standardInput, STDIN_FILENO)
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
        }
    }

    private static func spawn(_ path: String, arguments: [String], files: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        files(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, &argv, environ)
        guard rc == 0 else { throw SpawnFailure(description: "cannot run \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    private static let abandonedLock = NSLock()
    nonisolated(unsafe) private static var abandoned: Set<pid_t> = []

    /// A child that could not be reaped yet; ``reapAbandoned()`` tries again.
    static func reapLater(_ pid: pid_t) {
        abandonedLock.lock()
        abandoned.insert(pid)
        abandonedLock.unlock()
    }

    static func reapAbandoned() {
        abandonedLock.lock()
        defer { abandonedLock.unlock() }
        for pid in abandoned {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { abandoned.remove(pid) }
        }
    }

    /// Polls for `seconds` (every 50 ms); nil if the child has not ended.
    static func wait(_ pid: pid_t, seconds: Double) -> Exit? {
        let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return Exit(waitStatus: status) }
            if reaped < 0, errno != EINTR { return .exited(-1) }
            if MonotonicClock.now() >= deadline { return nil }
            usleep(50_000)
        }
    }

    static func wait(_ pid: pid_t) -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(-1) }
        }
        return Exit(waitStatus: status)
    }

    /// Where `roomd-capture` is: `ROOMD_CAPTURE_HELPER`, else beside roomd's own executable.
    /// Where the capture helper is: `configured` (storage.capture_helper),
    /// else `ROOMD_CAPTURE_HELPER`, else beside the running executable (a
    /// build folder), else where the package installs it.
    public static func helperPath(configured: String? = nil) -> String {
        if let configured, !configured.isEmpty { return configured }
        if let environment = ProcessInfo.processInfo.environment["ROOMD_CAPTURE_HELPER"], !environment.isEmpty { return environment }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let beside = exe.deletingLastPathComponent().appendingPathComponent("roomd-capture").path
        if access(beside, X_OK) == 0 { return beside }
        return installedHelperPath
    }

    /// The Debian package's place for it.
    public static let installedHelperPath = "/usr/libexec/roomd/roomd-capture"

}
