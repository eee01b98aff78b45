// roomd-capture: the recorders of one or more devices, in a process of their
// own. Started and supervised by roomd (never by hand):
//
//   roomd-capture record        reads `start` from stdin, records, speaks the
//                               line protocol of CaptureProtocol/HelperProtocol
//   roomd-capture forkserver    forks `record` helpers on roomd's request
//                               (ForkServer.swift); a forked helper shows as
//                               `roomd-capture record` in ps
//   roomd-capture repair [--no-sandbox] PATH
//                               cuts a segment back to its last whole fragment,
//                               rehashes it, prints a RepairReport (JSON)
//   roomd-capture export [--no-sandbox]
//                               reads an ExportRequest (a JSON line) on stdin and
//                               writes one MP4 of that wall-clock range, remuxed,
//                               to stdout in records, then an ExportReport
//                               (CaptureProtocol/Export.swift; OneShot.swift)
//   roomd-capture rendition [--no-sandbox] [--width N] IN OUT
//                               a browser-playable copy of segment IN in OUT
//                               (H.264 copied, MJPEG encoded), then a
//                               RenditionReport (JSON) on stdout
//   roomd-capture sandbox-check [--microphone ALSA_NAME] [--sealed SEGMENT]... RECORDINGS DEVICE [PATH...]
//                               confines itself as a recorder of DEVICE would be
//                               and checks what it can and cannot do (PATHs: files
//                               it must not reach; SEGMENTs: sealed ones it may
//                               read, not change); for operators and tests
//
// Why a separate process: FFmpeg, x264 and the V4L2/ALSA drivers are where a
// crash, a leak or a hang in uninterruptible sleep can come from. Here they
// cost one device's recording for a second (roomd repairs the open segment and
// starts a new helper); in roomd they would cost the API, check-in and ledger.
import Capture
import CaptureProtocol
import Foundation
import Glibc
import Logging

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("roomd-capture: \(message)\n".utf8))
    exit(2)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "repair":
    let confine = !arguments.contains("--no-sandbox")
    let operands = arguments.dropFirst().filter { $0 != "--no-sandbox" }
    guard operands.count == 1, let path = operands.first else { fail("usage: roomd-capture repair [--no-sandbox] PATH") }
    if confine {
        // The file is a crash's leftover, parsed by FFmpeg: confined to it.
        CaptureWarmUp.run()
        let outcome = HelperSandbox(repairing: path).apply()
        if !outcome.complete {
            FileHandle.standardError.write(Data("roomd-capture[\(getpid())]: repairs without part of its sandbox: \(outcome.summary)\n".utf8))
        }
    }
    do {
        let result = try SegmentRepair.repair(path: path)
        let report = RepairReport(bytes: result.bytes, removedBytes: result.removedBytes, sha256: result.sha256,
                                  videoFrames: result.videoFrames, durationNanoseconds: result.durationNanoseconds)
        FileHandle.standardOutput.write(try JSONEncoder().encode(report) + Data("\n".utf8))
        exit(0)
    } catch {
        fail("repair \(path) failed: \(error)")
    }
case "export":
    ExportMain.run(arguments: Array(arguments.dropFirst()))
case "rendition":
    RenditionMain.run(arguments: Array(arguments.dropFirst()))
case "devices":
    // What `roomctl devices` shows: cameras and microphones of this machine, read only.
    let inventory = DeviceInventory.scan()
    if arguments.dropFirst().contains("--json") {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write((try? encoder.encode(inventory)) ?? Data())
        FileHandle.standardOutput.write(Data("\n".utf8))
    } else {
        print(inventory.report)
    }
    exit(0)
case "record":
    HelperMain.record(warmUp: true)
case "forkserver":
    ForkServerMain.run()
    // A forked helper: warmed up by the server already.
    HelperMain.record(warmUp: false)
case "sandbox-check":
    var rest = Array(arguments.dropFirst())
    var microphone: String?
    var sealed: [String] = []
    while rest.count >= 2, rest[0].hasPrefix("--") {
        switch rest[0] {
        case "--microphone": microphone = rest[1]
        case "--sealed": sealed.append(rest[1])
        default: fail("sandbox-check: unknown option \(rest[0])")
        }
        rest.removeFirst(2)
    }
    guard rest.count >= 2 else {
        fail("usage: roomd-capture sandbox-check [--microphone ALSA_NAME] [--sealed SEGMENT]... RECORDINGS_DIR DEVICE [FORBIDDEN_PATH...]")
    }
    SandboxCheck.run(recordings: rest[0], device: rest[1], microphone: microphone, sealed: sealed, forbidden: Array(rest.dropFirst(2)))
default:
    fail("usage: roomd-capture record | forkserver | repair [--no-sandbox] PATH | export [--no-sandbox] | rendition [--no-sandbox] [--width N] IN OUT | sandbox-check [--microphone NAME] RECORDINGS_DIR DEVICE [PATH...] (started by roomd, not by hand)")
}

