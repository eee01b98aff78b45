import Foundation
import Testing

/// contrib/: the Prometheus alert rules pass `promtool check rules` (Debian's
/// prometheus package), and every roomd metric the rules and the Grafana
/// dashboard name is one a running roomd exports on /metrics.
struct MetricsContribTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let rules = repository.appendingPathComponent("contrib/prometheus/roomd-alerts.yml").path
    static let dashboard = repository.appendingPathComponent("contrib/grafana/roomd-dashboard.json").path

    @Test func alertRulesPassPromtool() throws {
        let checked = try run("/usr/bin/promtool", ["check", "rules", Self.rules])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.contains("SUCCESS"), "\(checked.stdout)")
        for alert in ["RoomdDeviceDown", "RoomdDiskFilling", "RoomdCheckpointStale", "RoomdOutboxStuck"] {
            #expect(try String(contentsOfFile: Self.rules, encoding: .utf8).contains("alert: \(alert)"))
        }
    }

    @Test func rulesAndDashboardNameOnlyMetricsRoomdExports() throws {
        let room = try DemoRoom(extraYAML: "sessions: { discipline_minimum_seconds: 0 }\n", storageYAML: "segment_seconds: 2")
        let notify = try NotifyListener(directory: room.dir.path)
        let daemon = try RunningDaemon(config: room.configPath, notifySocket: notify.path, logDirectory: room.dir.path)
        defer { _ = daemon.terminate() }
        #expect(notify.wait(for: "READY=1", timeout: 90), "no READY=1; log:\n\(daemon.log)")
        let socket = room.dir.path + "/state/admin.sock"
        // A session, so that its phase is exported; a closed segment, so that its age is.
        let definition = try room.dir.write("definition.json", SessionProcessTests.definition)
        #expect(try run(Binaries.roomctl, ["session", "import", definition, "--session", "ZC-METRICS", "--socket", socket]).status == 0)
        try waitFor("a closed segment", daemon) {
            try room.curl("/metrics", as: "supervisor").2.contains("roomd_capture_last_segment_age_seconds")
        }
        let (_, code, body) = try room.curl("/metrics", as: "supervisor")
        #expect(code == 200)
        let exported = Set(body.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
        })
        // A segment has closed: its fragments were written and synced, and how long that took is measured.
        let writes = body.split(separator: "\n").filter { $0.hasPrefix("roomd_capture_fragment_write_seconds{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        #expect(writes.contains { $0 > 0 && $0 < 60 }, "fragment write times: \(writes)")

        let rules = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.dashboard))) as? [String: Any]
        let panels = dashboard?["panels"] as? [[String: Any]] ?? []
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(expressions.count >= 10)
        let named = Self.metricNames(in: rules + "\n" + expressions.joined(separator: "\n"))
        #expect(named.count >= 12, "\(named)")
        let unknown = named.subtracting(exported)
        #expect(unknown.isEmpty, "named but not exported: \(unknown.sorted()); exported: \(exported.filter { $0.hasPrefix("roomd_") }.sorted())")
        // What the issue asks the dashboard to show.
        for metric in ["roomd_capture_fps", "roomd_capture_dropped_frames", "roomd_capture_audio_xruns", "roomd_disk_free_bytes",
                       "roomd_capture_fragment_write_seconds", "roomd_capture_fragment_write_slowest_seconds",
                       "roomd_outbox_backlog_bytes", "roomd_ledger_entries", "roomd_ledger_checkpoint_age_seconds",
                       "roomd_signature_verifications", "roomd_session_phase"] {
            #expect(expressions.contains { $0.contains(metric) }, "the dashboard does not show \(metric)")
        }
    }

    /// Every `roomd_…` identifier in PromQL text.
    static func metricNames(in text: String) -> Set<String> {
        var names = Set<String>()
        var current = ""
        for character in text + " " {
            if character.isLetter || character.isNumber || character == "_" {
                current.append(character)
            } else {
                if current.hasPrefix("roomd_") { names.insert(current) }
                current = ""
            }
        }
        return names
    }
}
