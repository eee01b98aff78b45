public import Evaluation

/// The opening (开标): a pure function of (definition, ordered events) → state, like the
/// evaluation engine. ``handle(_:at:actor:)`` checks a command; a valid one becomes an event and is
/// applied, an invalid one throws ``OpeningError`` and changes nothing. ``replay`` rebuilds the
/// same state from stored events.
///
/// ```
/// SIGN_IN ──startOpening (≥ deadline)──▶ DECRYPTION ──closeDecryption (window over, or all done)──▶
///         CONFIRMATION (record read out; confirm / object) ──concludeOpening──▶ CONCLUDED
/// ```
public struct OpeningSession: Sendable {
    public private(set) var state: OpeningState
    public private(set) var events: [OpeningEvent] = []

    public init(definition: OpeningDefinition) throws(OpeningError) {
        if let problem = definition.violations().first { throw .invalidDefinition(problem) }
        guard let deadline = definition.deadline else { throw .invalidDefinition(.deadline(definition.bidDeadline)) }
        state = OpeningState(definition: definition, deadline: deadline)
    }

    /// Validates `command`; if allowed, records it as the next event and returns it.
    @discardableResult
    public mutating func handle(_ command: OpeningCommand, at: Instant, actor: String) throws(OpeningError) -> OpeningEvent {
        let event = OpeningEvent(sequence: state.lastSequence + 1, at: at, actor: actor, command: command)
        var next = state
        try next.apply(event)
        state = next
        events.append(event)
        return event
    }

    /// Rebuilds an opening from stored events; throws on the first event the rules reject.
    public static func replay(definition: OpeningDefinition, events: [OpeningEvent]) throws(OpeningError) -> OpeningSession {
        var session = try OpeningSession(definition: definition)
        for event in events {
            try session.state.apply(event)
            session.events.append(event)
        }
        return session
    }
}

public enum OpeningPhase: String, Codable, Sendable {
    case signIn, decryption, confirmation, concluded

    var chineseName: String {
        switch self {
        case .signIn: "签到"
        case .decryption: "解密"
        case .confirmation: "开标记录确认"
        case .concluded: "开标结束"
        }
    }
}

/// One supplier's way through the opening.
public struct SupplierProgress: Codable, Sendable, Equatable {
    public var sealedBidReceivedAt: Instant?
    public var signedInAt: Instant?
    public var certificateSHA256: String?
    /// Every attempt, in order; the last one without a failure is the decryption.
    public var attempts: [DecryptionAttempt] = []
    public var summary: OpeningSummary?
    public var answer: SupplierAnswer?
}

public struct DecryptionAttempt: Codable, Sendable, Equatable {
    public var at: Instant
    /// nil: decrypted, and the plaintext is the summary the definition fixed.
    public var failure: OpeningRejection?
}

/// A rejection as it happened, kept for the record in order.
public struct RecordedRejection: Codable, Sendable, Equatable {
    /// The event that was recorded as this rejection: a caller tells "accepted" from "recorded
    /// with a reason" by comparing it with the event ``OpeningSession/handle(_:at:actor:)`` returned.
    public var sequence: Int
    public var at: Instant
    public var supplier: CreditCode
    /// The organisation the certificate named, for a sign-in.
    public var organization: String?
    public var reason: OpeningRejection
}

public enum SupplierAnswer: Codable, Sendable, Equatable {
    case confirmed(at: Instant, signature: String)
    case objected(at: Instant, text: String, signature: String)
}

public struct OpeningState: Sendable, Equatable {
    public let definition: OpeningDefinition
    public let deadline: Instant
    public private(set) var phase: OpeningPhase = .signIn
    public private(set) var progress: [CreditCode: SupplierProgress] = [:]
    public private(set) var rejections: [RecordedRejection] = []
    public private(set) var openedAt: Instant?
    public private(set) var closedAt: Instant?
    public private(set) var concludedAt: Instant?
    public private(set) var lastSequence = 0
    public private(set) var lastEventAt: Instant?

