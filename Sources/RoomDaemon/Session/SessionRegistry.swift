import Canonical
import Evaluation
import Foundation
import Identity
import Logging
import RoomConfig
import Store
import Synchronization

/// The room's evaluation sessions, live: each session's definition and its
/// engine state, rebuilt at start by replaying the stored commands.
///
/// A command is checked by the engine on a copy of the state, stored (event
/// row and ledger entry in one transaction), and only then becomes the
/// session's state: a command that fails anywhere changes nothing, and a
/// command answered as accepted is on disk. Commands pass one at a time
/// (``gate``): the engine numbers events, and two commands must not both
/// take the next number.
actor SessionRegistry {
    struct Live {
        var stored: StoredDefinition
        var definition: SessionDefinition
        var session: EvaluationSession
        /// Request ids the senders gave → the event they produced (a repeat returns it again).
        var requests: [String: Event]
    }

    private var live: [String: Live] = [:]
    /// Sessions whose stored commands the engine refused at start: read-only, said loudly.
    private var broken: [String: String] = [:]
    /// One command (or import) at a time, across the awaits of storing it.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    let store: RoomStore
    let ledger: RoomLedger
    let logger: Logger
    let platformVerifier: SignatureVerifier?
    /// Notified after each accepted command (the live channel of the pages).
    let updates = SessionUpdates()

    init(store: RoomStore, ledger: RoomLedger, platformTrust: TrustStore?, logger: Logger) {
        self.store = store
        self.ledger = ledger
        self.logger = logger
        platformVerifier = platformTrust.map { SignatureVerifier(trust: $0, revocation: RevocationPolicy(missingCRL: .accept)) }
    }

    // MARK: Start

    /// Replays every stored session through the engine. A session the engine
    /// refuses is kept out of service (its commands are evidence; nothing is
    /// changed) and reported; the others resume exactly where they were.
    func load() async throws -> (sessions: Int, broken: [String: String]) {
        for stored in try await store.sessionDefinitions() {
            do {
                let definition = try Self.decodeDefinition(stored.bytes)
                let rows = try await store.sessionEvents(session: stored.session)
                var events: [Event] = []
                var requests: [String: Event] = [:]
                for row in rows {
                    let event = try CanonicalJSON.decode(Event.self, from: row.event)
                    events.append(event)
                    if let request = row.requestID { requests[request] = event }
                }
                let session = try EvaluationSession.replay(definition: definition, lot: stored.lot, events: events)
                live[stored.session] = Live(stored: stored, definition: definition, session: session, requests: requests)
                logger.info("session resumed", metadata: [
                    "session": .string(stored.session), "events": .string(String(events.count)),
                    "phase": .string(session.state.phase.rawValue),
                ])
            } catch {
                broken[stored.session] = "\(error)"
                logger.critical("session cannot be replayed; it stays read-only until resolved / 评审场次无法恢复", metadata: [
                    "session": .string(stored.session), "error": .string("\(error)"),
                ])
            }
        }
        return (live.count, broken)
    }

    static func decodeDefinition(_ bytes: Data) throws -> SessionDefinition {
        if let problem = StrictJSON.problem(in: Array(bytes)) { throw DefinitionProblem(english: "not strict JSON: \(problem)") }
        do {
            return try JSONDecoder().decode(SessionDefinition.self, from: bytes)
        } catch {
            throw DefinitionProblem(english: "not a session definition (docs/formats.md): \(error)")
        }
    }

    struct DefinitionProblem: Error, CustomStringConvertible {
        var english: String
        var description: String { english }
    }

    // MARK: Definitions

    typealias ImportAnswer = SessionImported
    typealias Violation = SessionViolation

    /// Imports a definition. `signature`: detached CMS over the exact bytes,
    /// required when `requireSignature` (the platform pushes), verified against
    /// the platform trust folder whenever present.
    func importDefinition(session: String, lot: String?, bytes: Data, signature: Data?, requireSignature: Bool,
                          actor: String) async throws -> ImportAnswer {
        guard SigningChallenge.isPlainIdentifier(session) else {
            throw Refusal(.badRequest, code: "bad-session-id", chinese: "场次编号含有非法字符。",
                          english: "session ids are printable ASCII without quotes, slashes or backslashes, at most 128 bytes")
        }
        // `opening:<id>` names an opening's sealed package (PackageKey): a session may not take it.
        guard PackageKey.openingID(session) == nil else {
            throw Refusal(.badRequest, code: "bad-session-id", chinese: "场次编号不能以 opening: 开头（该前缀用于开标封包）。",
                          english: "session ids may not begin with \(PackageKey.openingPrefix): it names openings' packages")
        }
        let definition: SessionDefinition
        do {
            definition = try Self.decodeDefinition(bytes)
        } catch let problem as DefinitionProblem {
            throw Refusal(.unprocessableContent, code: "definition-unreadable", chinese: "评审场次定义无法读取，请向政府采购云平台核实后重新导入。",
                          english: problem.english)
        }
        let lotID: String
        if let lot {
            guard definition.lot(lot) != nil else {
                throw Refusal(.unprocessableContent, code: "lot-unknown", chinese: "场次定义中没有包号 \(lot)。",
                              english: "the definition has no lot \(lot); it has \(definition.lots.map(\.id).joined(separator: ", "))")
            }
            lotID = lot
        } else {
            guard definition.lots.count == 1, let only = definition.lots.first else {
                throw Refusal(.unprocessableContent, code: "lot-required", chinese: "场次定义包含多个包，请指定包号。",
                              english: "the definition has \(definition.lots.count) lots (\(definition.lots.map(\.id).joined(separator: ", "))); name one")
            }
            lotID = only.id
        }
        var signer: (fingerprint: String, name: String?)?
        if let signature {
            signer = try await PlatformSignature.verify(platformVerifier, signature: signature, over: bytes, document: "场次定义",
                                                        subject: "session \(session)", logger: logger)
        } else if requireSignature {
            throw Refusal(.badRequest, code: "definition-signature-required", chinese: "政府采购云平台推送的场次定义必须附带签名。",
                          english: "a pushed definition must carry a detached CMS signature")
        }
        await acquire()
        defer { release() }
        do {
            let outcome = try await store.importDefinition(
                session: session, lot: lotID, bytes: bytes, source: signer == nil ? "operator" : "platform", signature: signature,
                signerFingerprint: signer?.fingerprint, signerName: signer?.name, actor: actor)
            let stored: StoredDefinition
            var unchanged = false
            switch outcome {
            case .sessionStarted(let events):
                throw Refusal(.conflict, code: "session-started",
                              chinese: "场次 \(session) 已开始评审（已记录 \(events) 项操作），定义不能再更改。",
                              english: "session \(session) has \(events) accepted commands; its definition can no longer change")
            case .unchanged(let existing):
                stored = existing
                unchanged = true
            case .stored(let new):
                stored = new
            }
            let engine = try EvaluationSession(definition: definition, lot: lotID)
            live[session] = Live(stored: stored, definition: definition, session: engine, requests: [:])
            broken[session] = nil
            logger.notice("session definition imported", metadata: [
                "session": .string(session), "lot": .string(lotID), "sha256": .string(stored.sha256),
                "source": .string(stored.source), "unchanged": .string("\(unchanged)"),
            ])
            return ImportAnswer(session: session, lot: lotID, definition: stored.id, sha256: stored.sha256, source: stored.source,
                                signer: stored.signerName, unchanged: unchanged,
                                violations: definition.violations(lot: lotID).map {
                                    Violation(code: $0.code, message: $0.chineseMessage, detail: $0.englishMessage)
                                })
        }
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the turn to the next waiter, or frees it.
    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }

    // MARK: Commands

    struct CommandAnswer: Encodable, Sendable {
        var session: String
        var sequence: Int
        var command: String
        var phase: String
        /// True when this answers a repeat of an earlier request (nothing new was stored).
        var repeated: Bool
    }

    /// Checks, stores and applies one command. Throws a ``Refusal`` (and
    /// changes nothing) when the sender may not send it or the rules refuse it.
    func submit(session id: String, command: Command, sender: CommandSender, requestID: String?) async throws -> CommandAnswer {
        await acquire()
        defer { release() }
        do {
            guard var entry = live[id] else { throw unknownSession(id) }
            if let requestID, let earlier = entry.requests[requestID] {
                guard earlier.command == command else {
                    throw Refusal(.conflict, code: "request-id-reused", chinese: "请求编号已用于另一项操作，请刷新页面后重试。",
                                  english: "request id \(requestID) was used for a different command (sequence \(earlier.sequence))")
                }
                return CommandAnswer(session: id, sequence: earlier.sequence, command: command.name,
                                     phase: entry.session.state.phase.rawValue, repeated: true)
            }
            if let denial = CommandPolicy.check(command, from: sender, leader: entry.session.state.leader) {
                throw Refusal(.forbidden, code: denial.code, chinese: denial.chinese, english: denial.english)
            }
            let before = entry.session.state.phase
            // The engine refuses time going backwards; a wall clock stepped back
            // (NTP) must not block the session, so an event is never earlier than the last.
            let now = store.clock.now().nanoseconds / 1_000_000
            let at = max(now, entry.session.state.lastEventAt ?? now)
            var next = entry.session
            let event: Event
            do {
                event = try next.handle(command, at: at, actor: sender.actor)
            } catch {
                throw Refusal(.conflict, error)
            }
            try await store.appendSessionEvent(session: id, sequence: event.sequence, atMilliseconds: event.at, actor: event.actor,
                                               command: command.name, event: try CanonicalJSON.encode(event), requestID: requestID)
            entry.session = next
            if let requestID { entry.requests[requestID] = event }
            live[id] = entry
            let after = next.state.phase
            logger.info("session command accepted", metadata: [
                "session": .string(id), "sequence": .string(String(event.sequence)), "command": .string(command.name),
                "actor": .string(sender.actor), "phase": .string(after.rawValue),
            ])
            if after != before, Self.milestones.contains(after) {
                await milestone(session: id, phase: after)
            }
            updates.publish(session: id, sequence: event.sequence, phase: after.rawValue)
            return CommandAnswer(session: id, sequence: event.sequence, command: command.name, phase: after.rawValue, repeated: false)
        }
    }

    /// Phases whose arrival forces a signed checkpoint: scores locked (review),
    /// ranking confirmed (report), report signed and session closed, or ended otherwise.
    static let milestones: Set<Phase> = [.review, .report, .closed, .failed, .halted]

    private func milestone(session: String, phase: Phase) async {
        do {
            _ = try await runBlocking { [ledger] in try ledger.checkpoint(reason: "session \(session): \(phase.rawValue)", force: true) }
        } catch {
            // The command is stored; the periodic checkpoint covers it if this one failed.
            logger.error("milestone checkpoint failed / 里程碑检查点签名失败", metadata: [
                "session": .string(session), "phase": .string(phase.rawValue), "error": .string("\(error)"),
            ])
        }
    }

    private func unknownSession(_ id: String) -> Refusal {
        if let why = broken[id] {
            return Refusal(.serviceUnavailable, code: "session-replay-failed",
                           chinese: "场次 \(id) 的记录无法恢复，已暂停操作；请联系代理机构管理员。",
                           english: "session \(id) could not be replayed at start: \(why)")
        }
        return Refusal(.notFound, code: "session-unknown", chinese: "没有场次 \(id)，请先导入场次定义。",
                       english: "no session \(id); import its definition first")
    }

    // MARK: Reading

    func state(_ id: String) throws -> (Live) {
        guard let entry = live[id] else { throw unknownSession(id) }
        return entry
    }

    typealias Summary = SessionSummary

    /// The session a station's pages follow: the most recently defined one that has not ended,
    /// else the most recent one (its stations then say that it has ended).
    func current() -> String? {
        let ended: Set<Phase> = [.closed, .failed, .halted]
        let newest = { (a: Live, b: Live) in a.stored.id < b.stored.id }
        return (live.values.filter { !ended.contains($0.session.state.phase) }.max(by: newest) ?? live.values.max(by: newest))?.stored.session
    }

    func summaries() -> [Summary] {
        var out = live.keys.sorted().map { id in summary(live[id]!) }
        for (id, why) in broken.sorted(by: { $0.key < $1.key }) {
            out.append(Summary(session: id, lot: "", project: "", projectName: "", method: "", phase: "unavailable", events: 0,
                               definitionSHA256: "", source: "",
                               violations: [Violation(code: "session-replay-failed", message: "场次记录无法恢复", detail: why)]))
        }
        return out
    }

    func summary(_ entry: Live) -> Summary {
        let state = entry.session.state
        return Summary(session: entry.stored.session, lot: entry.stored.lot, project: entry.definition.project.number,
                       projectName: entry.definition.project.name, method: state.method.rawValue, phase: state.phase.rawValue,
                       events: entry.session.events.count, definitionSHA256: entry.stored.sha256, source: entry.stored.source,
                       violations: entry.definition.violations(lot: entry.stored.lot).map {
                           Violation(code: $0.code, message: $0.chineseMessage, detail: $0.englishMessage)
                       })
    }
}

