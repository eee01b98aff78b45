public import Evaluation

/// A command the opening refuses: nothing changes. Messages in Chinese for the operator console
/// and the supplier page, English for logs; each says what to do.
public enum OpeningError: RuleViolation, Equatable {
    public enum Text: String, Sendable {
        case decryptionFailure, objection, signature

        var chineseName: String {
            switch self {
            case .decryptionFailure: "解密失败原因"
            case .objection: "异议内容"
            case .signature: "签名"
            }
        }
    }

    case invalidDefinition(OpeningDefinitionError)
    case sequenceGap(expected: Int, got: Int)
    case timeWentBackwards(previous: Instant, got: Instant)
    case wrongPhase(command: String, phase: OpeningPhase)
    case unknownSupplier(CreditCode)
    case malformedHash(String)
    case sealedBidAlreadyReceived(CreditCode)
    case alreadySignedIn(CreditCode)
    case deadlineNotReached(Instant)
    case notSignedIn(CreditCode)
    case sealedBidNotReceived(CreditCode)
    case alreadyDecrypted(CreditCode)
    case windowStillOpen(until: Instant, pending: [CreditCode])
    case alreadyAnswered(CreditCode)
    case emptyText(Text)

    public var code: String {
        switch self {
        case .invalidDefinition(let problem): problem.code
        case .sequenceGap: "opening-sequence-gap"
        case .timeWentBackwards: "opening-time-backwards"
        case .wrongPhase: "opening-wrong-phase"
        case .unknownSupplier: "opening-unknown-supplier"
        case .malformedHash: "opening-malformed-hash"
        case .sealedBidAlreadyReceived: "sealed-bid-already-received"
        case .alreadySignedIn: "supplier-already-signed-in"
        case .deadlineNotReached: "opening-before-deadline"
        case .notSignedIn: "supplier-not-signed-in"
        case .sealedBidNotReceived: "sealed-bid-not-received"
        case .alreadyDecrypted: "bid-already-decrypted"
        case .windowStillOpen: "decryption-window-open"
        case .alreadyAnswered: "record-already-answered"
        case .emptyText: "opening-empty-text"
        }
    }

    public var chineseMessage: String {
        switch self {
        case .invalidDefinition(let problem): problem.chineseMessage
        case .sequenceGap(let expected, let got): "开标记录序号不连续（应为\(expected)，收到\(got)），请联系管理员检查数据库。"
        case .timeWentBackwards: "操作时间早于上一条记录，请检查服务器时钟。"
        case .wrongPhase(_, let phase): "当前处于“\(phase.chineseName)”阶段，不能进行此操作。"
        case .unknownSupplier(let c): "供应商\(c)不在本项目的投标供应商名单中。"
        case .malformedHash: "摘要值格式错误（应为64位小写十六进制SHA-256）。"
        case .sealedBidAlreadyReceived(let c): "已收到供应商\(c)的加密投标文件，无需重复推送。"
        case .alreadySignedIn(let c): "供应商\(c)已签到。"
        case .deadlineNotReached(let d): "投标截止时间（\(beijing(d))）未到，不能开标；请到时再开始。"
        case .notSignedIn(let c): "供应商\(c)尚未签到，请先用本单位CA证书签到。"
        case .sealedBidNotReceived(let c): "尚未收到供应商\(c)的加密投标文件，请联系政府采购云平台推送。"
        case .alreadyDecrypted(let c): "供应商\(c)的投标文件已解密。"
        case .windowStillOpen(let until, let pending):
            "解密时限至\(beijing(until))，尚有\(pending.count)家供应商未解密，时限届满后才能结束解密。"
        case .alreadyAnswered(let c): "供应商\(c)已对开标记录作出确认或提出异议。"
        case .emptyText(let text): "\(text.chineseName)不能为空，请填写后再提交。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .invalidDefinition(let problem): problem.englishMessage
        case .sequenceGap(let expected, let got): "event sequence \(got) where \(expected) was expected; the stored opening is damaged"
        case .timeWentBackwards(let previous, let got):
            "event at \(isoTime(got)) is earlier than the previous one at \(isoTime(previous)); check the server clock"
        case .wrongPhase(let command, let phase): "\(command) is not allowed in phase \(phase.rawValue)"
        case .unknownSupplier(let c): "supplier \(c) is not in the opening definition"
        case .malformedHash(let h): "\"\(h)\" is not a SHA-256 in 64 lowercase hex digits"
        case .sealedBidAlreadyReceived(let c): "the sealed bid of \(c) was already received"
        case .alreadySignedIn(let c): "supplier \(c) has already signed in"
        case .deadlineNotReached(let d): "the bid deadline \(isoTime(d)) has not passed; start the opening after it"
        case .notSignedIn(let c): "supplier \(c) has not signed in; sign in with the supplier's certificate first"
        case .sealedBidNotReceived(let c): "no sealed bid of \(c) has been received; ask the platform to send it"
        case .alreadyDecrypted(let c): "the bid of \(c) is already decrypted"
        case .windowStillOpen(let until, let pending):
            "the decryption window is open until \(isoTime(until)) and \(pending.map(\.text).joined(separator: ", ")) have not decrypted"
        case .alreadyAnswered(let c): "supplier \(c) has already confirmed or objected to the record"
        case .emptyText(let text): "the \(text.rawValue) text is empty"
        }
    }
}
