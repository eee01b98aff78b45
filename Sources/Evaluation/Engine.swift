/// The evaluation engine: a pure function of (definition, ordered events) → state.
///
/// `handle(_:at:actor:)` checks a command against the state; a valid command becomes an `Event`
/// and is applied, an invalid one throws `EngineError` and changes nothing. `replay` rebuilds the
/// same state from stored events, byte for byte.
public struct EvaluationSession: Sendable {
    public private(set) var state: SessionState
    public private(set) var events: [Event] = []

    public init(definition: SessionDefinition, lot: String) throws(EngineError) {
        guard let l = definition.lot(lot) else { throw .invalidDefinition(.lotNotFound(lot)) }
        state = SessionState(definition: definition, lot: l)
    }

    /// Validates `command`; if allowed, records it as the next event and returns it.
    @discardableResult
    public mutating func handle(_ command: Command, at: Instant, actor: String = "operator") throws(EngineError) -> Event {
        let event = Event(sequence: state.lastSequence + 1, at: at, actor: actor, command: command)
        var next = state
        try next.apply(event)
        state = next
        events.append(event)
        return event
    }

    /// Rebuilds a session from stored events; throws on the first event the rules reject.
    public static func replay(definition: SessionDefinition, lot: String, events: [Event]) throws(EngineError) -> EvaluationSession {
        var session = try EvaluationSession(definition: definition, lot: lot)
        session.events.reserveCapacity(events.count)
        for e in events {
            try session.state.apply(e)
            session.events.append(e)
        }
        return session
    }
}

extension SessionState {
    /// Applies one event. Every check happens before the first change.
    mutating func apply(_ event: Event) throws(EngineError) {
        guard event.sequence == lastSequence + 1 else { throw .sequenceGap(expected: lastSequence + 1, got: event.sequence) }
        if let last = lastEventAt, event.at < last { throw .timeWentBackwards(previous: last, got: event.at) }
        try applyCommand(event.command, at: event.at)
        lastSequence = event.sequence
        lastEventAt = event.at
        if phase == .compliance || phase == .clarification {
            // COMPLIANCE ⇄ CLARIFICATION (51): in CLARIFICATION while a written request awaits its answer.
            phase = openClarifications(at: event.at).isEmpty ? .compliance : .clarification
        }
    }

    private func need(_ phases: Phase..., for command: String) throws(EngineError) {
        guard phases.contains(phase) else { throw .wrongPhase(command: command, phase: phase) }
    }

    private func needMember(_ id: String) throws(EngineError) {
        guard panel[id] != nil else { throw .unknownMember(id) }
    }

    private func needBidderInPlay(_ id: String) throws(EngineError) {
        guard bidderByID[id] != nil else { throw .unknownBidder(id) }
        guard invalid[id] == nil else { throw .bidderNotInPlay(id) }
    }

    private func needText(_ text: String?, _ what: Activity) throws(EngineError) {
        guard let t = text, !t.allSatisfy(\.isWhitespace) else { throw .missingReason(what: what) }
    }

    func openClarifications(at now: Instant) -> [String] {
        // Unanswered and not past the deadline; an expired request no longer blocks, the record stays.
        clarifications.values.filter { $0.answer == nil && $0.deadline >= now && invalid[$0.bidder] == nil }.map(\.id).sorted()
    }

