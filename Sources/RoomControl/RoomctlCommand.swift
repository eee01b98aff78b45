import Foundation
import ArgumentParser
import Identity
import RoomConfig

@main
struct RoomctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roomctl",
        abstract: "Install, inspect and operate a roomd evaluation room.",
        version: BuildInfo.version,
        subcommands: [Status.self, PKI.self, LedgerCommand.self, StationCommand.self, ExpertCommand.self, SupplierCommand.self, RosterCommand.self,
                      SessionCommand.self, OpeningRoomCommand.self, RecordingsCommand.self, PackageCommand.self, PlatformCommand.self, DoctorCommand.self, DevicesCommand.self])
}

struct AdminSocketOptions: ParsableArguments {
    @Option(help: "roomd's configuration (to find the admin socket).")
    var config: String = AdminSocketOptions.defaultConfig

    @Option(help: "The admin socket; overrides --config.")
    var socket: String?

    func resolve() throws -> String {
        if let socket { return socket }
        if let env = ProcessInfo.processInfo.environment["ROOMD_ADMIN_SOCKET"], !env.isEmpty { return env }
        guard let path = ConfigLoader.adminSocketPath(configPath: config) else {
            let which = config == ConfigLoader.defaultPath ? "\(config) (the default configuration)" : config
            throw ValidationError("""
                cannot find roomd's admin socket: \(which) is missing, unreadable or names none. \
                Pass --config FILE (the demo: --config config/demo.yaml) or --socket PATH, or set ROOMD_CONFIG. \
                / 找不到roomd管理接口：请用 --config 指定配置文件
                """)
        }
        return path
    }

    /// `--config`'s default: `ROOMD_CONFIG`, else /etc/roomd/roomd.yaml.
    static var defaultConfig: String {
        ProcessInfo.processInfo.environment["ROOMD_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? ConfigLoader.defaultPath
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the room, its stations and the daemon's services.")

    @OptionGroup var socket: AdminSocketOptions

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    @Option(help: "How many recent events to show.")
    var events = 10

    func run() async throws {
        let client = AdminClient(socketPath: try socket.resolve())
        if json {
            FileHandle.standardOutput.write(Data(try await client.send(.GET, "/v1/status?events=\(events)")))
            return
        }
        let room = try await client.get("/v1/status?events=\(events)", as: RoomStatus.self)
        print(StatusTable.render(room))
        if !room.healthy { throw ExitCode(3) }
    }
}

enum StatusTable {
    static func render(_ s: RoomStatus) -> String {
        var out: [String] = []
        out.append("Room      \(s.room.id)  \(s.room.name)  (\(s.room.kind))")
        out.append("Agency    \(s.room.agency)")
        out.append("Daemon    roomd \(s.daemon.version), pid \(s.daemon.pid), up \(duration(s.daemon.uptimeSeconds)), since \(s.daemon.startedAt)")
        if let starts = s.daemon.captureForkServerStarts, starts > 0 {
            out.append("Capture   fork server " + (s.daemon.captureForkServerPID.map { "pid \($0)" } ?? "not running")
                       + (starts > 1 ? ", started \(starts) times (it ended or hung)" : ""))
        }
        let sandboxes = s.devices.compactMap { device in device.helperSandbox.map { (device.id, $0) } }
        if Set(sandboxes.map(\.1)).count == 1, let only = sandboxes.first?.1 {
            out.append("Sandbox   capture helpers: \(only)")
        } else if !sandboxes.isEmpty {
            out.append("Sandbox   " + sandboxes.map { "\($0.0): \($0.1)" }.joined(separator: "; "))
        }
        out.append("Health    \(s.healthy ? "OK / 正常" : "DEGRADED / 异常")")
        out.append("")
        out.append(table(header: ["SERVICE", "HEALTH", "DETAIL"],
                         rows: s.services.map { [$0.name, $0.healthy ? "ok" : "FAILING", $0.detail] }))
        out.append("")
        out.append(table(header: ["STATION", "STATE", "HOST", "CAMERA", "MICROPHONE", "LAST SEEN"],
                         rows: s.stations.map { [$0.id, $0.state, $0.host ?? "-", $0.camera ?? "-", $0.microphone ?? "-", $0.lastSeen ?? "-"] }))
        if !s.devices.isEmpty {
            out.append("")
            out.append(table(header: ["DEVICE", "RECORDING", "FPS", "FRAMES", "DROPPED", "XRUNS", "SEGMENTS", "LAST SEGMENT", "HELPER", "DETAIL"],
                             rows: s.devices.map {
                                 [$0.id + ($0.synthetic ? " (synthetic)" : ""), $0.state, String($0.framesPerSecond), String($0.frames),
                                  String($0.droppedFrames), String($0.audioXruns), String($0.segmentsClosed), $0.lastSegmentClosed ?? "-",
                                  ($0.helperPID.map { "pid \($0)" } ?? "-") + (($0.helperExits ?? 0) > 0 ? ", \($0.helperExits!) exits" : ""),
                                  $0.detail]
                             }))
        }
        if let packages = s.packages, !packages.isEmpty {
            out.append("")
            out.append(table(header: ["PACKAGE", "STATE", "SIZE", "PUSH", "DETAIL"],
                             rows: packages.map { package in
                                 var push = "-"
                                 if let target = package.target {
                                     let done = package.bytes > 0 ? Double(package.bytesConfirmed ?? 0) / Double(package.bytes) : 1
                                     push = package.state == "delivered" ? "\(target) done" : "\(target) " + progressBar(done)
                                 }
                                 let detail = package.stopped == true ? "STOPPED: " + (package.lastError ?? "") + " (roomctl package retry)"
                                     : package.lastError.map { "retrying after: " + $0 } ?? ""
                                 return [package.session, package.state, "\(package.bytes / 1_048_576) MiB", push, String(detail.prefix(100))]
                             }))
        }
        if !s.recentEvents.isEmpty {
            out.append("")
            out.append(table(header: ["TIME", "SEVERITY", "EVENT", "SUBJECT"],
                             rows: s.recentEvents.map { [$0.time, $0.severity, $0.kind, $0.subject ?? "-"] }))
        }
        return out.joined(separator: "\n")
    }

    /// `[#######-------]  52%`
    static func progressBar(_ fraction: Double) -> String {
        let clamped = min(max(fraction, 0), 1)
        let filled = Int((clamped * 14).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: 14 - filled) + "] " + String(format: "%3d%%", Int(clamped * 100))
    }

    static func duration(_ seconds: Int64) -> String {
        let h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        return h > 0 ? "\(h)h\(m)m" : m > 0 ? "\(m)m\(s)s" : "\(s)s"
    }

    /// Columns padded by display width: CJK characters take two cells.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { width($0[column]) }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - width(cell) + 2)
            }.joined()
        }.joined(separator: "\n")
    }

    static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + (($1.value >= 0x1100 && $1.properties.isIdeographic) || (0xFF00...0xFFEF).contains($1.value) || (0x3000...0x303F).contains($1.value) ? 2 : 1) }
    }
}

