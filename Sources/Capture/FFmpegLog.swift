import Foundation
public import Logging
internal import CFFmpeg

/// FFmpeg's own log lines ("[mjpeg @ 0x…] …"), which by default go to stderr
/// with nothing saying which device they are about. In a capture helper
/// they go to its logger instead — to roomd, with the device in the
/// metadata. Only what passes FFmpeg's log level (errors: ``Recorder`` sets
/// it) arrives.
public enum FFmpegLog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var logger: Logger?

    public static func forward(to logger: Logger) {
        lock.lock()
        self.logger = logger
        lock.unlock()
        roomd_av_log_forward { level, line in
            guard let line else { return }
            FFmpegLog.log(level: level, String(cString: line))
        }
    }

    /// FFmpeg writes to stderr again.
    public static func stopForwarding() {
        roomd_av_log_forward(nil)
        lock.lock()
        logger = nil
        lock.unlock()
    }

    private static func log(level: Int32, _ line: String) {
        lock.lock()
        let logger = self.logger
        lock.unlock()
        let mapped: Logger.Level = switch level {
        case ...AV_LOG_FATAL: .critical
        case ...AV_LOG_ERROR: .error
        case ...AV_LOG_WARNING: .warning
        default: .info
        }
        logger?.log(level: mapped, "ffmpeg: \(line)")
    }
}