    init(definition: OpeningDefinition, deadline: Instant) {
        self.definition = definition
        self.deadline = deadline
        for s in definition.suppliers { progress[s.creditCode] = SupplierProgress() }
    }

    /// The end of the decryption window (inclusive), once the opening has started.
    public var windowEnd: Instant? { openedAt.map { $0 + Instant(definition.decryptionWindowMinutes) * 60_000 } }

    /// The rejection `event` was recorded as, nil when it was simply accepted.
    public func rejection(of event: OpeningEvent) -> OpeningRejection? {
        rejections.last.flatMap { $0.sequence == event.sequence ? $0.reason : nil }
    }

    /// Suppliers whose bid is not decrypted yet; before the window ends they keep it open.
    public var pendingDecryption: [CreditCode] {
        definition.suppliers.map(\.creditCode).filter { progress[$0]?.summary == nil }
    }

    mutating func apply(_ event: OpeningEvent) throws(OpeningError) {
        guard event.sequence == lastSequence + 1 else { throw .sequenceGap(expected: lastSequence + 1, got: event.sequence) }
        if let last = lastEventAt, event.at < last { throw .timeWentBackwards(previous: last, got: event.at) }
        try applyCommand(event.command, at: event.at)
        lastSequence = event.sequence
        lastEventAt = event.at
    }

    private func need(_ phases: OpeningPhase..., for command: String) throws(OpeningError) {
        guard phases.contains(phase) else { throw .wrongPhase(command: command, phase: phase) }
    }

    private func known(_ code: CreditCode) throws(OpeningError) -> (OpeningSupplier, SupplierProgress) {
        guard let supplier = definition.supplier(code), let p = progress[code] else { throw .unknownSupplier(code) }
        return (supplier, p)
    }

