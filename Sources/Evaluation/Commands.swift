/// What a station, the operator or the platform asks the session to do. A command is checked against
/// the current state by `EvaluationSession.decide(_:)`; if it is valid it becomes an `Event`
/// (the same content, stamped with a sequence number) and is applied; if not, an `EngineError`
/// says why and nothing changes.
public enum Command: Codable, Sendable, Equatable {
    // MARK: Opening and committee (87号令 45–49)
    /// DRAFT → CHECK_IN. The definition must be valid.
    case openSession
    /// Identity verified against the certificate and the roster (done by Identity; the result is recorded here).
    /// A purchaser representative must present an authorization letter (授权函).
    case checkIn(member: String, certificateSubject: String, rosterMatched: Bool, authorizationLetter: String?)
    /// Discipline text read, commitment letter (承诺书) and no-conflict declaration (回避声明) signed.
    case signCommitment(member: String, disciplineRead: Bool, commitmentSigned: Bool, noConflictDeclared: Bool)
    /// A declared or discovered conflict (198号 16; 实施条例 9): the member leaves → SUSPENDED (49).
    case declareConflict(member: String, ground: RecusalGround, note: String)
    /// Misconduct (62) voids that member's opinions; the member leaves → SUSPENDED.
    case recordMisconduct(member: String, kind: MisconductKind, note: String)
    /// Something the system saw (e.g. absence from the station), for the panel and the supervisor.
    case recordObservation(member: String, note: String)
    /// A replacement for a member who left (49). Checks in and signs the commitment, then the session resumes.
    case replaceMember(replaced: String, replacement: Member)
    /// No replacement in time: a new committee; every earlier opinion is void → REFORMED.
    case reformCommittee(members: [Member], reason: String)
    /// One vote per member per round; the purchaser representative may not be leader (45).
    case castLeaderVote(voter: String, candidate: String)

    // MARK: Qualification and compliance (44, 50, 51, 59, 60, 61)
    /// Tenders: recorded once by the purchaser/agency (member nil) with evidence (44).
    /// Other methods: by each panel member (member set), decided by majority.
    case recordQualification(bidder: String, item: String, member: String?, passed: Bool, reason: String?, evidence: [String])
    case concludeQualification
    /// Each member marks each bidder pass/fail per item; a fail needs a reason (50).
    case markCompliance(member: String, bidder: String, item: String, passed: Bool, reason: String?)
    /// A written clarification request with a deadline (51) → CLARIFICATION.
    case requestClarification(id: String, bidder: String, purpose: ClarificationPurpose, question: String, deadline: Instant)
    /// The bidder's signed answer; it may not change the substance of the bid.
    case answerClarification(id: String, answer: String, signedBy: String)
    /// The bidder confirms (or refuses) the price correction in writing (59); refusal invalidates the bid.
    case confirmPriceCorrection(bidder: String, confirmed: Bool)
    /// The committee's decision on an abnormally low price (60) after the explanation (or its absence).
    case decideAbnormallyLowPrice(bidder: String, accepted: Bool, reason: String)
    case concludeCompliance

    // MARK: Negotiation (谈判 74号令; 磋商 214号)
    case openNegotiationRound
    case recordRoundQuote(bidder: String, price: Fraction)
    /// A bidder withdraws during negotiation.
    case withdrawBidder(bidder: String, reason: String)
    case closeNegotiationRounds
    case submitFinalQuote(bidder: String, price: Fraction)
    case concludeFinalQuotes

    // MARK: Scoring and review (64)
    /// A member's scores for one bidder (price criterion excluded: it is computed). May be re-entered until submitted.
    case enterScoreSheet(member: String, bidder: String, scores: [String: Fraction])
    /// Final; other members' subjective scores become visible only when all have submitted.
    case submitScores(member: String)
    /// A change after the summary, only for one of the four 第64条 reasons.
    case reviseScore(member: String, bidder: String, criterion: String, value: Fraction, reason: ReviewReason, panelDecision: String)
    /// The panel keeps a flagged 畸高畸低 score, with its reason.
    case keepAbnormalScore(flag: String, reason: String)
    /// REVIEW → RANKING; blocked by objective disagreements and unresolved flags.
    case concludeReview

    // MARK: Ranking, report, signing (57, 58, 61, 68)
    /// Lottery for ties the rules leave open: seed supplied, witness recorded.
    case drawLottery(seed: UInt64, witness: String)
    /// RANKING → REPORT: the report of this version is fixed.
    case confirmRanking
    case startSigning
    case sign(member: String, signature: String)
    case dissent(member: String, reasons: String)
    /// The leader confirms the signed report → CLOSED.
    case leaderConfirm(member: String)

    // MARK: Side states
    /// Defective documents (65) → HALTED.
    case halt(reason: String)
    /// Failure declared by the panel → FAILED: 废标 for tenders, 终止 for the other methods (`FailureKind`).
    case declareFailure(reason: String)
    /// After signing, for a 第64条 reason → REEVALUATION; ends in a new report version.
    case beginReevaluation(reason: ReviewReason, note: String)
}

/// A stored, accepted command. The engine is a function of (definition, [Event]) → state.
public struct Event: Codable, Sendable, Equatable {
    /// 1, 2, 3, … without gaps.
    public var sequence: Int
    /// Supplied by the daemon; the engine has no clock.
    public var at: Instant
    /// Who issued it (station, operator, platform), for the record.
    public var actor: String
    public var command: Command

    public init(sequence: Int, at: Instant, actor: String, command: Command) {
        self.sequence = sequence; self.at = at; self.actor = actor; self.command = command
    }
}

/// Recusal grounds (198号 16; 实施条例 9).
public enum RecusalGround: String, Codable, Sendable {
    /// Within 3 years employed by, director/supervisor of, controlling shareholder or actual controller of a bidder.
    case employmentOrControl
    /// Spouse, direct blood relative, collateral within three generations or close in-law of a bidder's principal.
    case familyRelation
    /// Any other relationship that may affect fairness.
    case otherRelationship

    /// For the Chinese record (the raw value is the code).
    var chineseName: String {
        switch self {
        case .employmentOrControl: "任职或控制关系"
        case .familyRelation: "亲属关系"
        case .otherRelationship: "其他可能影响公正的关系"
        }
    }
}

/// Misconduct that voids a member's opinions (62).
public enum MisconductKind: String, Codable, Sendable {
    case contactWithBidder, biasedRemarks, negotiatingSubjectiveScores, leftPost, copiedOrRemovedMaterials

    /// For the Chinese record (the raw value is the code).
    var chineseName: String {
        switch self {
        case .contactWithBidder: "私下接触投标人"
        case .biasedRemarks: "发表倾向性意见"
        case .negotiatingSubjectiveScores: "协商主观评分"
        case .leftPost: "擅离职守"
        case .copiedOrRemovedMaterials: "复制或带走评审资料"
        }
    }
}

public enum ClarificationPurpose: String, Codable, Sendable {
    case general
    /// The written explanation of an abnormally low price (60).
    case abnormallyLowPrice
}

/// The only reasons a score may change after the summary (87号令 64).
public enum ReviewReason: String, Codable, Sendable, CaseIterable {
    /// (1) 分值汇总计算错误
    case arithmeticError = "64.1"
    /// (2) 分项评分超出评分标准规定的分值范围
    case outOfRange = "64.2"
    /// (3) 评审委员会成员对客观评审因素评分不一致
    case objectiveDisagreement = "64.3"
    /// (4) 经评审委员会认定评分畸高、畸低
    case abnormalScore = "64.4"
}
