import Foundation

/// Who a roster entry is in the session.
public enum RosterRole: String, Codable, Sendable, Hashable, CaseIterable {
    /// An evaluation expert drawn from the expert pool (评审专家).
    case expert
    /// The purchaser's representative on the committee (采购人代表).
    case purchaserRepresentative = "purchaser_representative"

    var chineseName: String {
        switch self {
        case .expert: "评审专家"
        case .purchaserRepresentative: "采购人代表"
        }
    }
}

/// One drawn expert or purchaser representative. The ID number is kept only
/// as a `ProtectedID`.
public struct RosterEntry: Codable, Sendable, Hashable {
    /// The roster's own identifier, e.g. "E01" or "P01".
    public let id: String
    /// NFC-normalised and trimmed.
    public let name: String
    public let protectedID: ProtectedID
    public let role: RosterRole
    /// SHA-256 of the DER certificate, lowercase hex without colons, when the
    /// drawing already named the signing certificate.
    public let certificateFingerprint: String?

    public init(id: String, name: String, protectedID: ProtectedID, role: RosterRole, certificateFingerprint: String? = nil) {
        self.id = id
        self.name = normalisedName(name)
        self.protectedID = protectedID
        self.role = role
        self.certificateFingerprint = certificateFingerprint.map(normalisedFingerprint)
    }
}

/// The session's roster: everyone who may sign in. Matching needs the name and
/// the ID number from the signer's certificate; the caller extracts them.
public struct Roster: Sendable {
    public let entries: [RosterEntry]

    /// Entry ids and protected ID numbers must be unique.
    public init(entries: [RosterEntry]) throws(RosterImportError) {
        var problems = [RosterImportProblem]()
        var seenIDs = [String: Int]()
        var seenNumbers = [String: Int]()
        for (index, entry) in entries.enumerated() {
            let row = index + 1
            if let first = seenIDs[entry.id] {
                problems.append(.duplicate(.duplicateEntryID, row: row, firstRow: first))
            } else {
                seenIDs[entry.id] = row
            }
            if let first = seenNumbers[entry.protectedID.hmac] {
                problems.append(.duplicate(.duplicateIDNumber, row: row, firstRow: first))
            } else {
                seenNumbers[entry.protectedID.hmac] = row
            }
        }
        guard problems.isEmpty else { throw RosterImportError(problems: problems) }
        self.entries = entries
    }

    /// Matches a signer by the name and ID number in their certificate and,
    /// where the roster names one, the certificate's SHA-256 fingerprint.
    /// Names are compared exactly after NFC normalisation and trimming: a
    /// near miss is a mismatch for the operator to resolve, never a guess.
    public func match(name: String?, idNumber: String?, certificateFingerprint: String?, secret: RoomSecret) -> RosterMatchResult {
        guard let idNumber, !idNumber.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .missingIDInCertificate
        }
        let number = idNumber.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        guard number.utf8.count == 18 else { return .malformedIDInCertificate }

        // Every entry is compared, found or not, so the time taken does not
        // depend on where in the roster the number is.
        let candidate = ProtectedID.hmac(ofIDNumber: number, secret: secret)
        var byNumber: RosterEntry?
        for entry in entries where entry.protectedID.matches(hmac: candidate) {
            byNumber = entry
        }
        let signerName = name.map(normalisedName)

        if let entry = byNumber {
            guard entry.name == signerName else { return .nameMismatch(entry: entry, certificateName: signerName) }
            if let expected = entry.certificateFingerprint,
               certificateFingerprint.map(normalisedFingerprint) != expected {
                return .fingerprintMismatch(entry: entry)
            }
            return .matched(entry)
        }
        let sameName = entries.filter { $0.name == signerName }
        return sameName.isEmpty ? .notOnRoster : .idNumberMismatch(candidates: sameName)
    }
}

