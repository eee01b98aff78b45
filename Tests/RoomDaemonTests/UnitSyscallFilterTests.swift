import Foundation
import Testing

/// The unit's own SystemCallFilter= does not switch off the helpers'
/// sandbox: `roomd-capture sandbox-check` run under the filter built from
/// systemd/roomd.service (Fixtures/unit_seccomp.py: systemd's groups expanded
/// by systemd-analyze, loaded by libseccomp) passes every line. Without the
/// unit's Landlock line it would not — the check is shown to see that.
struct UnitSyscallFilterTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let harness = repository.appendingPathComponent("Tests/RoomDaemonTests/Fixtures/unit_seccomp.py").path
    static let unit = repository.appendingPathComponent("systemd/roomd.service").path

    static func sandboxCheck(under unit: String, recordings: String) throws -> ProcessResult {
        try run("/usr/bin/python3", [harness, unit, "--", Binaries.roomdCapture, "sandbox-check", recordings, "S01"])
    }

    @Test func helpersKeepTheirWholeSandboxUnderTheUnitsSystemCallFilter() throws {
        let dir = try TemporaryDirectory("unit-filter")
        try FileManager.default.createDirectory(atPath: dir.path + "/recordings", withIntermediateDirectories: true)
        let result = try Self.sandboxCheck(under: Self.unit, recordings: dir.path + "/recordings")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(lines.first?.hasPrefix("sandbox: Landlock ABI") == true, "\(lines.first ?? result.stderr)")
        #expect(lines.count > 10 && !lines.contains { $0.hasPrefix("FAIL") }, "\(result.stdout)")

        // The same unit without its Landlock line: helpers would record unconfined, and the check says so.
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        let without = try dir.write("without-landlock.service",
                                    text.split(separator: "\n", omittingEmptySubsequences: false)
                                        .filter { !$0.hasPrefix("SystemCallFilter=landlock") }.joined(separator: "\n"))
        let weakened = try Self.sandboxCheck(under: without, recordings: dir.path + "/recordings")
        #expect(weakened.stdout.contains("no Landlock: Operation not permitted"), "\(weakened.stdout)\(weakened.stderr)")
        #expect(weakened.stdout.split(separator: "\n").contains { $0.hasPrefix("FAIL") })
    }

    /// The unit's overall exposure by systemd's own measure stays at or below 1.5 (issue 17).
    @Test func theUnitsExposureIsAtMostOnePointFive() throws {
        let result = try run("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", Self.unit])
        let line = (result.stdout + result.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        let value = line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        #expect(value != nil && value! <= 1.5, "\(line)\n\(result.stderr)")
    }
}
