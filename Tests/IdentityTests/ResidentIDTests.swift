import Foundation
import Testing

@testable import Identity

/// A day late enough that every birth date below is in the past.
let checkInDay = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01 00:00 UTC

/// Completes 17 digits with their check digit, computed here from the rule as
/// ISO 7064 states it (weights 2^(18−i) mod 11, sum + check ≡ 1 mod 11), not
/// from the table the code uses.
func withCheckDigit(_ first17: String) -> String {
    let digits = first17.map { Int(String($0))! }
    var power = 1
    var weights = [Int]()
    for _ in 0..<17 {
        power = power * 2 % 11
        weights.insert(power, at: 0)
    }
    let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
    let check = (12 - sum % 11) % 11
    return first17 + (check == 10 ? "X" : String(check))
}

func refusal(_ text: String, today: Date = checkInDay) -> ResidentIDError? {
    do {
        _ = try ResidentID(text, today: today)
        return nil
    } catch {
        return error
    }
}

struct ResidentIDTests {
    @Test func acceptsTheStandardsExampleWithCheckDigitX() throws {
        let id = try ResidentID("11010519491231002X", today: checkInDay)
        #expect(id.value == "11010519491231002X")
        #expect(id.lastFour == "002X")
        #expect((id.birthYear, id.birthMonth, id.birthDay) == (1949, 12, 31))
    }

    @Test func normalisesLowercaseXAndSurroundingSpace() throws {
        let id = try ResidentID("  11010519491231002x\n", today: checkInDay)
        #expect(id.value == "11010519491231002X")
        #expect(id == (try ResidentID("11010519491231002X", today: checkInDay)))
    }

    @Test func refusesAWrongCheckDigitWithTheChineseMessage() {
        let error = refusal("110101199003077777")
        #expect(error?.reason == .checkDigitMismatch)
        #expect(error?.message == "身份证号校验位错误，请核对后重新输入。")
        #expect(refusal(withCheckDigit("11010119900307777")) == nil, "the same digits with their check digit are valid")
    }

    @Test func independentRuleAndTableAgreeForEveryCheckValue() throws {
        // Vary the sequence digits until all eleven check values have been seen.
        var seen = Set<Character>()
        for sequence in 0..<1000 where seen.count < 11 {
            let number = withCheckDigit("11010519491231" + String(format: "%03d", sequence))
            #expect(refusal(number) == nil, "\(number)")
            seen.insert(number.last!)
        }
        #expect(seen.count == 11)
    }

    @Test(arguments: ["11010519491231002", "11010519491231002X0", "", "110105 19491231002X"])
    func refusesAnythingButEighteenCharacters(_ text: String) {
        #expect(refusal(text)?.reason == .wrongLength)
        #expect(refusal(text)?.message.contains("18 位") == true)
    }

    @Test(arguments: ["1101051949123100XX", "11010519491231O02X", "１１０１０５１９４９１２３１００２X", "X10105194912310021"])
    func refusesCharactersOtherThanDigitsAndAFinalX(_ text: String) {
        #expect(refusal(text)?.reason == .invalidCharacter)
    }

    @Test func refusesAnImpossibleBirthDate() {
        // 30 February, with a correct check digit so the date rule is what refuses it.
        let error = refusal(withCheckDigit("11010519490230002"))
        #expect(error?.reason == .invalidBirthDate)
        #expect(error?.message == "身份证号中的出生日期无效，请核对后重新输入。")
        #expect(refusal(withCheckDigit("11010519491301002"))?.reason == .invalidBirthDate, "month 13")
        #expect(refusal(withCheckDigit("11010518991231002"))?.reason == .invalidBirthDate, "before 1900")
        #expect(refusal(withCheckDigit("11010519490100002"))?.reason == .invalidBirthDate, "day 0")
    }

    @Test func knowsWhichCenturyYearsAreLeap() {
        #expect(refusal(withCheckDigit("11010520000229002")) == nil)
        #expect(refusal(withCheckDigit("11010519000229002"))?.reason == .invalidBirthDate)
        #expect(refusal(withCheckDigit("11010519960229002")) == nil)
        #expect(refusal(withCheckDigit("11010519970229002"))?.reason == .invalidBirthDate)
    }

    @Test func refusesABirthDateAfterTheDayGivenInChinaTime() {
        let number = withCheckDigit("11010520260102002")
        // 2026-01-01 16:00 UTC is already 2 January in Beijing.
        let beijingSecondJanuary = Date(timeIntervalSince1970: 1_767_283_200)
        let error = refusal(number, today: checkInDay)
        #expect(error?.reason == .birthDateInFuture)
        #expect(error?.message == "身份证号中的出生日期晚于今天，请核对后重新输入。")
        #expect(refusal(number, today: beijingSecondJanuary) == nil, "born today is allowed")
    }

