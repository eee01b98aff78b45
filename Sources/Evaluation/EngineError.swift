/// A command the rules do not allow in the current state. Nothing was changed.
public enum EngineError: RuleViolation, Equatable {
    case invalidDefinition(DefinitionError)
    case wrongPhase(command: String, phase: Phase)
    case sequenceGap(expected: Int, got: Int)
    case timeWentBackwards(previous: Instant, got: Instant)
    case unknownMember(String)
    case unknownBidder(String)
    case unknownItem(String)
    case unknownCriterion(String)
    case bidderNotInPlay(String)
    case notCheckedIn(String)
    case alreadyDone(what: String, member: String)
    case identityNotVerified(member: String)
    case authorizationLetterMissing(member: String)
    case commitmentIncomplete(member: String)
    case purchaserRepresentativeIneligible(member: String)
    case missingReason(what: String)
    case incomplete(what: String, missing: [String])
    case notAwaitingReplacement(String)
    case replacementInvalid(DefinitionError)
    case duplicateID(String)
    case clarificationUnknown(String)
    case clarificationAlreadyAnswered(String)
    case answerAfterDeadline(id: String, deadline: Instant)
    case openClarifications([String])
    case noCorrectionToConfirm(bidder: String)
    case notAbnormallyLow(bidder: String)
    case undecidedAbnormallyLowPrices([String])
    case unconfirmedPriceCorrections([String])
    case noNegotiationRound
    case nonPositivePrice
    case scoreOutOfRange(criterion: String, value: Fraction, maximum: Fraction)
    case scoreNotAllowed(criterion: String, value: Fraction, allowed: [Fraction])
    case scoreTooPrecise(criterion: String)
    case priceScoreIsComputed(criterion: String)
    case alreadySubmitted(member: String)
    case reasonDoesNotApply(reason: ReviewReason, bidder: String, criterion: String)
    case unchangedScore
    case unknownFlag(String)
    case objectiveDisagreements(count: Int)
    case unresolvedFlags([String])
    case noTieToDraw
    case lotteryPending(count: Int)
    case notLeader(String)
    case notScored

    /// A stable code for programs (the refusal body's `error`), one per rule.
    public var code: String {
        switch self {
        case .invalidDefinition: "invalid-definition"
        case .wrongPhase: "wrong-phase"
        case .sequenceGap: "sequence-gap"
        case .timeWentBackwards: "time-went-backwards"
        case .unknownMember: "unknown-member"
        case .unknownBidder: "unknown-bidder"
        case .unknownItem: "unknown-item"
        case .unknownCriterion: "unknown-criterion"
        case .bidderNotInPlay: "bidder-not-in-play"
        case .notCheckedIn: "not-checked-in"
        case .alreadyDone: "already-done"
        case .identityNotVerified: "identity-not-verified"
        case .authorizationLetterMissing: "authorization-letter-missing"
        case .commitmentIncomplete: "commitment-incomplete"
        case .purchaserRepresentativeIneligible: "purchaser-representative-ineligible"
        case .missingReason: "missing-reason"
        case .incomplete: "incomplete"
        case .notAwaitingReplacement: "not-awaiting-replacement"
        case .replacementInvalid: "replacement-invalid"
        case .duplicateID: "duplicate-id"
        case .clarificationUnknown: "clarification-unknown"
        case .clarificationAlreadyAnswered: "clarification-already-answered"
        case .answerAfterDeadline: "answer-after-deadline"
        case .openClarifications: "open-clarifications"
        case .noCorrectionToConfirm: "no-correction-to-confirm"
        case .notAbnormallyLow: "not-abnormally-low"
        case .undecidedAbnormallyLowPrices: "undecided-abnormally-low-prices"
        case .unconfirmedPriceCorrections: "unconfirmed-price-corrections"
        case .noNegotiationRound: "no-negotiation-round"
        case .nonPositivePrice: "non-positive-price"
        case .scoreOutOfRange: "score-out-of-range"
        case .scoreNotAllowed: "score-not-allowed"
        case .scoreTooPrecise: "score-too-precise"
        case .priceScoreIsComputed: "price-score-is-computed"
        case .alreadySubmitted: "already-submitted"
        case .reasonDoesNotApply: "reason-does-not-apply"
        case .unchangedScore: "unchanged-score"
        case .unknownFlag: "unknown-flag"
        case .objectiveDisagreements: "objective-disagreements"
        case .unresolvedFlags: "unresolved-flags"
        case .noTieToDraw: "no-tie-to-draw"
        case .lotteryPending: "lottery-pending"
        case .notLeader: "not-leader"
        case .notScored: "not-scored"
        }
    }