    static let activePhases: [Phase] = [.checkIn, .discipline, .leaderElection, .qualification, .compliance, .clarification,
                                        .negotiationRounds, .finalQuotes, .scoring, .review, .ranking, .report, .signing,
                                        .suspended, .reformed, .reevaluation]

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private mutating func applyCommand(_ command: Command, at: Instant) throws(EngineError) {
        switch command {
        case .openSession:
            try need(.draft, for: "openSession")
            if let e = definition.violations(lot: lot.id).first { throw .invalidDefinition(e) }
            phase = .checkIn

        case let .checkIn(member, subject, rosterMatched, letter):
            try need(.checkIn, .reformed, .suspended, for: "checkIn")
            try needMember(member)
            guard checkIns[member] == nil else { throw .alreadyDone(what: .checkIn, by: member) }
            guard rosterMatched, !subject.isEmpty else { throw .identityNotVerified(member: member) }
            if panel[member]!.role == .purchaserRepresentative, letter?.isEmpty ?? true {
                throw .authorizationLetterMissing(member: member)
            }
            checkIns[member] = CheckInRecord(member: member, certificateSubject: subject, authorizationLetter: letter, at: at)
            if phase != .suspended, panel.keys.allSatisfy({ checkIns[$0] != nil }) { phase = .discipline }
            if phase == .suspended { resumeIfComplete() }

        case let .signCommitment(member, read, commitment, noConflict):
            try need(.discipline, .suspended, for: "signCommitment")
            try needMember(member)
            guard checkIns[member] != nil else { throw .notCheckedIn(member) }
            guard !commitments.contains(member) else { throw .alreadyDone(what: .commitment, by: member) }
            guard read, commitment, noConflict else { throw .commitmentIncomplete(member: member) }
            commitments.insert(member)
            if phase == .discipline, panel.keys.allSatisfy(commitments.contains) { phase = .leaderElection }
            if phase == .suspended { resumeIfComplete() }

        case let .declareConflict(member, ground, note):
            try need(.checkIn, .discipline, .leaderElection, .qualification, .compliance, .clarification, .negotiationRounds,
                     .finalQuotes, .scoring, .review, .ranking, .report, .signing, .suspended, .reevaluation, for: "declareConflict")
            try needMember(member)
            // Recusal (49; 198号 16): the member leaves, the session waits for a replacement.
            memberLeaves(member, kind: .recused, why: "回避（\(ground.chineseName)）：\(note)", at: at)

        case let .recordMisconduct(member, kind, note):
            try need(.checkIn, .discipline, .leaderElection, .qualification, .compliance, .clarification, .negotiationRounds,
                     .finalQuotes, .scoring, .review, .ranking, .report, .signing, .suspended, .reevaluation, for: "recordMisconduct")
            try needMember(member)
            try needText(note, .misconductRecord)
            // 62: misconduct voids that member's opinions.
            memberLeaves(member, kind: .misconduct, why: "违规（\(kind.chineseName)）：\(note)", at: at)

        case let .recordObservation(member, note):
            guard !phase.isTerminal, phase != .draft else { throw .wrongPhase(command: "recordObservation", phase: phase) }
            guard panel[member] != nil || departed[member] != nil else { throw .unknownMember(member) }
            try needText(note, .observation)
            observations.append(Observation(member: member, note: note, at: at))

        case let .replaceMember(replaced, replacement):
            try need(.suspended, for: "replaceMember")
            guard awaitingReplacement.contains(replaced) else { throw .notAwaitingReplacement(replaced) }
            guard panel[replacement.id] == nil, departed[replacement.id] == nil else { throw .duplicateID(replacement.id) }
            var committee = Array(panel.values) + [replacement]
            committee += awaitingReplacement.subtracting([replaced]).compactMap { departed[$0] }
            if let e = panelViolation(committee) { throw .replacementInvalid(e) }
            awaitingReplacement.remove(replaced)
            panel[replacement.id] = replacement
            replacements[replacement.id] = replaced
            memberChanges.append(MemberChange(kind: .replaced, member: replaced, replacement: replacement.id,
                                              detail: "\(replacement.name) 替补 \(departed[replaced]?.name ?? replaced)", at: at))

        case let .reformCommittee(members, reason):
            try need(.suspended, for: "reformCommittee")
            try needText(reason, .committeeReform)
            if let e = panelViolation(members) { throw .replacementInvalid(e) }
            for m in members where departed[m.id] != nil || panel[m.id] != nil { throw .duplicateID(m.id) }
            reform(members, reason: reason, at: at)

        case let .castLeaderVote(voter, candidate):
            try need(.leaderElection, for: "castLeaderVote")
            try needMember(voter)
            try needMember(candidate)
            guard commitments.contains(voter) else { throw .commitmentIncomplete(member: voter) }
            // 45: the purchaser representative may not be leader.
            guard panel[candidate]!.role == .expert else { throw .purchaserRepresentativeIneligible(member: candidate) }
            guard leaderVotes[voter] == nil else { throw .alreadyDone(what: .leaderVote(round: leaderRound), by: voter) }
            leaderVotes[voter] = candidate
            if leaderVotes.count == panel.count { tallyLeaderVotes(at: at) }

        case let .recordQualification(bidder, item, member, passed, reason, evidence):
            try need(.qualification, for: "recordQualification")
            try needBidderInPlay(bidder)
            guard qualificationItemIDs.contains(item) else { throw .unknownItem(item) }
            if !passed { try needText(reason, .failedQualification) }
            let mark = Mark(passed: passed, reason: reason, evidence: evidence)
            if method.isTender {
                // 44: tenders are qualified by the purchaser/agency, with evidence.
                if let m = member { throw .qualificationByAgency(member: m) }
                agencyQualification[key(bidder, item)] = mark
            } else {
                guard let m = member else { throw .unknownMember("") }
                try needMember(m)
                panelQualification[key(bidder, item), default: [:]][m] = mark
            }

        case .concludeQualification:
            try need(.qualification, for: "concludeQualification")
            var missing: [String] = []
            var failures: [String: [String]] = [:]
            for b in bidders {
                for item in lot.qualificationItems {
                    let k = key(b.id, item.id)
                    if method.isTender {
                        guard let mark = agencyQualification[k] else { missing.append(k); continue }
                        if !mark.passed { failures[b.id, default: []].append(item.id) }
                    } else {
                        let marks = panelQualification[k] ?? [:]
                        let absent = memberIDs.filter { marks[$0] == nil }
                        if !absent.isEmpty { missing += absent.map { "\(k)|\($0)" }; continue }
                        if marks.values.filter({ !$0.passed }).count * 2 > panel.count { failures[b.id, default: []].append(item.id) }
                    }
                }
            }
            guard missing.isEmpty else { throw .incomplete(what: .qualification, missing: missing) }
            for (b, items) in failures { invalid[b] = .failedQualification(items: items.sorted()) }
            qualificationConcluded = true
            if !failIfTooFew(stage: "资格审查") { phase = .compliance }

        case let .markCompliance(member, bidder, item, passed, reason):
            try need(.compliance, .clarification, for: "markCompliance")
            try needMember(member)
            try needBidderInPlay(bidder)
            guard complianceItemIDs.contains(item) else { throw .unknownItem(item) }
            // 50: a failing mark needs a reason.
            if !passed { try needText(reason, .failedCompliance) }
            compliance[key(bidder, item), default: [:]][member] = Mark(passed: passed, reason: reason, evidence: [])

        case let .requestClarification(id, bidder, purpose, question, deadline):
            try need(.compliance, .clarification, .finalQuotes, for: "requestClarification")
            guard clarifications[id] == nil, !id.isEmpty else { throw .duplicateID(id) }
            try needBidderInPlay(bidder)
            try needText(question, .clarificationQuestion)
            guard deadline > at else { throw .answerAfterDeadline(id: id, deadline: deadline) }
            clarifications[id] = Clarification(id: id, bidder: bidder, purpose: purpose, question: question, deadline: deadline,
                                               requestedAt: at)

        case let .answerClarification(id, answer, signedBy):
            try need(.compliance, .clarification, .finalQuotes, for: "answerClarification")
            guard let c = clarifications[id] else { throw .clarificationUnknown(id) }
            guard c.answer == nil else { throw .clarificationAlreadyAnswered(id) }
            guard at <= c.deadline else { throw .answerAfterDeadline(id: id, deadline: c.deadline) }
            try needText(answer, .clarificationAnswer)
            try needText(signedBy, .clarificationSigner)
            clarifications[id]!.answer = answer
            clarifications[id]!.signedBy = signedBy
            clarifications[id]!.answeredAt = at

        case let .confirmPriceCorrection(bidder, confirmed):
            try need(.compliance, .clarification, for: "confirmPriceCorrection")
            try needBidderInPlay(bidder)
            guard priceCorrection(bidder)?.needsConfirmation == true else { throw .noCorrectionToConfirm(bidder: bidder) }
            guard priceConfirmations[bidder] == nil else { throw .alreadyDone(what: .priceCorrectionConfirmation, by: bidder) }
            priceConfirmations[bidder] = confirmed
            // 59: a bidder that does not confirm the correction has an invalid bid.
            if !confirmed { invalid[bidder] = .priceCorrectionRefused }

        case let .decideAbnormallyLowPrice(bidder, accepted, reason):
            try need(.compliance, .clarification, .finalQuotes, for: "decideAbnormallyLowPrice")
            try needBidderInPlay(bidder)
            guard currentLowPriceFlags().contains(bidder) else { throw .notAbnormallyLow(bidder: bidder) }
            guard lowPriceDecisions[bidder] == nil else { throw .alreadyDone(what: .lowPriceDecision, by: bidder) }
            try needText(reason, .lowPriceDecision)
            lowPriceDecisions[bidder] = LowPriceDecision(accepted: accepted, reason: reason, at: at)
            // 60: cannot prove the price reasonable → invalid.
            if !accepted { invalid[bidder] = .abnormallyLowPrice(reason: reason) }

        case .concludeCompliance:
            try need(.compliance, .clarification, for: "concludeCompliance")
            let open = openClarifications(at: at)
            guard open.isEmpty else { throw .openClarifications(open) }
            var missing: [String] = []
            for b in bidders { for item in lot.complianceItems {
                let marks = compliance[key(b.id, item.id)] ?? [:]
                for m in memberIDs where marks[m] == nil { missing.append("\(b.id)|\(item.id)|\(m)") }
            } }
            guard missing.isEmpty else { throw .incomplete(what: .compliance, missing: missing) }
            let unconfirmed = bidders.filter { priceCorrection($0.id)!.needsConfirmation && priceConfirmations[$0.id] == nil }.map(\.id)
            guard unconfirmed.isEmpty else { throw .unconfirmedPriceCorrections(unconfirmed) }
            let undecided = currentLowPriceFlags().filter { lowPriceDecisions[$0] == nil }
            guard undecided.isEmpty else { throw .undecidedAbnormallyLowPrices(undecided) }
            for (b, reason) in complianceOutcome() { invalid[b] = reason }
            if !failIfTooFew(stage: "符合性审查") {
                phase = method.hasNegotiationRounds ? .negotiationRounds : (lot.scored ? .scoring : .ranking)
            }

        case .openNegotiationRound:
            try need(.negotiationRounds, for: "openNegotiationRound")
            negotiationRound += 1

        case let .recordRoundQuote(bidder, price):
            try need(.negotiationRounds, for: "recordRoundQuote")
            guard negotiationRound > 0 else { throw .noNegotiationRound }
            try needBidderInPlay(bidder)
            guard price > .zero else { throw .nonPositivePrice }
            roundQuotes[bidder, default: [:]][negotiationRound] = price

        case let .withdrawBidder(bidder, reason):
            try need(.negotiationRounds, .finalQuotes, for: "withdrawBidder")
            try needBidderInPlay(bidder)
            try needText(reason, .withdrawal)
            invalid[bidder] = .withdrawn(reason: reason)

        case .closeNegotiationRounds:
            try need(.negotiationRounds, for: "closeNegotiationRounds")
            phase = .finalQuotes

        case let .submitFinalQuote(bidder, price):
            try need(.finalQuotes, for: "submitFinalQuote")
            try needBidderInPlay(bidder)
            guard price > .zero else { throw .nonPositivePrice }
            guard finalQuotes[bidder] == nil else { throw .alreadyDone(what: .finalQuote, by: bidder) }
            finalQuotes[bidder] = price

        case .concludeFinalQuotes:
            try need(.finalQuotes, for: "concludeFinalQuotes")
            let open = openClarifications(at: at)
            guard open.isEmpty else { throw .openClarifications(open) }
            let undecided = currentLowPriceFlags().filter { lowPriceDecisions[$0] == nil }
            guard undecided.isEmpty else { throw .undecidedAbnormallyLowPrices(undecided) }
            for b in bidders {
                if finalQuotes[b.id] == nil { invalid[b.id] = .noFinalQuote }
                else if let max = definition.project.maximumPrice, finalQuotes[b.id]! > max { invalid[b.id] = .aboveMaximumPrice }
            }
            if !failIfTooFew(stage: "最后报价") { phase = lot.scored ? .scoring : .ranking }

        case let .enterScoreSheet(member, bidder, scores):
            try need(.scoring, for: "enterScoreSheet")
            try needMember(member)
            guard !submitted.contains(member) else { throw .alreadySubmitted(member: member) }
            try needBidderInPlay(bidder)
            guard lot.scored else { throw .notScored }
            for (c, v) in scores.sorted(by: { $0.key < $1.key }) { try checkScore(criterion: c, value: v) }
            let missing = lot.typedCriteria.map(\.id).filter { scores[$0] == nil }
            guard missing.isEmpty else { throw .incomplete(what: .scoreSheet(bidder: bidder), missing: missing) }
            sheets[member, default: [:]][bidder] = scores

        case let .submitScores(member):
            try need(.scoring, for: "submitScores")
            try needMember(member)
            guard !submitted.contains(member) else { throw .alreadySubmitted(member: member) }
            let missing = bidders.map(\.id).filter { sheets[member]?[$0] == nil }
            guard missing.isEmpty else { throw .incomplete(what: .scoreSheets, missing: missing) }
            submitted.insert(member)
            if allSubmitted { phase = .review }

        case let .reviseScore(member, bidder, criterion, value, reason, decision):
            try need(.review, .reevaluation, for: "reviseScore")
            guard lot.scored else { throw .notScored }
            try needMember(member)
            try needBidderInPlay(bidder)
            try checkScore(criterion: criterion, value: value)
            try needText(decision, .panelDecision)
            guard let current = sheets[member]?[bidder]?[criterion] else { throw .incomplete(what: .score, missing: [member]) }
            guard current != value else { throw .unchangedScore }
            if reason == .objectiveDisagreement || reason == .abnormalScore {
                let summary = scoreSummary()
                let applies = reason == .objectiveDisagreement
                    ? summary?.disagreements.contains { $0.bidder == bidder && $0.criterion == criterion } ?? false
                    : summary?.flags.contains { $0.member == member && $0.bidder == bidder && ($0.criterion == nil || $0.criterion == criterion) } ?? false
                guard applies else { throw .reasonDoesNotApply(reason: reason, bidder: bidder, criterion: criterion) }
            }
            sheets[member]![bidder]![criterion] = value
            corrections.append(ReviewCorrection(reportVersion: reports.count + 1, member: member, bidder: bidder, criterion: criterion,
                                                from: current, to: value, reason: reason, panelDecision: decision, at: at))

        case let .keepAbnormalScore(flag, reason):
            try need(.review, .reevaluation, for: "keepAbnormalScore")
            guard scoreSummary()?.flags.contains(where: { $0.id == flag }) == true else { throw .unknownFlag(flag) }
            try needText(reason, .keptAbnormalScore)
            keptFlags[flag] = KeptFlag(flag: flag, reason: reason, at: at)

        case .concludeReview:
            try need(.review, .reevaluation, for: "concludeReview")
            if let summary = scoreSummary() {
                guard summary.disagreements.isEmpty else { throw .objectiveDisagreements(count: summary.disagreements.count) }
                let open = summary.unresolvedFlags.map(\.id)
                guard open.isEmpty else { throw .unresolvedFlags(open) }
            }
            phase = .ranking

        case let .drawLottery(seed, witness):
            try need(.ranking, for: "drawLottery")
            try needText(witness, .lotteryWitness)
            guard let first = ranking(), !first.pendingLotteries.isEmpty else { throw .noTieToDraw }
            var pending = first.pendingLotteries
            // Same-brand draws can reveal new ranking ties; draw until none is left.
            while !pending.isEmpty {
                for tie in pending {
                    let groupSeed = seed &+ UInt64(lotteryDraws.count)
                    lotteryDraws.append(LotteryDraw(scope: tie.scope, tied: tie.tied, seed: seed, groupSeed: groupSeed, witness: witness,
                                                    order: LotteryDraw.draw(tie.tied, seed: groupSeed), at: at))
                }
                pending = ranking()?.pendingLotteries ?? []
            }

        case .confirmRanking:
            try need(.ranking, for: "confirmRanking")
            guard let r = ranking() else { throw .incomplete(what: .ranking, missing: []) }
            guard r.pendingLotteries.isEmpty else { throw .lotteryPending(count: r.pendingLotteries.count) }
            signatures = [:]
            reports.append(buildReport(version: reports.count + 1, ranking: r, at: at))
            phase = .report

        case .startSigning:
            try need(.report, for: "startSigning")
            phase = .signing

        case let .sign(member, signature):
            try need(.signing, for: "sign")
            try needMember(member)
            guard signatures[member] == nil else { throw .alreadyDone(what: .signing, by: member) }
            try needText(signature, .signature)
            signatures[member] = SignatureRecord(member: member, kind: .signed, text: signature, at: at)

        case let .dissent(member, reasons):
            try need(.signing, for: "dissent")
            try needMember(member)
            guard signatures[member] == nil else { throw .alreadyDone(what: .signing, by: member) }
            // 61: a dissent states its reasons.
            try needText(reasons, .dissent)
            signatures[member] = SignatureRecord(member: member, kind: .dissented, text: reasons, at: at)

        case let .leaderConfirm(member):
            try need(.signing, for: "leaderConfirm")
            guard leader == member else { throw .notLeader(member) }
            // 61: neither signed nor dissented → recorded as agreeing.
            for m in memberIDs where signatures[m] == nil {
                signatures[m] = SignatureRecord(member: m, kind: .deemedAgreed, text: nil, at: nil)
            }
            let records = memberIDs.map { signatures[$0]! }
            reports[reports.count - 1].signatures = records
            reports[reports.count - 1].confirmedBy = member
            reports[reports.count - 1].confirmedAt = at
            phase = .closed

        case let .halt(reason):
            guard SessionState.activePhases.contains(phase) || phase == .draft else { throw .wrongPhase(command: "halt", phase: phase) }
            try needText(reason, .halt)
            // 65: defective documents stop the evaluation.
            haltReason = reason
            phase = .halted

        case let .declareFailure(reason):
            guard SessionState.activePhases.contains(phase) else { throw .wrongPhase(command: "declareFailure", phase: phase) }
            try needText(reason, .failure(method.failureKind))
            failureReason = reason
            phase = .failed

        case let .beginReevaluation(reason, note):
            try need(.signing, .closed, for: "beginReevaluation")
            try needText(note, .reevaluation)
            reevaluations.append(ReevaluationRecord(fromReportVersion: reports.count, reason: reason, note: note, at: at))
            signatures = [:]
            phase = .reevaluation
        }
    }

