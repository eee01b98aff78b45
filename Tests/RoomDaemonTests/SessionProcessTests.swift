import Foundation
import Glibc
import Testing

/// A whole 竞争性磋商 session through the running roomd: the platform's signed
/// definition, check-in with cloud signatures, the commitment, the leader,
/// qualification and compliance, final quotes, score drafts and sheets, a
/// SIGKILL in the middle of scoring, review, ranking, signing, close.
@Suite(.serialized)
struct SessionProcessTests {
    static let session = "ZC-2026-300"
    static let members = ["E01", "E02", "E03"]
    static let stations = ["E01": "S01", "E02": "S02", "E03": "S03"]

    static let definition = #"""
        {"version":1,
         "project":{"number":"ZC-2026-300","name":"实验室设备采购","purchaser":"某市第一中学","agency":"测试代理机构",
                    "budget":"900000","category":"goods","method":"competitiveConsultation",
                    "announcement":{"media":["中国政府采购网"],"publishedOn":"2026-11-01","openingOn":"2026-11-20","evaluationOn":"2026-11-20"}},
         "committee":[{"id":"E01","name":"张三","role":"expert","affiliation":"某大学"},
                      {"id":"E02","name":"李四","role":"expert","affiliation":"某研究所"},
                      {"id":"E03","name":"王五","role":"expert","affiliation":"某医院"}],
         "lots":[{"id":"L1","name":"第1包","budget":"900000","evaluationMethod":"comprehensiveScoring",
                  "criteria":[{"id":"T1","name":"技术方案","group":"technical","maximum":"40","kind":"subjective"},
                              {"id":"C1","name":"商务","group":"commercial","maximum":"30","kind":"objective","allowedValues":["0","10","20","30"]},
                              {"id":"P","name":"价格","group":"price","maximum":"30","kind":"price"}],
                  "priceWeightPercent":"30",
                  "qualificationItems":[{"id":"Q1","name":"营业执照"}],
                  "complianceItems":[{"id":"K1","name":"响应有效期"}],
                  "bidders":[{"id":"A","name":"甲公司","smeClass":"large","opening":{"totalInFigures":"800000"}},
                             {"id":"B","name":"乙公司","smeClass":"large","opening":{"totalInFigures":"850000"}},
                             {"id":"C","name":"丙公司","smeClass":"large","opening":{"totalInFigures":"880000"}}]}]}
        """#

    final class Room {
        let room: DemoRoom
        var daemon: RunningDaemon
        var socket: String { room.dir.path + "/state/admin.sock" }
        var pki: String { room.pki }

        init() throws {
            room = try DemoRoom(extraYAML: """
                identity: { expert_trust_dir: pki/experts/trust }
                sessions: { platform_trust_dir: pki/platform/trust, discipline_minimum_seconds: 0 }

