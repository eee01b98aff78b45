import Foundation
import Testing

@testable import Identity

struct RosterTests {
    let secret = try! RoomSecret(bytes: Array(repeating: 7, count: 32))
    static let fingerprint = String(repeating: "ab", count: 32)
    static let wangID = withCheckDigit("31010419750615123")
    static let liID = withCheckDigit("44030519820304567")
    /// As `openssl x509 -fingerprint -sha256` prints it: "AB:AB:…".
    static let opensslStyleFingerprint = Array(repeating: "AB", count: 32).joined(separator: ":")

    /// What the drawing system exports: two experts (one bound to a
    /// certificate) and a purchaser representative.
    static let rosterJSON = """
        [
          {"id": "E01", "name": "张伟", "idNumber": "11010519491231002x", "role": "expert"},
          {"id": "E02", "name": "王芳", "idNumber": "\(wangID)", "role": "expert",
           "certificateFingerprint": "\(opensslStyleFingerprint)"},
          {"id": "P01", "name": "Zoë Li", "idNumber": "\(liID)", "role": "purchaser_representative"}
        ]
        """

    func roster() throws -> Roster {
        try Roster.importJSON(Data(Self.rosterJSON.utf8), secret: secret, today: checkInDay)
    }

    func problems(_ json: String) -> [RosterImportProblem] {
        do {
            _ = try Roster.importJSON(Data(json.utf8), secret: secret, today: checkInDay)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func importKeepsOnlyTheProtectedIDAndNormalisesFingerprints() throws {
        let roster = try roster()
        #expect(roster.entries.map(\.id) == ["E01", "E02", "P01"])
        #expect(roster.entries.map(\.role) == [.expert, .expert, .purchaserRepresentative])
        #expect(roster.entries[0].protectedID == ProtectedID(try ResidentID("11010519491231002X", today: checkInDay), secret: secret))
        #expect(roster.entries[1].certificateFingerprint == Self.fingerprint)

        let stored = String(decoding: try JSONEncoder().encode(roster.entries), as: UTF8.self)
        for number in ["11010519491231002X", Self.wangID, Self.liID] {
            #expect(!stored.contains(number) && !stored.contains(number.dropFirst(6).prefix(8)))
        }
        #expect(stored.contains("\"purchaser_representative\""))
        #expect(try JSONDecoder().decode([RosterEntry].self, from: Data(stored.utf8)) == roster.entries)
    }

    @Test func matchesBothNameAndIDNumberFromTheCertificate() throws {
        let result = try roster().match(name: " 张伟\n", idNumber: "11010519491231002x", certificateFingerprint: nil, secret: secret)
        #expect(result == .matched(try roster().entries[0]))
        #expect(result.reasonCode == "matched")
        #expect(result.isMatched)
    }

    @Test func comparesNamesAfterNFCNormalisationButNeverFuzzily() throws {
        let roster = try roster()
        let decomposed = "Zoe\u{308} Li"
        #expect(decomposed.unicodeScalars.count != "Zoë Li".unicodeScalars.count)
        #expect(roster.match(name: decomposed, idNumber: Self.liID, certificateFingerprint: nil, secret: secret).isMatched)
        let spaced = roster.match(name: "张 伟", idNumber: "11010519491231002X", certificateFingerprint: nil, secret: secret)
        #expect(spaced.reasonCode == "name-mismatch")
    }

    @Test func reportsAnIDNumberOnTheRosterUnderAnotherName() throws {
        let result = try roster().match(name: "李强", idNumber: "11010519491231002X", certificateFingerprint: nil, secret: secret)
        #expect(result == .nameMismatch(entry: try roster().entries[0], certificateName: "李强"))
        #expect(result.reasonCode == "name-mismatch")
        #expect(result.message.contains("李强") && result.message.contains("张伟") && result.message.contains("002X"))
    }

    @Test func reportsANameWhoseIDNumberDiffersWithTheRostersLastFour() throws {
        let other = withCheckDigit("11010519491231003")
        let result = try roster().match(name: "张伟", idNumber: other, certificateFingerprint: nil, secret: secret)
        #expect(result == .idNumberMismatch(candidates: [try roster().entries[0]]))
        #expect(result.reasonCode == "id-number-mismatch")
        #expect(result.message == "证书中的身份证号与抽取名单不一致（名单尾号 002X），请核对专家身份。")
        #expect(!result.description.contains("张伟"), "logs get roster ids, not names")
    }

    @Test func reportsSomeoneWhoIsNotOnTheRoster() throws {
        let result = try roster().match(name: "赵六", idNumber: withCheckDigit("11010519800101001"), certificateFingerprint: nil, secret: secret)
        #expect(result == .notOnRoster)
        #expect(result.reasonCode == "not-on-roster")
        #expect(result.message.contains("不在本场抽取名单"))
    }

    @Test func checksTheCertificateFingerprintWhereTheRosterNamesOne() throws {
        let roster = try roster()
        let right = roster.match(name: "王芳", idNumber: Self.wangID, certificateFingerprint: Self.fingerprint.uppercased(), secret: secret)
        #expect(right == .matched(roster.entries[1]))
        let wrong = roster.match(name: "王芳", idNumber: Self.wangID, certificateFingerprint: String(repeating: "cd", count: 32), secret: secret)
        #expect(wrong == .fingerprintMismatch(entry: roster.entries[1]))
        #expect(wrong.reasonCode == "fingerprint-mismatch")
        let none = roster.match(name: "王芳", idNumber: Self.wangID, certificateFingerprint: nil, secret: secret)
        #expect(none.reasonCode == "fingerprint-mismatch")
    }

    @Test func cannotMatchACertificateWithoutAUsableIDNumber() throws {
        let roster = try roster()
        for missing in [nil, "", "  "] as [String?] {
            let result = roster.match(name: "张伟", idNumber: missing, certificateFingerprint: nil, secret: secret)
            #expect(result == .missingIDInCertificate)
            #expect(result.reasonCode == "missing-id-in-certificate")
            #expect(result.message.contains("证书中没有身份证号"))
        }
        let short = roster.match(name: "张伟", idNumber: "110105194912310", certificateFingerprint: nil, secret: secret)
        #expect(short.reasonCode == "malformed-id-in-certificate")
    }

    @Test func importReportsEveryProblemWithItsRow() {
        let json = """
            [
              {"id": "E01", "name": "张伟", "idNumber": "11010519491231002X", "role": "expert"},
              {"id": "E02", "name": "王芳", "idNumber": "110101199003077777", "role": "expert"},
              {"id": "E03", "idNumber": "\(Self.wangID)", "role": "expert"},
              {"id": "E04", "name": "李四", "idNumber": "\(Self.liID)", "role": "chair"},
              {"id": "E01", "name": "赵六", "idNumber": "\(withCheckDigit("11010519800101001"))", "role": "expert"},
              {"id": "E06", "name": "钱七", "idNumber": "11010519491231002x", "role": "expert"},
              {"id": "P01", "name": "孙八", "idNumber": "\(withCheckDigit("11010519800101002"))", "role": "purchaser_representative",
               "certificateFingerprint": "abc", "fingerprint": "x"},
              "E08",
              {"id": "E 09", "name": "周九", "idNumber": 110105194912310029, "role": "expert"}
            ]
            """
        let found = problems(json)
        let summary = found.map { "\($0.row ?? 0):\($0.field ?? "-"):\($0.reason.rawValue)" }
        #expect(summary == [
            "2:idNumber:invalid-id-number",
            "3:name:missing-field",
            "4:role:unknown-role",
            "5:id:duplicate-entry-id",
            "6:idNumber:duplicate-id-number",
            "7:fingerprint:unknown-field",
            "7:certificateFingerprint:invalid-fingerprint",
            "8:-:not-an-object",
            "9:id:invalid-entry-id",
            "9:idNumber:not-text",
        ])
        #expect(found[0].idNumberError?.reason == .checkDigitMismatch)
        #expect(found[0].message == "第 2 行：身份证号校验位错误，请核对后重新输入。")
        #expect(found[3].message == "第 5 行：编号与第 1 行重复，请修改后重新导入。")
        #expect(found[4].message == "第 6 行：身份证号与第 1 行重复，同一人不能重复列入名单。")
        #expect(found.allSatisfy { !$0.description.contains("110101199003077777") })
    }

    @Test func importRefusesWhatIsNotARosterAtAll() {
        #expect(problems("{\"id\": \"E01\"}").map(\.reason) == [.notAJSONArray])
        #expect(problems("[{\"id\": ").map(\.reason) == [.notAJSONArray])
        #expect(problems("[]").map(\.reason) == [.empty])
        #expect(problems("[]").first?.message == "名单文件：没有任何人员，请导入包含抽取结果的名单文件。")
        let huge = "[" + String(repeating: " ", count: Roster.maximumImportBytes) + "]"
        #expect(problems(huge).map(\.reason) == [.fileTooLarge])
    }

    @Test func rosterEntriesMustBeUniqueEvenWhenBuiltInCode() throws {
        let entry = try roster().entries[0]
        let again = RosterEntry(id: "E09", name: "某人", protectedID: entry.protectedID, role: .expert)
        let error = #expect(throws: RosterImportError.self) { try Roster(entries: [entry, again, entry]) }
        #expect(error?.problems.map(\.reason) == [.duplicateIDNumber, .duplicateEntryID, .duplicateIDNumber])
    }
}
