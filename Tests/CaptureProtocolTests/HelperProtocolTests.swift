import CaptureProtocol
import Foundation
import Glibc
import Testing

/// The line protocol between roomd and roomd-capture: every message survives
/// the trip, lines split across reads are reassembled, and the reader tells a
/// timeout from a closed pipe.
@Suite struct HelperProtocolTests {
    final class Pipe: Sendable {
        let read: Int32, write: Int32
        init() {
            var fds: [Int32] = [-1, -1]
            precondition(Glibc.pipe(&fds) == 0)
            read = fds[0]; write = fds[1]
        }
        deinit { close(read); if write >= 0 { close(write) } }
    }

    static let opened = SegmentOpened(device: "S01", sequence: 7, path: "/var/lib/roomd/recordings/S01/x_000007.mp4",
                                      wallStartNanoseconds: 1_795_700_000_000_000_000, monotonicStartNanoseconds: 42,
                                      videoCodec: "mjpeg", audioCodec: nil, synthetic: false)

    static var helperMessages: [HelperMessage] {
        var status = RecorderStatus()
        status.state = .diskFull
        status.detail = "12 MiB free / 磁盘空间不足"
        status.framesPerSecond = 29.97
        return [
            .hello(pid: 4242, devices: ["S01", "C01"], sandbox: SandboxReport(enabled: true, complete: false,
                                                                              summary: "seccomp (no sockets); no Landlock: kernel built without Landlock")),
            .hello(pid: 4243, devices: ["S02"], sandbox: .off),
            .nextSequence(request: 1, device: "S01"),
            .segmentOpened(request: 2, segment: opened),
            .segmentClosed(request: 3, id: 99, closed: SegmentClosed(wallEndNanoseconds: 5, frames: 1800, droppedFrames: 2,
                                                                     audioXruns: 1, bytes: 185_534_249, sha256: String(repeating: "ab", count: 32),
                                                                     reason: "boundary")),
            .segmentProgressed(id: 99, progress: SegmentProgress(durableBytes: 4096, wallEndNanoseconds: 6, frames: 30)),
            .event(CaptureEvent(kind: .helperExited, device: "S02", wallNanoseconds: 8, detail: ["exit": "killed by signal 9", "行": "换\n行"])),
            .status(device: "S01", status: status),
            .log(level: "error", message: "device lost\nsecond line", metadata: ["device": "S01"]),
            .still(device: "S01", wallNanoseconds: 1_795_700_000_500_000_000, jpeg: Data([0xFF, 0xD8, 0xFF, 0xE0, 0x0A, 0x00, 0x0A, 0xFF, 0xD9])),
            .still(device: "C01", wallNanoseconds: 9, jpeg: Data()),
        ]
    }

    static var daemonMessages: [DaemonMessage] {
        [
            .start(recorders: [
                RecorderConfiguration(device: "S01", video: .v4l2(path: "/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0",
                                                                  preferred: .mjpeg, width: 1920, height: 1080, fps: 30),
                                      audio: .alsa(device: "hw:CARD=S01,DEV=0"), directory: "/var/lib/roomd/recordings", segmentSeconds: 60),
                RecorderConfiguration(device: "C01", video: .synthetic(width: 320, height: 240, fps: 15), audio: nil,
                                      directory: "/tmp/r", segmentSeconds: 10, x264Preset: "ultrafast", minimumFreeBytes: 1 << 20),
            ], sandbox: true),
            .start(recorders: [], sandbox: false),
            .reply(request: 2, value: 17, error: nil),
            .reply(request: 3, value: nil, error: "database is locked"),
            .stop,
        ]
    }