                """, quietStations: ["S03"])
            daemon = try Self.start(room, log: room.dir.path)
        }

        static func start(_ room: DemoRoom, log: String) throws -> RunningDaemon { try room.startDaemon(log: log) }

        func json(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        func call(_ path: String, as client: String, method: String = "GET", body: String? = nil) throws -> (Int, [String: Any], String) {
            let (_, code, text) = try room.curl(path, as: client, method: method, body: body)
            return (code, json(text), text)
        }

        /// The operator sends a command over HTTPS; expects `status`.
        @discardableResult
        func operate(_ command: String, expect status: Int = 201, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            let (code, answer, text) = try call("/v1/sessions/\(SessionProcessTests.session)/commands", as: "operator", method: "POST",
                                                body: #"{"command":\#(command)}"#)
            #expect(code == status, "\(command) → \(code) \(text)", sourceLocation: sourceLocation)
            return answer
        }

        /// A station sends a command for its member; expects `status`.
        @discardableResult
        func station(_ station: String, _ command: String, request: String? = nil, expect status: Int = 201,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            let body = #"{"command":\#(command)"# + (request.map { #","requestID":"\#($0)""# } ?? "") + "}"
            let (code, answer, text) = try call("/v1/sessions/\(SessionProcessTests.session)/station/commands", as: station,
                                                method: "POST", body: body)
            #expect(code == status, "\(station) \(command) → \(code) \(text)", sourceLocation: sourceLocation)
            return answer
        }

        /// A check-in at `station` in another session.
        func signChallengeIn(_ session: String, _ entry: String, station: String) throws -> Int {
            try signChallenge(entry, station: station, purpose: "checkin", session: session)
        }

        /// The expert at `station` signs a challenge of `purpose` with their demo cloud-sign key.
        func signChallenge(_ entry: String, station: String, purpose: String, document: String? = nil,
                           session: String = SessionProcessTests.session) throws -> Int {
            var body = #"{"session":"\#(session)","rosterEntry":"\#(entry)","purpose":"\#(purpose)""#
            if let document { body += #","documentSHA256":"\#(document)""# }
            body += "}"
            let (code, challenge, text) = try call("/v1/checkin/challenges", as: station, method: "POST", body: body)
            guard code == 201, let request = challenge["request"] as? String, let signed = challenge["signed"] as? String else {
                throw TestFailure("challenge \(purpose) for \(entry) at \(station): \(code) \(text)")
            }
            let input = room.dir.path + "/to-sign.txt", output = room.dir.path + "/signature.b64"
            try signed.write(toFile: input, atomically: true, encoding: .utf8)
            let made = try run(Binaries.roomctl, ["expert", "sign", "--key", "\(pki)/experts/\(entry).key", "--cert", "\(pki)/experts/\(entry).crt",
                                                  "--algorithm", "ecdsa", "--format", "cms", "--in", input, "--out", output, "--base64"])
            guard made.status == 0 else { throw TestFailure("roomctl expert sign: \(made.stderr)") }
            let signature = try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let (answerCode, verdict, answerText) = try call("/v1/checkin/challenges/\(request)/answer", as: station, method: "POST",
                                                             body: #"{"format":"cms","signature":"\#(signature)"}"#)
            guard answerCode == 200 else { throw TestFailure("answer \(purpose) for \(entry): \(answerCode) \(answerText)") }
            return verdict["signature"] as? Int ?? 0
        }

        /// The member signs their entered sheets (what submitting them needs).
        func signSheets(_ member: String) throws {
            let station = SessionProcessTests.stations[member]!
            let view = try call("/v1/sessions/\(SessionProcessTests.session)/station", as: station).1
            guard let document = view["sheetsSHA256"] as? String else { throw TestFailure("no sheetsSHA256 for \(member): \(view)") }
            _ = try signChallenge(member, station: station, purpose: "score-sheet", document: document)
        }

        func phase() throws -> String {
            let (_, view, _) = try call("/v1/sessions/\(SessionProcessTests.session)", as: "operator")
            return (view["summary"] as? [String: Any])?["phase"] as? String ?? "?"
        }

        /// Sends the definition as the platform would: exact bytes, detached CMS by the platform signer.
        func push(_ bytes: String, signWith text: String? = nil, as client: String = "platform", signed: Bool = true) throws -> (Int, [String: Any], String) {
            var body: [String: String] = ["definition": Data(bytes.utf8).base64EncodedString()]
            if signed {
                let input = room.dir.path + "/definition.json", output = room.dir.path + "/definition.p7s"
                try (text ?? bytes).write(toFile: input, atomically: true, encoding: .utf8)
                let made = try run(Binaries.roomctl, ["expert", "sign", "--key", "\(pki)/platform/signer.key", "--cert", "\(pki)/platform/signer.crt",
                                                      "--algorithm", "ecdsa", "--format", "cms", "--in", input, "--out", output])
                guard made.status == 0 else { throw TestFailure("sign definition: \(made.stderr)") }
                body["signature"] = try Data(contentsOf: URL(fileURLWithPath: output)).base64EncodedString()
            }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            return try call("/v1/sessions/\(SessionProcessTests.session)/definition", as: client, method: "POST", body: json)
        }
    }

    @Test func aWholeConsultationSessionSurvivesAKillAndEveryoneActsOnlyForThemselves() throws {
        let r = try Room()
        let s = Self.session

        // Intake: the platform must sign; a signature over other bytes is refused; the real one is accepted.
        #expect(try r.push(Self.definition, signed: false).0 == 400)
        let forged = try r.push(Self.definition, signWith: Self.definition.replacingOccurrences(of: "800000", with: "700000"))
        #expect(forged.0 == 422 && forged.1["error"] as? String == "definition-signature-invalid", "\(forged.2)")
        let pushed = try r.push(Self.definition)
        #expect(pushed.0 == 201 && (pushed.1["violations"] as? [Any])?.isEmpty == true, "\(pushed.2)")
        #expect(pushed.1["source"] as? String == "platform")
        // A station may not push or open anything.
        #expect(try r.push(Self.definition, as: "S01").0 == 403)
        try r.station("S01", #"{"openSession":{}}"#, expect: 403)

        // The roster (the same ids as the committee), then open.
        let roster = try run(Binaries.roomctl, ["roster", "import", "--session", s, "\(r.pki)/experts/roster.json", "--socket", r.socket])
        #expect(roster.status == 0, "\(roster.stderr)")
        try r.operate(#"{"openSession":{}}"#)
        #expect(try r.phase() == "checkIn")
        // A definition cannot change once the session has started.
        #expect(try r.push(Self.definition.replacingOccurrences(of: "实验室设备采购", with: "别的项目")).0 == 409)

        // Check-in: a station records only its own expert, after the cloud signature.
        try r.station("S01", #"{"checkIn":{"member":"E01"}}"#, expect: 409)   // no signature yet
        for m in Self.members { _ = try r.signChallenge(m, station: Self.stations[m]!, purpose: "checkin") }
        try r.station("S01", #"{"checkIn":{"member":"E02"}}"#, expect: 403)   // E02 sits at S02
        for m in Self.members { try r.station(Self.stations[m]!, #"{"checkIn":{"member":"\#(m)"}}"#) }
        #expect(try r.phase() == "discipline")
        // The operator cannot sign the commitment for a member; without the cloud-signed letter, neither can the station.
        try r.operate(#"{"signCommitment":{"member":"E01","disciplineRead":true,"commitmentSigned":true,"noConflictDeclared":true}}"#, expect: 403)
        try r.station("S01", #"{"signCommitment":{"member":"E01","disciplineRead":true,"commitmentSigned":true,"noConflictDeclared":true}}"#,
                      expect: 409)
        let letter = String(repeating: "ab", count: 32)
        for m in Self.members {
            _ = try r.signChallenge(m, station: Self.stations[m]!, purpose: "commitment-letter", document: letter)
            try r.station(Self.stations[m]!, #"{"signCommitment":{"member":"\#(m)","disciplineRead":true,"commitmentSigned":true,"noConflictDeclared":true}}"#)
        }
        #expect(try r.phase() == "leaderElection")
        for m in Self.members { try r.station(Self.stations[m]!, #"{"castLeaderVote":{"voter":"\#(m)","candidate":"E01"}}"#) }
        #expect(try r.phase() == "qualification")

        // Qualification and compliance by each member; the operator concludes.
        for m in Self.members {
            for b in ["A", "B", "C"] {
                try r.station(Self.stations[m]!, #"{"recordQualification":{"bidder":"\#(b)","item":"Q1","member":"\#(m)","passed":true,"evidence":[]}}"#)
            }
        }
        try r.operate(#"{"concludeQualification":{}}"#)
        for m in Self.members {
            for b in ["A", "B", "C"] {
                try r.station(Self.stations[m]!, #"{"markCompliance":{"member":"\#(m)","bidder":"\#(b)","item":"K1","passed":true}}"#)
            }
        }
        try r.operate(#"{"concludeCompliance":{}}"#)
        try r.operate(#"{"closeNegotiationRounds":{}}"#)
        for (b, p) in [("A", "780000"), ("B", "800000"), ("C", "860000")] {
            try r.operate(#"{"submitFinalQuote":{"bidder":"\#(b)","price":"\#(p)"}}"#)
        }
        try r.operate(#"{"concludeFinalQuotes":{}}"#)
        #expect(try r.phase() == "scoring")

        // Drafts: an out-of-range value is refused inline in Chinese and nothing is saved; a valid draft is kept.
        let draftPath = "/v1/sessions/\(s)/drafts/A"
        let tooHigh = try r.call(draftPath, as: "S01", method: "PUT", body: #"{"scores":{"T1":"45","C1":"20"}}"#)
        #expect(tooHigh.0 == 422 && tooHigh.2.contains("T1"), "\(tooHigh.2)")
        let notAllowed = try r.call(draftPath, as: "S01", method: "PUT", body: #"{"scores":{"C1":"15"}}"#)
        #expect(notAllowed.0 == 422, "\(notAllowed.2)")
        #expect(try r.call(draftPath, as: "S01", method: "PUT", body: #"{"scores":{"T1":"35.5"}}"#).0 == 200)
        // Scores: T1 subjective close together (no 畸高畸低), C1 objective identical across members.
        let scores: [String: [String: (String, String)]] = [
            "E01": ["A": ("36", "30"), "B": ("32", "20"), "C": ("30", "20")],
            "E02": ["A": ("34", "30"), "B": ("33", "20"), "C": ("31", "20")],
            "E03": ["A": ("35", "30"), "B": ("31", "20"), "C": ("29", "20")],
        ]
        // E02 cannot enter E01's sheet.
        try r.station("S02", #"{"enterScoreSheet":{"member":"E01","bidder":"A","scores":{"T1":"1","C1":"0"}}}"#, expect: 403)
        for m in ["E01", "E02"] {
            for b in ["A", "B", "C"] {
                let (t1, c1) = scores[m]![b]!
                try r.station(Self.stations[m]!, #"{"enterScoreSheet":{"member":"\#(m)","bidder":"\#(b)","scores":{"T1":"\#(t1)","C1":"\#(c1)"}}}"#)
            }
        }
        // Submitting is signed: without the cloud signature over the entered sheets, refused.
        try r.station("S01", #"{"submitScores":{"member":"E01"}}"#, expect: 409)
        try r.signSheets("E01")
        try r.station("S01", #"{"submitScores":{"member":"E01"}}"#, request: "submit-E01")
        // The same submission again (a double click, a retry) is answered, not applied twice.
        let again = try r.station("S01", #"{"submitScores":{"member":"E01"}}"#, request: "submit-E01", expect: 200)
        #expect(again["repeated"] as? Bool == true)
        // The operator locks S03: its drafts and commands are refused by roomd (not only hidden), and
        // the station sees why; a message reaches every station; unlocked, S03 goes on.
        let locked = try r.call("/v1/stations/S03/lock", as: "operator", method: "POST", body: #"{"reason":"请稍候，正在核实情况"}"#)
        #expect(locked.0 == 200 && locked.1["locked"] as? Bool == true, "\(locked.2)")
        #expect(try r.call("/v1/stations/S03/lock", as: "S03", method: "POST", body: "{}").0 == 403)
        let refusedDraft = try r.call("/v1/sessions/\(s)/drafts/B", as: "S03", method: "PUT", body: #"{"scores":{"T1":"31"}}"#)
        #expect(refusedDraft.0 == 409 && refusedDraft.1["error"] as? String == "station-locked", "\(refusedDraft.2)")
        try r.station("S03", #"{"enterScoreSheet":{"member":"E03","bidder":"A","scores":{"T1":"35","C1":"30"}}}"#, expect: 409)
        let control = try r.call("/v1/station/control", as: "S03").1
        #expect(control["locked"] as? Bool == true && control["reason"] as? String == "请稍候，正在核实情况")
        #expect(try r.call("/v1/stations/message", as: "operator", method: "POST", body: #"{"text":"十分钟后开始复核"}"#).0 == 200)
        #expect(((try r.call("/v1/station/control", as: "S01").1["messages"] as? [[String: Any]])?.first?["text"] as? String) == "十分钟后开始复核")
        let room = try r.call("/v1/room", as: "operator").1["stations"] as? [[String: Any]] ?? []
        #expect(room.first { $0["id"] as? String == "S03" }?["locked"] as? Bool == true)
        #expect(try r.call("/v1/stations/S03/unlock", as: "operator", method: "POST", body: "{}").1["locked"] as? Bool == false)
        // E03 has typed a draft but entered nothing yet.
        #expect(try r.call("/v1/sessions/\(s)/drafts/B", as: "S03", method: "PUT", body: #"{"scores":{"T1":"31"}}"#).0 == 200)

        // SIGKILL mid-scoring: everything accepted is on disk and resumes exactly.
        let before = try r.call("/v1/sessions/\(s)", as: "operator").1["summary"] as? [String: Any]
        kill(r.daemon.process.processIdentifier, SIGKILL)
        r.daemon.process.waitUntilExit()
        r.daemon = try Room.start(r.room, log: r.room.dir.path + "/second")
        let after = try r.call("/v1/sessions/\(s)", as: "operator").1["summary"] as? [String: Any]
        #expect(after?["phase"] as? String == "scoring")
        #expect(after?["events"] as? Int == before?["events"] as? Int && (after?["events"] as? Int ?? 0) > 40, "\(String(describing: after))")
        let view = try r.call("/v1/sessions/\(s)/station", as: "S03")
        #expect(view.0 == 200 && ((view.1["drafts"] as? [String: Any])?["B"] as? [String: String])?["T1"] == "31", "\(view.2)")
        let e01 = try r.call("/v1/sessions/\(s)/station", as: "S01").1
        #expect(e01["submitted"] as? Bool == true && e01["member"] as? String == "E01")
        // The request id survives the restart too.
        #expect(try r.station("S01", #"{"submitScores":{"member":"E01"}}"#, request: "submit-E01", expect: 200)["repeated"] as? Bool == true)

        for b in ["A", "B", "C"] {
            let (t1, c1) = scores["E03"]![b]!
            try r.station("S03", #"{"enterScoreSheet":{"member":"E03","bidder":"\#(b)","scores":{"T1":"\#(t1)","C1":"\#(c1)"}}}"#)
        }
        for m in ["E02", "E03"] {
            try r.signSheets(m)
            try r.station(Self.stations[m]!, #"{"submitScores":{"member":"\#(m)"}}"#)
        }
        #expect(try r.phase() == "review")
        try r.operate(#"{"concludeReview":{}}"#)
        try r.operate(#"{"confirmRanking":{}}"#)
        try r.operate(#"{"startSigning":{}}"#)
        // Signing the report needs the member's cloud signature over the fixed report's hash.
        try r.station("S02", #"{"sign":{"member":"E02","signature":"x"}}"#, expect: 409)
        let report = try r.call("/v1/sessions/\(s)/station", as: "S01").1["reportSHA256"] as? String ?? ""
        #expect(report.count == 64)
        for m in Self.members {
            _ = try r.signChallenge(m, station: Self.stations[m]!, purpose: "report", document: report)
            try r.station(Self.stations[m]!, #"{"sign":{"member":"\#(m)","signature":"x"}}"#)
        }
        try r.station("S02", #"{"leaderConfirm":{"member":"E02"}}"#, expect: 409)   // E02 is not the leader
        try r.station("S01", #"{"leaderConfirm":{"member":"E01"}}"#)
        #expect(try r.phase() == "closed")

        // The ranking, computed by hand (磋商 214号 25; price score = lowest / own × 30 on the final quotes):
        // means T1: A 35, B 32, C 30; C1: A 30, B 20, C 20.
        // price: A 780000 → 30; B 800000 → 780000/800000×30 = 29.25; C 860000 → 780000/860000×30 = 27.2093…
        // totals: A 35+30+30 = 95; B 32+20+29.25 = 81.25; C 30+20+27.209… = 77.209…
        let result = try r.call("/v1/sessions/\(s)", as: "operator").1["result"] as? [String: Any]
        let current = result?["current"] as? [String: Any]
        let ranked = (current?["bidders"] as? [[String: Any]] ?? []).sorted { ($0["rank"] as? Int ?? 99) < ($1["rank"] as? Int ?? 99) }
        #expect(ranked.map { $0["id"] as? String ?? "" } == ["A", "B", "C"], "\(String(describing: current))")
        #expect(ranked.first?["total"] as? String == "95", "\(String(describing: ranked.first))")
        #expect(ranked.dropFirst().first?["total"] as? String == "325/4", "\(String(describing: ranked.dropFirst().first))")

        // Evidence: every accepted command (54: 1 open, 3 check-ins, 3 commitments, 3 votes, 9 + 1
        // qualification, 9 + 1 compliance, 1 + 3 + 1 final quotes, 9 sheets, 3 submissions, review,
        // ranking, signing, 3 signatures, the leader's confirmation) is a ledger entry, and a station's attempt to act for
        // another expert left an access.denied trace.
        let events = try run("/usr/bin/sqlite3", [r.room.dir.path + "/state/roomd.sqlite",
                                                   "SELECT count(*) FROM session_events; SELECT count(*) FROM ledger_entry WHERE kind = 'session.command'; SELECT count(*) FROM events WHERE kind = 'access.denied' AND detail LIKE '%not-your-member%';"])
        let counts = events.stdout.split(separator: "\n").map { Int($0) ?? -1 }
        #expect(counts.count == 3 && counts[0] == counts[1] && counts[0] == 54 && counts[2] >= 1, "\(events.stdout) \(events.stderr)")

        // Sealed now (not waiting for the recording margin): the report — its body and the signed one —, the results,
        // the OCDS release and each bidder's notice are in the package, and it verifies.
        let sealed = try run(Binaries.roomctl, ["package", "seal", s, "--force", "--json", "--socket", r.socket], timeout: 120)
        #expect(sealed.status == 0, "\(sealed.stdout)\(sealed.stderr)")
        let folder = r.room.dir.path + "/state/packages/TEST-ROOM_" + s
        for file in ["data/report/report-signed.pdf", "data/report/report-body.pdf", "data/report/results.json", "data/report/ocds-release.json",
                     "data/report/notices/A.json", "data/report/notices/B.json", "data/report/notices/C.json", "data/session/events.jsonl"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + file), "\(file) is not in the package")
        }
        let pdf = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/data/report/report-signed.pdf"))) ?? Data()
        #expect(pdf.starts(with: Array("%PDF".utf8)))
        let verified = try run(Binaries.roomctl, ["package", "verify", folder, "--ca", r.room.pki + "/room-ca.crt"])
        #expect(verified.status == 0, "\(verified.stdout)")
        _ = r.daemon.terminate()
    }

    @Test func theOperatorImportsAFileAndViolationsBlockOpening() throws {
        let r = try Room()
        // A member from the agency breaks the rules (nobody from the agency sits on the panel): imported, listed, and opening is refused.
        let broken = Self.definition.replacingOccurrences(of: #""affiliation":"某医院""#, with: #""affiliation":"测试代理机构""#)
        #expect(broken != Self.definition)
        let file = try r.room.dir.write("broken.json", broken)
        let imported = try run(Binaries.roomctl, ["session", "import", file, "--session", "ZC-2026-301", "--socket", r.socket])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("须更正后才能开始评审") && imported.stdout.contains("ZC-2026-301"), "\(imported.stdout)")
        let opened = try run(Binaries.roomctl, ["session", "command", "ZC-2026-301", #"{"openSession":{}}"#, "--socket", r.socket])
        #expect(opened.status != 0 && opened.stderr.contains("invalid-definition"), "\(opened.stderr)")
        // The corrected file replaces it (nothing was accepted yet), with the platform's signature this time.
        let good = try r.room.dir.write("good.json", Self.definition)
        let p7s = r.room.dir.path + "/good.p7s"
        #expect(try run(Binaries.roomctl, ["expert", "sign", "--key", "\(r.pki)/platform/signer.key", "--cert", "\(r.pki)/platform/signer.crt",
                                           "--algorithm", "ecdsa", "--format", "cms", "--in", good, "--out", p7s]).status == 0)
        let replaced = try run(Binaries.roomctl, ["session", "import", good, "--session", "ZC-2026-301", "--signature", p7s, "--socket", r.socket])
        #expect(replaced.status == 0 && replaced.stdout.contains("source platform") && replaced.stdout.contains("未发现违反规则之处"),
                "\(replaced.stdout) \(replaced.stderr)")
        // The same file again changes nothing; the session id defaults to the project number.
        let again = try run(Binaries.roomctl, ["session", "import", good, "--signature", p7s, "--socket", r.socket])
        #expect(again.status == 0 && again.stdout.contains("ZC-2026-300"), "\(again.stdout) \(again.stderr)")
        let twice = try run(Binaries.roomctl, ["session", "import", good, "--session", "ZC-2026-301", "--signature", p7s, "--socket", r.socket])
        #expect(twice.stdout.contains("unchanged"), "\(twice.stdout)")
        #expect(try run(Binaries.roomctl, ["session", "command", "ZC-2026-301", #"{"openSession":{}}"#, "--socket", r.socket]).status == 0)
        // Seats: a plan that leaves a member out is refused; drawn by lot, recorded with its seed,
        // and check-in follows it; once someone has checked in the seats are fixed.
        let roster = try run(Binaries.roomctl, ["roster", "import", "--session", "ZC-2026-301", "\(r.pki)/experts/roster.json", "--socket", r.socket])
        #expect(roster.status == 0)
        #expect(try r.call("/v1/sessions/ZC-2026-301/seats", as: "operator", method: "POST", body: #"{"seats":{"E01":"S01"}}"#).0 == 422)
        let drawn = try r.call("/v1/sessions/ZC-2026-301/seats", as: "operator", method: "POST", body: #"{"draw":true}"#)
        let plan = drawn.1["seats"] as? [String: String] ?? [:]
        #expect(drawn.0 == 200 && Set(plan.keys) == ["E01", "E02", "E03"] && Set(plan.values).count == 3 && drawn.1["seed"] is String, "\(drawn.2)")
        let seat = plan["E01"] ?? "S01", other = ["S01", "S02", "S03"].first { $0 != seat }!
        let wrong = try r.call("/v1/checkin/challenges", as: other, method: "POST", body: #"{"session":"ZC-2026-301","rosterEntry":"E01"}"#)
        #expect(wrong.0 == 409 && wrong.1["error"] as? String == "wrong-seat" && (wrong.1["message"] as? String ?? "").contains(seat), "\(wrong.2)")
        let checkedIn = try r.signChallengeIn("ZC-2026-301", "E01", station: seat)
        #expect(checkedIn > 0)
        #expect(try r.call("/v1/sessions/ZC-2026-301/seats", as: "operator", method: "POST", body: #"{"draw":true}"#).1["error"] as? String == "seats-fixed")
        // The operator's roomctl cannot score for a member.
        let scored = try run(Binaries.roomctl, ["session", "command", "ZC-2026-301", #"{"submitScores":{"member":"E01"}}"#, "--socket", r.socket])
        #expect(scored.status != 0 && scored.stderr.contains("member-in-person"), "\(scored.stderr)")
        let list = try run(Binaries.roomctl, ["session", "list", "--socket", r.socket])
        #expect(list.stdout.contains("ZC-2026-300") && list.stdout.contains("ZC-2026-301  lot L1  competitiveConsultation  phase checkIn"),
                "\(list.stdout)")
        _ = r.daemon.terminate()
    }

}
