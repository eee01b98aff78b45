#if canImport(Glibc)
import Glibc
#endif
import Canonical
import Foundation
import Logging
import NIOConcurrencyHelpers
import RoomConfig
import Store

/// Log lines for journald when running under systemd (`JOURNAL_STREAM` set):
/// `<N>` syslog priority prefixes and no timestamp (journald adds its own).
/// Otherwise ISO-8601 timestamps for a terminal. Always to stderr, one write
/// per line so lines from different threads never interleave.
struct JournalLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let label: String
    let journal: Bool

    init(label: String, level: Logger.Level, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.logLevel = level
        self.journal = journal
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let line: String
        if journal {
            line = "<\(Self.priority(event.level))>\(label): \(event.message)\(fields)\n"
        } else {
            let stamp = Text.iso8601(nanoseconds: SystemClock.wallNanoseconds())
            line = "\(stamp) \(event.level.rawValue.uppercased()) \(label): \(event.message)\(fields)\n"
        }
        Self.writeToStandardError(line)
    }

    /// Problems printed before logging starts (`roomd check-config`, a configuration refused at
    /// start): under systemd each line carries the error priority, so `journalctl -p err` shows why
    /// the unit failed.
    static func writeErrors(_ text: String, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0)
        writeToStandardError(lines.map { (journal ? "<\(priority(.error))>" : "") + $0 + "\n" }.joined())
    }

    /// One write per line (retrying EINTR), so lines from different threads never interleave.
    static func writeToStandardError(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }
}
