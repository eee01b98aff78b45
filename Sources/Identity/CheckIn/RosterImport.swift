public import Canonical
public import Foundation

extension Roster {
    /// Largest roster file accepted; a real one is a few KiB.
    public static let maximumImportBytes = 1 << 20

    /// Imports the roster the drawing system exported: a JSON array of
    /// `{"id", "name", "idNumber", "role", "certificateFingerprint"?}`. Every
    /// row is checked and every problem reported with its row (1-based), so
    /// the operator fixes the file once. Only `ProtectedID`s are kept.
    public static func importJSON(_ data: Data, secret: RoomSecret, today: Date) throws(RosterImportError) -> Roster {
        guard data.count <= maximumImportBytes else {
            throw RosterImportError(problems: [
                RosterImportProblem(row: nil, field: nil, reason: .fileTooLarge, detail: "\(data.count) bytes")
            ])
        }
        let rows: [Any]
        do {
            guard let array = try JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw RosterImportError(problems: [
                    RosterImportProblem(row: nil, field: nil, reason: .notAJSONArray, detail: "top level is not an array")
                ])
            }
            rows = array
        } catch let error as RosterImportError {
            throw error
        } catch {
            throw RosterImportError(problems: [
                RosterImportProblem(row: nil, field: nil, reason: .notAJSONArray, detail: "not JSON: \(error.localizedDescription)")
            ])
        }
        guard !rows.isEmpty else {
            throw RosterImportError(problems: [RosterImportProblem(row: nil, field: nil, reason: .empty, detail: "no rows")])
        }

        var problems = [RosterImportProblem]()
        var entries = [RosterEntry]()
        var firstRowOfNumber = [String: Int]()
        for (index, value) in rows.enumerated() {
            let row = index + 1
            func problem(_ field: String?, _ reason: RosterImportProblem.Reason, _ detail: String) {
                problems.append(RosterImportProblem(row: row, field: field, reason: reason, detail: detail))
            }
            guard let object = value as? [String: Any] else {
                problem(nil, .notAnObject, "row is not a JSON object")
                continue
            }
            for key in object.keys.sorted() where !Self.importFields.contains(key) {
                problem(key, .unknownField, "unknown field \"\(key)\"")
            }
            func text(_ field: String, required: Bool = true) -> String? {
                switch object[field] {
                case nil, is NSNull:
                    if required { problem(field, .missingField, "missing") }
                    return nil
                case let string as String:
                    return string
                default:
                    problem(field, .notText, "not a string")
                    return nil
                }
            }

            let id = text("id")
            if let id, !Self.isValidEntryID(id) {
                problem("id", .invalidEntryID, "must be 1–16 of A-Z a-z 0-9 _ -")
            }
            let name = text("name").map(normalisedName)
            if let name, name.isEmpty || name.count > 64 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                problem("name", .invalidName, "empty, longer than 64 characters, or containing control characters")
            }
            var residentID: ResidentID?
            if let number = text("idNumber") {
                do {
                    let parsed = try ResidentID(number, today: today)
                    residentID = parsed
                    if let first = firstRowOfNumber[parsed.value] {
                        problems.append(.duplicate(.duplicateIDNumber, row: row, firstRow: first))
                    } else {
                        firstRowOfNumber[parsed.value] = row
                    }
                } catch {
                    problems.append(RosterImportProblem(row: row, field: "idNumber", reason: .invalidIDNumber, detail: error.detail, idNumberError: error))
                }
            }
            var role: RosterRole?
            if let raw = text("role") {
                role = RosterRole(rawValue: raw)
                if role == nil { problem("role", .unknownRole, "\"\(raw)\" is not expert or purchaser_representative") }
            }
            let fingerprint = text("certificateFingerprint", required: false).map(normalisedFingerprint)
            if let fingerprint, fingerprint.utf8.count != 64 || !fingerprint.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
                problem("certificateFingerprint", .invalidFingerprint, "not a SHA-256 fingerprint (64 hex digits)")
            }

            if let id, let name, let residentID, let role {
                entries.append(
                    RosterEntry(id: id, name: name, protectedID: ProtectedID(residentID, secret: secret), role: role, certificateFingerprint: fingerprint)
                )
            }
        }

        var seenIDs = [String: Int]()
        for (index, value) in rows.enumerated() {
            guard let id = (value as? [String: Any])?["id"] as? String else { continue }
            if let first = seenIDs[id] {
                problems.append(.duplicate(.duplicateEntryID, row: index + 1, firstRow: first))
            } else {
                seenIDs[id] = index + 1
            }
        }

        guard problems.isEmpty else {
            // By row, and within a row in the order found (sorted() promises no stability).
            let ordered = problems.enumerated().sorted { ($0.element.row ?? 0, $0.offset) < ($1.element.row ?? 0, $1.offset) }
            throw RosterImportError(problems: ordered.map(\.element))
        }
        return try Roster(entries: entries)
    }

    static let importFields: Set<String> = ["id", "name", "idNumber", "role", "certificateFingerprint"]

    static func isValidEntryID(_ id: String) -> Bool {
        (1...16).contains(id.utf8.count)
            && id.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 || $0 == 45 }
    }
}

