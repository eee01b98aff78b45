import Foundation
import Glibc
import Testing

/// The supervisor's recordings page in headless Chromium, against the real
/// roomd recording two synthetic devices in 2-second segments, one of whose
/// capture helpers is killed: the browser presents the supervisor's client
/// certificate from its own NSS database (chosen through the
/// `AutoSelectCertificateForUrls` policy, as on a station), the timeline shows
/// the kill as a 录像进程重启 gap, a click on the other device's bar plays the
/// segment holding that moment from that moment and moves on at its end, a
/// second click and a seek play on from where they point, the live wall
/// refreshes about once a second; a station's certificate is refused the page.
/// The driver is Fixtures/browser_recordings.py (Selenium); it saves a
/// screenshot of every step in .build/test-screenshots/browser-recordings.
@Suite(.serialized)
struct BrowserRecordingsTests {
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/browser_recordings.py").path

    @Test func aSupervisorSeesTheGapPlaysSeeksAndWatchesTheLiveWallInChromium() throws {
        let began = Date()
        let r = try RecordingsProcessTests.Room()
        defer { _ = r.daemon.terminate() }
        let n = RecordingsProcessTests.n

        // 1. Three closed segments of S01, then its helper killed; recording resumes (two more closed after the kill).
        try r.waitFor("3 closed segments of S01") { try r.closedSegments("S01").count >= 3 }
        let devices = try r.room.status()["devices"] as? [[String: Any]] ?? []
        let helper = try #require(devices.first { $0["id"] as? String == "S01" }?["helperPID"] as? Int)
        #expect(kill(pid_t(helper), SIGKILL) == 0)
        let killedAt = Int64(Date().timeIntervalSince1970 * 1e9)
        try r.waitFor("recording of S01 to resume after the kill") {
            try r.closedSegments("S01").filter { (n($0[2]) ?? 0) > killedAt }.count >= 2
        }
        let recordedAt = Date()

        // 2. The page and its script are the supervisor's (and the operator's), not a station's.
        #expect(try r.room.curl("/recordings", as: "supervisor").1 == 200)
        let refused = try r.room.curl("/recordings", as: "S01")
        #expect(refused.1 == 403 && refused.2.contains(#""error""#), "\(refused)")
        #expect(try r.room.curl("/assets/recordings.js", as: "S01").1 == 403)

        // 3. The browsers. A station's certificate as its kiosk folder installs it; the supervisor's from
        // the PKI. The policy (machine state, written for this room's address, removed afterwards) is the
        // kiosk's certificate rule alone: the room CA as issuer, for this origin.
        let policy = try r.room.installChromiumCertificatePolicy()
        defer { try? FileManager.default.removeItem(atPath: policy) }

        let first = try #require(r.closedSegments("S01").first.flatMap { n($0[2]) })
        let s02 = try r.closedSegments("S02").map { [n($0[0]) ?? 0, n($0[2]) ?? 0, n($0[3]) ?? 0] }
        #expect(s02.count >= 5)
        let segments = String(decoding: try JSONSerialization.data(withJSONObject: s02), as: UTF8.self)
        let shots = Binaries.directory.deletingLastPathComponent().appendingPathComponent("test-screenshots/browser-recordings").path
        try? FileManager.default.removeItem(atPath: shots)
        let result = try run("/usr/bin/python3", [Self.driver, r.room.dir.path, String(r.room.port), shots, String(first / 1_000_000 - 2000), segments])
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(result.status == 0 && last.contains(#""ok": true"#),
                "browser failed:\n\(result.stdout.suffix(3000))\n\(result.stderr.suffix(3000))\nroomd log:\n\(r.daemon.log.suffix(3000))")
        guard result.status == 0 else { return }
        let report = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
        #expect((report["stationRefusal"] as? [String: Any])?["status"] as? Int == 403, "\(last)")
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: shots)) ?? []
        #expect(screenshots.count >= 8, "\(screenshots.count) screenshots")

        // 4. What the supervisor watched is in the ledger, under the supervisor's certificate.
        let viewed = try r.query("SELECT count(*) FROM ledger_entry WHERE kind = 'recording.viewed' AND actor LIKE 'supervisor%'")
        #expect(n(viewed.first?.first) ?? 0 >= 3)
        print("BrowserRecordingsTests: recorded in \(Int(recordedAt.timeIntervalSince(began))) s, browsers in "
              + "\(Int(Date().timeIntervalSince(recordedAt))) s: \(last)")
    }
}