/// Who is waiting for news of which session (the live channel): each waiter
/// gets the sequence number and phase after every accepted command.
final class SessionUpdates: Sendable {
    struct Update: Sendable, Encodable {
        var session: String
        var sequence: Int
        var phase: String
    }

    private let subscribers = UpdateSubscribers<Update>()

    func publish(session: String, sequence: Int, phase: String) {
        subscribers.send(Update(session: session, sequence: sequence, phase: phase))
    }

    /// Every update of every session, until ``unsubscribe(_:)`` (background services).
    func subscribe(_ handler: @escaping @Sendable (Update) -> Void) -> Int { subscribers.add(handler) }

    func unsubscribe(_ id: Int) { subscribers.remove(id) }

    /// A stream of the updates of `session` until the consumer stops, with a nil
    /// every `keepAlive` (a comment line keeps proxies and the browser from
    /// giving up on a quiet stream).
    func stream(session: String, keepAlive: Duration = .seconds(15)) -> AsyncStream<Update?> {
        // A session's own updates, and the room's ("*": a station locked or unlocked, a message).
        subscribers.stream(keepAlive: keepAlive) { $0.session == session || $0.session == "*" }
    }
}


/// The handlers waiting for updates of one kind (a session's, an opening's), each until removed.
final class UpdateSubscribers<Update: Sendable>: Sendable {
    private let state = Mutex<(next: Int, handlers: [Int: @Sendable (Update) -> Void])>((0, [:]))

    func add(_ handler: @escaping @Sendable (Update) -> Void) -> Int {
        state.withLock { state in
            state.next += 1
            state.handlers[state.next] = handler
            return state.next
        }
    }

    func remove(_ id: Int) { state.withLock { _ = $0.handlers.removeValue(forKey: id) } }

    func send(_ update: Update) {
        let handlers = state.withLock { Array($0.handlers.values) }
        for handler in handlers { handler(update) }
    }

    /// The updates `wanted` picks, until the consumer stops, with a nil every `keepAlive` (a
    /// comment line keeps proxies and the browser from giving up on a quiet stream).
    func stream(keepAlive: Duration, wanted: @escaping @Sendable (Update) -> Bool) -> AsyncStream<Update?> {
        let (stream, continuation) = AsyncStream.makeStream(of: Update?.self, bufferingPolicy: .bufferingNewest(16))
        let id = add { update in
            if wanted(update) { continuation.yield(update) }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                continuation.yield(nil)
            }
        }
        continuation.onTermination = { [self] _ in
            remove(id)
            ticker.cancel()
        }
        return stream
    }
}