/// One thing wrong with a roster file.
public struct RosterImportProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case fileTooLarge = "file-too-large"
        case notAJSONArray = "not-a-json-array"
        case empty
        case notAnObject = "not-an-object"
        case unknownField = "unknown-field"
        case missingField = "missing-field"
        case notText = "not-text"
        case invalidEntryID = "invalid-entry-id"
        case invalidName = "invalid-name"
        case invalidIDNumber = "invalid-id-number"
        case unknownRole = "unknown-role"
        case invalidFingerprint = "invalid-fingerprint"
        case duplicateEntryID = "duplicate-entry-id"
        case duplicateIDNumber = "duplicate-id-number"
    }

    /// 1-based position in the array; nil for problems with the whole file.
    public let row: Int?
    public let field: String?
    public let reason: Reason
    /// English for logs; never contains an ID number.
    public let detail: String
    /// Why the ID number was refused, for `invalidIDNumber`.
    public let idNumberError: ResidentIDError?
    /// The earlier row a duplicate repeats.
    public let firstRow: Int?

    init(row: Int?, field: String?, reason: Reason, detail: String, idNumberError: ResidentIDError? = nil, firstRow: Int? = nil) {
        self.row = row
        self.field = field
        self.reason = reason
        self.detail = detail
        self.idNumberError = idNumberError
        self.firstRow = firstRow
    }

    static func duplicate(_ reason: Reason, row: Int, firstRow: Int) -> RosterImportProblem {
        let field = reason == .duplicateEntryID ? "id" : "idNumber"
        return RosterImportProblem(row: row, field: field, reason: reason, detail: "same \(field) as row \(firstRow)", firstRow: firstRow)
    }

    /// For the operator, in Chinese.
    public var message: String {
        let place = row.map { "第 \($0) 行" } ?? "名单文件"
        let what: String =
            switch reason {
            case .fileTooLarge: "超过 1 MiB，请确认导入的是抽取名单文件。"
            case .notAJSONArray: "不是 JSON 数组，请导入抽取系统导出的名单文件。"
            case .empty: "没有任何人员，请导入包含抽取结果的名单文件。"
            case .notAnObject: "不是 JSON 对象，请检查名单文件格式。"
            case .unknownField: "含有无法识别的字段 \(field ?? "")，请检查字段名是否拼写正确。"
            case .missingField: "缺少字段 \(field ?? "")，请补充后重新导入。"
            case .notText: "字段 \(field ?? "") 应为文本，请检查名单文件格式。"
            case .invalidEntryID: "编号应为 1–16 位字母、数字、下划线或连字符，请修改后重新导入。"
            case .invalidName: "姓名为空、过长或含有控制字符，请修改后重新导入。"
            case .invalidIDNumber: idNumberError?.message ?? "身份证号无效，请核对后重新导入。"
            case .unknownRole: "角色应为 expert（评审专家）或 purchaser_representative（采购人代表），请修改后重新导入。"
            case .invalidFingerprint: "证书指纹应为 64 位十六进制 SHA-256 指纹，请修改后重新导入。"
            case .duplicateEntryID: "编号与第 \(firstRow ?? 0) 行重复，请修改后重新导入。"
            case .duplicateIDNumber: "身份证号与第 \(firstRow ?? 0) 行重复，同一人不能重复列入名单。"
            }
        return "\(place)：\(what)"
    }

    public var description: String {
        let place = row.map { "row \($0)" } ?? "file"
        return "\(place)\(field.map { " \($0)" } ?? ""): \(reason.rawValue): \(detail)"
    }
}

/// A roster that was not imported, with every problem found.
public struct RosterImportError: Error, Sendable, CustomStringConvertible {
    public let problems: [RosterImportProblem]

    /// All problems, one a line, for the operator console.
    public var message: String { problems.map(\.message).joined(separator: "\n") }

    public var description: String {
        "roster refused, \(problems.count) problem(s): " + problems.map(\.description).joined(separator: "; ")
    }
}

extension RosterImportError: ExplainedRefusal {
    public var explanation: Explanation { Explanation(code: "roster-invalid", chinese: message, english: description) }
}
