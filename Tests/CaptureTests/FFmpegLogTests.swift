import Capture
import Foundation
import Logging
import Testing

/// FFmpeg's own log lines reach a capture helper's logger (and so roomd's
/// journal, with the device) as whole lines, not stderr.
@Suite(.serialized)
struct FFmpegLogTests {
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [(Logger.Level, String, Logger.Metadata)] = []
        func add(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
            lock.lock(); entries.append((level, message, metadata)); lock.unlock()
        }
        var all: [(Logger.Level, String, Logger.Metadata)] {
            lock.lock(); defer { lock.unlock() }
            return entries
        }
    }

    struct CollectingHandler: LogHandler {
        let collected: Collected
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            collected.add(event.level, event.message.description, metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }

    /// A segment whose structure is whole but whose movie header is not:
    /// reading it back (as repair does) makes FFmpeg's MP4 demuxer log an
    /// error ("Invalid mvhd time scale").
    static func damagedSegment() throws -> String {
        func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
            let size = UInt32(8 + payload.count)
            return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + Array(type.utf8) + payload
        }
        let bytes = box("ftyp", Array("isom\0\0\u{2}\0isomiso2mp41".utf8))
            + box("moov", box("mvhd", [UInt8](repeating: 0xFF, count: 20)) + box("trak", [UInt8](repeating: 0, count: 40)))
            + box("moof", [UInt8](repeating: 0, count: 16)) + box("mdat", [UInt8](repeating: 0, count: 64))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ffmpeg-log-\(UUID().uuidString).mp4").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func ffmpegErrorsReachTheLoggerAsWholeLinesWithTheDevice() throws {
        let collected = Collected()
        var logger = Logger(label: "ffmpeg") { _ in CollectingHandler(collected: collected) }
        logger[metadataKey: "device"] = "S01"
        FFmpegLog.forward(to: logger)
        defer { FFmpegLog.stopForwarding() }
        let path = try Self.damagedSegment()
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try SegmentRepair.repair(path: path)
        let lines = collected.all.filter { $0.1.contains("Invalid mvhd time scale") }
        #expect(lines.count == 1, "\(collected.all.map(\.1))")
        guard let (level, message, metadata) = lines.first else { return }
        #expect(level == .error)
        #expect(message.hasPrefix("ffmpeg: [mov,mp4,m4a,3gp,3g2,mj2 @ 0x") && !message.hasSuffix("\n"), "\(message)")
        #expect(metadata["device"] == "S01")

        // Stopped: FFmpeg goes back to stderr, the logger hears nothing more.
        FFmpegLog.stopForwarding()
        let before = collected.all.count
        _ = try SegmentRepair.repair(path: path)
        #expect(collected.all.count == before)
    }
}
