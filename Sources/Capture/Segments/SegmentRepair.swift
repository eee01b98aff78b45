import Glibc
internal import CFFmpeg

/// Brings a segment that was being written when roomd died back to a valid,
/// playable file: cut after the last complete fragment (moof+mdat), hash it
/// anew from disk, and count what it holds. Bytes after that point were never
/// acknowledged as durable (at most the last second); everything before is kept.
public enum SegmentRepair {
    public struct Result: Sendable, Equatable {
        public var bytes: Int64
        public var removedBytes: Int64
        public var sha256: String
        public var videoFrames: Int64
        /// Media duration of what was kept, in nanoseconds.
        public var durationNanoseconds: Int64
    }

    public static func repair(path: String, lockWait seconds: Int = 30) throws(CaptureError) -> Result {
        // A writer (a capture helper still closing it) holds an exclusive
        // lock on the file; wait for it rather than cut bytes it is writing.
        let lock = open(path, O_RDONLY | O_CLOEXEC)
        guard lock >= 0 else { throw CaptureError.system("open \(path)") }
        defer { close(lock) }
        var waited = 0
        while flock(lock, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, waited < seconds * 10 else {
                throw CaptureError.system(operation: "lock \(path) (still being written after \(seconds) s)", errno: errno)
            }
            usleep(100_000)
            waited += 1
        }
        let size = try fileSize(path)
        let keep = try lastCompleteFragmentEnd(path: path, size: size)
        let truncated = try truncate(path: path, to: keep)
        let (frames, duration) = keep > 0 ? probe(path: path) : (0, 0)
        return Result(bytes: truncated.bytes, removedBytes: size - keep, sha256: truncated.sha256,
                      videoFrames: frames, durationNanoseconds: duration)
    }

    /// Hash of a file as it is on disk (lowercase hex SHA-256).
    public static func sha256(path: String) throws(CaptureError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaptureError.system("open \(path)") }
        defer { close(fd) }
        let hash = SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw CaptureError.system("read \(path)") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hash.finish()
    }

    /// Cuts a file to `length` bytes, makes that durable and hashes the result.
    static func truncate(path: String, to length: Int64) throws(CaptureError) -> (bytes: Int64, sha256: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaptureError.system("open \(path)") }
        defer { close(fd) }
        if try fileSize(path) != length {
            guard ftruncate(fd, off_t(length)) == 0 else { throw CaptureError.system("ftruncate \(path)") }
        }
        guard fsync(fd) == 0 else { throw CaptureError.system("fsync \(path)") }
        try SegmentFile.syncDirectory(of: path)
        return (length, try sha256(path: path))
    }

    static func fileSize(_ path: String) throws(CaptureError) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CaptureError.system("stat \(path)") }
        return Int64(info.st_size)
    }

    /// Walks the top-level ISO-BMFF boxes and returns the offset after the
    /// last point where the file is whole: the header (ftyp+moov), each
    /// moof followed by its complete mdat, or the closing mfra.
    static func lastCompleteFragmentEnd(path: String, size: Int64) throws(CaptureError) -> Int64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaptureError.system("open \(path)") }
        defer { close(fd) }
        var offset: Int64 = 0
        var good: Int64 = 0
        var sawMoov = false
        var previous = ""
        var header = [UInt8](repeating: 0, count: 16)
        while offset + 8 <= size {
            let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 16, off_t(offset)) }
            guard n >= 8, let box = BoxHeader(header[0..<n]) else { break }
            let length = box.size, type = box.type
            guard length >= 8, offset + length <= size else { break }  // 0 (to EOF) or cut short: incomplete
            offset += length
            switch type {
            case "moov": sawMoov = true; good = offset
            case "mdat" where previous == "moof" && sawMoov: good = offset
            case "mfra" where sawMoov: good = offset
            default: break
            }
            previous = type
        }
        return good
    }

    /// Video frames and media duration, read back through libavformat.
    static func probe(path: String) -> (frames: Int64, durationNanoseconds: Int64) {
        var context: UnsafeMutablePointer<AVFormatContext>?
        guard avformat_open_input(&context, path, nil, nil) >= 0, let context else { return (0, 0) }
        defer { var c: UnsafeMutablePointer<AVFormatContext>? = context; avformat_close_input(&c) }
        let packet = av_packet_alloc()
        defer { var p = packet; av_packet_free(&p) }
        var frames: Int64 = 0
        var end: Int64 = 0
        while av_read_frame(context, packet) >= 0 {
            defer { av_packet_unref(packet) }
            let stream = context.pointee.streams[Int(packet!.pointee.stream_index)]!
            let tb = stream.pointee.time_base
            if stream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO { frames += 1 }
            if packet!.pointee.pts != Int64.min {
                let stop = packet!.pointee.pts + packet!.pointee.duration
                end = max(end, stop * 1_000_000_000 * Int64(tb.num) / Int64(tb.den))
            }
        }
        return (frames, end)
    }
}
