import Foundation
import Glibc
import Testing

/// Experts' resident ID numbers never leave their protected places (个人信息保护法 28):
/// a whole check-in flow — experts of all three algorithms with the number in
/// every place roomd reads it from, and refusals of every kind — then a scan
/// of every table, the log, the ledger export and every answer roomd gave.
@Suite(.serialized)
struct PersonalDataTests {
    /// The configured OID of the test (identity.id_number_oid); make-test-pki.sh uses it.
    static let configuredOID = "1.3.6.1.4.1.59999.1.1"
    /// Where the docs say certificates are kept as evidence: the signer's
    /// certificate, and a CMS answer as received (it carries the certificate).
    static let protectedColumns: Set<String> = ["signatures.certificate_pem", "signatures.signature"]

    struct Expert {
        var file: String
        var name: String
        var idNumber: String
        var placement: String
        var algorithm: String { file.hasPrefix("rsa/") ? "rsa-pss" : file.hasPrefix("sm2/") ? "sm2" : "ecdsa" }
    }

    static func experts(_ directory: String) throws -> [Expert] {
        try String(contentsOfFile: directory + "/pi.txt", encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: " ").map(String.init)
            return Expert(file: parts[0], name: parts[1], idNumber: parts[2], placement: parts[3])
        }
    }

    @Test func noIDNumberLeavesItsProtectedPlaceAfterCheckInsAndEveryKindOfRefusal() throws {
        let stations = (1...8).map { "S0\($0)" }
        let r = try CheckInProcessTests.Room(
            identityYAML: "identity: { expert_trust_dir: trust, id_number_oid: \(Self.configuredOID) }\n",
            quietStations: Array(stations.dropFirst(2)))
        let all = try Self.experts(r.experts)
        let refusedFiles = ["rsa/pi-expired", "ec/pi-enc", "sm2/pi-mismatch", "rsa/pi-stranger", "other/pi-untrusted"]
        let accepted = all.filter { !refusedFiles.contains($0.file) }
        #expect(accepted.count == 15)
        #expect(Set(accepted.map(\.placement)) == ["serial", "gmt-rdn", "gmt-ext", "oid-rdn", "oid-ext"])
        let invalidRosterNumber = "110101199003077777"
        var idNumbers = Set(all.map(\.idNumber) + [invalidRosterNumber, "11010519491231002X", "110105194912310037"])
        idNumbers.insert("440301199001011234")  // the older GM/T 0015 fixtures
        let sessionA = Array(accepted.prefix(8)), sessionB = Array(accepted.dropFirst(8))

        // Rosters, one per session, imported by the operator; a bad one refused.
        func rosterJSON(_ experts: [Expert], prefix: String) -> String {
            "[" + experts.enumerated().map { index, expert in
                #"{"id":"\#(prefix)\#(index + 1)","name":"\#(expert.name)","idNumber":"\#(expert.idNumber)","role":"expert"}"#
            }.joined(separator: ",") + "]"
        }
        var roomctlOutput: [String] = []
        for (session, experts, prefix) in [("PI-A", sessionA, "A"), ("PI-B", sessionB, "B")] {
            let file = try r.room.dir.write("roster-\(session).json", rosterJSON(experts, prefix: prefix))
            let imported = try run(Binaries.roomctl, ["roster", "import", "--session", session, file, "--socket", r.socket])
            #expect(imported.status == 0, "\(imported.stderr)")
            roomctlOutput += [imported.stdout, imported.stderr]
        }
        let bad = try r.room.dir.write("bad.json", #"""
            [{"id":"X1","name":"坏一","idNumber":"\#(invalidRosterNumber)","role":"expert"},
             {"id":"X2","name":"坏二","idNumber":"440301197003151012","role":"expert"},
             {"id":"X3","name":"坏三","idNumber":"440301197003151012","role":"expert"}]
            """#)
        let refused = try run(Binaries.roomctl, ["roster", "import", "--session", "PI-A", bad, "--socket", r.socket])
        #expect(refused.status != 0)
        roomctlOutput += [refused.stdout, refused.stderr]

        func attempt(_ expert: Expert, entry: String, station: String, session: String, tamper: Bool = false,
                     format: String = "cms") throws -> (Int, [String: Any]) {
            let (request, text) = try r.challenge(entry, station: station, session: session)
            let signed = tamper ? text.replacingOccurrences(of: "\"\(entry)\"", with: "\"ZZ\"") : text
            return try r.answer(request, try r.sign(signed, leaf: expert.file, algorithm: expert.algorithm, format: format), station: station)
        }
        func expert(_ suffix: String) -> Expert { all.first { $0.file.hasSuffix(suffix) }! }

        // Refusals of every kind, at S08 before its own expert checks in.
        let refusals: [(Expert, String, String, Bool, String)] = [
            (expert("sm2/pi-mismatch"), "A8", "PI-A", false, "id-number-mismatch"),
            (expert("rsa/pi-stranger"), "A8", "PI-A", false, "not-on-roster"),
            (sessionA[0], "A8", "PI-A", false, "wrong-roster-entry"),
            (sessionA[7], "A8", "PI-A", true, "digest-mismatch"),
            (expert("rsa/pi-expired"), "B7", "PI-B", false, "certificate-expired"),
            (expert("ec/pi-enc"), "B7", "PI-B", false, "key-usage-not-for-signing"),
            (expert("other/pi-untrusted"), "B7", "PI-B", false, "untrusted-chain"),
        ]
        for (who, entry, session, tamper, reason) in refusals {
            let (code, body) = try attempt(who, entry: entry, station: "S08", session: session, tamper: tamper)
            #expect(code == 422 && body["reason"] as? String == reason, "\(who.file): \(body)")
        }
        // Raw answers too (the certificate travels in the body), one refused, one malformed.
        let (rawRefused, rawBody) = try attempt(expert("rsa/pi-expired"), entry: "B7", station: "S08", session: "PI-B", format: "raw")
        #expect(rawRefused == 422, "\(rawBody)")
        let (malformedRequest, _) = try r.challenge("B7", station: "S08", session: "PI-B")
        let garbage = #"{"format":"raw","signature":"AAAA","certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}"#
        #expect(try r.answer(malformedRequest, garbage, station: "S08").0 == 400)
        // A challenge for a session with no roster.
        #expect(try r.curl("/v1/checkin/challenges", as: "S08", method: "POST", body: #"{"session":"PI-C","rosterEntry":"C1"}"#).1 == 409)

        // Everyone checks in, one expert per station and session; one answer replayed.
        var checkIns: [Int] = []
        for (session, experts, prefix) in [("PI-A", sessionA, "A"), ("PI-B", sessionB, "B")] {
            for (index, who) in experts.enumerated() {
                let station = stations[index]
                let (request, text) = try r.challenge("\(prefix)\(index + 1)", station: station, session: session)
                let format = index % 2 == 0 ? "cms" : "raw"
                let body = try r.sign(text, leaf: who.file, algorithm: who.algorithm, format: format)
                let (code, verdict) = try r.answer(request, body, station: station)
                #expect(code == 200, "\(who.file) (\(who.placement), \(format)): \(verdict)")
                #expect(verdict["signerName"] as? String == who.name)
                checkIns.append(verdict["signature"] as? Int ?? 0)
                if index == 0 {
                    let (replay, replayed) = try r.answer(request, body, station: station)
                    #expect(replay == 422 && replayed["reason"] as? String == "nonce-replayed")
                }
            }
        }
        let strokes = #"{"width":300,"height":120,"strokes":[[{"x":20,"y":60,"t":0},{"x":80,"y":30,"t":40},{"x":140,"y":90,"t":80}]]}"#
        #expect(try r.curl("/v1/checkin/signatures/\(checkIns[0])/handwriting", as: "S01", method: "POST", body: strokes).1 == 201)

        // What operator, supervisor and platform can read.
        for path in ["/v1/sessions/PI-A/signatures", "/v1/sessions/PI-B/signatures", "/v1/events?limit=1000", "/v1/room"] {
            #expect(try r.curl(path, as: "operator").1 == 200)
        }
        #expect(try r.curl("/v1/ledger/entries", as: "supervisor").1 == 200)
        let status = try run(Binaries.roomctl, ["status", "--json", "--events", "200", "--config", r.room.configPath])
        roomctlOutput += [status.stdout, status.stderr]
        let export = r.room.dir.path + "/ledger-export"
        let exported = try run(Binaries.roomctl, ["ledger", "export", "--out", export, "--socket", r.socket])
        #expect(exported.status == 0, "\(exported.stderr)")
        roomctlOutput += [exported.stdout, exported.stderr]
        #expect(r.daemon.terminate() == 0)

        // The scan.
        let scanner = PersonalDataScanner(idNumbers: idNumbers.sorted())
        let database = r.room.dir.path + "/state/roomd.sqlite"
        let (inDatabase, tables) = try scanner.scanDatabase(at: database, except: Self.protectedColumns)
        #expect(tables.contains("signatures") && tables.contains("ledger_entry") && tables.contains("events"))
        var findings = inDatabase
        findings += scanner.scan(r.daemon.log, place: "roomd log")
        findings += scanner.scanFiles(under: export, place: "ledger export")
        for (request, body) in r.answers { findings += scanner.scan(body, place: "answer to \(request)") }
        for (index, text) in roomctlOutput.enumerated() { findings += scanner.scan(text, place: "roomctl output \(index)") }
        #expect(findings.isEmpty, "\(findings.count) ID numbers found:\n\(findings.prefix(25).map(\.description).joined(separator: "\n"))")

        // The scanner can see what it looks for: the protected column holds
        // the certificates, and with them the numbers (in their DER, base64).
        let (inProtected, _) = try scanner.scanDatabase(at: database, except: [])
        let seen = Set(inProtected.filter { $0.place.contains("certificate_pem") }.map(\.idNumber))
        #expect(Set(accepted.map(\.idNumber)).isSubset(of: seen), "scanner missed \(Set(accepted.map(\.idNumber)).subtracting(seen))")
    }
}
