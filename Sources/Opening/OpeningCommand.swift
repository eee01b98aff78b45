public import Evaluation
import Canonical

/// What the platform, the operator or a supplier's representative asks of the opening. The
/// opening checks it against the state (``OpeningSession/handle(_:at:actor:)``); a valid command
/// becomes an ``OpeningEvent``. Cryptography happens outside, in Identity: the command carries what
/// it established (the certificate's organisation and credit code, the SHA-256 of what was
/// received or decrypted), and the opening compares that with the definition.
public enum OpeningCommand: Codable, Sendable, Equatable {
    /// The platform delivered a supplier's sealed bid; roomd hashed the bytes it received.
    case receiveSealedBid(supplier: CreditCode, sha256: String)
    /// A representative signed the sign-in challenge with the supplier's certificate; Identity
    /// verified it and read the organisation (O) and credit code the certificate names.
    case signIn(supplier: CreditCode, organization: String, certificateSHA256: String)
    /// At or after the bid deadline: the decryption window opens.
    case startOpening
    /// The representative decrypted the sealed bid; roomd hashed the plaintext and read it.
    case submitDecryption(supplier: CreditCode, plaintextSHA256: String, summary: DecryptedSummary)
    /// The representative could not decrypt (wrong key, USBKey fault), with the reason given.
    case reportDecryptionFailure(supplier: CreditCode, reason: String)
    /// The window has ended, or every supplier has decrypted: the opening record is read out.
    case closeDecryption
    /// The supplier's signature over the opening record (verified by Identity).
    case confirmRecord(supplier: CreditCode, signature: String)
    /// An objection to the opening or the record (87号令 第40条), its text signed by the supplier.
    case raiseObjection(supplier: CreditCode, text: String, signature: String)
    case concludeOpening
}

/// The decrypted plaintext as roomd read it.
public enum DecryptedSummary: Codable, Sendable, Equatable {
    case read(OpeningSummary)
    /// Not an opening summary (``SummaryProblem``).
    case unreadable(String)
}

/// A stored, accepted command: the opening is a function of (definition, [OpeningEvent]).
public struct OpeningEvent: Codable, Sendable, Equatable {
    public var sequence: Int
    /// Supplied by the daemon; the opening has no clock.
    public var at: Instant
    public var actor: String
    public var command: OpeningCommand

    public init(sequence: Int, at: Instant, actor: String, command: OpeningCommand) {
        self.sequence = sequence; self.at = at; self.actor = actor; self.command = command
    }
}

/// Something the opening records against a supplier rather than refuses: a late or unknown
/// sign-in, an altered sealed bid, a failed or late decryption. It stays in the record with its
/// reason; the final ``BidStatus`` of a supplier that did not decrypt names one of these.
public enum OpeningRejection: RuleViolation, Codable, Equatable {
    case unknownSupplier
    case organizationMismatch(expected: String, certificate: String)
    case lateSignIn(deadline: Instant)
    case sealedBidAltered(expected: String, received: String)
    case sealedBidMissing
    case notSignedIn
    case decryptionTimedOut(windowEnd: Instant)
    case plaintextMismatch(expected: String, decrypted: String)
    case decryptionFailed(reason: String)
    case summaryUnreadable(reason: String)
    case summaryOfAnotherBid(reason: String)
    case noPriceForLot(String)

    public enum Stage: Sendable { case sealedBid, signIn, decryption, record }

    /// Which step of the opening the rejection belongs to.
    public var stage: Stage {
        switch self {
        case .sealedBidAltered, .sealedBidMissing: .sealedBid
        case .unknownSupplier, .organizationMismatch, .lateSignIn, .notSignedIn: .signIn
        case .decryptionTimedOut, .plaintextMismatch, .decryptionFailed, .summaryUnreadable, .summaryOfAnotherBid: .decryption
        case .noPriceForLot: .record
        }
    }

    public var code: String {
        switch self {
        case .unknownSupplier: "supplier-unknown"
        case .organizationMismatch: "supplier-organization-mismatch"
        case .lateSignIn: "sign-in-late"
        case .sealedBidAltered: "sealed-bid-altered"
        case .sealedBidMissing: "sealed-bid-missing"
        case .notSignedIn: "supplier-not-signed-in"
        case .decryptionTimedOut: "decryption-timed-out"
        case .plaintextMismatch: "decryption-hash-mismatch"
        case .decryptionFailed: "decryption-failed"
        case .summaryUnreadable: "summary-unreadable"
        case .summaryOfAnotherBid: "summary-of-another-bid"
        case .noPriceForLot: "summary-no-price-for-lot"
        }
    }

    public var chineseMessage: String {
        switch self {
        case .unknownSupplier: "该供应商不在本项目的投标供应商名单中，签到被拒绝。"
        case .organizationMismatch(let expected, let certificate):
            "证书单位名称“\(certificate)”与投标供应商“\(expected)”不一致，签到被拒绝；请使用本单位的CA证书。"
        case .lateSignIn(let deadline): "签到时已过投标截止时间（\(beijing(deadline))），签到被拒绝。"
        case .sealedBidAltered: "收到的加密投标文件与平台登记的摘要值不一致，可能已被篡改或损坏；请平台重新推送。"
        case .sealedBidMissing: "未收到该供应商的加密投标文件。"
        case .notSignedIn: "供应商代表未签到，未解密投标文件。"
        case .decryptionTimedOut(let end): "未在解密时限（\(beijing(end))）内完成解密。"
        case .plaintextMismatch: "解密得到的开标一览表与平台登记的摘要值不一致，不予采用。"
        case .decryptionFailed(let reason): "解密失败：\(reason)"
        case .summaryUnreadable: "解密内容不是规定格式的开标一览表，无法读取。"
        case .summaryOfAnotherBid: "解密得到的开标一览表不属于本项目或本供应商。"
        case .noPriceForLot(let lot): "开标一览表中没有采购包\(lot)的报价。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .unknownSupplier: "the supplier is not among the definition's suppliers; sign-in refused"
        case .organizationMismatch(let expected, let certificate):
            "the certificate names \"\(certificate)\", the definition \"\(expected)\"; sign in with the supplier's own certificate"
        case .lateSignIn(let deadline): "signed in after the bid deadline \(isoTime(deadline)); sign-in refused"
        case .sealedBidAltered(let expected, let received):
            "the sealed bid received hashes to \(received), the definition says \(expected); ask the platform to send it again"
        case .sealedBidMissing: "no sealed bid was received from the platform"
        case .notSignedIn: "the supplier's representative did not sign in, so the bid was not decrypted"
        case .decryptionTimedOut(let end): "not decrypted within the window, which ended \(isoTime(end))"
        case .plaintextMismatch(let expected, let decrypted):
            "the decrypted summary hashes to \(decrypted), the definition says \(expected); it is not used"
        case .decryptionFailed(let reason): "decryption failed: \(reason)"
        case .summaryUnreadable(let reason): "the decrypted plaintext is not an opening summary: \(reason)"
        case .summaryOfAnotherBid(let reason): "the decrypted summary belongs to another bid: \(reason)"
        case .noPriceForLot(let lot): "the opening summary has no price for lot \(lot)"
        }
    }
}

/// UTC RFC 3339 for English; Beijing time to the minute for Chinese.
func isoTime(_ ms: Instant) -> String { CivilTime.iso8601(nanoseconds: ms * 1_000_000) }
func beijing(_ ms: Instant) -> String { "北京时间" + CivilTime.beijing(seconds: ms >= 0 ? ms / 1000 : (ms - 999) / 1000) }
