/// What a refusal is about, named in each language, so that neither message carries the other's words.
public enum Activity: Equatable, Sendable {
    case checkIn, commitment, leaderVote(round: Int), finalQuote, priceCorrectionConfirmation, lowPriceDecision, signing
    case misconductRecord, observation, committeeReform, failedQualification, failedCompliance
    case clarificationQuestion, clarificationAnswer, clarificationSigner, withdrawal, panelDecision, keptAbnormalScore
    case lotteryWitness, dissent, halt, failure(FailureKind), reevaluation, signature
    case qualification, compliance, scoreSheet(bidder: String), scoreSheets, score, ranking

    /// Recorded per bidder rather than per member.
    var isBidders: Bool {
        switch self {
        case .finalQuote, .priceCorrectionConfirmation, .lowPriceDecision: true
        default: false
        }
    }

    public var chineseName: String {
        switch self {
        case .checkIn: "签到"
        case .commitment: "承诺书"
        case .leaderVote(let round): "第\(round)轮组长投票"
        case .finalQuote: "最后报价"
        case .priceCorrectionConfirmation: "报价修正确认"
        case .lowPriceDecision: "异常低价认定"
        case .signing: "签字"
        case .misconductRecord: "违规记录"
        case .observation: "记录"
        case .committeeReform: "重新组建评审小组"
        case .failedQualification: "资格审查不通过"
        case .failedCompliance: "符合性审查不通过"
        case .clarificationQuestion: "澄清问题"
        case .clarificationAnswer: "澄清答复"
        case .clarificationSigner: "澄清答复签署人"
        case .withdrawal: "退出"
        case .panelDecision: "评审委员会认定"
        case .keptAbnormalScore: "保留畸高畸低评分"
        case .lotteryWitness: "抽签见证人"
        case .dissent: "不同意见"
        case .halt: "停止评审"
        case .failure(let kind): kind == .bidFailure ? "废标" : "终止采购活动"
        case .reevaluation: "重新评审"
        case .signature: "签名"
        case .qualification: "资格审查"
        case .compliance: "符合性审查"
        case .scoreSheet(let bidder): "投标人 \(bidder) 的评分表"
        case .scoreSheets: "评分表"
        case .score: "评分"
        case .ranking: "排序"
        }
    }

