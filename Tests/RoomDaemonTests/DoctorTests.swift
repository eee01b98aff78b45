import Foundation
import Testing

/// `roomctl doctor` on a machine with the three classic troubles at once: a
/// clock that is not synchronized (a `timedatectl` that says so, first on
/// PATH), a recordings disk nearly full for the room's configured floor, and
/// a certificate that expires in five days. It names all three, says what to
/// do, exits 1; on a healthy setup those checks pass.
struct DoctorTests {
    @Test func namesABrokenClockANearlyFullDiskAndAnExpiringCertificate() throws {
        let room = try DemoRoom()
        // The seal certificate, valid five more days.
        let sealed = try run(Binaries.roomctl, ["pki", "seal", "--dir", room.pki, "--room-id", "TEST-ROOM", "--validity-days", "5"])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let healthy = try String(contentsOfFile: room.configPath, encoding: .utf8)
        let fakes = room.dir.path + "/bin"
        try FileManager.default.createDirectory(atPath: fakes, withIntermediateDirectories: true)
        func fake(_ answer: String) throws {
            let script = fakes + "/timedatectl"
            try "#!/bin/sh\necho \(answer)\n".write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)
        }
        func doctor() throws -> (Int32, [String: [String: Any]], String) {
            let result = try run(Binaries.roomctl, ["doctor", "--config", room.configPath, "--json"],
                                 environment: ["PATH": fakes + ":/usr/bin:/bin"])
            let report = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
            var byCheck: [String: [String: Any]] = [:]
            for check in report?["checks"] as? [[String: Any]] ?? [] {
                let name = check["check"] as? String ?? "?"
                // The worst result of each kind of check.
                if byCheck[name] == nil || (check["status"] as? String) == "fail" { byCheck[name] = check }
            }
            return (result.status, byCheck, result.stdout + result.stderr)
        }

        // Broken: no NTP sync, a floor of 10 TB for this disk, the seal certificate about to expire.
        try fake("no")
        try (healthy.replacingOccurrences(of: "state_dir: state", with: "state_dir: state\n  min_free_mb: 10000000")
             + "packages: { signing_certificate: pki/room-seal.crt }\n").write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let (status, checks, text) = try doctor()
        #expect(status == 1, "\(text)")
        #expect(checks["clock"]?["status"] as? String == "fail" && (checks["clock"]?["chinese"] as? String)?.contains("未同步") == true, "\(text)")
        #expect(checks["disk"]?["status"] as? String == "fail" && (checks["disk"]?["english"] as? String)?.contains("min_free_mb") == true, "\(text)")
        #expect(checks["certificate"]?["status"] as? String == "fail"
                && (checks["certificate"]?["english"] as? String)?.contains("room-seal.crt expires in 4 day") == true, "\(text)")
        for name in ["clock", "disk", "certificate"] { #expect(checks[name]?["fix"] as? String != nil, "\(name) says what to do") }
        // The human form says it in both languages.
        let plain = try run(Binaries.roomctl, ["doctor", "--config", room.configPath], environment: ["PATH": fakes + ":/usr/bin:/bin"])
        #expect(plain.stdout.contains("FAIL  clock") && plain.stdout.contains("系统时钟未同步") && plain.stdout.contains("→ timedatectl set-ntp true"),
                "\(plain.stdout)")

        // Fixed: the same three pass.
        try fake("yes")
        try healthy.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let (_, fixed, fixedText) = try doctor()
        for name in ["clock", "certificate", "config"] {
            #expect(fixed[name]?["status"] as? String == "ok", "\(name): \(fixedText)")
        }
        // Days of recording left depend on this machine's disk: not failing is what the fix changed.
        #expect(fixed["disk"]?["status"] as? String != "fail", "\(fixedText)")
    }
}
