#if canImport(Glibc)
public import Glibc
#endif
import Foundation

/// Writes a file atomically (temporary file, fsync, rename) with the given
/// permissions set before any byte is written, so a private key is never
/// readable by others, not even for a moment.
public enum SecureFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
    }

    /// The temporary file is new (`O_EXCL`) under an unpredictable name and
    /// never a symbolic link (`O_NOFOLLOW`): a link planted where it would be
    /// cannot redirect a key into a file of someone else's choosing.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        var fd: Int32 = -1
        var temporary = ""
        for _ in 0..<8 {
            temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max)))"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw WriteError(path: temporary, errno: errno) }
        var ok = fchmod(fd, mode) == 0  // the umask must not widen or narrow what we ask for
        var offset = 0
        while ok, offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                ok = false
            } else {
                offset += written
            }
        }
        if ok { ok = fsync(fd) == 0 }
        let savedErrno = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let error = ok ? errno : savedErrno
            unlink(temporary)
            throw WriteError(path: path, errno: error)
        }
    }

    /// fsync of a folder: the names made in it (a rename, a hard link, a new
    /// file) survive a power cut once this returns.
    public static func syncFolder(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw WriteError(path: path, errno: errno) }
    }

    /// ``syncFolder(_:)`` for `root` and every folder below it, deepest first.
    public static func syncFolders(below root: String) throws {
        var folders = [root]
        if let walker = FileManager.default.enumerator(atPath: root) {
            while let relative = walker.nextObject() as? String {
                if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { folders.append(root + "/" + relative) }
            }
        }
        for folder in folders.reversed() { try syncFolder(folder) }
    }
}
