import Evaluation
import Foundation
import GRDB
import Identity
import ReportPDF
import Testing

/// The station pages and the console in real browsers: headless Chromium, one
/// per station and one for the operator, each presenting its own client
/// certificate from its own NSS database (chosen by the browser through the
/// `AutoSelectCertificateForUrls` policy, not by a proxy), through a whole
/// 综合评分法 session: check-in with cloud signatures and handwriting, discipline
/// and commitment, the leader, compliance, scoring with an inline refusal and a
/// reload, 畸高畸低 flags kept by the leader, report signing, close. The driver is
/// Fixtures/browser_session.py (Selenium); it saves a screenshot of every step
/// in .build/test-screenshots/browser-session.
@Suite(.serialized)
struct BrowserSessionTests {
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/browser_session.py").path
    static let session = "ZB-2026-500"
    static let definition = #"""
        {"version":1,"project":{"number":"ZB-2026-500","name":"教学设备采购","purchaser":"某市教育局","agency":"测试代理机构","budget":"2000000",
         "category":"goods","method":"publicTender","announcement":{"media":["中国政府采购网"],"publishedOn":"2026-11-01","openingOn":"2026-11-22","evaluationOn":"2026-11-22"}},
         "committee":[{"id":"E01","name":"张三","role":"expert","affiliation":"某大学"},{"id":"E02","name":"李四","role":"expert","affiliation":"某研究所"},
                      {"id":"E03","name":"王五","role":"expert","affiliation":"某医院"},{"id":"E04","name":"赵六","role":"expert","affiliation":"某设计院"},
                      {"id":"E05","name":"钱七","role":"expert","affiliation":"某学院"}],
         "lots":[{"id":"L1","name":"第1包","budget":"2000000","evaluationMethod":"comprehensiveScoring",
          "criteria":[{"id":"T1","name":"技术方案","group":"technical","maximum":"40","kind":"subjective"},
                      {"id":"T2","name":"技术参数响应","group":"technical","maximum":"20","kind":"objective","allowedValues":["0","10","20"]},
                      {"id":"C1","name":"业绩","group":"commercial","maximum":"10","kind":"objective","allowedValues":["0","5","10"]},
                      {"id":"P","name":"价格","group":"price","maximum":"30","kind":"price"}],
          "priceWeightPercent":"30","qualificationItems":[{"id":"Q1","name":"营业执照"}],"complianceItems":[{"id":"K1","name":"投标有效期"}],
          "bidders":[{"id":"A","name":"甲公司","smeClass":"large","opening":{"totalInFigures":"1800000"}},
                     {"id":"B","name":"乙公司","smeClass":"small","opening":{"totalInFigures":"1700000"}},
                     {"id":"C","name":"丙公司","smeClass":"large","opening":{"totalInFigures":"1850000"}}]}]}
        """#

    @Test func fiveStationsAndTheOperatorRunAWholeSessionInChromium() throws {
        let room = try DemoRoom(extraYAML: """
            identity: { expert_trust_dir: pki/experts/trust }
            sessions: { platform_trust_dir: pki/platform/trust, discipline_minimum_seconds: 0 }

