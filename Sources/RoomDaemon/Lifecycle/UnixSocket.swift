#if canImport(Glibc)
import Glibc
import Store
#endif

/// Helpers for the admin socket's file.
enum UnixSocketFile {
    enum Problem: Error, CustomStringConvertible {
        case inUse(String)
        case cannotRemove(String, Int32)

        var description: String {
            switch self {
            case .inUse(let path): "admin socket \(path) is in use: another roomd is running for this room / 另一个roomd正在运行"
            case .cannotRemove(let path, let err): "cannot remove stale admin socket \(path): \(String(cString: strerror(err)))"
            }
        }
    }

    /// Removes a socket file left by a daemon that died; refuses if a live
    /// daemon still answers on it.
    static func removeStale(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 { throw Problem.inUse(path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw Problem.cannotRemove(path, errno) }
    }
}