/// The outcome of matching a signer against the roster.
public enum RosterMatchResult: Sendable, Hashable, CustomStringConvertible {
    case matched(RosterEntry)
    /// The ID number is on the roster but under another name.
    case nameMismatch(entry: RosterEntry, certificateName: String?)
    /// The name is on the roster (perhaps more than once) but the ID number is not.
    case idNumberMismatch(candidates: [RosterEntry])
    /// Neither the name nor the ID number is on the roster.
    case notOnRoster
    /// Name and ID number match, but the roster names another certificate.
    case fingerprintMismatch(entry: RosterEntry)
    /// The certificate carries no ID number to match by.
    case missingIDInCertificate
    /// The certificate's ID number is not 18 characters, so it cannot be any roster entry's.
    case malformedIDInCertificate

    /// Stable code for APIs, events and logs.
    public var reasonCode: String {
        switch self {
        case .matched: "matched"
        case .nameMismatch: "name-mismatch"
        case .idNumberMismatch: "id-number-mismatch"
        case .notOnRoster: "not-on-roster"
        case .fingerprintMismatch: "fingerprint-mismatch"
        case .missingIDInCertificate: "missing-id-in-certificate"
        case .malformedIDInCertificate: "malformed-id-in-certificate"
        }
    }

    public var isMatched: Bool {
        if case .matched = self { return true }
        return false
    }

    /// For the operator console, in Chinese: what happened and what to do.
    public var message: String {
        switch self {
        case .matched(let entry):
            "已核对：\(entry.name)（\(entry.role.chineseName) \(entry.id)，身份证尾号 \(entry.protectedID.lastFour)）。"
        case .nameMismatch(let entry, let certificateName):
            "证书中的姓名（\(certificateName ?? "无")）与抽取名单中该身份证号对应的姓名（\(entry.name)，名单尾号 \(entry.protectedID.lastFour)）不一致，请核对专家身份。"
        case .idNumberMismatch(let candidates):
            "证书中的身份证号与抽取名单不一致（名单尾号 \(candidates.map(\.protectedID.lastFour).joined(separator: "、"))），请核对专家身份。"
        case .notOnRoster:
            "证书持有人不在本场抽取名单中，请核对专家身份或联系项目负责人。"
        case .fingerprintMismatch(let entry):
            "签名证书与抽取名单登记的证书不一致（\(entry.name)，名单尾号 \(entry.protectedID.lastFour)），请使用登记的证书签名或联系项目负责人。"
        case .missingIDInCertificate:
            "证书中没有身份证号，无法与抽取名单核对，请使用载有身份证号的签名证书。"
        case .malformedIDInCertificate:
            "证书中的身份证号格式不正确，无法与抽取名单核对，请联系证书签发机构。"
        }
    }

    /// English for logs: roster ids and last four digits, no names.
    public var description: String {
        switch self {
        case .matched(let entry): "matched roster entry \(entry.id)"
        case .nameMismatch(let entry, _): "name-mismatch: ID number is roster entry \(entry.id)'s, the name is not"
        case .idNumberMismatch(let candidates):
            "id-number-mismatch: name is on the roster as \(candidates.map(\.id).joined(separator: ", ")), the ID number is not"
        case .notOnRoster: "not-on-roster: neither name nor ID number is on the roster"
        case .fingerprintMismatch(let entry): "fingerprint-mismatch: roster entry \(entry.id) names another certificate"
        case .missingIDInCertificate: "missing-id-in-certificate"
        case .malformedIDInCertificate: "malformed-id-in-certificate: the certificate's ID number is not 18 characters"
        }
    }
}

/// Names from certificates and rosters may arrive decomposed (NFD) or with
/// stray spaces; compare them in one form.
func normalisedName(_ name: String) -> String {
    name.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping
}

/// Fingerprints are accepted as printed by openssl (upper case, colons) too.
func normalisedFingerprint(_ fingerprint: String) -> String {
    fingerprint.lowercased().filter { $0 != ":" }
}