    public var chineseMessage: String {
        switch self {
        case .invalidDefinition(let e): "评审会定义不符合规则：" + e.chineseMessage
        case .wrongPhase(let c, let p): "当前阶段（\(p.rawValue)）不允许执行操作 \(c)。"
        case .sequenceGap(let e, let g): "事件序号不连续：应为 \(e)，收到 \(g)。"
        case .timeWentBackwards(let p, let g): "事件时间 \(g) 早于上一事件时间 \(p)。"
        case .unknownMember(let m): "评审小组中没有成员 \(m)。"
        case .unknownBidder(let b): "没有投标人 \(b)。"
        case .unknownItem(let i): "没有审查项 \(i)。"
        case .unknownCriterion(let c): "没有评分因素 \(c)。"
        case .bidderNotInPlay(let b): "投标人 \(b) 已无效或已退出，不再参加评审。"
        case .notCheckedIn(let m): "成员 \(m) 尚未签到。"
        case .alreadyDone(let w, let m): "成员 \(m) 已完成\(w)。"
        case .identityNotVerified(let m): "成员 \(m) 身份未核验通过或与名单不符，不能签到。"
        case .authorizationLetterMissing(let m): "采购人代表 \(m) 须提交授权函。"
        case .commitmentIncomplete(let m): "成员 \(m) 须阅读评审纪律并签署承诺书和回避声明。"
        case .purchaserRepresentativeIneligible(let m): "采购人代表 \(m) 不得担任评审组长（87号令第45条）。"
        case .missingReason(let w): "\(w)必须填写理由。"
        case .incomplete(let w, let m): "\(w)尚未完成：\(m.prefix(10).joined(separator: "、"))\(m.count > 10 ? " 等" : "")。"
        case .notAwaitingReplacement(let m): "成员 \(m) 无需替换。"
        case .replacementInvalid(let e): "替补成员不符合规则：" + e.chineseMessage
        case .duplicateID(let id): "编号 \(id) 已存在。"
        case .clarificationUnknown(let id): "没有澄清 \(id)。"
        case .clarificationAlreadyAnswered(let id): "澄清 \(id) 已答复。"
        case .answerAfterDeadline(let id, _): "澄清 \(id) 的答复晚于截止时间。"
        case .openClarifications(let ids): "尚有未答复的澄清：\(ids.joined(separator: "、"))。"
        case .noCorrectionToConfirm(let b): "投标人 \(b) 的报价无需修正。"
        case .notAbnormallyLow(let b): "投标人 \(b) 的报价未被标记为明显低于其他报价。"
        case .undecidedAbnormallyLowPrices(let b): "评审小组尚未对异常低价作出认定：\(b.joined(separator: "、"))（87号令第60条）。"
        case .unconfirmedPriceCorrections(let b): "投标人尚未书面确认报价修正：\(b.joined(separator: "、"))（87号令第59条）。"
        case .noNegotiationRound: "尚未开始谈判轮次。"
        case .nonPositivePrice: "报价必须大于零。"
        case .scoreOutOfRange(let c, let v, let m): "评分因素 \(c) 的分值 \(v.display(decimals: 2)) 超出 0–\(m.display(decimals: 2)) 范围。"
        case .scoreNotAllowed(let c, let v, let a): "客观评分因素 \(c) 不能打 \(v.display(decimals: 2)) 分，只能取 \(a.map { $0.display(decimals: 2) }.joined(separator: "、"))。"
        case .scoreTooPrecise(let c): "评分因素 \(c) 的分值最多保留 4 位小数。"
        case .priceScoreIsComputed(let c): "价格分 \(c) 由系统计算，不能手工录入。"
        case .alreadySubmitted(let m): "成员 \(m) 已提交评分，不能再修改（复核须说明第64条理由）。"
        case .reasonDoesNotApply(let r, let b, let c): "理由 \(r.rawValue) 不适用于投标人 \(b) 的评分因素 \(c)。"
        case .unchangedScore: "修改后的分值与原分值相同。"
        case .unknownFlag(let f): "没有畸高畸低标记 \(f)。"
        case .objectiveDisagreements(let n): "客观评分不一致共 \(n) 处，须先更正（87号令第64条）。"
        case .unresolvedFlags(let f): "畸高畸低评分尚未处理：\(f.count) 处。"
        case .noTieToDraw: "没有需要抽签决定的并列情形。"
        case .lotteryPending(let n): "有 \(n) 组并列须抽签决定。"
        case .notLeader(let m): "\(m) 不是评审组长。"
        case .notScored: "本评审方法不评分。"
        }
    }

