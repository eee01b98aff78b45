public import Foundation
import Glibc

// The daemon runs its recorders in capture helper processes (`roomd-capture`)
// so that FFmpeg, the V4L2 and ALSA drivers — everything that can crash,
// leak or hang in uninterruptible sleep — live outside the process that holds
// the API, the check-in and the audit ledger. They talk over the helper's
// stdin and stdout, one JSON object per line. The daemon stays the only
// writer of the state store: every segment row is written by the daemon, on
// the helper's request, before the helper writes the segment's first byte.

/// Helper → daemon (the helper's stdout).
public enum HelperMessage: Codable, Sendable, Equatable {
    /// The helper is up and records these devices, confined as `sandbox` says.
    case hello(pid: Int32, devices: [String], sandbox: SandboxReport)
    /// Requests: the helper blocks until the matching ``DaemonMessage/reply(request:value:error:)``.
    case nextSequence(request: Int64, device: String)
    case segmentOpened(request: Int64, segment: SegmentOpened)
    case segmentClosed(request: Int64, id: Int64, closed: SegmentClosed)
    /// Notices: no reply.
    case segmentProgressed(id: Int64, progress: SegmentProgress)
    case event(CaptureEvent)
    case status(device: String, status: RecorderStatus)
    case log(level: String, message: String, metadata: [String: String])
    /// The newest picture of `device` as a JPEG (``Still``), about twice a
    /// second (``Still/interval``); for the live wall and the check-in page,
    /// never evidence. The JPEG travels base64-encoded in the JSON line.
    case still(device: String, wallNanoseconds: Int64, jpeg: Data)
}

/// Daemon → helper (the helper's stdin).
public enum DaemonMessage: Codable, Sendable, Equatable {
    /// The first line: what to record, and whether the helper confines itself
    /// first (`storage.capture_sandbox`).
    case start(recorders: [RecorderConfiguration], sandbox: Bool)
    /// The answer to a request: a value (sequence number, segment id) or an error.
    case reply(request: Int64, value: Int64?, error: String?)
    /// Close every open segment durably, report it, and exit 0.
    case stop
}

/// How a capture helper confined itself before it started recording
/// (`storage.capture_sandbox`; docs/architecture.md, "The helper sandbox").
public struct SandboxReport: Codable, Sendable, Equatable {
    /// False when the configuration turned the sandbox off.
    public var enabled: Bool
    /// Every part in place: Landlock and seccomp.
    public var complete: Bool
    /// "Landlock ABI 7 + seccomp (no sockets)", or what is missing and why.
    public var summary: String

    public init(enabled: Bool, complete: Bool, summary: String) {
        self.enabled = enabled
        self.complete = complete
        self.summary = summary
    }

    public static let off = SandboxReport(enabled: false, complete: false, summary: "off (storage.capture_sandbox: false)")
}

/// What `roomd-capture repair PATH` prints: a segment cut back to its last
/// whole fragment and hashed anew.
public struct RepairReport: Codable, Sendable, Equatable {
    public var bytes: Int64
    public var removedBytes: Int64
    public var sha256: String
    public var videoFrames: Int64
    public var durationNanoseconds: Int64

    public init(bytes: Int64, removedBytes: Int64, sha256: String, videoFrames: Int64, durationNanoseconds: Int64) {
        self.bytes = bytes
        self.removedBytes = removedBytes
        self.sha256 = sha256
        self.videoFrames = videoFrames
        self.durationNanoseconds = durationNanoseconds
    }
}

extension CaptureEvent {
    /// A segment left `writing` (roomd stopped uncleanly, or its capture
    /// helper ended) that was cut back to its last durable fragment and hashed.
    public static func segmentRepaired(id: Int64, device: String, path: String, report: RepairReport, problem: String) -> CaptureEvent {
        CaptureEvent(kind: .recordingError, device: device, wallNanoseconds: MonotonicClock.wallNow(), detail: [
            "segment": String(id), "path": path, "problem": problem,
            "kept_bytes": String(report.bytes), "removed_bytes": String(report.removedBytes), "sha256": report.sha256,
            "duration_ms": String(report.durationNanoseconds / 1_000_000),
        ])
    }
}

/// One end of a line-delimited JSON pipe: blocking reads with a timeout,
/// whole-line writes under a lock (several threads may write).
public final class LineChannel: @unchecked Sendable {
    public enum Received<Message> {
        case message(Message)
        case timeout
        case closed
    }

    public let input: Int32
    public let output: Int32
    private var buffer: [UInt8] = []
    private var scanned = 0
    private var chunk = [UInt8](repeating: 0, count: 65_536)
    private let writeLock = NSLock()
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()

    public init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Writes one message as one line; false once the other side is gone.
    @discardableResult
    public func send<Message: Encodable>(_ message: Message) -> Bool {
        guard var line = try? encoder.encode(message) else { return false }
        line.append(0x0A)
        writeLock.lock()
        defer { writeLock.unlock() }
        return line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(output, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// The next message, waiting at most `timeout` seconds (nil: forever).
    /// A line that does not decode is an error the caller sees.
    public func receive<Message: Decodable>(_ type: Message.Type, timeout: Double? = nil) throws -> Received<Message> {
        let deadline = timeout.map { MonotonicClock.now() + Int64($0 * 1e9) }
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 0x0A) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                return .message(try decoder.decode(Message.self, from: line))
            }
            scanned = buffer.count
            if let deadline {
                let remaining = deadline - MonotonicClock.now()
                if remaining <= 0 { return .timeout }
                var poller = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, Int32(min(remaining / 1_000_000 + 1, Int64(Int32.max))))
                if ready < 0, errno == EINTR { continue }
                if ready == 0 { return .timeout }
            }
            let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .closed
            }
            if n == 0 { return .closed }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}

// With one helper per device (the default), roomd does not exec
// `roomd-capture` once per device: it starts one `roomd-capture forkserver`,
// which has FFmpeg and its ~150 libraries loaded and relocated, and asks it to
// fork a helper per device. The forked helpers share those pages copy-on-write
// instead of each carrying its own relocated copy (~5 MB a helper). The fork
// server speaks over a SOCK_SEQPACKET socket, one JSON object per message,
// descriptors attached with SCM_RIGHTS.

/// roomd → fork server.
public enum ForkServerRequest: Codable, Sendable, Equatable {
    /// Fork a helper that runs `roomd-capture record` on the two descriptors
    /// attached to this message: its stdin, then its stdout.
    case launch(request: Int64)
}

/// Fork server → roomd.
public enum ForkServerMessage: Codable, Sendable, Equatable {
    /// The helper runs; a pidfd for it is attached when the kernel gives one.
    case launched(request: Int64, pid: Int32)
    case failed(request: Int64, error: String)
    /// A helper it forked ended; `status` as waitpid(2) gives it.
    case exited(pid: Int32, status: Int32)
}
