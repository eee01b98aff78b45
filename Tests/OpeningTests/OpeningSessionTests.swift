import Canonical
import Evaluation
import Testing
@testable import Opening

@Suite struct OpeningSessionTests {
    typealias F = OpeningFixtures
    let t0 = OpeningFixtures.deadline
    let minute = OpeningFixtures.minute

    func signIn(_ s: inout OpeningSession, _ code: CreditCode, at: Instant, as organization: String? = nil) throws {
        try s.handle(.signIn(supplier: code, organization: organization ?? F.names[code] ?? "某公司",
                             certificateSHA256: String(repeating: "ab", count: 32)), at: at, actor: "supplier")
    }

    func decrypt(_ s: inout OpeningSession, _ code: CreditCode, at: Instant) throws {
        try s.handle(.submitDecryption(supplier: code, plaintextSHA256: F.plaintextHash(code), summary: .read(F.summaries[code]!)),
                     at: at, actor: "supplier")
    }

    /// The whole opening: five suppliers, one unknown, one late, one altered delivery, one wrong
    /// plaintext and a timeout, a figures/words difference and unreadable words; lot 1 opens with
    /// three valid bids, lot 2 fails with two.
    @Test func wholeOpening() throws {
        var s = try OpeningSession(definition: F.definition())
        // The platform's delivery of B's bid arrives altered, then intact.
        try s.handle(.receiveSealedBid(supplier: F.b, sha256: F.sealedHash(F.a)), at: t0 - 60 * minute, actor: "platform")
        for code in [F.a, F.b, F.c, F.d, F.e] {
            try s.handle(.receiveSealedBid(supplier: code, sha256: F.sealedHash(code)), at: t0 - 59 * minute, actor: "platform")
        }
        #expect(throws: OpeningError.sealedBidAlreadyReceived(F.a)) {
            try s.handle(.receiveSealedBid(supplier: F.a, sha256: F.sealedHash(F.a)), at: t0 - 58 * minute, actor: "platform")
        }

        try signIn(&s, F.a, at: t0 - 20 * minute)
        try signIn(&s, F.stranger, at: t0 - 19 * minute, as: "某某贸易有限公司")               // not in the definition
        try signIn(&s, F.b, at: t0 - 18 * minute, as: "北京乙公司")                         // certificate of another name
        try signIn(&s, F.b, at: t0 - 17 * minute)
        try signIn(&s, F.c, at: t0 - 16 * minute, as: "内蒙古丙电子有限责任公司(呼和浩特)")     // half-width brackets: same name
        #expect(throws: OpeningError.alreadySignedIn(F.a)) { try signIn(&s, F.a, at: t0 - 15 * minute) }
        #expect(throws: OpeningError.deadlineNotReached(t0)) { try s.handle(.startOpening, at: t0 - 1, actor: "operator") }
        #expect(throws: OpeningError.wrongPhase(command: "decryption", phase: .signIn)) { try decrypt(&s, F.a, at: t0 - 1) }
        try signIn(&s, F.e, at: t0)                                                       // at the deadline: in time

        try s.handle(.startOpening, at: t0 + 1 * minute, actor: "operator")
        let late = try s.handle(.signIn(supplier: F.d, organization: F.names[F.d]!, certificateSHA256: String(repeating: "cd", count: 32)),
                                at: t0 + 2 * minute, actor: "supplier")
        #expect(s.state.rejection(of: late) == .lateSignIn(deadline: t0))
        #expect(s.state.windowEnd == t0 + 31 * minute)

