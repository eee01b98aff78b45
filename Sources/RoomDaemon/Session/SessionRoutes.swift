import Canonical
import Evaluation
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import Store

/// The session's HTTPS and admin-socket routes: definitions in, commands in,
/// views out (docs/formats.md, "Session routes").
struct SessionRoutes: Sendable {
    let registry: SessionRegistry
    let store: RoomStore
    let refusals: EventAggregator

    /// The largest definition accepted (base64 inside JSON): a lot of 200 bidders is ~200 KiB.
    static let maximumDefinitionBytes = 4 << 20
    /// The largest command body: a score sheet of 100 criteria is ~4 KiB.
    static let maximumCommandBytes = 64 << 10

    struct DefinitionBody: Decodable {
        var lot: String?
        /// The definition's exact bytes, base64.
        var definition: String
        /// Detached CMS over those bytes, base64 (DER).
        var signature: String?
    }

    struct CommandBody: Decodable {
        var requestID: String?
        var command: Command
    }

    /// What a station sends to record its expert's check-in in the session: roomd
    /// adds the certificate and roster match from the accepted check-in signature.
    struct StationCheckInBody: Decodable {
        struct Fields: Decodable {
            var member: String
            var authorizationLetter: String?
        }
        struct Wrapper: Decodable { var checkIn: Fields }
        var requestID: String?
        var command: Wrapper
    }

    struct DraftBody: Decodable {
        var scores: [String: String]
    }

    static func badCommand(_ why: String) -> Refusal {
        Refusal(.badRequest, code: "bad-command", chinese: "操作请求格式错误，请刷新页面后重试。",
                english: "body must be {\"command\": {<case>: {…}}, \"requestID\"?: id} (docs/formats.md, Events): \(why)")
    }

    /// Routes the operator reaches over HTTPS and roomctl over the admin socket.
    func registerOperatorRoutes<Routes: RouteRegistrar>(on routes: Routes, who: @escaping @Sendable (Routes.Context) -> String,
                                                         isPlatform: @escaping @Sendable (Routes.Context) -> Bool) {
        routes.post("/v1/sessions/:session/definition", roles: [.platform, .operator],
                    purpose: "a session definition: the platform's signed push, or the operator's import") { request, context in
            let session = try context.parameters.require("session")
            let body = try await request.decodeStrict(DefinitionBody.self, limit: Self.maximumDefinitionBytes) { why in
                Refusal(.badRequest, code: "bad-definition-request", chinese: "场次定义请求格式错误。",
                        english: "body must be {\"definition\": base64, \"signature\"?: base64 CMS, \"lot\"?: id}: \(why)")
            }
            guard let bytes = Data(base64Encoded: body.definition) else {
                throw Refusal(.badRequest, code: "bad-definition-request", chinese: "场次定义编码错误。", english: "definition is not base64")
            }
            var signature: Data?
            if let text = body.signature {
                guard let decoded = Data(base64Encoded: text) else {
                    throw Refusal(.badRequest, code: "bad-definition-request", chinese: "签名编码错误。", english: "signature is not base64")
                }
                signature = decoded
            }
            let caller = who(context)
            let answer = try await registry.importDefinition(session: session, lot: body.lot, bytes: bytes, signature: signature,
                                                             requireSignature: isPlatform(context), actor: caller)
            return try Response.json(answer, status: answer.unchanged ? .ok : .created)
        }
        routes.get("/v1/sessions", roles: [.operator, .supervisor, .platform], purpose: "the room's sessions and their phases") { _, _ in
            try Response.json(await registry.summaries())
        }
        routes.get("/v1/sessions/:session", roles: [.operator, .supervisor], purpose: "one session: phase, progress, result") { _, context in
            let id = try context.parameters.require("session")
            return try Response.json(try await view(id))
        }
        routes.post("/v1/sessions/:session/commands", roles: [.station, .operator],
                    purpose: "a command of the session (docs/formats.md, Events); a station acts only for its own member") { request, context in
            let id = try context.parameters.require("session")
            let bytes = Array(buffer: try await request.body.collect(upTo: Self.maximumCommandBytes))
            if let problem = StrictJSON.problem(in: bytes) { throw Self.badCommand(problem) }
            let caller = who(context)
            let body: CommandBody
            do {
                body = try JSONDecoder().decode(CommandBody.self, from: Data(bytes))
            } catch {
                throw Self.badCommand("\(error)")
            }
            try Self.checkRequestID(body.requestID)
            let answer = try await registry.submit(session: id, command: body.command, sender: .operator(who: caller), requestID: body.requestID)
            return try Response.json(answer, status: answer.repeated ? .ok : .created)
        }
    }