    @Test func everyMessageRoundTrips() throws {
        let pipe = Pipe()
        let writer = LineChannel(input: -1, output: pipe.write)
        let reader = LineChannel(input: pipe.read, output: -1)
        let helperMessages = Self.helperMessages, daemonMessages = Self.daemonMessages
        for message in helperMessages { #expect(writer.send(message)) }
        for message in daemonMessages { #expect(writer.send(message)) }
        for expected in helperMessages {
            guard case .message(let got) = try reader.receive(HelperMessage.self, timeout: 5) else {
                Issue.record("no message for \(expected)"); return
            }
            #expect(got == expected)
        }
        for expected in daemonMessages {
            guard case .message(let got) = try reader.receive(DaemonMessage.self, timeout: 5) else {
                Issue.record("no message for \(expected)"); return
            }
            #expect(got == expected)
        }
    }

    /// The fork server's messages (one JSON object per SOCK_SEQPACKET message).
    @Test func forkServerMessagesRoundTrip() throws {
        let messages: [ForkServerMessage] = [.launched(request: 1, pid: 4242), .failed(request: 2, error: "fork: Resource temporarily unavailable"),
                                             .exited(pid: 4242, status: 9)]
        for message in messages {
            #expect(try JSONDecoder().decode(ForkServerMessage.self, from: JSONEncoder().encode(message)) == message)
        }
        let request = ForkServerRequest.launch(request: 7)
        #expect(try JSONDecoder().decode(ForkServerRequest.self, from: JSONEncoder().encode(request)) == request)
    }

    /// A still is one line however large (an MJPEG camera's own frame at
    /// 1080p can be half a megabyte, several pipe buffers): it arrives whole,
    /// its bytes unchanged, and the message after it too.
    @Test func largeStillRoundTripsAsOneLine() throws {
        let pipe = Pipe()
        let writer = LineChannel(input: -1, output: pipe.write)
        let reader = LineChannel(input: pipe.read, output: -1)
        var generator = SystemRandomNumberGenerator()
        let jpeg = Data([0xFF, 0xD8] + (0..<600_000).map { _ in UInt8.random(in: 0...255, using: &generator) } + [0xFF, 0xD9])
        let still = HelperMessage.still(device: "C01", wallNanoseconds: 1_795_700_000_000_000_000, jpeg: jpeg)
        let sender = Thread {
            writer.send(still)
            writer.send(HelperMessage.nextSequence(request: 1, device: "C01"))
        }
        sender.start()
        guard case .message(let got) = try reader.receive(HelperMessage.self, timeout: 10) else {
            Issue.record("no still received"); return
        }
        #expect(got == still)
        guard case .message(.nextSequence(1, "C01")) = try reader.receive(HelperMessage.self, timeout: 10) else {
            Issue.record("the next message was lost"); return
        }
    }

    @Test func oneLinePerMessageEvenWithNewlinesInside() throws {
        let pipe = Pipe()
        let writer = LineChannel(input: -1, output: pipe.write)
        #expect(writer.send(HelperMessage.log(level: "info", message: "a\nb\nc", metadata: [:])))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(pipe.read, &buffer, buffer.count)
        #expect(n > 0 && buffer[..<n].filter { $0 == 0x0A }.count == 1 && buffer[n - 1] == 0x0A)
    }

    @Test func linesSplitAcrossWritesAreReassembled() throws {
        let pipe = Pipe()
        let reader = LineChannel(input: pipe.read, output: -1)
        let line = Array(try JSONEncoder().encode(HelperMessage.nextSequence(request: 5, device: "S03"))) + [0x0A]
        let trickle = Thread {
            for byte in line {
                var b = byte
                _ = write(pipe.write, &b, 1)
                usleep(1000)
            }
        }
        trickle.start()
        guard case .message(let got) = try reader.receive(HelperMessage.self, timeout: 10) else {
            Issue.record("nothing received"); return
        }
        #expect(got == .nextSequence(request: 5, device: "S03"))
    }

    @Test func timeoutThenClosed() throws {
        let pipe = Pipe()
        let reader = LineChannel(input: pipe.read, output: -1)
        guard case .timeout = try reader.receive(DaemonMessage.self, timeout: 0.1) else {
            Issue.record("expected a timeout"); return
        }
        close(pipe.write)
        guard case .closed = try reader.receive(DaemonMessage.self, timeout: 1) else {
            Issue.record("expected the pipe to read as closed"); return
        }
    }

    @Test func garbageIsAnErrorNotAMessage() throws {
        let pipe = Pipe()
        let reader = LineChannel(input: pipe.read, output: -1)
        let junk = Array("{\"stop\":{}}\nnot json\n".utf8)
        _ = junk.withUnsafeBytes { write(pipe.write, $0.baseAddress, $0.count) }
        guard case .message(.stop) = try reader.receive(DaemonMessage.self, timeout: 1) else {
            Issue.record("the valid line first"); return
        }
        #expect(throws: (any Error).self) { _ = try reader.receive(DaemonMessage.self, timeout: 1) }
    }

    @Test func writingToAClosedPipeReportsFailure() {
        signal(SIGPIPE, SIG_IGN)
        let pipe = Pipe()
        close(pipe.read)
        let writer = LineChannel(input: -1, output: pipe.write)
        #expect(!writer.send(DaemonMessage.stop))
    }
}