        let decrypted = try s.handle(.submitDecryption(supplier: F.a, plaintextSHA256: F.plaintextHash(F.a), summary: .read(F.summaries[F.a]!)),
                                     at: t0 + 3 * minute, actor: "supplier")
        #expect(s.state.rejection(of: decrypted) == nil)
        try s.handle(.reportDecryptionFailure(supplier: F.b, reason: "USBKey中的证书与加密证书不符 / wrong certificate"),
                     at: t0 + 4 * minute, actor: "supplier")
        try s.handle(.submitDecryption(supplier: F.b, plaintextSHA256: F.plaintextHash(F.a), summary: .read(F.summaries[F.a]!)),
                     at: t0 + 5 * minute, actor: "supplier")
        try decrypt(&s, F.c, at: t0 + 6 * minute)
        try decrypt(&s, F.e, at: t0 + 7 * minute)
        #expect(throws: OpeningError.notSignedIn(F.d)) { try decrypt(&s, F.d, at: t0 + 8 * minute) }
        #expect(throws: OpeningError.alreadyDecrypted(F.a)) { try decrypt(&s, F.a, at: t0 + 8 * minute) }
        #expect(throws: OpeningError.windowStillOpen(until: t0 + 31 * minute, pending: [F.b, F.d])) {
            try s.handle(.closeDecryption, at: t0 + 31 * minute, actor: "operator")
        }
        // B finally has the right plaintext, half a minute after the window.
        try decrypt(&s, F.b, at: t0 + 31 * minute + 30_000)
        try s.handle(.closeDecryption, at: t0 + 32 * minute, actor: "operator")

        let record = try #require(s.state.record())
        #expect(record.openedAt == t0 + minute && record.decryptionClosedAt == t0 + 32 * minute)
        #expect(record.rejections.map(\.reason) == [
            .sealedBidAltered(expected: F.sealedHash(F.b), received: F.sealedHash(F.a)),
            .unknownSupplier,
            .organizationMismatch(expected: F.names[F.b]!, certificate: "北京乙公司"),
            .lateSignIn(deadline: t0),
            .decryptionFailed(reason: "USBKey中的证书与加密证书不符 / wrong certificate"),
            .plaintextMismatch(expected: F.plaintextHash(F.b), decrypted: F.plaintextHash(F.a)),
            .decryptionTimedOut(windowEnd: t0 + 31 * minute),
        ])
        #expect(record.rejections[1].supplier == F.stranger && record.rejections[1].organization == "某某贸易有限公司")

        let lot1 = record.lots[0]
        #expect(lot1.bids.map(\.supplier) == [F.a, F.c, F.e])
        #expect(lot1.bids[0].consistency == .consistent(Fraction(decimalText: "1234567.89")!))
        #expect(lot1.bids[1].consistency == .wordsDiffer(figures: Fraction(1_205_000), words: Fraction(1_250_000)))
        #expect(lot1.bids[1].priceInFigures == "1205000")     // as sealed, not corrected
        guard case .wordsUnreadable(let code, _, _) = lot1.bids[2].consistency else {
            Issue.record("E's words should be unreadable: \(lot1.bids[2].consistency)")
            return
        }
        #expect(code == "amount-words-ambiguous")
        #expect(lot1.invalid == [
            InvalidBid(supplier: F.b, name: F.names[F.b]!, reason: .decryptionTimedOut(windowEnd: t0 + 31 * minute)),
            InvalidBid(supplier: F.d, name: F.names[F.d]!, reason: .lateSignIn(deadline: t0)),
        ])
        #expect(lot1.failure == nil)
        // Lot 2: A and C only → fewer than three valid bids (政府采购法 36, 87号令 43).
        #expect(record.lots[1].bids.count == 2)
        #expect(record.lots[1].failure == LotFailure(validBids: 2, minimum: 3, kind: .bidFailure))
        #expect(!record.failed)
        // What the evaluation session's definition takes: figures, and words where they differ.
        #expect(lot1.bids[1].evaluationOpening == Evaluation.OpeningRecord(totalInFigures: Fraction(1_205_000), totalInWords: Fraction(1_250_000)))
        #expect(lot1.bids[2].evaluationOpening == nil)

        // Confirmations and objections sign the readout, which answers do not change.
        let readout = try CanonicalJSON.canonicalBytes(encoding: s.state.readout())
        #expect(try CanonicalJSON.canonicalBytes(encoding: record) == readout)
        try s.handle(.confirmRecord(supplier: F.a, signature: "MEUCIQ…"), at: t0 + 33 * minute, actor: "supplier")
        #expect(throws: OpeningError.alreadyAnswered(F.a)) {
            try s.handle(.raiseObjection(supplier: F.a, text: "异议", signature: "sig"), at: t0 + 34 * minute, actor: "supplier")
        }
        #expect(throws: OpeningError.emptyText(.objection)) {
            try s.handle(.raiseObjection(supplier: F.c, text: "  ", signature: "sig"), at: t0 + 34 * minute, actor: "supplier")
        }
        try s.handle(.raiseObjection(supplier: F.c, text: "第1包我公司报价为壹佰贰拾伍万元，小写录入有误。", signature: "MEQCIF…"),
                     at: t0 + 35 * minute, actor: "supplier")
        #expect(throws: OpeningError.notSignedIn(F.d)) {
            try s.handle(.confirmRecord(supplier: F.d, signature: "sig"), at: t0 + 35 * minute, actor: "supplier")
        }
        try s.handle(.concludeOpening, at: t0 + 40 * minute, actor: "operator")
        let final = try #require(s.state.record())
        #expect(try CanonicalJSON.canonicalBytes(encoding: s.state.readout()) == readout)
        #expect(final.concludedAt == t0 + 40 * minute)
        #expect(final.suppliers.map(\.answer) == [
            .confirmed(at: t0 + 33 * minute, signature: "MEUCIQ…"), nil,
            .objected(at: t0 + 35 * minute, text: "第1包我公司报价为壹佰贰拾伍万元，小写录入有误。", signature: "MEQCIF…"), nil, nil,
        ])
        #expect(final.suppliers.map(\.notOpened) == [nil, .decryptionTimedOut(windowEnd: t0 + 31 * minute), nil,
                                                     .lateSignIn(deadline: t0), nil])

        // The evaluation's part: only once concluded; per lot the valid bids in the record's order, with
        // the figures (and words where they differ), none for a bid the committee must decide first.
        #expect(EvaluationOpening(record: record) == nil)
        let part = try #require(EvaluationOpening(record: final))
        #expect(part.project == final.project.number && part.concludedAt == t0 + 40 * minute)
        #expect(part.lots.map(\.lot) == final.lots.map(\.lot))
        #expect(part.lots[0].bidders.map(\.id) == final.lots[0].bids.map(\.supplier.text))
        #expect(part.lots[0].bidders.map(\.opening) == final.lots[0].bids.map(\.evaluationOpening))
        #expect(part.lots[0].bidders[1].opening == Evaluation.OpeningRecord(totalInFigures: Fraction(1_205_000), totalInWords: Fraction(1_250_000)))
        #expect(part.lots[0].bidders[2].opening == nil && part.lots[0].bidders[2].consistency.flagged)
        #expect(part.lots[1].failure == LotFailure(validBids: 2, minimum: 3, kind: .bidFailure))
        #expect(try CanonicalJSON.decode(EvaluationOpening.self, from: CanonicalJSON.encode(part)) == part)

        // The same events give the same state and the same canonical record.
        let replayed = try OpeningSession.replay(definition: F.definition(), events: s.events)
        #expect(replayed.state == s.state)
        #expect(try CanonicalJSON.canonicalBytes(encoding: replayed.state.record()) == CanonicalJSON.canonicalBytes(encoding: final))
        // Events survive their JSON form.
        let stored = try CanonicalJSON.decode([OpeningEvent].self, from: CanonicalJSON.encode(s.events))
        #expect(stored == s.events)
    }

    /// Two bids decrypted on a one-lot opening: the opening fails, with the reason.
    @Test func fewerThanThreeValidBidsFails() throws {
        var definition = F.definition()
        definition.lots = [definition.lots[0]]
        definition.suppliers = definition.suppliers.map { var s = $0; s.lots = ["1"]; return s }
        var s = try OpeningSession(definition: definition)
        for code in [F.a, F.b, F.c] {
            try s.handle(.receiveSealedBid(supplier: code, sha256: F.sealedHash(code)), at: t0 - 30 * minute, actor: "platform")
        }
        for code in [F.a, F.b, F.c] { try signIn(&s, code, at: t0 - 10 * minute) }
        try s.handle(.startOpening, at: t0, actor: "operator")
        try decrypt(&s, F.a, at: t0 + minute)
        try decrypt(&s, F.c, at: t0 + 2 * minute)
        try s.handle(.closeDecryption, at: t0 + 31 * minute, actor: "operator")  // the window has ended
        let record = try #require(s.state.record())
        #expect(record.failed)
        #expect(record.lots[0].failure == LotFailure(validBids: 2, minimum: 3, kind: .bidFailure))
        #expect(record.lots[0].failure?.chineseMessage == "有效投标不足3家（仅2家），本包废标（依据政府采购法第36条、87号令第43条）；请依法重新组织采购或按规定变更采购方式。")
        #expect(record.lots[0].failure?.englishMessage.contains("(Government Procurement Law art. 36, MoF Order 87 art. 43)") == true)
        // B signed in but never tried: timed out. D and E: no sealed bid reached roomd.
        #expect(record.lots[0].invalid.map(\.reason) == [.decryptionTimedOut(windowEnd: t0 + 30 * minute), .sealedBidMissing, .sealedBidMissing])
    }

    /// When every supplier has decrypted, the window may close early; 磋商's two-bidder route
    /// and 单一来源 need fewer bids.
    @Test func closesEarlyWhenAllAreDecryptedAndMinimumsFollowTheMethod() throws {
        var definition = F.definition(method: .competitiveConsultation)
        definition.lots = [OpeningLot(id: "1", name: "智慧黑板", twoBidderRoute: true)]
        definition.suppliers = Array(definition.suppliers.prefix(2)).map { var s = $0; s.lots = ["1"]; return s }
        var s = try OpeningSession(definition: definition)
        for code in [F.a, F.b] {
            try s.handle(.receiveSealedBid(supplier: code, sha256: F.sealedHash(code)), at: t0 - 30 * minute, actor: "platform")
        }
        for code in [F.a, F.b] { try signIn(&s, code, at: t0 - 10 * minute) }
        try s.handle(.startOpening, at: t0, actor: "operator")
        try decrypt(&s, F.a, at: t0 + minute)
        try decrypt(&s, F.b, at: t0 + 2 * minute)
        try s.handle(.closeDecryption, at: t0 + 3 * minute, actor: "operator")
        let record = try #require(s.state.record())
        #expect(record.lots[0].minimumValidBids == 2 && record.lots[0].failure == nil)
        #expect(F.definition(method: .singleSource).minimumValidBids(lot: F.definition().lots[0]) == 1)
    }

    @Test func summaryMustBeTheOneTheDefinitionFixed() throws {
        var s = try OpeningSession(definition: F.definition())
        try s.handle(.receiveSealedBid(supplier: F.a, sha256: F.sealedHash(F.a)), at: t0 - 30 * minute, actor: "platform")
        try signIn(&s, F.a, at: t0 - 10 * minute)
        try s.handle(.startOpening, at: t0, actor: "operator")
        try s.handle(.submitDecryption(supplier: F.a, plaintextSHA256: F.plaintextHash(F.a), summary: .unreadable("not JSON")),
                     at: t0 + minute, actor: "supplier")
        #expect(s.state.rejections.last?.reason == .summaryUnreadable(reason: "not JSON"))
        #expect(throws: OpeningError.malformedHash("ABC")) {
            try s.handle(.submitDecryption(supplier: F.a, plaintextSHA256: "ABC", summary: .unreadable("")), at: t0 + minute, actor: "supplier")
        }
        #expect(throws: OpeningError.timeWentBackwards(previous: t0 + minute, got: t0)) { try decrypt(&s, F.a, at: t0) }
        #expect(throws: OpeningError.unknownSupplier(F.stranger)) {
            try s.handle(.submitDecryption(supplier: F.stranger, plaintextSHA256: F.plaintextHash(F.a), summary: .unreadable("")),
                         at: t0 + 2 * minute, actor: "supplier")
        }
        try decrypt(&s, F.a, at: t0 + 2 * minute)
        #expect(s.state.progress[F.a]?.summary == F.summaries[F.a])
        #expect(s.state.progress[F.a]?.attempts.map(\.failure) == [.summaryUnreadable(reason: "not JSON"), nil])
    }

    @Test func refusalsSayWhatToDo() {
        let window = OpeningError.windowStillOpen(until: t0 + 30 * minute, pending: [F.b])
        #expect(window.chineseMessage.contains("北京时间2026-12-10 10:00"))
        #expect(window.englishMessage.contains("2026-12-10T02:00:00.000Z") && window.englishMessage.contains(F.b.text))
        #expect(OpeningError.notSignedIn(F.a).chineseMessage.contains("请先用本单位CA证书签到"))
        #expect(OpeningRejection.lateSignIn(deadline: t0).chineseMessage.contains("北京时间2026-12-10 09:30"))
        // Each language stays in its language (docs/formats.md): no Chinese in the English texts.
        let english = [OpeningError.windowStillOpen(until: t0, pending: [F.b]), .deadlineNotReached(t0), .notSignedIn(F.a),
                       .wrongPhase(command: "startOpening", phase: .decryption), .emptyText(.objection)].map(\.englishMessage)
            + [OpeningRejection.lateSignIn(deadline: t0), .decryptionTimedOut(windowEnd: t0), .sealedBidMissing, .notSignedIn,
               .unknownSupplier, .noPriceForLot("1")].map(\.englishMessage)
            + [OpeningDefinitionError.twoBidderRouteNotAllowed(lot: "1"), .window(0), .deadline("x")].map(\.englishMessage)
            + [LotFailure(validBids: 2, minimum: 3, kind: .bidFailure).englishMessage,
               LotFailure(validBids: 1, minimum: 2, kind: .termination).englishMessage]
        for text in english {
            #expect(!text.unicodeScalars.contains { (0x3000...0x9FFF).contains($0.value) || (0xFF00...0xFFEF).contains($0.value) }, "\(text)")
        }
    }
}
