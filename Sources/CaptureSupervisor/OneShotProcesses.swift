public import CaptureProtocol
import Foundation
public import NIOCore
import Glibc
import Synchronization

/// `roomd-capture export`, run for one request: the MP4 comes out as it is
/// made (FFmpeg stays in the helper; roomd only relays bytes). The helper's
/// stdout is framed (docs/formats.md, "Export"): `D` records carry MP4
/// bytes, one `R` record the report at the end, or one `E` record an error.
/// A thread of its own reads the pipe; at most `window` chunks wait for the
/// consumer, so a slow client slows the helper instead of filling memory.
public final class ExportProcess: Sendable {
    public enum Chunk: Sendable {
        /// MP4 bytes, in order: read straight into the buffer the HTTP
        /// response writes (no copy between the reader and the socket).
        case data(ByteBuffer)
        case report(ExportReport)
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var code: String
        public var message: String
        public var description: String { "\(code): \(message)" }

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    private let child: Child
    private let credits: DispatchSemaphore

    /// The helper's pid, killed at most while it is not yet reaped (a reaped
    /// pid may already belong to another process).
    final class Child: Sendable {
        let pid: pid_t
        private let reaped = Mutex(false)

        init(pid: pid_t) { self.pid = pid }

        private let abandoned = Mutex(false)

        /// Kills the helper and marks the export abandoned: the reader stops relaying.
        func kill() {
            abandoned.withLock { $0 = true }
            reaped.withLock { reaped in if !reaped { _ = Glibc.kill(pid, SIGKILL) } }
        }

        var isAbandoned: Bool { abandoned.withLock { $0 } }

        /// Waits for the exit without reaping, then reaps under the lock.
        func reap() {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
            reaped.withLock { reaped in
                _ = ChildProcess.wait(pid)
                reaped = true
            }
        }
    }
    public let chunks: AsyncThrowingStream<Chunk, any Error>

    /// Starts the helper with `request` on its stdin.
    /// `observe` sees every chunk on the reader's own thread before it is
    /// handed on (roomd hashes the relayed bytes there, not on the Swift
    /// concurrency pool).
    public init(helperPath: String, sandbox: Bool, request: ExportRequest, window: Int = 16,
                observe: @escaping @Sendable (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        let spawned = try ChildProcess.spawn(helperPath, arguments: ["roomd-capture", "export"] + (sandbox ? [] : ["--no-sandbox"]))
        let child = Child(pid: spawned.pid)
        self.child = child
        var line = try JSONEncoder().encode(request)
        line.append(0x0A)
        let written = line.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(spawned.input, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        close(spawned.input)
        let credits = DispatchSemaphore(value: window)
        self.credits = credits
        let (stream, continuation) = AsyncThrowingStream<Chunk, any Error>.makeStream()
        chunks = stream
        // The consumer stopped (its task was cancelled: the client went away): the helper goes too.
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                child.kill()
                for _ in 0..<64 { credits.signal() }
            }
        }
        let output = spawned.output
        // A deeper pipe: the helper writes 64 KiB records; 1 MiB in flight
        // keeps it from waiting on every read roomd makes.
        _ = fcntl(output, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        let segments = Set(request.segments.map(\.path))
        let thread = Thread {
            Self.relay(output: output, child: child, wroteRequest: written, segments: segments, credits: credits, observe: observe,
                       continuation: continuation)
        }
        thread.name = "roomd-export"
        thread.start()
    }

    /// The helper's process id (it is reaped by the reader thread).
    public var pid: Int32 { child.pid }

    /// The consumer took a chunk: the reader may read one more.
    public func consumed() { credits.signal() }

    /// The client went away (or the export is no longer wanted): the helper
    /// is killed; nothing was written to disk, so nothing is left behind.
    public func cancel() {
        child.kill()
        // Unblock the reader if it waits for credit.
        for _ in 0..<64 { credits.signal() }
    }

    /// Chunks handed on: at most this many bytes (fewer, larger writes to the client).
    static let chunkSize = 1 << 20

    private static func relay(output: Int32, child: Child, wroteRequest: Bool, segments: Set<String>, credits: DispatchSemaphore,
                              observe: @Sendable (UnsafeRawBufferPointer) -> Void, continuation: AsyncThrowingStream<Chunk, any Error>.Continuation) {
        let files = SegmentReader(allowed: segments)
        defer {
            files.close()
            close(output)
            child.reap()
        }
        func readExactly(_ count: Int) -> Data? {
            var data = Data(count: count)
            var offset = 0
            while offset < count {
                let n = data.withUnsafeMutableBytes { read(output, $0.baseAddress! + offset, count - offset) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return nil }
                offset += n
            }
            return data
        }
        let allocator = ByteBufferAllocator()
        var pending = allocator.buffer(capacity: chunkSize)
        func readable() -> Bool {
            var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            return poll(&poller, 1, 0) > 0 && poller.revents & Int16(POLLIN) != 0
        }
        /// False once the consumer is gone: the relay stops (a pipe of
        /// 'C' records can name an hour of media; none of it is read for nobody).
        func handOn() -> Bool {
            guard pending.readableBytes > 0 else { return true }
            pending.withUnsafeReadableBytes(observe)
            credits.wait()
            guard !child.isAbandoned, case .enqueued = continuation.yield(.data(pending)) else { return false }
            pending = allocator.buffer(capacity: chunkSize)
            return true
        }
        func stopped() {
            continuation.finish(throwing: Failure(code: "cancelled", message: "the export's consumer went away"))
        }
        guard wroteRequest else {
            continuation.finish(throwing: Failure(code: "helper-failed", message: "roomd-capture export did not take its request"))
            return
        }
        while true {
            guard let head = readExactly(5) else {
                continuation.finish(throwing: Failure(code: "helper-failed", message: "roomd-capture export ended without a report"))
                return
            }
            let length = ExportRecord.length(ofHeader: head)
            guard length <= 16 << 20, let payload = readExactly(length) else {
                continuation.finish(throwing: Failure(code: "helper-failed", message: "roomd-capture export sent a broken record"))
                return
            }
            switch head[0] {
            case ExportRecord.data:
                // Whatever more data is already in the pipe joins this chunk
                // (up to 1 MiB): fewer, larger writes to the client, while
                // the first bytes still go out the moment they exist.
                pending.writeBytes(payload)
                if pending.readableBytes < chunkSize, readable() { continue }
                guard handOn() else { return stopped() }
            case ExportRecord.copy:
                // A whole box of a segment, as it is on disk: read here, on
                // this thread, straight into the chunks handed on.
                guard let range = ExportRecord.FileRange(payload: payload) else {
                    continuation.finish(throwing: Failure(code: "helper-failed", message: "roomd-capture export sent a broken copy record"))
                    return
                }
                var at = range.offset, left = range.length
                do {
                    let fd = try files.descriptor(range)
                    while left > 0 {
                        let want = Int(min(Int64(chunkSize - pending.readableBytes), left))
                        var got = 0, failure: Int32 = 0
                        pending.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { free in
                            got = pread(fd, free.baseAddress!, want, off_t(at))
                            failure = got < 0 ? errno : 0
                            return max(got, 0)
                        }
                        if got < 0, failure == EINTR { continue }
                        guard got > 0 else {
                            throw Failure(code: "unreadable-segment", message: "\(range.path): read at \(at) failed (\(got < 0 ? String(cString: strerror(failure)) : "end of file"))")
                        }
                        at += Int64(got)
                        left -= Int64(got)
                        if pending.readableBytes >= chunkSize, !handOn() { return stopped() }
                    }
                } catch {
                    continuation.finish(throwing: error)
                    return
                }
                if !readable(), !handOn() { return stopped() }
            case ExportRecord.report:
                guard handOn() else { return stopped() }
                do {
                    continuation.yield(.report(try JSONDecoder().decode(ExportReport.self, from: payload)))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: Failure(code: "helper-failed", message: "unreadable export report: \(error)"))
                }
                return
            case ExportRecord.error:
                struct Problem: Decodable { var code: String; var message: String }
                let problem = try? JSONDecoder().decode(Problem.self, from: payload)
                continuation.finish(throwing: Failure(code: problem?.code ?? "helper-failed",
                                                      message: problem?.message ?? String(decoding: payload, as: UTF8.self)))
                return
            default:
                continuation.finish(throwing: Failure(code: "helper-failed", message: "roomd-capture export sent an unknown record"))
                return
            }
        }
    }
}

/// The segment files a 'C' record may name — only those of the request,
/// only within their size — opened read-only once each (an hour's export
/// names each middle segment about 60 times in a row).
private final class SegmentReader {
    let allowed: Set<String>
    private var open: (path: String, fd: Int32, size: Int64)?

