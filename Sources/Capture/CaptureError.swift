import Glibc
internal import CFFmpeg

/// Everything that can go wrong between a device and a closed segment, with
/// enough detail for an installer to act on (English for logs; the daemon
/// adds the Chinese for the operator console).
public enum CaptureError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The device node is absent (unplugged, wrong path) — retried with backoff.
    case deviceMissing(device: String, reason: String)
    /// The device vanished or failed while streaming (ENODEV, POLLERR, EIO).
    case deviceLost(device: String, reason: String)
    /// The device cannot deliver any format we can record.
    case unsupportedFormat(device: String, offered: [String])
    /// A system call failed.
    case system(operation: String, errno: Int32)
    /// FFmpeg refused.
    case ffmpeg(operation: String, code: Int32, message: String)
    /// ALSA refused.
    case alsa(operation: String, code: Int32, message: String)
    /// No space left for recordings.
    case diskFull(path: String)

    public var description: String {
        switch self {
        case .deviceMissing(let device, let reason): "device \(device) is missing: \(reason)"
        case .deviceLost(let device, let reason): "device \(device) was lost while streaming: \(reason)"
        case .unsupportedFormat(let device, let offered):
            "device \(device) offers no format roomd can record (offered: \(offered.isEmpty ? "none" : offered.joined(separator: ", ")); roomd takes MJPEG, YUYV, NV12 or YUV420)"
        case .system(let operation, let code): "\(operation) failed: \(String(cString: strerror(code)))"
        case .ffmpeg(let operation, _, let message): "FFmpeg \(operation) failed: \(message)"
        case .alsa(let operation, _, let message): "ALSA \(operation) failed: \(message)"
        case .diskFull(let path): "no space left for recordings on \(path)"
        }
    }

    static func ffmpeg(_ operation: String, _ code: Int32) -> CaptureError {
        var buffer = [CChar](repeating: 0, count: 256)
        roomd_av_strerror(code, &buffer, buffer.count)
        let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return .ffmpeg(operation: operation, code: code, message: message)
    }

    static func system(_ operation: String) -> CaptureError { .system(operation: operation, errno: errno) }
}

/// Runs an FFmpeg call and turns a negative return into a thrown error.
@discardableResult
func check(_ operation: String, _ code: Int32) throws(CaptureError) -> Int32 {
    if code < 0 { throw CaptureError.ffmpeg(operation, code) }
    return code
}