struct PKI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki", abstract: "The room's certificates.", subcommands: [Init.self, Experts.self, Platform.self, Seal.self])

    struct Seal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create only the room's seal certificate (DIR/room-seal.crt, for the server key): signs sealed packages.")

        @Option(help: "The PKI folder.")
        var dir: String

        @Option(help: "The room id (as in roomd.yaml).")
        var roomId = "DEMO-ROOM"

        @Option(help: "Days the certificate is valid.")
        var validityDays = 825

        func run() throws {
            let issued = try DemoPKI(directory: dir, roomID: roomId).issueSealCertificate(validity: TimeInterval(validityDays) * 86_400)
            print("\(issued.name)  \(issued.certificatePath)")
        }
    }

    struct Platform: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create only the demo platform signing CA and signer for session definitions (in DIR/platform).")

        @Option(help: "The PKI folder.")
        var dir: String

        func run() throws {
            for item in try DemoPKI(directory: dir, roomID: "DEMO-ROOM").createPlatformSigner() {
                print("\(item.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(item.certificatePath)")
            }
        }
    }

    struct Experts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create only the demo expert cloud-sign CA, experts E01..E09 and their roster (in DIR/experts).")

        @Option(help: "The PKI folder.")
        var dir: String

        func run() throws {
            for item in try DemoPKI(directory: dir, roomID: "DEMO-ROOM").createExperts() {
                print("\(item.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(item.certificatePath)")
            }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a demo/test PKI: room CA, server, S01..S08, operator, supervisor, platform, a demo expert cloud-sign CA with experts E01..E09 and a demo platform signer for session definitions (ECDSA P-256).")

        @Option(help: "Folder to write into (created if missing).")
        var dir: String

        @Option(help: "Room id written into the certificates.")
        var roomId = "DEMO-ROOM"

        @Option(help: "DNS name(s) of the room server.")
        var serverName: [String] = ["localhost"]

        @Option(help: "IP address(es) of the room server.")
        var serverIP: [String] = ["127.0.0.1", "::1"]

        @Flag(help: "Replace an existing room CA (every certificate it issued stops working).")
        var force = false

        func run() throws {
            let pki = DemoPKI(directory: dir, roomID: roomId)
            let issued = try pki.create(serverNames: serverName, serverIPs: serverIP, force: force)
                + pki.createExperts() + pki.createPlatformSigner()
            for item in issued {
                print("\(item.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(item.certificatePath)  sha256:\(item.fingerprint.prefix(16))…")
            }
            print("private keys are mode 0600; keep \(pki.layout.caKey) offline in a real room / 私钥权限为0600")
        }
    }
}
