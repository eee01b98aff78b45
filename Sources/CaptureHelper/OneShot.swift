import Capture
import CaptureProtocol
import Foundation
import Glibc

/// `roomd-capture export [--no-sandbox]`: one ExportRequest (a JSON line)
/// on stdin; on stdout the MP4 in 'D' records as it is made, then the
/// ExportReport ('R'), or an ExportFailure ('E') and exit status 1.
enum ExportMain {
    static func run(arguments: [String]) -> Never {
        let confine = !arguments.contains("--no-sandbox")
        guard arguments.allSatisfy({ $0 == "--no-sandbox" }) else { fail("usage: roomd-capture export [--no-sandbox] < REQUEST.json") }
        // A reader that went away is a failed write (EPIPE), not a signal.
        signal(SIGPIPE, SIG_IGN)
        let records = RecordWriter(descriptor: STDOUT_FILENO)
        let request: ExportRequest
        do {
            request = try JSONDecoder().decode(ExportRequest.self, from: Data(readLine(from: STDIN_FILENO)))
        } catch {
            records.failAndExit(ExportFailure(code: ExportFailure.badRequest, message: "unreadable request on stdin: \(error)"))
        }
        // FFmpeg's log level, OpenSSL's configuration: before any confinement.
        CaptureWarmUp.run()
        if confine {
            // Segments are parsed by FFmpeg: confined to reading them. A path
            // that does not exist is left out of the rules (it cannot be
            // created in here either) and fails as unreadable below.
            let readable = request.segments.map(\.path).filter { access($0, F_OK) == 0 }
            let outcome = HelperSandbox(reading: readable).apply()
            if !outcome.complete {
                FileHandle.standardError.write(Data("roomd-capture[\(getpid())]: exports without part of its sandbox: \(outcome.summary)\n".utf8))
            }
        }
        do {
            let report = try SegmentExport.run(request, output: { (chunk: UnsafeRawBufferPointer) throws(CaptureError) in
                try records.send(ExportRecord.data, chunk)
            }, refer: { (range: ExportRecord.FileRange) throws(CaptureError) in
                try records.send(ExportRecord.copy, Data(range.payload))
            })
            let json = try JSONEncoder().encode(report)
            try records.send(ExportRecord.report, json)
            exit(0)
        } catch let failure as ExportFailure {
            records.failAndExit(failure)
        } catch {
            records.failAndExit(ExportFailure(code: ExportFailure.outputFailed, message: "\(error)"))
        }
    }

    /// One line (without its newline) from a descriptor, read byte-wise
    /// blocks: nothing after the line is consumed by anyone else anyway.
    static func readLine(from descriptor: Int32) -> [UInt8] {
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while line.count < 64 << 20 {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }
            if let newline = buffer[..<n].firstIndex(of: 0x0A) {
                line += buffer[..<newline]
                break
            }
            line += buffer[..<n]
        }
        return line
    }
}

/// Writes `[kind][length, 4 bytes big-endian][payload]` records, whole, to a descriptor.
final class RecordWriter {
    let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    func send(_ kind: UInt8, _ payload: UnsafeRawBufferPointer) throws(CaptureError) {
        let header = ExportRecord.header(kind: kind, length: payload.count)
        var failure = header.withUnsafeBytes { writeAll($0) }
        if failure == 0 { failure = writeAll(payload) }
        if failure != 0 { throw CaptureError.system(operation: "write to stdout", errno: failure) }
    }

    func send(_ kind: UInt8, _ payload: Data) throws(CaptureError) {
        let failure = payload.withUnsafeBytes { pointer -> CaptureError? in
            do throws(CaptureError) { try send(kind, pointer); return nil } catch { return error }
        }
        if let failure { throw failure }
    }

    /// Writes all of `bytes`; 0, or the errno of the failed write.
    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }

    /// Sends the 'E' record (if the reader still listens) and exits with status 1.
    func failAndExit(_ failure: ExportFailure) -> Never {
        FileHandle.standardError.write(Data("roomd-capture[\(getpid())]: export failed: \(failure)\n".utf8))
        if let json = try? JSONEncoder().encode(failure) {
            try? send(ExportRecord.error, json)
        }
        exit(1)
    }
}

/// `roomd-capture rendition [--no-sandbox] [--width N] IN OUT`: a copy of
/// the segment IN that browsers play, written to OUT (created; it must not
/// exist) as it is made; a RenditionReport (a JSON line) on stdout at the end.
enum RenditionMain {
    static func run(arguments: [String]) -> Never {
        var confine = true
        var width = 640
        var operands: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--no-sandbox": confine = false
            case "--width":
                guard let value = rest.popFirst().flatMap({ Int($0) }), value >= 16 else { fail("rendition: --width takes a number of pixels (≥ 16)") }
                width = value
            default: operands.append(argument)
            }
        }
        guard operands.count == 2 else { fail("usage: roomd-capture rendition [--no-sandbox] [--width N] IN OUT") }
        let input = operands[0], output = operands[1]
        signal(SIGPIPE, SIG_IGN)
        // Created before confinement: the sandbox then grants no write at
        // all, and an existing file (another rendition's) is never touched.
        let descriptor = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { fail("rendition: cannot create \(output): \(String(cString: strerror(errno)))") }
        CaptureWarmUp.run()
        if confine {
            let outcome = HelperSandbox(reading: access(input, F_OK) == 0 ? [input] : []).apply()
            if !outcome.complete {
                FileHandle.standardError.write(Data("roomd-capture[\(getpid())]: renders without part of its sandbox: \(outcome.summary)\n".utf8))
            }
        }
        do {
            let report = try SegmentRendition.make(input: input, output: descriptor, maxWidth: width)
            guard close(descriptor) == 0 else { throw CaptureError.system(operation: "close \(output)", errno: errno) }
            FileHandle.standardOutput.write(try JSONEncoder().encode(report) + Data("\n".utf8))
            exit(0)
        } catch {
            // Confined, the file cannot be removed (no such right): roomd does.
            let removed = unlink(output) == 0
            fail("rendition of \(input) failed: \(error)" + (removed ? "" : "; \(output) is left incomplete"))
        }
    }
}