enum HelperMain {
    static func record(warmUp: Bool) -> Never {
        // Descriptors roomd had open (sockets, the database) are none of ours.
        closefrom(3)
        // A dead roomd is a failed write (EPIPE), not a signal that kills us
        // in the middle of closing a segment.
        signal(SIGPIPE, SIG_IGN)
        // SIGTERM/SIGINT (systemctl stop, Ctrl-C in a terminal) stop the
        // recorders gracefully, like roomd's `stop`: handled on a thread of
        // their own, blocked everywhere else.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let channel = LineChannel(input: STDIN_FILENO, output: STDOUT_FILENO)
        let recorders: [RecorderConfiguration]
        let confine: Bool
        do {
            guard case .message(.start(let configured, let sandbox)) = try channel.receive(DaemonMessage.self, timeout: 30) else {
                fail("expected a start message from roomd on stdin")
            }
            recorders = configured
            confine = sandbox
        } catch {
            fail("unreadable start message: \(error)")
        }
        // Confined before any other thread starts (a thread running already
        // would stay outside), after what the recorders would otherwise load
        // lazily from files the sandbox closes (OpenSSL's configuration) — a
        // forked helper has that from its fork server.
        let sandbox: SandboxReport
        if confine {
            if warmUp { CaptureWarmUp.run() }
            let outcome = HelperSandbox(recorders: recorders).apply()
            sandbox = SandboxReport(enabled: true, complete: outcome.complete, summary: outcome.summary)
        } else {
            sandbox = .off
        }
        LoggingSystem.bootstrap { label in PipeLogHandler(channel: channel, label: label) }
        let logger = Logger(label: "roomd-capture")
        // FFmpeg's own error lines reach the journal through roomd, saying
        // which device they concern, rather than bare on stderr.
        var ffmpegLogger = Logger(label: "ffmpeg")
        ffmpegLogger[metadataKey: "device"] = .string(recorders.map(\.device).joined(separator: ","))
        FFmpegLog.forward(to: ffmpegLogger)
        let sink = PipeSink(channel: channel)
        let running = recorders.map { Recorder(configuration: $0, sink: sink, logger: logger) }
        let stopper = Stopper(recorders: running, channel: channel, sink: sink)

        let waitFor = stopSignals
        let signals = Thread {
            nameCurrentThread("capture-signals")
            var set = waitFor
            var caught: Int32 = 0
            sigwait(&set, &caught)
            stopper.stop(reason: "signal \(caught)")
        }
        signals.name = "capture-signals"
        signals.start()

        let replies = Thread {
            nameCurrentThread("capture-replies")
            while true {
                switch try? channel.receive(DaemonMessage.self) {
                case .message(.reply(let request, let value, let error))?:
                    sink.deliver(request: request, value: value, error: error)
                case .message(.stop)?:
                    stopper.stop(reason: "roomd asked")
                case .message(.start)?, .timeout?:
                    continue
                case .closed?, nil:
                    // roomd is gone (or sent something unreadable): close the
                    // segments; roomd repairs them on its next start.
                    sink.daemonGone()
                    stopper.stop(reason: "roomd went away")
                    return
                }
            }
        }
        replies.name = "capture-replies"
        replies.start()

        channel.send(HelperMessage.hello(pid: getpid(), devices: recorders.map(\.device), sandbox: sandbox))
        stopper.startAll()
        // Status twice a second: roomd's health checks, metrics and watchdog
        // read it; silence for long means a hung helper, and roomd replaces it.
        while !stopper.isStopping {
            for recorder in running {
                channel.send(HelperMessage.status(device: recorder.configuration.device, status: recorder.status))
            }
            stopper.wait(seconds: 0.5)
        }
        stopper.waitUntilStopped()
        for recorder in running {
            channel.send(HelperMessage.status(device: recorder.configuration.device, status: recorder.status))
        }
        exit(0)
    }
}

/// Stops every recorder once (whoever asks first), on a thread of its own so
/// the reply reader keeps delivering the answers the closing segments need.
final class Stopper: @unchecked Sendable {
    private let recorders: [Recorder]
    private let channel: LineChannel
    private let sink: PipeSink
    private let condition = NSCondition()
    private var stopping = false
    private var stopped = false

    init(recorders: [Recorder], channel: LineChannel, sink: PipeSink) {
        self.recorders = recorders
        self.channel = channel
        self.sink = sink
    }