    private func checkScore(criterion: String, value: Fraction) throws(EngineError) {
        if let problem = scoreProblem(criterion: criterion, value: value) { throw problem }
    }

    /// Which panel-related rule a committee would break, if any.
    private func panelViolation(_ committee: [Member]) -> DefinitionError? {
        var d = definition
        d.committee = committee
        return d.violations(lot: lot.id).first {
            switch $0 {
            case .evenPanel, .panelTooSmall, .tooFewExperts, .agencyStaffOnPanel, .expertFromPurchaser, .duplicateID, .emptyText: true
            default: false
            }
        }
    }

    /// A member leaves (49, 62): their opinions are void; the session is SUSPENDED until replaced.
    private mutating func memberLeaves(_ id: String, kind: MemberChangeKind, why: String, at: Instant) {
        let member = panel.removeValue(forKey: id)!
        departed[id] = member
        voidOpinions(of: id)
        voided.append(VoidedOpinions(member: id, why: why, at: at))
        memberChanges.append(MemberChange(kind: kind, member: id, replacement: nil, detail: why, at: at))
        awaitingReplacement.insert(id)
        if phase != .suspended { resumePhase = phase }
        phase = .suspended
    }

    private mutating func voidOpinions(of id: String) {
        leaderVotes = leaderVotes.filter { $0.key != id && $0.value != id }
        if leader == id { leader = nil }
        for k in panelQualification.keys { panelQualification[k]![id] = nil }
        for k in compliance.keys { compliance[k]![id] = nil }
        sheets[id] = nil
        submitted.remove(id)
        signatures[id] = nil
        keptFlags = keptFlags.filter { !$0.key.contains(":\(id):") }
    }