    private mutating func reject(_ code: CreditCode, _ reason: OpeningRejection, at: Instant, organization: String? = nil) {
        rejections.append(RecordedRejection(sequence: lastSequence + 1, at: at, supplier: code, organization: organization, reason: reason))
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private mutating func applyCommand(_ command: OpeningCommand, at: Instant) throws(OpeningError) {
        switch command {
        case .receiveSealedBid(let code, let sha256):
            try need(.signIn, .decryption, for: "receiveSealedBid")
            let (supplier, p) = try known(code)
            guard p.sealedBidReceivedAt == nil else { throw .sealedBidAlreadyReceived(code) }
            guard OpeningDefinition.isSHA256Hex(sha256) else { throw .malformedHash(sha256) }
            if sha256 == supplier.sealedBidSHA256 {
                progress[code]?.sealedBidReceivedAt = at
            } else {
                reject(code, .sealedBidAltered(expected: supplier.sealedBidSHA256, received: sha256), at: at)
            }

        case .signIn(let code, let organization, let certificate):
            try need(.signIn, .decryption, for: "signIn")
            guard OpeningDefinition.isSHA256Hex(certificate) else { throw .malformedHash(certificate) }
            guard let supplier = definition.supplier(code) else {
                reject(code, .unknownSupplier, at: at, organization: organization)
                return
            }
            guard progress[code]?.signedInAt == nil else { throw .alreadySignedIn(code) }
            if at > deadline {
                reject(code, .lateSignIn(deadline: deadline), at: at, organization: organization)
            } else if Self.organizationName(organization) != Self.organizationName(supplier.name) {
                reject(code, .organizationMismatch(expected: supplier.name, certificate: organization), at: at, organization: organization)
            } else {
                progress[code]?.signedInAt = at
                progress[code]?.certificateSHA256 = certificate
            }

        case .startOpening:
            try need(.signIn, for: "startOpening")
            guard at >= deadline else { throw .deadlineNotReached(deadline) }
            openedAt = at
            phase = .decryption

        case .submitDecryption(let code, let plaintextSHA256, let decrypted):
            let (supplier, _) = try readyToDecrypt(code)
            guard OpeningDefinition.isSHA256Hex(plaintextSHA256) else { throw .malformedHash(plaintextSHA256) }
            let failure: OpeningRejection?
            if let end = windowEnd, at > end {
                failure = .decryptionTimedOut(windowEnd: end)
            } else if plaintextSHA256 != supplier.summarySHA256 {
                failure = .plaintextMismatch(expected: supplier.summarySHA256, decrypted: plaintextSHA256)
            } else {
                switch decrypted {
                case .unreadable(let reason): failure = .summaryUnreadable(reason: reason)
                case .read(let summary):
                    if summary.supplier != code {
                        failure = .summaryOfAnotherBid(reason: "it names supplier \(summary.supplier)")
                    } else if summary.project != definition.project.number {
                        failure = .summaryOfAnotherBid(reason: "it names project \(summary.project)")
                    } else {
                        failure = nil
                        progress[code]?.summary = summary
                    }
                }
            }
            progress[code]?.attempts.append(DecryptionAttempt(at: at, failure: failure))
            if let failure { reject(code, failure, at: at) }

        case .reportDecryptionFailure(let code, let reason):
            _ = try readyToDecrypt(code)
            guard !reason.allSatisfy(\.isWhitespace) else { throw .emptyText(.decryptionFailure) }
            let failure: OpeningRejection = if let end = windowEnd, at > end { .decryptionTimedOut(windowEnd: end) }
                else { .decryptionFailed(reason: reason) }
            progress[code]?.attempts.append(DecryptionAttempt(at: at, failure: failure))
            reject(code, failure, at: at)

        case .closeDecryption:
            try need(.decryption, for: "closeDecryption")
            if let end = windowEnd, at <= end, !pendingDecryption.isEmpty {
                throw .windowStillOpen(until: end, pending: pendingDecryption)
            }
            closedAt = at
            phase = .confirmation

        case .confirmRecord(let code, let signature):
            try readyToAnswer(code)
            guard !signature.isEmpty else { throw .emptyText(.signature) }
            progress[code]?.answer = .confirmed(at: at, signature: signature)

        case .raiseObjection(let code, let text, let signature):
            try readyToAnswer(code)
            guard !text.allSatisfy(\.isWhitespace) else { throw .emptyText(.objection) }
            guard !signature.isEmpty else { throw .emptyText(.signature) }
            progress[code]?.answer = .objected(at: at, text: text, signature: signature)

        case .concludeOpening:
            try need(.confirmation, for: "concludeOpening")
            concludedAt = at
            phase = .concluded
        }
    }

    private func readyToDecrypt(_ code: CreditCode) throws(OpeningError) -> (OpeningSupplier, SupplierProgress) {
        try need(.decryption, for: "decryption")
        let (supplier, p) = try known(code)
        guard p.signedInAt != nil else { throw .notSignedIn(code) }
        guard p.sealedBidReceivedAt != nil else { throw .sealedBidNotReceived(code) }
        guard p.summary == nil else { throw .alreadyDecrypted(code) }
        return (supplier, p)
    }

    private func readyToAnswer(_ code: CreditCode) throws(OpeningError) {
        try need(.confirmation, for: "answer")
        let (_, p) = try known(code)
        guard p.signedInAt != nil else { throw .notSignedIn(code) }
        guard p.answer == nil else { throw .alreadyAnswered(code) }
    }

    /// Organisation names compared as registered: full-width brackets and spaces vary between a
    /// licence and a certificate (（）and ()), nothing else may.
    static func organizationName(_ name: String) -> String {
        String(name.compactMap { c -> Character? in
            switch c {
            case "（": "("
            case "）": ")"
            case " ", "\u{3000}": nil
            default: c
            }
        })
    }
}