    /// Starts the recorders, unless a stop came first.
    func startAll() {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
        for recorder in recorders { recorder.start() }
    }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    func stop(reason: String) {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        guard first else { return }
        let recorders = self.recorders
        let thread = Thread { [self] in
            nameCurrentThread("capture-stop")
            // Each recorder closes its segment durably, all at once.
            onThreadsConcurrently(recorders, name: "capture-stop") { $0.stop() }
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "capture-stop"
        thread.start()
        if reason != "roomd asked" {
            FileHandle.standardError.write(Data("roomd-capture[\(getpid())]: stopping: \(reason)\n".utf8))
        }
    }

    func wait(seconds: Double) {
        condition.lock()
        if !stopping { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        condition.unlock()
    }

    func waitUntilStopped() {
        condition.lock()
        while !stopped { condition.wait() }
        condition.unlock()
    }
}

/// The recorders' ``SegmentSink``, answered by roomd over the pipe. Requests
/// block the recorder thread that makes them until roomd replies (the index
/// row must exist before the first byte is written).
final class PipeSink: SegmentSink, @unchecked Sendable {
    struct DaemonUnavailable: Error, CustomStringConvertible {
        var description: String
    }

    private let channel: LineChannel
    private let condition = NSCondition()
    private var nextRequest: Int64 = 1
    private var replies: [Int64: Result<Int64, DaemonUnavailable>] = [:]
    private var gone = false
    private let courier: StillCourier

    init(channel: LineChannel) {
        self.channel = channel
        courier = StillCourier(channel: channel)
    }

    func deliver(request: Int64, value: Int64?, error: String?) {
        condition.lock()
        replies[request] = error.map { .failure(DaemonUnavailable(description: $0)) } ?? .success(value ?? 0)
        condition.broadcast()
        condition.unlock()
    }

    func daemonGone() {
        condition.lock()
        gone = true
        condition.broadcast()
        condition.unlock()
    }

    private func call(_ message: (Int64) -> HelperMessage) throws -> Int64 {
        condition.lock()
        let request = nextRequest
        nextRequest += 1
        let isGone = gone
        condition.unlock()
        if isGone { throw DaemonUnavailable(description: "roomd is not answering (it stopped)") }
        guard channel.send(message(request)) else { throw DaemonUnavailable(description: "roomd's pipe is closed") }
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(60)
        while replies[request] == nil, !gone {
            if !condition.wait(until: deadline) { throw DaemonUnavailable(description: "roomd did not answer within 60 s") }
        }
        guard let reply = replies.removeValue(forKey: request) else {
            throw DaemonUnavailable(description: "roomd went away before answering")
        }
        return try reply.get()
    }

    func nextSequence(device: String) throws -> Int64 {
        try call { .nextSequence(request: $0, device: device) }
    }

    func segmentOpened(_ segment: SegmentOpened) throws -> Int64 {
        try call { .segmentOpened(request: $0, segment: segment) }
    }

    func segmentProgressed(id: Int64, _ progress: SegmentProgress) {
        channel.send(HelperMessage.segmentProgressed(id: id, progress: progress))
    }

    func segmentClosed(id: Int64, _ closed: SegmentClosed) throws {
        _ = try call { .segmentClosed(request: $0, id: id, closed: closed) }
    }

    func captureEvent(_ event: CaptureEvent) {
        channel.send(HelperMessage.event(event))
    }

    func still(_ still: Still) {
        courier.post(still)
    }
}

/// Takes the recorders' stills to roomd from a thread of its own, newest
/// first and newest only: a recorder never waits for roomd to read a picture
/// (a camera's own JPEG can be a few hundred kilobytes, more than a pipe
/// holds), and a picture roomd has not taken yet is replaced by a newer one
/// of the same device rather than queued behind it.
final class StillCourier: @unchecked Sendable {
    private let channel: LineChannel
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var newest: [String: Still] = [:]
    private var devices: [String] = []
    private var started = false

    init(channel: LineChannel) { self.channel = channel }

    func post(_ still: Still) {
        condition.lock()
        defer { condition.unlock() }
        if newest.updateValue(still, forKey: still.device) == nil { devices.append(still.device) }
        condition.signal()
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            nameCurrentThread("capture-stills")
            deliver()
        }
        thread.name = "capture-stills"
        thread.start()
    }

    private func deliver() {
        while true {
            condition.lock()
            while devices.isEmpty { condition.wait() }
            let still = newest.removeValue(forKey: devices.removeFirst())!
            condition.unlock()
            // roomd gone: the still is dropped, as every later one will be.
            channel.send(HelperMessage.still(device: still.device, wallNanoseconds: still.wallNanoseconds, jpeg: still.jpeg))
        }
    }
}

/// Log records go to roomd, which logs them with its own handler (journald
/// priorities, the device in the metadata); stderr if roomd is gone.
struct PipeLogHandler: LogHandler {
    let channel: LineChannel
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let flat = merged.mapValues { "\($0)" }
        if !channel.send(HelperMessage.log(level: event.level.rawValue, message: event.message.description, metadata: flat)) {
            FileHandle.standardError.write(Data("roomd-capture[\(getpid())] \(event.level): \(event.message) \(flat)\n".utf8))
        }
    }
}