            """, quietStations: ["S03", "S04", "S05"])
        let daemon = try SessionProcessTests.Room.start(room, log: room.dir.path)
        defer { _ = daemon.terminate() }
        let socket = room.dir.path + "/state/admin.sock"
        let file = try room.dir.write("definition.json", Self.definition)
        #expect(try run(Binaries.roomctl, ["session", "import", file, "--socket", socket]).status == 0)
        #expect(try run(Binaries.roomctl, ["roster", "import", "--session", Self.session, room.pki + "/experts/roster.json",
                                           "--socket", socket]).status == 0)

        // Each station PC is set up from what `roomctl station kiosk` writes: its PKCS#12, the room
        // CA, and the Chromium policy (the same for every station), installed as the guide says. The
        // policy is machine state: written for this room's address, removed afterwards.
        for station in ["S01", "S02", "S03", "S04", "S05"] {
            let kiosk = try run(Binaries.roomctl, ["station", "kiosk", station, "--pki", room.pki, "--server", "127.0.0.1:\(room.port)",
                                                   "--out", room.dir.path + "/kiosk/" + station])
            #expect(kiosk.status == 0, "\(kiosk.stderr)")
        }
        let policies = "/etc/chromium/policies/managed"
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        let policy = "\(policies)/roomd-test-\(room.port).json"
        // All of it but one key: chromedriver drives the browser through the DevTools protocol, which
        // the kiosk policy (rightly) forbids on a station.
        var kioskPolicy = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: room.dir.path + "/kiosk/S01/policies/managed/roomd.json"))) as? [String: Any] ?? [:]
        #expect(kioskPolicy.removeValue(forKey: "DeveloperToolsAvailability") as? Int == 2)
        #expect(kioskPolicy["URLBlocklist"] as? [String] == ["*"])
        try JSONSerialization.data(withJSONObject: kioskPolicy).write(to: URL(fileURLWithPath: policy))
        defer { try? FileManager.default.removeItem(atPath: policy) }

        let shots = Binaries.directory.deletingLastPathComponent().appendingPathComponent("test-screenshots/browser-session").path
        try? FileManager.default.removeItem(atPath: shots)
        let result = try run("/usr/bin/python3", [Self.driver, room.dir.path, String(room.port), Binaries.roomctl, Self.session, shots])
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(result.status == 0 && last.contains(#""ok": true"#), "browser session failed:\n\(result.stdout.suffix(3000))\n\(result.stderr.suffix(3000))\nroomd log:\n\(daemon.log.suffix(3000))")
        guard result.status == 0 else { return }
        #expect(last.contains(#""flagsKept": 2"#), "\(last)")

        // The ranking roomd shows is what the engine computes from the stored events, replayed here.
        let (_, _, text) = try room.curl("/v1/sessions/\(Self.session)", as: "operator")
        let view = (try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        let shown = ((view?["result"] as? [String: Any])?["current"] as? [String: Any])?["bidders"] as? [[String: Any]] ?? []
        let database = try DatabaseQueue(path: room.dir.path + "/state/roomd.sqlite", configuration: {
            var c = Configuration(); c.readonly = true; return c
        }())
        let (definitionBytes, eventRows) = try database.read { db in
            (try Data.fetchOne(db, sql: "SELECT definition FROM session_definitions WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                               arguments: [Self.session]) ?? Data(),
             try Data.fetchAll(db, sql: "SELECT event FROM session_events WHERE session_id = ? ORDER BY sequence", arguments: [Self.session]))
        }
        let events = try eventRows.map { try JSONDecoder().decode(Event.self, from: $0) }
        let replayed = try EvaluationSession.replay(definition: try JSONDecoder().decode(SessionDefinition.self, from: definitionBytes),
                                                    lot: "L1", events: events)
        #expect(replayed.state.phase == .closed)
        let engine = replayed.state.result().current.bidders
        #expect(!engine.isEmpty && engine.count == shown.count)
        for bid in engine {
            let match = shown.first { $0["id"] as? String == bid.id }
            #expect(match?["rank"] as? Int == bid.rank && match?["total"] as? String == bid.total?.description, "\(bid.id): \(String(describing: match))")
        }
        // B (small firm, 10% deduction: 1,530,000 evaluated) has the best price; A has E05's kept 38.
        #expect(engine.sorted { ($0.rank ?? 99) < ($1.rank ?? 99) }.map(\.id).first != nil)
        #expect(replayed.state.keptFlags.count == 2)
        #expect(replayed.state.signatures.values.allSatisfy { $0.kind == .signed } && replayed.state.signatures.count == 5)
        // The report: the body every member signed, and the signed report with five verified cloud signatures.
        let body = room.dir.path + "/report.pdf", signed = room.dir.path + "/report-signed.pdf"
        for (path, file) in [("report.pdf", body), ("report-signed.pdf", signed)] {
            let got = try run("/usr/bin/curl", ["-s", "-f", "-o", file, "--cacert", room.pki + "/room-ca.crt", "--cert", room.pki + "/clients/operator.crt",
                                                "--key", room.pki + "/clients/operator.key", "https://127.0.0.1:\(room.port)/v1/sessions/\(Self.session)/\(path)"])
            #expect(got.status == 0, "\(path): \(got.stderr)")
        }
        let bodyBytes = try Data(contentsOf: URL(fileURLWithPath: body))
        let bodySHA = Digest.sha256Hex(Array(bodyBytes))
        let pdfText = try run("/usr/bin/pdftotext", ["-layout", signed, "-"]).stdout
        #expect(pdfText.components(separatedBy: "通过（证书链、有效期、吊销状态及签名值均已核验）").count - 1 == 5, "\(pdfText.suffix(3000))")
        #expect(pdfText.contains(bodySHA), "the signature page names the body's SHA-256 \(bodySHA)")
        for name in ["张三", "李四", "王五", "赵六", "钱七", "甲公司", "乙公司", "丙公司"] { #expect(pdfText.contains(name), "\(name)") }
        // The fonts are embedded and subset (pdffonts: emb yes, sub yes), Simplified Chinese Noto.
        let fonts = try run("/usr/bin/pdffonts", [signed]).stdout
        let cjk = fonts.split(separator: "\n").filter { $0.contains("NotoSansCJKsc") || $0.contains("NotoSerifCJKsc") }
        #expect(!cjk.isEmpty && cjk.allSatisfy { $0.contains("yes yes") && $0.contains("+") }, "\(fonts)")
        // The same events replayed here, rendered here: the same bytes as the body roomd served.
        let definitionValue = try JSONDecoder().decode(SessionDefinition.self, from: definitionBytes)
        let bodyResult = try #require(ReportComposer.fixedBody(of: replayed.state.result()))
        let again = try ReportPDF.render(ReportComposer.compose(result: bodyResult, session: Self.session, room: "测试评标室", signatures: nil,
                                                                definition: definitionValue),
                                         createdAt: ReportComposer.creationInstant(of: bodyResult))
        #expect(Data(again) == bodyBytes, "a replay renders \(again.count) bytes, roomd served \(bodyBytes.count)")
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: shots)) ?? []
        #expect(screenshots.count > 50, "\(screenshots.count) screenshots")
    }
}