    private mutating func resumeIfComplete() {
        guard awaitingReplacement.isEmpty, panel.keys.allSatisfy({ checkIns[$0] != nil && commitments.contains($0) }) else { return }
        let target = resumePhase ?? .checkIn
        let order: [Phase] = [.checkIn, .discipline, .leaderElection]
        if leader == nil, !order.contains(target) {
            // The leader left: elect a new one, then continue where the session stopped.
            leaderVotes = [:]
            phase = .leaderElection
        } else {
            phase = order.contains(target) ? nextPreparationPhase() : target
            resumePhase = nil
        }
    }

    private func nextPreparationPhase() -> Phase {
        if !panel.keys.allSatisfy({ checkIns[$0] != nil }) { return .checkIn }
        if !panel.keys.allSatisfy(commitments.contains) { return .discipline }
        return .leaderElection
    }

    private mutating func tallyLeaderVotes(at: Instant) {
        var counts: [String: Int] = [:]
        for c in leaderVotes.values { counts[c, default: 0] += 1 }
        if let (winner, votes) = counts.max(by: { $0.value == $1.value ? $0.key > $1.key : $0.value < $1.value }),
           votes * 2 > panel.count {
            leader = winner
            memberChanges.append(MemberChange(kind: .leaderElected, member: winner, replacement: nil,
                                              detail: "第\(leaderRound)轮 \(votes)/\(panel.count) 票", at: at))
            if let target = resumePhase, ![.checkIn, .discipline, .leaderElection].contains(target) {
                phase = target
                resumePhase = nil
            } else {
                phase = .qualification
                resumePhase = nil
            }
        } else {
            // No majority (a tie): another round (45).
            leaderRound += 1
            leaderVotes = [:]
        }
    }