    public var englishName: String {
        switch self {
        case .checkIn: "check-in"
        case .commitment: "commitment"
        case .leaderVote(let round): "leader vote of round \(round)"
        case .finalQuote: "final quote"
        case .priceCorrectionConfirmation: "price correction confirmation"
        case .lowPriceDecision: "abnormally low price decision"
        case .signing: "signing"
        case .misconductRecord: "misconduct record"
        case .observation: "observation"
        case .committeeReform: "committee reform"
        case .failedQualification: "failed qualification mark"
        case .failedCompliance: "failed compliance mark"
        case .clarificationQuestion: "clarification question"
        case .clarificationAnswer: "clarification answer"
        case .clarificationSigner: "clarification answer signer"
        case .withdrawal: "withdrawal"
        case .panelDecision: "panel decision"
        case .keptAbnormalScore: "keeping an abnormal score"
        case .lotteryWitness: "lottery witness"
        case .dissent: "dissent"
        case .halt: "halt"
        case .failure(let kind): kind == .bidFailure ? "bid failure" : "termination"
        case .reevaluation: "re-evaluation"
        case .signature: "signature"
        case .qualification: "qualification"
        case .compliance: "compliance"
        case .scoreSheet(let bidder): "score sheet for bidder \(bidder)"
        case .scoreSheets: "score sheets"
        case .score: "score"
        case .ranking: "ranking"
        }
    }
}

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
    /// `by` is the member, or the bidder for what bidders do (final quotes, confirmations, decisions on their price).
    case alreadyDone(what: Activity, by: String)
    case identityNotVerified(member: String)
    case authorizationLetterMissing(member: String)
    case commitmentIncomplete(member: String)
    case purchaserRepresentativeIneligible(member: String)
    /// Tenders are qualified by the purchaser or agency, not by panel members (87号令 44).
    case qualificationByAgency(member: String)
    case missingReason(what: Activity)
    case incomplete(what: Activity, missing: [String])
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
        case .qualificationByAgency: "qualification-by-agency"
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
        case .wrongPhase(let c, let p): "当前阶段为\(p.chineseName)，不允许执行操作 \(c)。"
        case .sequenceGap(let e, let g): "事件序号不连续：应为 \(e)，收到 \(g)。"
        case .timeWentBackwards(let p, let g): "事件时间 \(g) 早于上一事件时间 \(p)。"
        case .unknownMember(let m): "评审小组中没有成员 \(m)。"
        case .unknownBidder(let b): "没有投标人 \(b)。"
        case .unknownItem(let i): "没有审查项 \(i)。"
        case .unknownCriterion(let c): "没有评分因素 \(c)。"
        case .bidderNotInPlay(let b): "投标人 \(b) 已无效或已退出，不再参加评审。"
        case .notCheckedIn(let m): "成员 \(m) 尚未签到。"
        case .alreadyDone(let w, let who): "\(w.isBidders ? "投标人" : "成员") \(who) 的\(w.chineseName)已记录，不能重复。"
        case .identityNotVerified(let m): "成员 \(m) 身份未核验通过或与名单不符，不能签到。"
        case .authorizationLetterMissing(let m): "采购人代表 \(m) 须提交授权函。"
        case .commitmentIncomplete(let m): "成员 \(m) 须阅读评审纪律并签署承诺书和回避声明。"
        case .purchaserRepresentativeIneligible(let m): "采购人代表 \(m) 不得担任评审组长（\(Citation(.order87, 45).chinese)）。"
        case .qualificationByAgency(let m): "招标项目的资格审查由采购人或采购代理机构负责（\(Citation(.order87, 44).chinese)），成员 \(m) 不能录入。"
        case .missingReason(let w): "\(w.chineseName)必须填写内容或理由。"
        case .incomplete(let w, let m): "\(w.chineseName)尚未完成：\(m.prefix(10).joined(separator: "、"))\(m.count > 10 ? " 等" : "")。"
        case .notAwaitingReplacement(let m): "成员 \(m) 无需替换。"
        case .replacementInvalid(let e): "替补成员不符合规则：" + e.chineseMessage
        case .duplicateID(let id): "编号 \(id) 已存在。"
        case .clarificationUnknown(let id): "没有澄清 \(id)。"
        case .clarificationAlreadyAnswered(let id): "澄清 \(id) 已答复。"
        case .answerAfterDeadline(let id, _): "澄清 \(id) 的答复晚于截止时间。"
        case .openClarifications(let ids): "尚有未答复的澄清：\(ids.joined(separator: "、"))。"
        case .noCorrectionToConfirm(let b): "投标人 \(b) 的报价无需修正。"
        case .notAbnormallyLow(let b): "投标人 \(b) 的报价未被标记为明显低于其他报价。"
        case .undecidedAbnormallyLowPrices(let b):
            "评审小组尚未对异常低价作出认定：\(b.joined(separator: "、"))（\(Citation(.order87, 60).chinese)）。"
        case .unconfirmedPriceCorrections(let b):
            "投标人尚未书面确认报价修正：\(b.joined(separator: "、"))（\(Citation(.order87, 59).chinese)）。"
        case .noNegotiationRound: "尚未开始谈判轮次。"
        case .nonPositivePrice: "报价必须大于零。"
        case .scoreOutOfRange(let c, let v, let m): "评分因素 \(c) 的分值 \(v.decimalText) 超出 0–\(m.decimalText) 范围。"
        case .scoreNotAllowed(let c, let v, let a):
            "客观评分因素 \(c) 不能打 \(v.decimalText) 分，只能取 \(a.map(\.decimalText).joined(separator: "、"))。"
        case .scoreTooPrecise(let c): "评分因素 \(c) 的分值最多保留 4 位小数。"
        case .priceScoreIsComputed(let c): "价格分 \(c) 由系统计算，不能手工录入。"
        case .alreadySubmitted(let m): "成员 \(m) 已提交评分，不能再修改（复核时须说明\(Citation(.order87, 64).chinese)规定的理由）。"
        case .reasonDoesNotApply(let r, let b, let c): "理由 \(r.rawValue) 不适用于投标人 \(b) 的评分因素 \(c)。"
        case .unchangedScore: "修改后的分值与原分值相同。"
        case .unknownFlag(let f): "没有畸高畸低标记 \(f)。"
        case .objectiveDisagreements(let n): "客观评分不一致共 \(n) 处，须先更正（\(Citation(.order87, 64).chinese)）。"
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
        case .alreadyDone(let w, let who): "\(w.isBidders ? "bidder" : "member") \(who): \(w.englishName) already recorded"
        case .identityNotVerified(let m): "member \(m): identity not verified or not on the roster"
        case .authorizationLetterMissing(let m): "purchaser representative \(m) needs an authorization letter"
        case .commitmentIncomplete(let m): "member \(m) must read the discipline text and sign the commitment and no-conflict declaration"
        case .purchaserRepresentativeIneligible(let m): "purchaser representative \(m) may not be leader (\(Citation(.order87, 45).english))"
        case .qualificationByAgency(let m):
            "member \(m) may not record qualification: in a tender the purchaser or agency does it (\(Citation(.order87, 44).english))"
        case .missingReason(let w): "\(w.englishName) needs a reason or text"
        case .incomplete(let w, let m): "\(w.englishName) incomplete: \(m.prefix(10).joined(separator: ", "))\(m.count > 10 ? " …" : "")"
        case .notAwaitingReplacement(let m): "member \(m) is not awaiting replacement"
        case .replacementInvalid(let e): "replacement breaks the rules: " + e.englishMessage
        case .duplicateID(let id): "id \(id) already exists"
        case .clarificationUnknown(let id): "no clarification \(id)"
        case .clarificationAlreadyAnswered(let id): "clarification \(id) already answered"
        case .answerAfterDeadline(let id, let d): "answer to \(id) after its deadline \(d)"
        case .openClarifications(let ids): "open clarifications: \(ids.joined(separator: ", "))"
        case .noCorrectionToConfirm(let b): "bidder \(b) has no price correction"
        case .notAbnormallyLow(let b): "bidder \(b) is not flagged as abnormally low"
        case .undecidedAbnormallyLowPrices(let b):
            "abnormally low prices not decided: \(b.joined(separator: ", ")) (\(Citation(.order87, 60).english))"
        case .unconfirmedPriceCorrections(let b):
            "price corrections not confirmed: \(b.joined(separator: ", ")) (\(Citation(.order87, 59).english))"
        case .noNegotiationRound: "no negotiation round is open"
        case .nonPositivePrice: "price must be greater than zero"
        case .scoreOutOfRange(let c, let v, let m): "criterion \(c): \(v.decimalText) outside 0...\(m.decimalText)"
        case .scoreNotAllowed(let c, let v, let a):
            "objective criterion \(c): \(v.decimalText) not among \(a.map(\.decimalText).joined(separator: ", "))"
        case .scoreTooPrecise(let c): "criterion \(c): at most 4 decimals"
        case .priceScoreIsComputed(let c): "price criterion \(c) is computed, never typed"
        case .alreadySubmitted(let m):
            "member \(m) already submitted; changes need a reason of \(Citation(.order87, 64).english) in review"
        case .reasonDoesNotApply(let r, let b, let c): "reason \(r.rawValue) does not apply to bidder \(b) criterion \(c)"
        case .unchangedScore: "the revised score equals the current one"
        case .unknownFlag(let f): "no abnormal-score flag \(f)"
        case .objectiveDisagreements(let n): "\(n) objective items scored differently; correct them first (\(Citation(.order87, 64).english))"
        case .unresolvedFlags(let f): "\(f.count) abnormal-score flags unresolved"
        case .noTieToDraw: "no tie needs a lottery"
        case .lotteryPending(let n): "\(n) tied groups need a lottery"
        case .notLeader(let m): "\(m) is not the leader"
        case .notScored: "this evaluation method has no scores"
        }
    }
}