    public var englishMessage: String {
        switch self {
        case .invalidDefinition(let e): "invalid session definition: " + e.englishMessage
        case .wrongPhase(let c, let p): "\(c) is not allowed in phase \(p.rawValue)"
        case .sequenceGap(let e, let g): "event sequence gap: expected \(e), got \(g)"
        case .timeWentBackwards(let p, let g): "event time \(g) is before the previous event's \(p)"
        case .unknownMember(let m): "member \(m) is not on the panel"
        case .unknownBidder(let b): "no bidder \(b) in this lot"
        case .unknownItem(let i): "no review item \(i)"
        case .unknownCriterion(let c): "no criterion \(c)"
        case .bidderNotInPlay(let b): "bidder \(b) is invalid or withdrawn"
        case .notCheckedIn(let m): "member \(m) has not checked in"
        case .alreadyDone(let w, let m): "member \(m) already did \(w)"
        case .identityNotVerified(let m): "member \(m): identity not verified or not on the roster"
        case .authorizationLetterMissing(let m): "purchaser representative \(m) needs an authorization letter"
        case .commitmentIncomplete(let m): "member \(m) must read the discipline text and sign the commitment and no-conflict declaration"
        case .purchaserRepresentativeIneligible(let m): "purchaser representative \(m) may not be leader (87号令 45)"
        case .missingReason(let w): "\(w) needs a reason"
        case .incomplete(let w, let m): "\(w) incomplete: \(m.prefix(10).joined(separator: ", "))\(m.count > 10 ? " …" : "")"
        case .notAwaitingReplacement(let m): "member \(m) is not awaiting replacement"
        case .replacementInvalid(let e): "replacement breaks the rules: " + e.englishMessage
        case .duplicateID(let id): "id \(id) already exists"
        case .clarificationUnknown(let id): "no clarification \(id)"
        case .clarificationAlreadyAnswered(let id): "clarification \(id) already answered"
        case .answerAfterDeadline(let id, let d): "answer to \(id) after its deadline \(d)"
        case .openClarifications(let ids): "open clarifications: \(ids.joined(separator: ", "))"
        case .noCorrectionToConfirm(let b): "bidder \(b) has no price correction"
        case .notAbnormallyLow(let b): "bidder \(b) is not flagged as abnormally low"
        case .undecidedAbnormallyLowPrices(let b): "abnormally low prices not decided: \(b.joined(separator: ", ")) (87号令 60)"
        case .unconfirmedPriceCorrections(let b): "price corrections not confirmed: \(b.joined(separator: ", ")) (87号令 59)"
        case .noNegotiationRound: "no negotiation round is open"
        case .nonPositivePrice: "price must be greater than zero"
        case .scoreOutOfRange(let c, let v, let m): "criterion \(c): \(v) outside 0...\(m)"
        case .scoreNotAllowed(let c, let v, let a): "objective criterion \(c): \(v) not among \(a.map(\.description))"
        case .scoreTooPrecise(let c): "criterion \(c): at most 4 decimals"
        case .priceScoreIsComputed(let c): "price criterion \(c) is computed, never typed"
        case .alreadySubmitted(let m): "member \(m) already submitted; changes need a 第64条 reason in review"
        case .reasonDoesNotApply(let r, let b, let c): "reason \(r.rawValue) does not apply to bidder \(b) criterion \(c)"
        case .unchangedScore: "the revised score equals the current one"
        case .unknownFlag(let f): "no abnormal-score flag \(f)"
        case .objectiveDisagreements(let n): "\(n) objective items scored differently; correct them first (87号令 64)"
        case .unresolvedFlags(let f): "\(f.count) abnormal-score flags unresolved"
        case .noTieToDraw: "no tie needs a lottery"
        case .lotteryPending(let n): "\(n) tied groups need a lottery"
        case .notLeader(let m): "\(m) is not the leader"
        case .notScored: "this evaluation method has no scores"
        }
    }
}