    @Test func acceptsProvinceCodesAndRefusesOthers() {
        for code in ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82", "83"] {
            #expect(refusal(withCheckDigit(code + "010519491231002")) == nil, "\(code)")
        }
        for code in ["00", "10", "16", "20", "24", "38", "40", "47", "49", "55", "60", "66", "70", "72", "80", "84", "99"] {
            #expect(refusal(withCheckDigit(code + "010519491231002"))?.reason == .unknownRegion, "\(code)")
        }
    }

    @Test func acceptsForeignersPermanentResidenceNumbersByTheirProvinceCode() {
        // 2023 card: 9, the issuing province (31 Shanghai), a nationality code, birth date, sequence.
        #expect(refusal(withCheckDigit("93115619800101001")) == nil)
        #expect(refusal(withCheckDigit("91115619800101001")) == nil)
        #expect(refusal(withCheckDigit("90015619800101001"))?.reason == .unknownRegion)
    }

    @Test func descriptionsNeverContainTheWholeNumber() throws {
        let id = try ResidentID("11010519491231002X", today: checkInDay)
        #expect(!"\(id)".contains("19491231"))
        #expect("\(id)".hasSuffix("002X)"))
        let error = try #require(refusal(withCheckDigit("11010519490230002")))
        #expect(!"\(error)".contains("110105"))
    }
}

struct ProtectedIDTests {
    let secret = try! RoomSecret(bytes: Array(0..<32))

    @Test func isHMACSHA256OfTheNumberUnderTheRoomSecret() throws {
        let id = try ResidentID("11010519491231002x", today: checkInDay)
        let protected = ProtectedID(id, secret: secret)
        let python = try ExternalTool.python(
            "import hmac, hashlib, sys; print(hmac.new(bytes(range(32)), sys.argv[1].encode(), hashlib.sha256).hexdigest())",
            ["11010519491231002X"]
        )
        #expect(protected.hmac == python.text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(protected.lastFour == "002X")
    }

    @Test func matchesOnlyTheSameNumberUnderTheSameSecret() throws {
        let id = try ResidentID("11010519491231002X", today: checkInDay)
        let other = try ResidentID(withCheckDigit("11010519491231003"), today: checkInDay)
        let protected = ProtectedID(id, secret: secret)
        #expect(protected.matches(id, secret: secret))
        #expect(!protected.matches(other, secret: secret))
        #expect(!protected.matches(id, secret: try RoomSecret.generate()))
    }

    @Test func encodesOnlyTheHMACAndLastFourAndRefusesMalformedOnes() throws {
        let protected = ProtectedID(try ResidentID("11010519491231002X", today: checkInDay), secret: secret)
        let json = String(decoding: try JSONEncoder().encode(protected), as: UTF8.self)
        #expect(!json.contains("19491231"))
        #expect(try JSONDecoder().decode(ProtectedID.self, from: Data(json.utf8)) == protected)

        let upper = #"{"hmac":"\#(protected.hmac.uppercased())","lastFour":"002X"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ProtectedID.self, from: Data(upper.utf8)) }
        let badTail = #"{"hmac":"\#(protected.hmac)","lastFour":"0X2X"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ProtectedID.self, from: Data(badTail.utf8)) }
    }
}

struct RoomSecretTests {
    func temporaryPath() -> String { NSTemporaryDirectory() + "room-secret-\(UUID().uuidString)" }

    @Test func isCreatedOnceAsA0600FileOf32BytesAndThenLoaded() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let created = try RoomSecret.loadOrCreate(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect(attributes[.size] as? Int == 32)

        let loaded = try RoomSecret.loadOrCreate(at: path)
        let id = try ResidentID("11010519491231002X", today: checkInDay)
        #expect(ProtectedID(id, secret: created) == ProtectedID(id, secret: loaded))
    }

    @Test func refusesAFileOthersCanReadOrOfTheWrongSize() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try RoomSecret.loadOrCreate(at: path)
        chmod(path, 0o644)
        let readable = #expect(throws: RoomSecretError.self) { try RoomSecret.load(from: path) }
        #expect(readable?.description.contains("chmod 600") == true)

        try Data(repeating: 1, count: 16).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        let short = #expect(throws: RoomSecretError.self) { try RoomSecret.load(from: path) }
        #expect(short?.description.contains("holds 16 bytes") == true)
        #expect(throws: RoomSecretError.self) { try RoomSecret(bytes: [1, 2, 3]) }
    }

    @Test func neverShowsItsBytes() throws {
        let secret = try RoomSecret(bytes: Array(repeating: 0xAB, count: 32))
        var dumped = ""
        dump(secret, to: &dumped)
        for text in ["\(secret)", String(reflecting: secret), dumped] {
            #expect(!text.contains("171") && !text.lowercased().contains("ab, "), "\(text)")
            #expect(text.contains("RoomSecret"))
        }
    }
}

struct ResidentIDRedactionTests {
    @Test func idNumbersInFreeTextKeepOnlyTheirLastFour() {
        #expect(ResidentID.redacting("CN=张三,serialNumber=11010519491231002X,O=x") == "CN=张三,serialNumber=…002X,O=x")
        #expect(ResidentID.redacting("id 110101198003071239.") == "id …1239.")
        #expect(ResidentID.redacting("11010519491231002x") == "…002x")
    }

    @Test func longerNumbersAndHexAreLeftAlone() {
        let nanoseconds = "1795725312373058946"   // 19 digits
        #expect(ResidentID.redacting(nanoseconds) == nanoseconds)
        let hash = "ab110101198003071239cd"
        #expect(ResidentID.redacting(hash) == hash)
        #expect(ResidentID.redacting("") == "")
    }
}
