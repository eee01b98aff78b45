import Archive
import ArgumentParser
import Foundation
import Glibc
import Identity
import RoomConfig

/// `roomctl doctor`: what an installer should fix, checked on this machine
/// without roomd (docs/operations.md, "roomctl doctor"): clock sync, the
/// recordings disk and the days of recording it has left, access to the
/// configured devices, certificates' expiry, the platform's reachability,
/// the database's integrity, and whether roomd answers.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Check this room server and say what to fix (自检).",
        discussion: "Exit status: 0 nothing failed (warnings allowed), 1 something failed.")

    @Option(help: "roomd's configuration.") var config: String = AdminSocketOptions.defaultConfig
    @Option(help: "Warn when certificates expire within this many days.") var certificateDays = 30
    @Option(help: "Warn when the recordings disk has fewer days of recording left than this.") var diskDays = 7
    @Flag(help: "Print JSON for scripts.") var json = false

    struct Check: Codable {
        enum Status: String, Codable { case ok, warn, fail }
        var check: String
        var status: Status
        var english: String
        var chinese: String
        var fix: String?
    }

    struct Report: Codable {
        var config: String
        var checks: [Check]
        var failed: Int
        var warnings: Int
    }

    func run() async throws {
        var checks: [Check] = []
        let loaded: RoomConfiguration
        do {
            loaded = try ConfigLoader.load(path: config)
            checks.append(Check(check: "config", status: .ok, english: "\(config) is valid", chinese: "配置文件有效"))
        } catch {
            checks.append(Check(check: "config", status: .fail, english: "\(config) is invalid: \(error)", chinese: "配置文件有误",
                                fix: "roomd check-config --config \(config)"))
            try finish(checks)
            return
        }
        checks.append(Self.clock())
        checks += Self.disk(loaded, days: diskDays)
        checks += Self.devices(loaded)
        checks += Self.certificates(loaded, days: certificateDays)
        if let platform = loaded.platform { checks.append(Self.reachable(platform.endpoint)) }
        checks.append(Self.database(loaded))
        checks.append(await Self.daemon(loaded))
        try finish(checks)
    }

    func finish(_ checks: [Check]) throws {
        let failed = checks.filter { $0.status == .fail }.count, warnings = checks.filter { $0.status == .warn }.count
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(Report(config: config, checks: checks, failed: failed, warnings: warnings)) + Data("\n".utf8))
        } else {
            for check in checks {
                let mark = check.status == .ok ? "OK  " : check.status == .warn ? "WARN" : "FAIL"
                print("\(mark)  \(check.check.padding(toLength: 12, withPad: " ", startingAt: 0))  \(check.english) / \(check.chinese)")
                if let fix = check.fix, check.status != .ok { print("      \(String(repeating: " ", count: 12))  → \(fix)") }
            }
            print(failed == 0 ? "\(warnings) warning(s); nothing failed / 未发现严重问题" : "\(failed) check(s) failed, \(warnings) warning(s) / 有 \(failed) 项需要处理")
        }
        if failed > 0 { throw ExitCode(1) }
    }

    // MARK: Checks

    static func output(_ executable: String, _ arguments: [String]) -> (status: Int32, text: String)? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        guard let found = paths.map({ $0 + "/" + executable }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: found)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// NTP: timedatectl (systemd-timesyncd or chrony behind it), else chronyc.
    static func clock() -> Check {
        if let (status, text) = output("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]), status == 0 {
            if text.trimmingCharacters(in: .whitespacesAndNewlines) == "yes" {
                return Check(check: "clock", status: .ok, english: "the clock is synchronized (NTP)", chinese: "系统时钟已同步")
            }
            return Check(check: "clock", status: .fail, english: "the clock is NOT synchronized: recordings, signatures and the ledger carry its time",
                         chinese: "系统时钟未同步：录像、签名和账本的时间都依赖它",
                         fix: "timedatectl set-ntp true (systemd-timesyncd) or install chrony, with the agency's NTP server; then timedatectl")
        }
        if let (status, text) = output("chronyc", ["-n", "tracking"]), status == 0 {
            if text.contains("Leap status     : Normal") {
                return Check(check: "clock", status: .ok, english: "chrony is synchronized", chinese: "chrony 时钟已同步")
            }
            return Check(check: "clock", status: .fail, english: "chrony is not synchronized", chinese: "chrony 时钟未同步",
                         fix: "chronyc sources -v: check the NTP servers in /etc/chrony/chrony.conf")
        }
        return Check(check: "clock", status: .warn, english: "cannot tell whether the clock is synchronized (neither timedatectl nor chronyc answered)",
                     chinese: "无法判断时钟是否同步", fix: "install systemd-timesyncd or chrony")
    }

    /// Free space on the recordings disk, and how many days of recording it holds at the configured cameras' rate.
    static func disk(_ config: RoomConfiguration, days: Int) -> [Check] {
        var info = statvfs()
        // Before roomd's first start the folder may not exist yet: the disk it will be on.
        var path = config.storage.recordingsDirectory
        while !FileManager.default.fileExists(atPath: path), path != "/" { path = (path as NSString).deletingLastPathComponent }
        guard statvfs(path, &info) == 0 else {
            return [Check(check: "disk", status: .fail, english: "\(path) cannot be examined: \(String(cString: strerror(errno)))",
                          chinese: "无法读取录像磁盘", fix: "create storage.recordings_dir (or state_dir) and mount the recordings disk")]
        }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        let floor = config.storage.minimumFreeBytes
        // What the room records per day: each camera at its configured size — MJPEG from a USB camera is about
        // 0.06 byte per pixel per frame (1080p25 ≈ 25 Mbit/s, nine cameras ≈ 100 GB per hour) — plus AAC audio.
        let cameras = config.stations.compactMap { $0.camera == nil ? nil : $0.format } + config.roomCameras.map(\.format)
        let bytesPerSecond = cameras.reduce(0.0) { $0 + Double($1.width * $1.height * $1.fps) * 0.06 + 16_000 }
        let daysLeft = bytesPerSecond > 0 ? Double(max(0, free - floor)) / (bytesPerSecond * 86_400) : .infinity
        let freeText = String(format: "%.1f GiB free", Double(free) / 1_073_741_824)
        let daysText = daysLeft.isFinite ? String(format: "%.1f days", daysLeft) : "unlimited"
        if free < 2 * floor {
            return [Check(check: "disk", status: .fail,
                          english: "\(freeText) on \(path), less than twice storage.min_free_mb (\(floor / 1_048_576) MiB): recording stops at the floor",
                          chinese: "录像磁盘空间即将用尽（低于最低保留空间的两倍），到达下限后停止录像",
                          fix: "make sure sealed packages are acknowledged by the platform (retention frees only delivered sessions: roomctl package list), or add disk")]
        }
        if daysLeft < Double(days) {
            return [Check(check: "disk", status: .warn, english: "\(freeText): about \(daysText) of recording left at the configured cameras' rate",
                          chinese: "录像磁盘约剩 \(daysText) 的录像空间", fix: "plan disk: nine 1080p MJPEG cameras need about 100 GB per hour")]
        }
        return [Check(check: "disk", status: .ok, english: "\(freeText) on \(path): about \(daysText) of recording", chinese: "录像磁盘空间充足")]
    }

    /// The configured cameras and microphones exist and this user may open them.
    static func devices(_ config: RoomConfiguration) -> [Check] {
        var out: [Check] = []
        var videos: [(String, String)] = []
        var audios: [(String, String)] = []
        for station in config.stations {
            if case .v4l2(let path)? = station.camera { videos.append((station.id, path)) }
            if case .alsa(let device)? = station.microphone { audios.append((station.id, device)) }
        }
        for camera in config.roomCameras {
            if case .v4l2(let path) = camera.camera { videos.append((camera.id, path)) }
            if case .alsa(let device)? = camera.microphone { audios.append((camera.id, device)) }
        }
        for (id, path) in videos {
            if !FileManager.default.fileExists(atPath: path) {
                out.append(Check(check: "device", status: .fail, english: "\(id): camera \(path) does not exist", chinese: "\(id)：摄像头不存在",
                                 fix: "plug the camera into the port the by-path name describes (ls -l /dev/v4l/by-path/), or correct roomd.yaml"))
            } else if access(path, R_OK | W_OK) != 0 {
                out.append(Check(check: "device", status: .fail, english: "\(id): no permission to open \(path)", chinese: "\(id)：无权访问摄像头",
                                 fix: "the roomd user must be in group video (the package's sysusers file does it)"))
            } else {
                out.append(Check(check: "device", status: .ok, english: "\(id): camera \(path)", chinese: "\(id)：摄像头可用"))
            }
        }
        for (id, device) in audios {
            let card = device.components(separatedBy: "CARD=").dropFirst().first?.split(separator: ",").first.map(String.init)
            if let card, !FileManager.default.fileExists(atPath: "/proc/asound/" + card) {
                out.append(Check(check: "device", status: .fail, english: "\(id): sound card \(card) is not present", chinese: "\(id)：麦克风（声卡）不存在",
                                 fix: "arecord -l lists the cards; correct roomd.yaml or plug the microphone in"))
            } else if access("/dev/snd", R_OK) != 0 {
                out.append(Check(check: "device", status: .fail, english: "\(id): no permission to /dev/snd", chinese: "\(id)：无权访问声卡",
                                 fix: "the roomd user must be in group audio"))
            } else {
                out.append(Check(check: "device", status: .ok, english: "\(id): microphone \(device)", chinese: "\(id)：麦克风可用"))
            }
        }
        return out
    }

    /// Every certificate roomd presents or signs with, and the CAs it trusts: days to expiry.
    static func certificates(_ config: RoomConfiguration, days: Int) -> [Check] {
        var files: [(String, String)] = [("TLS server certificate", config.tls.certificate),
                                         ("ledger signing certificate", config.ledger.signingCertificate)]
        if let seal = config.packages.signingCertificate { files.append(("package seal certificate", seal)) }
        files += config.tls.clientCAs.map { ("client CA", $0) }
        if let ca = config.platform?.caCertificate { files.append(("platform CA", ca)) }
        var seen = Set<String>()
        var out: [Check] = []
        for (what, file) in files where seen.insert(file).inserted {
            guard let data = FileManager.default.contents(atPath: file), let certificate = (try? Certificate.all(pem: Array(data)))?.first else {
                out.append(Check(check: "certificate", status: .fail, english: "\(what) \(file) cannot be read", chinese: "证书无法读取",
                                 fix: "roomd check-config names the problem"))
                continue
            }
            let left = certificate.notAfter.timeIntervalSinceNow / 86_400
            let until = ISO8601DateFormatter().string(from: certificate.notAfter)
            if left < 0 {
                out.append(Check(check: "certificate", status: .fail, english: "\(what) \(file) EXPIRED on \(until)", chinese: "证书已过期",
                                 fix: "renew it with the issuing CA and restart roomd (systemctl reload for trust folders)"))
            } else if left < Double(days) {
                out.append(Check(check: "certificate", status: .fail,
                                 english: "\(what) \(file) expires in \(Int(left)) day(s), on \(until)", chinese: "证书将在 \(Int(left)) 天后过期",
                                 fix: "renew it now with the issuing CA; stations, the platform and verifiers refuse it once expired"))
            } else {
                out.append(Check(check: "certificate", status: .ok, english: "\(what) valid until \(until)", chinese: "证书有效"))
            }
        }
        return out
    }

    /// The platform's endpoint accepts a TCP connection within 5 seconds.
    static func reachable(_ endpoint: String) -> Check {
        guard let url = URL(string: endpoint), let host = url.host else {
            return Check(check: "platform", status: .fail, english: "platform.endpoint \(endpoint) is not a URL", chinese: "平台地址有误")
        }
        let port = url.port ?? 443
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            return Check(check: "platform", status: .fail, english: "cannot resolve \(host)", chinese: "无法解析平台地址",
                         fix: "check DNS (/etc/resolv.conf) or use the platform's IP address")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), first.pointee.ai_protocol)
        guard fd >= 0 else { return Check(check: "platform", status: .fail, english: "cannot open a socket", chinese: "无法建立连接") }
        defer { close(fd) }
        var connected = connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0
        if !connected, errno == EINPROGRESS {
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, 5000) == 1 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                connected = error == 0
            }
        }
        if connected {
            return Check(check: "platform", status: .ok, english: "\(host):\(port) accepts connections", chinese: "平台可以连接")
        }
        return Check(check: "platform", status: .fail, english: "\(host):\(port) cannot be reached within 5 s", chinese: "无法连接政府采购云平台",
                     fix: "check the network, firewall and proxy toward the platform; packages wait in the outbox meanwhile")
    }

    static func database(_ config: RoomConfiguration) -> Check {
        let path = config.storage.databasePath
        guard FileManager.default.fileExists(atPath: path) else {
            return Check(check: "database", status: .warn, english: "\(path) does not exist yet (roomd creates it at its first start)",
                         chinese: "数据库尚未创建")
        }
        do {
            let answer = try Ledger.openReadOnly(path: path).quickCheck()
            if answer == ["ok"] { return Check(check: "database", status: .ok, english: "\(path): integrity ok", chinese: "数据库完好") }
            return Check(check: "database", status: .fail, english: "\(path): \(answer.prefix(3).joined(separator: "; "))", chinese: "数据库损坏",
                         fix: "stop roomd, keep a copy of the file, and restore from backup (docs/operations.md)")
        } catch {
            return Check(check: "database", status: .fail, english: "\(path) cannot be read: \(error)", chinese: "数据库无法读取",
                         fix: "run as root or a member of group roomd")
        }
    }

    static func daemon(_ config: RoomConfiguration) async -> Check {
        let client = AdminClient(socketPath: config.api.adminSocket)
        if FileManager.default.fileExists(atPath: config.api.adminSocket), let status = try? await client.get("/v1/status", as: RoomStatus.self) {
            return Check(check: "roomd", status: status.healthy ? .ok : .warn,
                         english: "roomd \(status.daemon.version) answers; " + (status.healthy ? "healthy" : "DEGRADED (roomctl status)"),
                         chinese: status.healthy ? "roomd 运行正常" : "roomd 运行异常")
        }
        return Check(check: "roomd", status: .warn, english: "roomd does not answer on \(config.api.adminSocket)", chinese: "roomd 未运行",
                     fix: "systemctl status roomd; journalctl -u roomd")
    }
}
