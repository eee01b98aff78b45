import Evaluation

/// Who sends a session command.
enum CommandSender: Sendable, Equatable, CustomStringConvertible {
    /// A station, by the id in its certificate, and the roster entry checked in at it for this
    /// session (nil: nobody has checked in there).
    case station(id: String, member: String?)
    /// The agency's operator (operator certificate over HTTPS, or roomctl on the admin socket).
    case `operator`(who: String)

    /// The actor written into the event.
    var actor: String {
        switch self {
        case .station(let id, _): "station:\(id)"
        case .operator: "operator"
        }
    }

    var description: String {
        switch self {
        case .station(let id, let member): "station \(id) (\(member ?? "nobody checked in"))"
        case .operator(let who): "operator \(who)"
        }
    }
}

/// Which command may come from whom (docs/formats.md, "Session commands"): a
/// station acts only for the member checked in at it, and only for what a
/// member does in person; the operator drives the session (phases,
/// replacements, clarifications, lottery, failure) and never scores, votes or
/// signs for a member. Pure: the routes ask it before the engine sees a command.
enum CommandPolicy {
    struct Denial: Error, Equatable, CustomStringConvertible {
        var code: String
        var chinese: String
        var english: String
        var description: String { english }
    }

    /// The member a command speaks for, when a member does it in person.
    static func actingMember(_ command: Command) -> String? {
        switch command {
        case .checkIn(let member, _, _, _), .signCommitment(let member, _, _, _), .enterScoreSheet(let member, _, _),
             .submitScores(let member), .sign(let member, _), .dissent(let member, _), .leaderConfirm(let member):
            member
        case .castLeaderVote(let voter, _):
            voter
        case .markCompliance(let member, _, _, _, _):
            member
        case .recordQualification(_, _, let member, _, _, _):
            member
        case .reviseScore(let member, _, _, _, _, _):
            member
        case .declareConflict(let member, _, _):
            member
        default:
            nil
        }
    }

    /// Commands only the operator sends (they have no acting member, or they decide for the panel).
    static func operatorOnly(_ command: Command) -> Bool {
        switch command {
        case .checkIn, .signCommitment, .enterScoreSheet, .submitScores, .sign, .dissent, .leaderConfirm, .castLeaderVote,
             .markCompliance, .reviseScore, .declareConflict, .keepAbnormalScore:
            false
        case .recordQualification(_, _, let member, _, _, _):
            member == nil   // a tender's qualification is the agency's (87号令 44); a member's mark is the member's
        default:
            true
        }
    }

    /// Commands a member may only do in person, at their own station.
    static func memberOnly(_ command: Command) -> Bool {
        switch command {
        case .checkIn, .signCommitment, .enterScoreSheet, .submitScores, .sign, .dissent, .leaderConfirm, .castLeaderVote,
             .markCompliance, .reviseScore:
            true
        case .recordQualification(_, _, let member, _, _, _):
            member != nil
        default:
            false
        }
    }

    /// Nil when `sender` may send `command`; otherwise why not. `leader` is the session's elected
    /// leader (the panel's decisions on flags are recorded by the operator or at the leader's station).
    static func check(_ command: Command, from sender: CommandSender, leader: String?) -> Denial? {
        let name = command.name
        switch sender {
        case .operator:
            if memberOnly(command) {
                return Denial(code: "member-in-person",
                              chinese: "“\(CommandNames.chinese(name))”须由评审专家本人在其终端上操作，操作员不能代为操作。",
                              english: "\(name) is done by the member in person at their station; the operator may not send it")
            }
            return nil
        case .station(let id, let member):
            if operatorOnly(command) {
                return Denial(code: "operator-only",
                              chinese: "“\(CommandNames.chinese(name))”由代理机构操作员在控制台操作，评审终端不能发起。",
                              english: "\(name) is sent by the operator; station \(id) may not send it")
            }
            guard let member else {
                return Denial(code: "not-checked-in-here",
                              chinese: "本终端尚无专家签到，请先完成签到。",
                              english: "nobody is checked in at station \(id) in this session")
            }
            if case .keepAbnormalScore = command {
                guard leader == member else {
                    return Denial(code: "leader-only", chinese: "保留畸高畸低评分由评审组长或操作员记录。",
                                  english: "keepAbnormalScore is recorded by the leader or the operator; \(member) at \(id) is not the leader")
                }
                return nil
            }
            if let acting = actingMember(command), acting != member {
                return Denial(code: "not-your-member",
                              chinese: "本终端签到的专家是 \(member)，不能以 \(acting) 的名义操作。",
                              english: "station \(id) holds member \(member) and may not act for \(acting)")
            }
            return nil
        }
    }
}

extension Command {
    /// The case name, as in the event JSON.
    var name: String {
        let mirror = Mirror(reflecting: self)
        if let label = mirror.children.first?.label { return label }
        return String(describing: self)
    }
}

/// The Chinese names of commands, for messages on the station and console pages.
enum CommandNames {
    static let table: [String: String] = [
        "openSession": "开始评审", "checkIn": "签到", "signCommitment": "签署承诺书", "declareConflict": "申请回避",
        "recordMisconduct": "记录违规", "recordObservation": "记录情况", "replaceMember": "更换评审成员",
        "reformCommittee": "重新组建评审委员会", "castLeaderVote": "推选组长", "recordQualification": "资格审查",
        "concludeQualification": "结束资格审查", "markCompliance": "符合性审查", "requestClarification": "发起澄清",
        "answerClarification": "记录澄清答复", "confirmPriceCorrection": "确认报价修正", "decideAbnormallyLowPrice": "认定异常低价",
        "concludeCompliance": "结束符合性审查", "openNegotiationRound": "开始谈判轮次", "recordRoundQuote": "记录轮次报价",
        "withdrawBidder": "记录供应商退出", "closeNegotiationRounds": "结束谈判", "submitFinalQuote": "记录最后报价",
        "concludeFinalQuotes": "结束最后报价", "enterScoreSheet": "保存评分表", "submitScores": "提交评分",
        "reviseScore": "修改评分", "keepAbnormalScore": "保留畸高畸低评分", "concludeReview": "结束复核",
        "drawLottery": "抽签", "confirmRanking": "确认排序", "startSigning": "开始签署报告", "sign": "签署评审报告",
        "dissent": "提出不同意见", "leaderConfirm": "组长确认", "halt": "暂停评审", "declareFailure": "宣布废标或终止",
        "beginReevaluation": "重新评审",
    ]

    static func chinese(_ name: String) -> String { table[name] ?? name }
}
