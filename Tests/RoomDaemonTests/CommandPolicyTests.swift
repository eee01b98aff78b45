import Evaluation
import Testing

@testable import RoomDaemon

/// Who may send which session command (docs/formats.md, "Sessions in the room"), decided before
/// the engine sees it.
struct CommandPolicyTests {
    let s03 = CommandSender.station(id: "S03", member: "E03")
    let op = CommandSender.operator(who: "operator (CN=op)")

    static let memberCommands: [(Command, String)] = [
        (.checkIn(member: "E01", certificateSubject: "x", rosterMatched: true, authorizationLetter: nil), "E01"),
        (.signCommitment(member: "E01", disciplineRead: true, commitmentSigned: true, noConflictDeclared: true), "E01"),
        (.castLeaderVote(voter: "E01", candidate: "E03"), "E01"),
        (.recordQualification(bidder: "A", item: "Q1", member: "E01", passed: true, reason: nil, evidence: []), "E01"),
        (.markCompliance(member: "E01", bidder: "A", item: "K1", passed: true, reason: nil), "E01"),
        (.enterScoreSheet(member: "E01", bidder: "A", scores: [:]), "E01"),
        (.submitScores(member: "E01"), "E01"),
        (.reviseScore(member: "E01", bidder: "A", criterion: "T1", value: Fraction(1), reason: .arithmeticError, panelDecision: "d"), "E01"),
        (.sign(member: "E01", signature: "s"), "E01"),
        (.dissent(member: "E01", reasons: "r"), "E01"),
        (.leaderConfirm(member: "E01"), "E01"),
    ]

    @Test func aStationActsOnlyForItsOwnMember() {
        for (command, member) in Self.memberCommands {
            // E01's station may; E03's may not, and says whose station it is.
            #expect(CommandPolicy.check(command, from: .station(id: "S01", member: member), leader: nil) == nil, "\(command)")
            let denied = CommandPolicy.check(command, from: s03, leader: nil)
            #expect(denied?.code == "not-your-member", "\(command)")
            #expect(denied?.chinese.contains("E03") == true && denied?.english.contains("E01") == true)
        }
        // Nobody checked in: nothing a member does.
        #expect(CommandPolicy.check(.submitScores(member: "E03"), from: .station(id: "S03", member: nil), leader: nil)?.code
                == "not-checked-in-here")
    }

    @Test func theOperatorDrivesTheSessionButNeverActsForAMember() {
        for (command, _) in Self.memberCommands {
            #expect(CommandPolicy.check(command, from: op, leader: nil)?.code == "member-in-person", "\(command)")
        }
        let driving: [Command] = [
            .openSession, .concludeQualification, .concludeCompliance, .concludeReview, .confirmRanking, .startSigning,
            .drawLottery(seed: 1, witness: "w"), .declareFailure(reason: "r"), .halt(reason: "r"),
            .replaceMember(replaced: "E01", replacement: Member(id: "E09", name: "n", role: .expert, affiliation: "a")),
            .requestClarification(id: "c", bidder: "A", purpose: .general, question: "q", deadline: 1),
            .recordQualification(bidder: "A", item: "Q1", member: nil, passed: true, reason: nil, evidence: []),
            .declareConflict(member: "E01", ground: .familyRelation, note: "n"), .keepAbnormalScore(flag: "f", reason: "r"),
            .submitFinalQuote(bidder: "A", price: Fraction(1)),
        ]
        for command in driving {
            #expect(CommandPolicy.check(command, from: op, leader: nil) == nil, "\(command)")
        }
        // …and a station may not, except a member's own conflict declaration and the leader's decision on a flag.
        for command in driving.filter({ if case .declareConflict = $0 { false } else if case .keepAbnormalScore = $0 { false } else { true } }) {
            #expect(CommandPolicy.check(command, from: s03, leader: nil)?.code == "operator-only", "\(command)")
        }
        #expect(CommandPolicy.check(.declareConflict(member: "E03", ground: .familyRelation, note: "n"), from: s03, leader: nil) == nil)
        #expect(CommandPolicy.check(.keepAbnormalScore(flag: "f", reason: "r"), from: s03, leader: "E01")?.code == "leader-only")
        #expect(CommandPolicy.check(.keepAbnormalScore(flag: "f", reason: "r"), from: s03, leader: "E03") == nil)
    }

    @Test func commandNamesAreTheEventJSONCaseNames() {
        #expect(Command.openSession.name == "openSession")
        #expect(Command.submitScores(member: "E01").name == "submitScores")
        #expect(Command.drawLottery(seed: 1, witness: "w").name == "drawLottery")
        #expect(CommandNames.chinese("submitScores") == "提交评分")
    }

    @Test func aSeatDrawIsAPermutationThatTheSeedReproduces() {
        let members = ["E01", "E02", "E03", "E04", "E05"], stations = ["S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08"]
        let first = SeatRoutes.draw(members: members, stations: stations, seed: 0x1234_5678_9ABC_DEF0)
        #expect(first == SeatRoutes.draw(members: members.reversed(), stations: stations.reversed(), seed: 0x1234_5678_9ABC_DEF0))
        #expect(Set(first.keys) == Set(members) && Set(first.values).count == members.count && Set(first.values).isSubset(of: stations))
        // Different seeds, different plans (over a few seeds, not all the same).
        let plans = Set((0..<8).map { SeatRoutes.draw(members: members, stations: stations, seed: UInt64($0)).sorted { $0.key < $1.key }.map(\.value) })
        #expect(plans.count > 1)
    }
}