    /// Every earlier opinion is void; the new committee starts from check-in (REFORMED).
    private mutating func reform(_ members: [Member], reason: String, at: Instant) {
        for (id, m) in panel {
            departed[id] = m
            voided.append(VoidedOpinions(member: id, why: "重新组建评审小组: \(reason)", at: at))
        }
        panel = Dictionary(uniqueKeysWithValues: members.map { ($0.id, $0) })
        awaitingReplacement = []
        checkIns = [:]
        commitments = []
        leaderVotes = [:]
        leaderRound = 1
        leader = nil
        panelQualification = [:]
        qualificationConcluded = false
        compliance = [:]
        lowPriceDecisions = [:]
        invalid = invalid.filter { _, reason in
            if case .failedQualification = reason { return method.isTender }
            return !reason.isPanelOpinion
        }
        sheets = [:]
        submitted = []
        keptFlags = [:]
        signatures = [:]
        resumePhase = nil
        memberChanges.append(MemberChange(kind: .committeeReformed, member: nil, replacement: nil,
                                          detail: "\(reason); 新成员 \(members.map(\.id).sorted().joined(separator: ","))", at: at))
        phase = .reformed
    }

    /// Bids that fail compliance by majority (61) or exceed the maximum price (63).
    func complianceOutcome() -> [String: InvalidityReason] {
        var out: [String: InvalidityReason] = [:]
        let n = panel.count
        for b in bidders {
            let failed = lot.complianceItems.filter { item in
                let marks = compliance[key(b.id, item.id)] ?? [:]
                return marks.values.filter { !$0.passed }.count * 2 > n
            }.map(\.id)
            if !failed.isEmpty {
                out[b.id] = .failedCompliance(items: failed)
            } else if !method.hasNegotiationRounds, let max = definition.project.maximumPrice, contractPrice(b) > max {
                out[b.id] = .aboveMaximumPrice
            }
        }
        return out
    }

    /// Abnormally low prices (60) among the bids that would survive this stage.
    func currentLowPriceFlags() -> [String] {
        let pool: [Bidder]
        if method.hasNegotiationRounds, phase != .finalQuotes {
            return []   // 谈判/磋商/单一来源: judged on the final quotes, not the opening ones.
        } else if phase == .finalQuotes {
            pool = bidders.filter { finalQuotes[$0.id] != nil }
        } else {
            let out = complianceOutcome()
            pool = bidders.filter { out[$0.id] == nil }
        }
        return abnormallyLowFlags(pool: pool)
    }

    /// Fewer valid bids than the method needs → FAILED (87号令 43, 法36; 214号; 74号令). Same brand counts as one (31).
    /// A tender fails (废标); 磋商, 谈判, 询价 and 单一来源 are terminated (终止), see `FailureKind`.
    private mutating func failIfTooFew(stage: String) -> Bool {
        let count = effectiveBidderCount(bidders)
        guard count < minimumBidders else { return false }
        failureReason = "\(stage)后有效\(method.partyChinese) \(count) 家，少于 \(minimumBidders) 家（\(method.failureChinese)）"
        phase = .failed
        return true
    }
}