    /// The live channel: Server-Sent Events, one `session` event (`{session, sequence, phase}`)
    /// after every accepted command, first one at once; a comment line every 15 s.
    func registerStreamRoutes(on routes: APIRouteTable) {
        routes.get("/v1/sessions/:session/stream", roles: [.station, .operator, .supervisor],
                   purpose: "live updates of a session (Server-Sent Events)") { _, context in
            let id = try context.parameters.require("session")
            let live = try await registry.state(id)
            let first = SessionUpdates.Update(session: id, sequence: live.session.events.count, phase: live.session.state.phase.rawValue)
            return LiveChannel.response(first: Self.event(first), updates: registry.updates.stream(session: id)) { update in
                update.map(Self.event) ?? ": keep-alive\n\n"
            }
        }
        routes.get("/v1/station/session", roles: [.station, .operator, .supervisor],
                   purpose: "the session the room is running now (the newest that has not ended)") { _, _ in
            guard let id = await registry.current() else {
                throw Refusal(.notFound, code: "no-session", chinese: "当前没有进行中的评审，请等待操作员开始。",
                              english: "no session is running in this room")
            }
            return try Response.json(["session": id])
        }
    }

    static func event(_ update: SessionUpdates.Update) -> String {
        let data = (try? JSONEncoder().encode(update)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: session\ndata: \(data)\n\n"
    }

    /// The station's routes (HTTPS only): its commands, its drafts, its view.
    func registerStationRoutes(on routes: APIRouteTable) {
        routes.post("/v1/sessions/:session/station/commands", roles: [.station],
                    purpose: "a command of the member checked in at this station") { request, context in
            let id = try context.parameters.require("session")
            guard let station = context.peer?.stationID else { throw CheckInService.notAStation }
            let bytes = Array(buffer: try await request.body.collect(upTo: Self.maximumCommandBytes))
            if let problem = StrictJSON.problem(in: bytes) { throw Self.badCommand(problem) }
            try await StationControlRoutes.refuseIfLocked(store, station: station)
            let member = try await seatedMember(session: id, station: station)
            var command: Command
            var requestID: String?
            if Self.isShortCheckIn(bytes) {
                let body: StationCheckInBody
                do { body = try JSONDecoder().decode(StationCheckInBody.self, from: Data(bytes)) } catch { throw Self.badCommand("\(error)") }
                requestID = body.requestID
                command = .checkIn(member: body.command.checkIn.member, certificateSubject: "", rosterMatched: false,
                                   authorizationLetter: body.command.checkIn.authorizationLetter)
            } else {
                let body: CommandBody
                do { body = try JSONDecoder().decode(CommandBody.self, from: Data(bytes)) } catch { throw Self.badCommand("\(error)") }
                requestID = body.requestID
                command = body.command
            }
            try Self.checkRequestID(requestID)
            let sender = CommandSender.station(id: station, member: member)
            // Before anything is looked up for it: a station acts for its own member only.
            if let denial = CommandPolicy.check(command, from: sender, leader: nil), denial.code == "not-checked-in-here" {
                throw Refusal(.conflict, code: denial.code, chinese: denial.chinese, english: denial.english)
            }
            if let denial = CommandPolicy.check(command, from: sender, leader: nil), denial.code != "leader-only" {
                AccessMiddleware.deny(refusals, request: request, context: context, who: context.peer?.description ?? station,
                                      reason: denial.english, code: denial.code)
                throw Refusal(.forbidden, code: denial.code, chinese: denial.chinese, english: denial.english)
            }
            command = try await completed(command, session: id, station: station)
            let answer = try await registry.submit(session: id, command: command, sender: sender, requestID: requestID)
            return try Response.json(answer, status: answer.repeated ? .ok : .created)
        }
        routes.get("/v1/sessions/:session/station", roles: [.station],
                   purpose: "what this station's expert sees: phase, own drafts and sheets, what is asked of them") { _, context in
            let id = try context.parameters.require("session")
            guard let station = context.peer?.stationID else { throw CheckInService.notAStation }
            let member = try await seatedMember(session: id, station: station)
            return try Response.json(try await stationView(id, station: station, member: member))
        }
        routes.add(.put, "/v1/sessions/:session/drafts/:bidder", roles: [.station],
                   purpose: "save the station's expert's score draft for one bidder (every change)") { request, context in
            let id = try context.parameters.require("session")
            let bidder = try context.parameters.require("bidder")
            guard let station = context.peer?.stationID else { throw CheckInService.notAStation }
            guard let member = try await seatedMember(session: id, station: station) else {
                throw Refusal(.conflict, code: "not-checked-in-here", chinese: "本终端尚无专家签到，请先完成签到。",
                              english: "nobody is checked in at station \(station) in session \(id)")
            }
            try await StationControlRoutes.refuseIfLocked(store, station: station)
            let body = try await request.decodeStrict(DraftBody.self, limit: 16 * 1024) { why in
                Refusal(.badRequest, code: "bad-draft", chinese: "评分草稿格式错误，请刷新页面后重试。",
                        english: "body must be {\"scores\": {criterion: \"value\"}}: \(why)")
            }
            let live = try await registry.state(id)
            let state = live.session.state
            guard state.lot.bidders.contains(where: { $0.id == bidder }) else {
                throw Refusal(.notFound, code: "unknown-bidder", chinese: "没有投标人 \(bidder)。", english: "lot has no bidder \(bidder)")
            }
            guard state.phase == .scoring, !state.submitted.contains(member) else {
                throw Refusal(.conflict, code: "scores-locked",
                              chinese: state.submitted.contains(member) ? "您的评分已提交，不能再修改草稿。" : "当前阶段不能评分。",
                              english: "drafts are saved only while scoring and before submitting (phase \(state.phase.rawValue))")
            }
            var problems: [DraftProblem] = []
            var kept: [String: String] = [:]
            for (criterion, text) in body.scores.sorted(by: { $0.key < $1.key }) {
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard trimmed.utf8.count <= 24, let value = Fraction(decimalText: trimmed) else {
                    problems.append(DraftProblem(criterion: criterion, error: "score-not-a-number",
                                                 message: "“\(trimmed.prefix(24))”不是有效的分数，请输入数字（最多4位小数）。",
                                                 detail: "not a decimal number"))
                    continue
                }
                if let problem = state.scoreProblem(criterion: criterion, value: value) {
                    problems.append(DraftProblem(criterion: criterion, error: problem.code, message: problem.chineseMessage,
                                                 detail: problem.englishMessage))
                    continue
                }
                kept[criterion] = trimmed
            }
            guard problems.isEmpty else {
                return try Response.json(DraftAnswer(saved: false, savedAt: nil, problems: problems), status: .unprocessableContent)
            }
            let saved = try await store.saveScoreDraft(session: id, member: member, bidder: bidder, station: station, scores: kept)
            return try Response.json(DraftAnswer(saved: true, savedAt: saved / 1_000_000, problems: []))
        }
    }

    struct DraftProblem: Encodable {
        var criterion: String
        var error: String
        var message: String
        var detail: String
    }

    struct DraftAnswer: Encodable {
        var saved: Bool
        /// Milliseconds since the epoch.
        var savedAt: Int64?
        var problems: [DraftProblem]
    }

    static func checkRequestID(_ id: String?) throws {
        if let id, !SigningChallenge.isPlainIdentifier(id) || id.utf8.count > 64 {
            throw badCommand("requestID must be 1–64 printable ASCII characters without quotes or backslashes")
        }
    }

    /// `{"command": {"checkIn": …}}` without the fields roomd fills in itself.
    static func isShortCheckIn(_ bytes: [UInt8]) -> Bool {
        guard case .object(let top)? = try? CanonicalJSON(parsing: bytes, decimals: true),
              case .object(let command)? = top["command"], case .object(let fields)? = command["checkIn"]
        else { return false }
        return fields["certificateSubject"] == nil
    }

    /// The roster entry checked in at `station` in `session`, if any.
    func seatedMember(session: String, station: String) async throws -> String? {
        try await store.checkIns(session: session).first { $0.station == station }?.entry
    }

    /// Fills in what roomd knows better than the station: the check-in's
    /// verified certificate, and whether the commitment letter was signed.
    func completed(_ command: Command, session: String, station: String) async throws -> Command {
        switch command {
        case .checkIn(let member, _, _, let letter):
            guard let signed = try await store.acceptedSignature(session: session, entry: member, station: station,
                                                                 purpose: SigningPurpose.checkIn.rawValue) else {
                throw Refusal(.conflict, code: "not-checked-in-here", chinese: "请先用云签名完成签到。",
                              english: "no accepted check-in signature of \(member) at \(station)")
            }
            // The subject as people see it: the signer's name and the certificate's fingerprint (never an ID number).
            let subject = "\(signed.signerName ?? "?") sha256:\(signed.fingerprint ?? "?")"
            return .checkIn(member: member, certificateSubject: subject, rosterMatched: true, authorizationLetter: letter)
        case .signCommitment(let member, let read, let commitment, let noConflict):
            // The commitment letter and no-conflict declaration are signed with the cloud certificate.
            if commitment || noConflict {
                guard try await store.acceptedSignature(session: session, entry: member, station: station,
                                                        purpose: SigningPurpose.commitmentLetter.rawValue) != nil else {
                    throw Refusal(.conflict, code: "commitment-not-signed",
                                  chinese: "承诺书和回避声明须先用云签名签署，请扫描二维码完成签署。",
                                  english: "no accepted commitment-letter signature of \(member) at \(station)")
                }
            }
            return .signCommitment(member: member, disciplineRead: read, commitmentSigned: commitment, noConflictDeclared: noConflict)
        case .submitScores(let member):
            // Submitting is signed: the member's cloud signature over the hash of their entered sheets.
            let live = try await registry.state(session)
            guard let document = Self.sheetsSHA256(live.session.state, member: member),
                  try await store.acceptedSignature(session: session, entry: member, station: station,
                                                    purpose: SigningPurpose.scoreSheet.rawValue, documentSHA256: document) != nil
            else {
                throw Refusal(.conflict, code: "score-sheets-not-signed", chinese: "提交评分前请用云签名签署您的评分表（扫描二维码）。",
                              english: "no accepted score-sheet signature of \(member) at \(station) over the sheets as entered")
            }
            return command
        case .sign(let member, _):
            // The member signs the fixed report with the cloud certificate; the event names that signature.
            let live = try await registry.state(session)
            guard let document = try await reportSHA256(session, live),
                  let signed = try await store.acceptedSignature(session: session, entry: member, station: station,
                                                                 purpose: SigningPurpose.report.rawValue, documentSHA256: document)
            else {
                throw Refusal(.conflict, code: "report-not-signed", chinese: "请先用云签名签署评审报告（扫描二维码），再确认签字。",
                              english: "no accepted report signature of \(member) at \(station) over the current report")
            }
            return .sign(member: member, signature: "signature:\(signed.id) sha256:\(document) signer:\(signed.fingerprint ?? "?")")
        default:
            return command
        }
    }

    // MARK: Views

    struct OperatorView: Encodable {
        var summary: SessionRegistry.Summary
        var members: [MemberProgress]
        var leader: String?
        var seats: [String: String]
        /// The engine's canonical result (docs/formats.md, Results), once scores are locked.
        var result: EvaluationResult?
    }

    struct MemberProgress: Encodable {
        var id: String
        var name: String
        var role: String
        var station: String?
        var checkedIn: Bool
        var commitmentSigned: Bool
        var submitted: Bool
        var signed: String?
    }

    func view(_ id: String) async throws -> OperatorView {
        let live = try await registry.state(id)
        let state = live.session.state
        let seats = Dictionary(try await store.checkIns(session: id).map { ($0.entry, $0.station) }, uniquingKeysWith: { first, _ in first })
        let members = state.members.map { m in
            MemberProgress(id: m.id, name: m.name, role: m.role.rawValue, station: seats[m.id], checkedIn: state.checkIns[m.id] != nil,
                           commitmentSigned: state.commitments.contains(m.id), submitted: state.submitted.contains(m.id),
                           signed: state.signatures[m.id]?.kind.rawValue)
        }
        let locked: Set<Phase> = [.review, .ranking, .report, .signing, .closed, .reevaluation]
        let result = locked.contains(state.phase) ? state.result() : nil
        return OperatorView(summary: await registry.summary(live), members: members, leader: state.leader,
                            seats: seats, result: result)
    }

    struct StationView: Encodable {
        var session: String
        var station: String
        var member: String?
        var memberName: String?
        var phase: String
        var leader: String?
        var checkedIn: Bool
        var commitmentSigned: Bool
        var voted: Bool
        var submitted: Bool
        var criteria: [CriterionView]
        var bidders: [BidderView]
        /// bidder → criterion → value text: the newest draft.
        var drafts: [String: [String: String]]
        /// bidder → criterion → value: the sheets entered with enterScoreSheet.
        var sheets: [String: [String: String]]
        var disciplineMinimumSeconds: Int
        var members: [MemberView]
        var tender: Bool
        var qualificationItems: [ItemView]
        var complianceItems: [ItemView]
        /// The member's own marks: "bidder|item" → passed.
        var qualificationMarks: [String: Bool]
        var complianceMarks: [String: Bool]
        /// Everyone's scores, flags and disagreements: only once every member has submitted.
        var summary: ScoreSummary?
        /// The report being signed: its SHA-256 (what the cloud signature signs) and the ranking.
        var reportSHA256: String?
        var ranking: [ReportBidder]?
        /// The member's own signing state (signed, dissented) and whether every member has signed or dissented.
        var signature: String?
        var everyoneSigned: Bool
        /// What submitting the scores signs (the member's entered sheets, canonical JSON, SHA-256).
        var sheetsSHA256: String?
        /// Written clarifications of the session: question, deadline, answer (51).
        var clarifications: [ClarificationView]
    }

    struct ClarificationView: Encodable {
        var id: String
        var bidder: String
        var question: String
        var deadline: Int64
        var answer: String?
        var signedBy: String?
    }

    struct MemberView: Encodable {
        var id: String
        var name: String
        var role: String
    }

    struct ItemView: Encodable {
        var id: String
        var name: String
    }

    /// What a member's cloud signature on submitting the scores signs: the SHA-256 of the canonical
    /// JSON of the member's entered sheets, `{bidder: {criterion: exact value}}` (docs/formats.md).
    static func sheetsSHA256(_ state: SessionState, member: String) -> String? {
        var sheets: [String: CanonicalJSON] = [:]
        for bidder in state.bidders {
            guard let sheet = state.sheet(member: member, bidder: bidder.id) else { continue }
            sheets[bidder.id] = .object(sheet.mapValues { .string($0.description) })
        }
        guard !sheets.isEmpty, let bytes = try? CanonicalJSON.object(sheets).canonicalBytes() else { return nil }
        return Digest.sha256Hex(bytes)
    }

    /// What a member's cloud signature on the report signs: the SHA-256 of the fixed report
    /// version's body PDF (docs/formats.md, "Sessions in the room").
    func reportSHA256(_ id: String, _ live: SessionRegistry.Live) async throws -> String? {
        try await reports.body(session: id, state: live.session.state, definition: live.definition)?.sha256
    }

    struct CriterionView: Encodable {
        var id: String
        var name: String
        var kind: String
        var maximum: String
        var allowedValues: [String]?
    }

    struct BidderView: Encodable {
        var id: String
        var name: String
        var inPlay: Bool
    }

    func stationView(_ id: String, station: String, member: String?) async throws -> StationView {
        let live = try await registry.state(id)
        let state = live.session.state
        var drafts: [String: [String: String]] = [:]
        var sheets: [String: [String: String]] = [:]
        if let member {
            drafts = try await store.scoreDrafts(session: id, member: member).mapValues(\.scores)
            for bidder in state.lot.bidders {
                if let sheet = state.sheet(member: member, bidder: bidder.id) {
                    sheets[bidder.id] = sheet.mapValues { $0.exactDecimal }
                }
            }
        }
        return StationView(
            session: id, station: station, member: member, memberName: member.flatMap { m in state.members.first { $0.id == m }?.name },
            phase: state.phase.rawValue, leader: state.leader,
            checkedIn: member.map { state.checkIns[$0] != nil } ?? false,
            commitmentSigned: member.map { state.commitments.contains($0) } ?? false,
            voted: member.map { state.leaderVotes[$0] != nil } ?? false,
            submitted: member.map { state.submitted.contains($0) } ?? false,
            criteria: state.scoredCriteria.map {
                CriterionView(id: $0.id, name: $0.name, kind: $0.kind.rawValue, maximum: $0.maximum.exactDecimal,
                              allowedValues: $0.allowedValues?.map(\.exactDecimal))
            },
            bidders: state.lot.bidders.sorted { $0.id < $1.id }.map { BidderView(id: $0.id, name: $0.name, inPlay: state.invalid[$0.id] == nil) },
            drafts: drafts, sheets: sheets, disciplineMinimumSeconds: disciplineMinimumSeconds,
            members: state.members.map { MemberView(id: $0.id, name: $0.name, role: $0.role.rawValue) },
            tender: state.method == .publicTender || state.method == .invitedTender,
            qualificationItems: state.lot.qualificationItems.map { ItemView(id: $0.id, name: $0.name) },
            complianceItems: state.lot.complianceItems.map { ItemView(id: $0.id, name: $0.name) },
            qualificationMarks: member.map { m in state.panelQualification.compactMapValues { $0[m]?.passed } } ?? [:],
            complianceMarks: member.map { m in state.compliance.compactMapValues { $0[m]?.passed } } ?? [:],
            summary: Self.summaryPhases.contains(state.phase) ? state.scoreSummary() : nil,
            reportSHA256: [.report, .signing, .closed].contains(state.phase) ? try await reportSHA256(id, live) : nil,
            ranking: [.ranking, .report, .signing, .closed].contains(state.phase) ? state.result().current.bidders : nil,
            signature: member.flatMap { state.signatures[$0]?.kind.rawValue },
            everyoneSigned: state.members.allSatisfy { state.signatures[$0.id] != nil },
            sheetsSHA256: member.flatMap { Self.sheetsSHA256(state, member: $0) },
            clarifications: state.clarifications.values.sorted { $0.requestedAt < $1.requestedAt }.map {
                ClarificationView(id: $0.id, bidder: $0.bidder, question: $0.question, deadline: $0.deadline, answer: $0.answer,
                                  signedBy: $0.signedBy)
            })
    }

    static let summaryPhases: Set<Phase> = [.review, .ranking, .report, .signing, .closed, .reevaluation]

    let disciplineMinimumSeconds: Int
    let reports: SessionReports

    /// The report PDFs: the body members sign, and the signed report once the leader confirmed.
    func registerReportRoutes(on routes: APIRouteTable) {
        routes.get("/v1/sessions/:session/report.pdf", roles: [.station, .operator, .supervisor],
                   purpose: "the fixed report's body (what each member's cloud signature signs)") { _, context in
            let id = try context.parameters.require("session")
            let live = try await registry.state(id)
            guard let body = try await reports.body(session: id, state: live.session.state, definition: live.definition) else {
                throw Refusal(.conflict, code: "report-not-ready", chinese: "排序确认后才生成评审报告。",
                              english: "the report exists once the ranking is confirmed (phase \(live.session.state.phase.rawValue))")
            }
            return Self.pdf(body, name: "\(id)-report-v\(live.session.state.reportVersion).pdf")
        }
        routes.get("/v1/sessions/:session/report-signed.pdf", roles: [.operator, .supervisor],
                   purpose: "the signed report: body and signature page, once the leader confirmed") { _, context in
            let id = try context.parameters.require("session")
            let live = try await registry.state(id)
            guard let signed = try await reports.signed(session: id, state: live.session.state, definition: live.definition) else {
                throw Refusal(.conflict, code: "report-not-confirmed", chinese: "评审组长确认报告后才能生成签署版评审报告。",
                              english: "the signed report exists once the leader confirmed it (phase \(live.session.state.phase.rawValue))")
            }
            return Self.pdf(signed, name: "\(id)-report-v\(live.session.state.reportVersion)-signed.pdf")
        }
    }

    static func pdf(_ rendered: SessionReports.Rendered, name: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/pdf", .contentDisposition: "inline; filename=\"\(name)\"",
                                        HTTPField.Name("Roomd-SHA256")!: rendered.sha256, .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: rendered.bytes)))
    }
}

extension Fraction {
    /// The value as decimal text for a form field ("35", "12.5"); four places, rounded, if it does not terminate.
    var exactDecimal: String { display(decimals: min(decimalPlaces ?? 4, 8)) }
}
