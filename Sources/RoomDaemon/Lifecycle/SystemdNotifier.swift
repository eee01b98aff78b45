#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Store

/// The sd_notify(3) protocol, spoken directly: datagrams to `$NOTIFY_SOCKET`.
/// Without a notify socket (not run by systemd) every call does nothing.
final class SystemdNotifier: Sendable {
    private let fd: Int32
    private let address: sockaddr_un?
    private let addressLength: socklen_t
    /// Half the watchdog period systemd asked for, or nil when it asked for none.
    let watchdogInterval: Duration?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var address = sockaddr_un()
        var length: socklen_t = 0
        var fd: Int32 = -1
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) {
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(path.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: bytes)
            }
            length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        self.fd = fd
        self.address = fd >= 0 ? address : nil
        self.addressLength = length

        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            let pid = environment["WATCHDOG_PID"].flatMap(Int32.init)
            if pid == nil || pid == getpid() { interval = .microseconds(Int64(usec / 2)) }
        }
        self.watchdogInterval = interval
    }

    deinit { if fd >= 0 { close(fd) } }

    var isActive: Bool { address != nil }

    /// Sends `KEY=value` lines. Returns false if systemd could not be told.
    @discardableResult
    func notify(_ fields: String...) -> Bool {
        guard var address else { return false }
        let message = Array(fields.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                // Never block: a notify socket nobody reads (systemd busy, a test
                // harness that stopped listening) must not stall the caller — a
                // stalled STATUS= once held up a graceful shutdown.
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, addressLength) }
            }
        }
        return sent == message.count
    }

    func ready(status: String) { notify("READY=1", "STATUS=\(status)", "MAINPID=\(getpid())") }
    func status(_ text: String) { notify("STATUS=\(text)") }
    func watchdog() { notify("WATCHDOG=1") }
    func stopping(status: String) { notify("STOPPING=1", "STATUS=\(status)") }
}