    init(allowed: Set<String>) { self.allowed = allowed }

    func descriptor(_ range: ExportRecord.FileRange) throws(ExportProcess.Failure) -> Int32 {
        guard allowed.contains(range.path) else {
            throw ExportProcess.Failure(code: "helper-failed", message: "roomd-capture export named a file outside its request: \(range.path)")
        }
        if open?.path != range.path {
            close()
            let fd = Glibc.open(range.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                throw ExportProcess.Failure(code: "unreadable-segment", message: "\(range.path): cannot open (\(String(cString: strerror(errno))))")
            }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                Glibc.close(fd)
                throw ExportProcess.Failure(code: "unreadable-segment", message: "\(range.path): cannot stat")
            }
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
            open = (range.path, fd, Int64(info.st_size))
        }
        guard let open, range.offset <= open.size, range.length <= open.size - range.offset else {
            throw ExportProcess.Failure(code: "helper-failed",
                                        message: "roomd-capture export named bytes \(range.offset)+\(range.length) beyond the end of \(range.path)")
        }
        return open.fd
    }

    func close() {
        if let open { Glibc.close(open.fd) }
        open = nil
    }
}

/// `roomd-capture rendition IN OUT`: a browser-playable copy of one segment,
/// written progressively to OUT. Blocking: call it on a blocking thread.
public struct RenditionRunner: Sendable {
    let helperPath: String
    let sandbox: Bool

    public init(helperPath: String, sandbox: Bool) {
        self.helperPath = helperPath
        self.sandbox = sandbox
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts the helper; returns its pid (for waiting and cancelling) and its stdout.
    public func start(input: String, output: String, width: Int) throws -> (pid: Int32, stdout: Int32) {
        let spawned = try ChildProcess.spawn(helperPath, arguments: ["roomd-capture", "rendition"] + (sandbox ? [] : ["--no-sandbox"])
                                             + ["--width", String(width), input, output])
        close(spawned.input)
        return (spawned.pid, spawned.output)
    }

    /// Waits for the helper started by ``start``: its report, or why it failed.
    public func finish(pid: Int32, stdout: Int32) throws -> RenditionReport {
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(stdout, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output.append(contentsOf: chunk[..<n])
        }
        close(stdout)
        let exit = ChildProcess.wait(pid)
        guard exit == .exited(0) else { throw Failure(description: "roomd-capture rendition: \(exit)") }
        guard let line = output.split(separator: 0x0A).last else { throw Failure(description: "roomd-capture rendition printed no report") }
        return try JSONDecoder().decode(RenditionReport.self, from: Data(line))
    }
}
