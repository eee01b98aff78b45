import Glibc

/// One segment file being written: strictly sequential writes, every byte fed
/// to SHA-256 as it goes, `fdatasync` at each fragment boundary, and at close
/// `fsync` of the file and of its folder, so the name and size are durable
/// before the index says `closed`.
///
/// The file is opened with O_EXCL: an existing file is never overwritten.
/// The folders segments go into.
public enum RecordingFolder {
    /// Makes `path` and any missing parents (mode 0750, as every recording folder).
    public static func make(_ path: String) throws(CaptureError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o750) != 0 && errno != EEXIST { throw CaptureError.system("mkdir \(current)") }
        }
    }
}

final class SegmentFile {
    let path: String
    private var fd: Int32
    private let hash = SHA256Stream()
    private(set) var bytesWritten: Int64 = 0
    /// Offset just after the last fragment made durable (repair truncates here).
    private(set) var durableBytes: Int64 = 0
    /// The first write error; FFmpeg sees a failure and stops, we report this.
    private(set) var failure: CaptureError?

    init(path: String) throws(CaptureError) {
        self.path = path
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try RecordingFolder.make(directory)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        if fd < 0 { throw CaptureError.system("open \(path)") }
        // Held until the file is closed (or this process dies): a repair in
        // another process waits for it, so a segment is never cut back while
        // a capture helper that is still shutting down writes to it.
        _ = flock(fd, LOCK_EX | LOCK_NB)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Writes all of `bytes` or fails; returns false after the first failure.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno == ENOSPC || errno == EDQUOT ? .diskFull(path: path) : CaptureError.system("write \(path)")
                return false
            }
            offset += n
        }
        hash.update(bytes)
        bytesWritten += Int64(bytes.count)
        return true
    }

    /// Makes everything written so far durable (a fragment boundary).
    func syncData() throws(CaptureError) {
        if let failure { throw failure }
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw CaptureError.system("fdatasync \(path)")
        }
        durableBytes = bytesWritten
    }

    /// fsync the file, close it, fsync its folder; returns the SHA-256.
    func finish() throws(CaptureError) -> String {
        if let failure { throw failure }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw CaptureError.system("fsync \(path)")
        }
        durableBytes = bytesWritten
        close(fd)
        fd = -1
        try Self.syncDirectory(of: path)
        return hash.finish()
    }

    static func syncDirectory(of path: String) throws(CaptureError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw CaptureError.system("open \(directory)") }
        defer { close(dfd) }
        while fsync(dfd) != 0 {
            if errno == EINTR { continue }
            throw CaptureError.system("fsync \(directory)")
        }
    }
}
