import Foundation
import Glibc
import Testing

/// The package under real systemd: a VM boots systemd as PID 1 (scripts/vm/run-in-vm --systemd),
/// installs the .deb with dpkg -i and drives the installed unit (Fixtures/systemd_guest.sh records
/// what it saw); the checks are made here, on the host, from those records and the unit's journal.
@Suite(.serialized)
struct VMSystemdTests {
    struct JournalEntry {
        var message: String
        var priority: Int
        var pid: Int
        var identifier: String
        var monotonicMicroseconds: UInt64
    }

    static func journal(_ file: String) -> [JournalEntry] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let message = object["MESSAGE"] as? String else { return nil }
            return JournalEntry(message: message, priority: Int(object["PRIORITY"] as? String ?? "") ?? -1,
                                pid: Int(object["_PID"] as? String ?? "") ?? -1,
                                identifier: object["SYSLOG_IDENTIFIER"] as? String ?? "",
                                monotonicMicroseconds: UInt64(object["__MONOTONIC_TIMESTAMP"] as? String ?? "") ?? 0)
        }
    }

    static func facts(_ file: String) -> [String: String] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        var facts: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            facts[String(line[..<equals]), default: ""] += String(line[line.index(after: equals)...])
        }
        return facts
    }

    @Test func theInstalledPackageRunsRecordsReloadsIsWatchedAndUpgradesUnderSystemd() throws {
        guard let deb = DebianPackage.built() else { return }
        let work = try TemporaryDirectory("roomd-vm-systemd")
        try FileManager.default.copyItem(atPath: deb, toPath: work.path + "/roomd.deb")
        let guest = VMRecordingTests.repository + "/Tests/RoomDaemonTests/Fixtures/systemd_guest.sh"
        var environment = ProcessInfo.processInfo.environment
        environment["VIVID_OPTS"] = "n_devs=1 node_types=0x1"
        let vm = try run(VMRecordingTests.repository + "/scripts/vm/run-in-vm",
                         [guest, "--systemd", "--workdir", work.path, "--timeout", "900", "--mem", "2048", "--smp", "2"],
                         environment: environment)
        let out = work.path + "/out"
        let facts = Self.facts(out + "/facts")
        let journal = Self.journal(out + "/journal.json")
        func file(_ name: String) -> String { (try? String(contentsOfFile: "\(out)/\(name)", encoding: .utf8)) ?? "" }
        let context = "facts: \(facts)\nVM: \(vm.stdout.suffix(3000))\(vm.stderr.suffix(2000))"
        #expect(vm.status == 0 && facts["done"] == "yes", "\(context)")
        #expect(facts["timeout"] == nil, "a step did not reach its condition: \(context)")

        // Installation: user and groups, tight modes, enabled but waiting for its configuration.
        #expect(facts["dpkg_status"] == "0", "\(file("dpkg.log"))")
        let groups = Set((facts["user_groups"] ?? "").split(separator: ",").map(String.init))
        #expect(groups == ["roomd", "video", "audio"], "\(context)")
        #expect(facts["mode:/etc/roomd"] == "750 root roomd")
        #expect(facts["mode:/etc/roomd/roomd.yaml"] == "640 root roomd")
        #expect(facts["mode:/etc/roomd/tls"] == "750 root roomd")
        #expect(facts["mode:/var/lib/roomd"] == "750 roomd roomd")
        #expect(facts["mode:/var/log/roomd"] == "750 roomd roomd")
        #expect(facts["mode:/usr/libexec/roomd/roomd-capture"] == "755 root root")
        #expect(facts["enabled"] == "enabled")
        #expect(facts["active_after_install"] == "inactive")
        #expect(facts["version"] == DebianPackage.version)

        // roomctl devices, through the packaged helper, lists vivid and the loopback with formats.
        let devices = (try? JSONSerialization.jsonObject(with: Data(file("devices.json").utf8))) as? [String: Any] ?? [:]
        let cameras = devices["cameras"] as? [[String: Any]] ?? []
        #expect(!cameras.isEmpty && cameras.allSatisfy { $0["driver"] as? String == "vivid" }, "\(file("devices.json")) \(file("devices.err"))")
        #expect(cameras.allSatisfy { !($0["formats"] as? [Any] ?? []).isEmpty }, "\(file("devices.json"))")
        let microphones = devices["microphones"] as? [[String: Any]] ?? []
        #expect(microphones.contains { "\($0)".contains("Loopback") }, "\(file("devices.json"))")
        #expect(file("devices.txt").contains("vivid") && file("devices.txt").contains("Loopback"), "\(file("devices.txt"))")

        // Type=notify: the unit was `activating` while roomd already ran, and became active only
        // after roomd said READY=1. roomd logs "roomd ready" right after sending it, and journald
        // receives that line on its own schedule: it may be stamped a few ms after systemd marked
        // the unit active (seen in CI: 9.5 ms), so the log only has to be close to activation; the
        // proof of waiting is the `activating` state observed while roomd was alive.
        let states = file("start-states").split(separator: "\n")
        #expect(states.contains { $0.contains(" activating/start ") && $0.hasSuffix("alive=yes") }, "\(states)")
        #expect(states.last?.contains(" active/running ") == true, "\(states)")
        let mainPID = Int(facts["main_pid"] ?? "") ?? -2
        let ready = journal.first { $0.message.contains("roomd ready") && $0.pid == mainPID }
        let activeAt = UInt64(facts["active_enter_monotonic_us"] ?? "") ?? 0
        let startedAt = UInt64(facts["main_start_monotonic_us"] ?? "") ?? .max
        #expect(ready != nil, "\(journal.map(\.message).prefix(40))")
        if let ready {
            #expect(startedAt < activeAt && startedAt < ready.monotonicMicroseconds
                        && ready.monotonicMicroseconds <= activeAt + 2_000_000 && activeAt <= ready.monotonicMicroseconds + 2_000_000,
                    "process started \(startedAt) µs, READY logged \(ready.monotonicMicroseconds) µs, active \(activeAt) µs")
            #expect(ready.priority == 5, "notice")
        }

        // Recording under the unit's sandbox (DeviceAllow, the roomd user in video and audio).
        #expect(!file("first-segment").isEmpty, "\(context)")
        #expect(facts["segment_owner"]?.hasPrefix("roomd roomd") == true, "\(context)")
        #expect(file("segment-streams.txt").contains("video") && file("segment-streams.txt").contains("audio"), "\(file("segment-streams.txt"))")
        let processes = file("unit-processes.txt").split(separator: "\n")
        #expect(processes.contains { $0.contains("roomd-capture") }, "\(processes)")
        #expect(!processes.isEmpty && processes.allSatisfy { $0.hasPrefix("roomd ") }, "\(processes)")
        #expect(facts["roomctl_status"] == "0" && file("roomctl-status.txt").contains(DebianPackage.version), "\(file("roomctl-status.txt"))")
        #expect(journal.contains { $0.priority == 6 && $0.identifier == "roomd" }, "info lines")
        // The Swift runtime's thread pools under the unit's system call filter: no complaint.
        #expect(!journal.contains { $0.message.contains("Failed to set thread priority") })

        // systemctl reload re-read the trust folder twice, without a restart; the second time the
        // folder held another CA, so its identifier changed.
        let reloads = journal.filter { $0.message.contains("expert trust folder reloaded") }
        #expect(reloads.count == 2 && reloads.allSatisfy { $0.priority == 5 && $0.pid == mainPID }, "\(reloads.map(\.message))")
        if reloads.count == 2 {
            let identifiers = reloads.map { $0.message.split(separator: " ").first { $0.hasPrefix("identifier=") } ?? "" }
            #expect(!identifiers[0].isEmpty && identifiers[0] != identifiers[1], "\(identifiers)")
        }
        #expect(facts["pid_after_reloads"] == facts["main_pid"])

        // The watchdog: the stopped roomd was killed and a new one started.
        #expect(facts["watchdog_usec"] == "8s")
        #expect(Int(facts["restarts"] ?? "") ?? 0 >= 1, "\(context)")
        #expect(facts["pid_after_watchdog"] != facts["stopped_pid"])
        #expect(journal.contains { $0.pid == 1 && $0.message.contains("Watchdog timeout") }, "\(journal.filter { $0.pid == 1 }.map(\.message))")

        // An upgrade (dpkg -i while roomd runs) restarted it on the new files, and it runs.
        #expect(facts["upgrade_status"] == "0", "\(file("dpkg.log"))")
        #expect(facts["state_after_upgrade"] == "active/running")
        #expect(facts["pid_after_upgrade"] != facts["pid_after_watchdog"], "\(context)")

        // A broken configuration: check-config (ExecStartPre) refused it with EX_CONFIG, the unit
        // is failed, and the journal holds the reason as an error.
        #expect(facts["broken_state"]?.hasPrefix("failed/failed/") == true, "\(context)")
        #expect(facts["broken_exec_start_pre"]?.contains("status=78") == true, "\(context)")
        let refusal = journal.filter { $0.message.contains("frobnicate") }
        #expect(!refusal.isEmpty && refusal.allSatisfy { $0.priority == 3 }, "\(refusal.map { "\($0.priority) \($0.message)" })")
    }
}
