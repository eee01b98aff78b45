import ArgumentParser
import Archive
import Canonical
import Identity
import Foundation
import RoomConfig

/// `roomctl recordings`: the timeline, exports, the disk check, complaint
/// dossiers and their offline verification (录像调阅).
struct RecordingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "Find, export and verify recordings (录像调阅、导出与核验).",
        subcommands: [List.self, Export.self, Check.self, Dossier.self, VerifyDossier.self])

    /// Times as roomd takes them: RFC 3339 (`2026-12-04T10:00:00+08:00`) or ns since the epoch.
    static func time(_ text: String, _ name: String) throws -> String {
        if let ns = Int64(text), ns >= 0 { return String(ns) }
        guard let wall = CivilTime.parseRFC3339(text) else {
            throw ValidationError("--\(name) must be RFC 3339 (2026-12-04T10:00:00+08:00) or nanoseconds since the epoch")
        }
        return String(wall.nanoseconds)
    }

    static func query(_ pairs: [(String, String?)]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+,")
        allowed.insert(charactersIn: ",")
        return pairs.compactMap { key, value in
            value.map { "\(key)=\($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0)" }
        }.joined(separator: "&")
    }

    static func show(_ ns: Int64) -> String { CivilTime.iso8601(nanoseconds: ns) }

    static func duration(_ ns: Int64) -> String {
        let s = ns / 1_000_000_000
        if s >= 3600 { return String(format: "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%.1fs", Double(ns) / 1e9)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recorded spans and gaps (with reasons) per device over a time range.",
            discussion: "roomctl recordings list --from 2026-12-04T09:00:00+08:00 --to 2026-12-04T12:00:00+08:00 [--devices S01,C01] [--json]")

        @OptionGroup var socket: AdminSocketOptions
        @Option(help: "Start of the range (RFC 3339 or ns).") var from: String
        @Option(help: "End of the range (RFC 3339 or ns).") var to: String
        @Option(help: "Comma-separated devices (default: all).") var devices: String?
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() async throws {
            let client = AdminClient(socketPath: try socket.resolve())
            let path = "/v1/recordings/timeline?" + RecordingsCommand.query([
                ("from", try RecordingsCommand.time(from, "from")), ("to", try RecordingsCommand.time(to, "to")), ("devices", devices),
            ])
            if json {
                FileHandle.standardOutput.write(Data(try await client.send(.GET, path)))
                print()
                return
            }
            let timeline = try await client.get(path, as: RecordingTimeline.self)
            print("Range  \(RecordingsCommand.show(timeline.from)) — \(RecordingsCommand.show(timeline.to))")
            for device in timeline.devices {
                let covered = Double(device.recordedNanoseconds) / Double(max(1, timeline.to - timeline.from)) * 100
                print("\n\(device.device)  recorded \(RecordingsCommand.duration(device.recordedNanoseconds)) (\(String(format: "%.1f", covered))%)")
                var items: [(Int64, String)] = device.spans.map {
                    ($0.start, "  span  \(RecordingsCommand.show($0.start)) — \(RecordingsCommand.show($0.end))  \($0.state), \($0.segments) segment(s)"
                        + ($0.droppedFrames > 0 ? ", \($0.droppedFrames) frames dropped" : "") + ($0.audioXruns > 0 ? ", \($0.audioXruns) xruns" : "")
                        + ($0.open ? ", still recording" : ""))
                }
                items += device.gaps.map {
                    ($0.start, "  gap   \(RecordingsCommand.show($0.start)) — \(RecordingsCommand.show($0.end))  \($0.reason.rawValue) / \($0.reason.chinese): \($0.detail)")
                }
                for (_, line) in items.sorted(by: { $0.0 < $1.0 }) { print(line) }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export devices' recordings over a range, one MP4 per device (remuxed, never re-encoded), each with its manifest.",
            discussion: """
                roomctl recordings export --device S01 --from 2026-12-04T10:00:00+08:00 --to 2026-12-04T10:30:00+08:00 --out S01.mp4
                    writes S01.mp4 and S01.mp4.manifest.json (source segments with their SHA-256, cut points, who, when);
                roomctl recordings export --device S01,C01 --from … --to … --out FOLDER
                    writes FOLDER/S01.mp4, FOLDER/C01.mp4 and their manifests.
                An interrupted export leaves nothing behind.
                """)

        @OptionGroup var socket: AdminSocketOptions
        @Option(help: "The device, or several separated by commas (station or room camera ids).") var device: String
        @Option(help: "Start (RFC 3339 or ns).") var from: String
        @Option(help: "End (RFC 3339 or ns).") var to: String
        @Option(help: "The MP4 to write (one device), or the folder to write them into (several).") var out: String
        @Flag(help: "No progress bar.") var quiet = false
        @Flag(help: "Print the manifests as JSON lines when done.") var json = false

        func run() async throws {
            let client = AdminClient(socketPath: try socket.resolve())
            let from = try RecordingsCommand.time(self.from, "from"), to = try RecordingsCommand.time(self.to, "to")
            let devices = device.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !devices.isEmpty else { throw ValidationError("--device names no device") }
            if devices.count > 1 { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
            for device in devices {
                let file = devices.count > 1 ? "\(out)/\(device).mp4" : out
                try await export(client, device: device, from: from, to: to, file: file)
            }
        }

        func export(_ client: AdminClient, device: String, from: String, to: String, file: String) async throws {
            // The size to expect, from the segments the export reads (a remux is a little smaller).
            struct Segment: Decodable { var bytes: Int64?; var startNs: Int64; var endNs: Int64? }
            let segments = try await client.get("/v1/recordings/segments?" + RecordingsCommand.query([("device", device), ("from", from), ("to", to)]),
                                                as: [Segment].self)
            let f = Int64(from)!, t = Int64(to)!
            let expected = segments.reduce(Int64(0)) { sum, s in
                let length = max(1, (s.endNs ?? s.startNs) - s.startNs)
                let overlap = max(0, min(t, s.endNs ?? s.startNs) - max(f, s.startNs))
                return sum + (s.bytes ?? 0) * overlap / length
            }
            let bar = ProgressBar(total: expected, label: "export \(device)", enabled: !quiet && !json)
            let headers = try await client.download("/v1/recordings/export.mp4?" + RecordingsCommand.query([("device", device), ("from", from), ("to", to)]),
                                                    to: file) { bar.update($0) }
            bar.finish()
            guard let id = headers["roomd-export-id"] else { throw AdminClient.Failure(description: "roomd sent no export id") }
            let manifest = try await client.send(.GET, "/v1/recordings/exports/\(id)/manifest.json")
            try Data(manifest).write(to: URL(fileURLWithPath: file + ".manifest.json"))
            if json {
                FileHandle.standardOutput.write(Data(manifest))
                print()
            } else {
                print("wrote \(file) and \(file).manifest.json (export \(id); recorded in the audit ledger)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the recordings on disk with the index: missing, changed and unindexed files.")

        @OptionGroup var socket: AdminSocketOptions
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() async throws {
            let client = AdminClient(socketPath: try socket.resolve())
            let bytes = try await client.send(.GET, "/v1/recordings/check")
            let report = try JSONDecoder().decode(RecordingCheckReport.self, from: Data(bytes))
            if json {
                FileHandle.standardOutput.write(Data(bytes))
                print()
            } else {
                print("Recordings  \(report.root)")
                print("Index       \(report.rows) segment rows: " + report.byState.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
                print("Retention   \(report.deletedByRetention) deleted (hashes kept)")
                print("On disk     \(report.present) of \(report.indexedWithFiles) present")
                for item in report.missing { print("  MISSING   segment \(item.segment) \(item.device) \(item.path): \(item.detail)") }
                for item in report.sizeMismatches { print("  CHANGED   segment \(item.segment) \(item.device) \(item.path): \(item.detail)") }
                for path in report.notIndexed ?? [] { print("  UNINDEXED \(path)") }
                if report.storageLooksUnavailable {
                    print("More than half of the indexed files are missing: is the recordings disk mounted? roomd refuses to mark or delete anything. / 半数以上录像文件缺失：请检查录像磁盘是否挂载")
                } else if report.healthy {
                    print("OK: the disk and the index agree. / 录像文件与索引一致")
                }
            }
            if !report.healthy { throw ExitCode(3) }
        }
    }
}

/// A progress bar on stderr (only when stderr is a terminal or forced).
final class ProgressBar: @unchecked Sendable {
    let total: Int64
    let label: String
    let enabled: Bool
    private var last = Date.distantPast
    private let started = Date()

    init(total: Int64, label: String, enabled: Bool) {
        self.total = total
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int64) {
        guard enabled, Date().timeIntervalSince(last) > 0.2 else { return }
        last = Date()
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / max(0.001, Date().timeIntervalSince(started)) / 1_048_576
        let line = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3.0f%%  %.1f MiB  %.1f MiB/s", fraction * 100, Double(done) / 1_048_576, rate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

extension RecordingsCommand {
    struct Dossier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a complaint dossier: clips, original segments, session events and ledger proofs (投诉调查材料).",
            discussion: """
                roomctl recordings dossier --session S2026-001 --from 2026-12-04T10:00:00+08:00 --to 2026-12-04T10:20:00+08:00 \\
                    --devices S01,C01 --out dossier-S2026-001
                Writes the folder (and, with --tar, keeps dossier-….tar beside it). Check it anywhere with
                roomctl recordings verify FOLDER.
                """)

        @OptionGroup var socket: AdminSocketOptions
        @Option(help: "The session.") var session: String
        @Option(help: "Start (RFC 3339 or ns).") var from: String
        @Option(help: "End (RFC 3339 or ns).") var to: String
        @Option(help: "Comma-separated devices (default: all).") var devices: String?
        @Option(help: "The folder to write (must not exist).") var out: String
        @Flag(help: "Keep the tar as OUT.tar too.") var tar = false
        @Flag(help: "No progress display.") var quiet = false

        func run() async throws {
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; name a new folder") }
            let client = AdminClient(socketPath: try socket.resolve())
            let path = "/v1/recordings/dossier.tar?" + RecordingsCommand.query([
                ("session", session), ("from", try RecordingsCommand.time(from, "from")), ("to", try RecordingsCommand.time(to, "to")),
                ("devices", devices),
            ])
            let bar = ProgressBar(total: 0, label: "dossier", enabled: !quiet)
            let archive = out + ".tar"
            _ = try await client.download(path, to: archive) { bar.update($0) }
            bar.finish()
            let staging = out + ".partial"
            do {
                try Tar.extract(archive: archive, into: staging)
                guard rename(staging + "/dossier", out) == 0 else { throw AdminClient.Failure(description: "the tar holds no dossier/ folder") }
                try? FileManager.default.removeItem(atPath: staging)
            } catch {
                try? FileManager.default.removeItem(atPath: staging)
                throw error
            }
            if !tar { unlink(archive) }
            print("wrote \(out)/" + (tar ? " and \(archive)" : "") + "; check it with: roomctl recordings verify \(out)")
        }
    }

    struct VerifyDossier: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a complaint dossier offline (no roomd, no database) and say what holds and what fails.")

        @Argument(help: "The dossier folder (or its .tar).") var dossier: String
        @Option(help: "PEM file of the room's certificate or public key to trust (default: the one in the dossier, whose fingerprint is printed).")
        var roomKey: String?
        @Flag(help: "Skip the frame-by-frame check (needs ffmpeg).") var noFrames = false
        @Flag(help: "Print only failures and the verdict.") var quiet = false

        func run() throws {
            var folder = dossier
            var cleanup: String?
            if dossier.hasSuffix(".tar") {
                let temporary = NSTemporaryDirectory() + "/roomctl-dossier-\(getpid())"
                try Tar.extract(archive: dossier, into: temporary)
                folder = temporary + "/dossier"
                cleanup = temporary
            }
            defer { if let cleanup { try? FileManager.default.removeItem(atPath: cleanup) } }
            var pinned: Data?
            if let roomKey {
                let pem = try Data(contentsOf: URL(fileURLWithPath: roomKey))
                let key = try (try? RoomVerificationKey(certificatePEM: pem)) ?? RoomVerificationKey(publicKeyPEM: pem)
                pinned = key.subjectPublicKeyInfo
            }
            let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }
            let frames: ((String) throws -> [String])? = noFrames ? nil : ffmpeg.map { tool in { path in try Self.framePackets(tool, path) } }
            let report = DossierVerifier.verify(directory: folder, pinnedRoomKey: pinned, framesOf: frames)
            for finding in report.findings where !quiet || !finding.ok { print(finding) }
            if let fingerprint = report.roomKeyFingerprint {
                print("Room key  SHA-256 \(fingerprint)" + (pinned == nil ? "  (compare it with the agency's records, or pass --room-key)" : "  (pinned)"))
            }
            if !report.framesChecked && !noFrames { print("Frames    not compared: ffmpeg is not installed (apt-get install ffmpeg)") }
            if report.passed {
                print("VERIFIED: every file, hash, proof and signature holds. / 核验通过")
            } else {
                print("FAILED: \(report.failures.count) check(s) failed; see the FAIL lines above. / 核验未通过")
                throw ExitCode(1)
            }
        }

        /// MD5 of each video packet, in order (ffmpeg's framemd5 with stream copy: the stored bytes, not decoded pictures).
        static func framePackets(_ tool: String, _ path: String) throws -> [String] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["-v", "error", "-i", path, "-map", "0:v:0?", "-c", "copy", "-f", "framemd5", "-"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw AdminClient.Failure(description: "ffmpeg could not read \(path)") }
            return String(decoding: output, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
                .compactMap { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } }
        }
    }
}
