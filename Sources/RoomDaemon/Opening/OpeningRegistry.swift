import Canonical
import Evaluation
import Foundation
import Identity
import Logging
import Opening
import ServiceLifecycle
import Store

/// The room's openings (开标), live: each opening's definition and its `OpeningSession`, rebuilt at
/// start by replaying the stored events. A command is checked by the opening on a copy, stored
/// (event row and ledger entry in one transaction) and only then becomes the state — whether it
/// was accepted or recorded as a rejection (a late sign-in, an altered bid, a tampered summary:
/// the record must show them). One command at a time (``gate``): the opening numbers events.
///
/// Suppliers are not room clients. Their actions arrive through the platform's connection (the
/// platform's 不见面开标 hall relays them); who the supplier is comes from a signature: the
/// supplier signs a sign-in challenge with its CA certificate, roomd reads the organisation (O)
/// and the credit code from that certificate (``OrganizationIdentity``) and answers with a token
/// for that supplier. Tokens live in memory only: after a restart the supplier signs in again,
/// which (same credit code, already signed in) issues a new token without a new event.
actor OpeningRegistry {
    struct Live {
        var stored: StoredOpeningDefinition
        var session: OpeningSession
    }

    struct Challenge {
        var opening: String
        var nonce: String
        var bytes: [UInt8]
        var expiresMs: Int64
    }

    private var live: [String: Live] = [:]
    private var broken: [String: String] = [:]
    private var challenges: [String: Challenge] = [:]
    private var tokens: [String: (opening: String, supplier: CreditCode)] = [:]
    private let gate = AsyncGate(permits: 1)
    let store: RoomStore
    let room: String
    let logger: Logger
    let platformVerifier: SignatureVerifier?
    let supplierVerifier: SignatureVerifier?
    /// The CAs supplier and platform signatures were verified against: an opening's package carries them.
    let supplierTrust: TrustStore?
    let platformTrust: TrustStore?
    let creditCodeOID: String?

    static let challengeFormat = "roomd-opening-sign-in/1"
    static let challengeLifetimeMs: Int64 = 120_000

    init(store: RoomStore, room: String, platformTrust: TrustStore?, supplierTrust: TrustStore?, creditCodeOID: String?, logger: Logger) {
        self.store = store
        self.room = room
        self.logger = logger
        self.creditCodeOID = creditCodeOID
        self.supplierTrust = supplierTrust
        self.platformTrust = platformTrust
        platformVerifier = platformTrust.map { SignatureVerifier(trust: $0, revocation: RevocationPolicy(missingCRL: .accept)) }
        supplierVerifier = supplierTrust.map { SignatureVerifier(trust: $0, revocation: RevocationPolicy(missingCRL: .accept)) }
    }

    /// The room clock's time (ms): what the pages count down against, not the browser's clock.
    nonisolated var nowMs: Int64 { store.clock.now().milliseconds }
    /// The live channel: the id of an opening after each of its events is stored (and after an import).
    nonisolated let updates = UpdateSubscribers<String>()

    // MARK: Start

    /// Replays every stored opening. One the rules refuse stays out of service and is reported.
    func load() async throws -> (openings: Int, broken: [String: String]) {
        for stored in try await store.openingDefinitions() {
            do {
                let definition = try OpeningDefinition.decode(Array(stored.bytes))
                let events = try await store.openingEvents(opening: stored.opening).map { try CanonicalJSON.decode(OpeningEvent.self, from: $0) }
                let session = try OpeningSession.replay(definition: definition, events: events)
                live[stored.opening] = Live(stored: stored, session: session)
                logger.info("opening resumed", metadata: [
                    "opening": .string(stored.opening), "events": .string(String(events.count)),
                    "phase": .string(session.state.phase.rawValue),
                ])
            } catch {
                broken[stored.opening] = "\(error)"
                logger.critical("opening cannot be replayed; it stays read-only until resolved / 开标记录无法恢复", metadata: [
                    "opening": .string(stored.opening), "error": .string("\(error)"),
                ])
            }
        }
        return (live.count, broken)
    }

    // MARK: Definitions

    struct Imported: Encodable, Sendable {
        var opening: String
        var definition: Int64
        var sha256: String
        var source: String
        var signer: String?
        var unchanged: Bool
    }

    func importDefinition(opening: String, bytes: Data, signature: Data?, requireSignature: Bool, actor: String) async throws -> Imported {
        guard SigningChallenge.isPlainIdentifier(opening) else {
            throw Refusal(.badRequest, code: "bad-opening-id", chinese: "开标项目编号含有非法字符。",
                          english: "opening ids are printable ASCII without quotes, slashes or backslashes, at most 128 bytes")
        }
        let definition: OpeningDefinition
        do {
            definition = try OpeningDefinition.decode(Array(bytes))
        } catch {
            throw Refusal(.unprocessableContent, code: error.code,
                          chinese: "开标定义无法使用：\(error.chineseMessage)请向政府采购云平台核实后重新导入。", english: error.englishMessage)
        }
        var signer: (fingerprint: String, name: String?)?
        if let signature {
            signer = try await PlatformSignature.verify(platformVerifier, signature: signature, over: bytes, document: "开标定义",
                                                        subject: "opening \(opening)", logger: logger)
        } else if requireSignature {
            throw Refusal(.badRequest, code: "definition-signature-required", chinese: "政府采购云平台推送的开标定义必须附带签名。",
                          english: "a pushed definition must carry a detached CMS signature")
        }
        let session: OpeningSession
        do { session = try OpeningSession(definition: definition) } catch { throw Refusal(.unprocessableContent, error) }
        return try await gate.run {
            let outcome = try await store.importOpeningDefinition(
                opening: opening, bytes: bytes, source: signer == nil ? "operator" : "platform", signature: signature,
                signerFingerprint: signer?.fingerprint, signerName: signer?.name, actor: actor)
            let stored: StoredOpeningDefinition
            switch outcome {
            case .openingStarted(let events):
                throw Refusal(.conflict, code: "opening-started", chinese: "开标 \(opening) 已有 \(events) 项记录，定义不能再更改。",
                              english: "opening \(opening) has \(events) events; its definition can no longer change")
            case .unchanged(let existing): stored = existing
            case .stored(let new): stored = new
            }
            live[opening] = Live(stored: stored, session: session)
            broken[opening] = nil
            updates.send(opening)
            logger.notice("opening definition imported", metadata: [
                "opening": .string(opening), "sha256": .string(stored.sha256), "source": .string(stored.source),
            ])
            return Imported(opening: opening, definition: stored.id, sha256: stored.sha256, source: stored.source,
                            signer: stored.signerName, unchanged: { if case .unchanged = outcome { true } else { false } }())
        }
    }

    // MARK: Commands

    struct Answer: Encodable, Sendable {
        var opening: String
        var sequence: Int
        var command: String
        var phase: String
        /// Set when the command was stored as a rejection (the record shows it).
        var rejection: String?
    }

    /// Checks, stores and applies one command. A command the opening refuses changes nothing
    /// (409); one it records as a rejection is stored and answered 422 with the reason.
    @discardableResult
    func submit(_ id: String, _ command: OpeningCommand, actor: String, sealedBid: Data? = nil,
                signature: OpeningSignature? = nil) async throws -> Answer {
        try await gate.run {
            var entry = try self.entry(id)
            let at = max(nowMs, entry.session.state.lastEventAt ?? 0)
            var next = entry.session
            let event: OpeningEvent
            do {
                event = try next.handle(command, at: at, actor: actor)
            } catch let error as OpeningError {
                throw Refusal(.conflict, error)
            }
            let rejection = next.state.rejection(of: event)
            var bid: (supplier: String, bytes: Data)?
            if case .receiveSealedBid(let supplier, _) = command, let sealedBid { bid = (supplier.text, sealedBid) }
            try await store.appendOpeningEvent(opening: id, sequence: event.sequence, atMilliseconds: event.at, actor: actor,
                                               command: Self.name(command), event: try CanonicalJSON.encode(event),
                                               rejection: rejection?.code, sealedBid: bid, signature: signature)
            entry.session = next
            live[id] = entry
            updates.send(id)
            logger.info("opening event recorded", metadata: [
                "opening": .string(id), "sequence": .string(String(event.sequence)), "command": .string(Self.name(command)),
                "actor": .string(actor), "rejection": .string(rejection?.code ?? "-"),
            ])
            if let rejection {
                throw Refusal(.unprocessableContent, code: rejection.code, chinese: rejection.chineseMessage + "（已记入开标记录）",
                              english: rejection.englishMessage + " (recorded as event \(event.sequence))")
            }
            return Answer(opening: id, sequence: event.sequence, command: Self.name(command), phase: next.state.phase.rawValue)
        }
    }

    static func name(_ command: OpeningCommand) -> String {
        switch command {
        case .receiveSealedBid: "receiveSealedBid"
        case .signIn: "signIn"
        case .startOpening: "startOpening"
        case .submitDecryption: "submitDecryption"
        case .reportDecryptionFailure: "reportDecryptionFailure"
        case .closeDecryption: "closeDecryption"
        case .confirmRecord: "confirmRecord"
        case .raiseObjection: "raiseObjection"
        case .concludeOpening: "concludeOpening"
        }
    }

    /// Closes decryption in every opening whose window has ended (the clock service's tick).
    func closeEndedWindows() async {
        let now = nowMs
        for (id, entry) in live where entry.session.state.phase == .decryption {
            guard let end = entry.session.state.windowEnd, now > end else { continue }
            do {
                try await submit(id, .closeDecryption, actor: "roomd (decryption window ended)")
            } catch {
                logger.error("closing decryption at the window's end failed / 解密时限届满但未能关闭解密", metadata: [
                    "opening": .string(id), "error": .string("\(error)"),
                ])
            }
        }
    }

    // MARK: Reading

    /// Every opening in the room, oldest definition first: id, phase, project, deadline (ms).
    func list() -> [(opening: String, phase: String, project: String, projectName: String, deadline: Int64)] {
        live.sorted { $0.value.stored.id < $1.value.stored.id }.map { id, entry in
            let state = entry.session.state
            return (id, state.phase.rawValue, state.definition.project.number, state.definition.project.name, state.deadline)
        }
    }

    func entry(_ id: String) throws -> Live {
        if let entry = live[id] { return entry }
        if let why = broken[id] {
            throw Refusal(.serviceUnavailable, code: "opening-replay-failed", chinese: "开标 \(id) 的记录无法恢复，已暂停操作；请联系代理机构管理员。",
                          english: "opening \(id) could not be replayed at start: \(why)")
        }
        throw Refusal(.notFound, code: "opening-unknown", chinese: "没有开标项目 \(id)，请先导入开标定义。",
                      english: "no opening \(id); import its definition first")
    }

    /// The read-out suppliers sign: its canonical JSON bytes (what a confirmation signs).
    func readout(_ id: String) throws -> (record: BidOpeningRecord, bytes: [UInt8]) {
        guard let record = try entry(id).session.state.readout() else {
            throw Refusal(.conflict, code: "opening-record-not-ready", chinese: "解密尚未结束，开标记录尚未生成；请等待解密结束。",
                          english: "the opening record exists once decryption has closed")
        }
        return (record, try CanonicalJSON.canonicalBytes(encoding: record))
    }

    // MARK: Suppliers

    /// A sign-in challenge: canonical JSON naming the room, the opening, a nonce and its expiry.
    func challenge(_ id: String) throws -> (request: String, signed: String, expiresMs: Int64) {
        _ = try entry(id)
        let request = try Digest.randomHex(16), nonce = try Digest.randomHex(16)
        let issued = nowMs
        challenges = challenges.filter { $0.value.expiresMs >= issued }
        let fields: CanonicalJSON = [
            "expires_ms": .integer(issued + Self.challengeLifetimeMs), "format": .string(Self.challengeFormat),
            "issued_ms": .integer(issued), "nonce": .string(nonce), "opening": .string(id), "request": .string(request),
            "room": .string(room),
        ]
        let bytes = try fields.canonicalBytes()
        challenges[request] = Challenge(opening: id, nonce: nonce, bytes: bytes, expiresMs: issued + Self.challengeLifetimeMs)
        return (request, String(decoding: bytes, as: UTF8.self), issued + Self.challengeLifetimeMs)
    }

    /// Verifies a supplier's signature (detached CMS) against the suppliers' trust folder and reads
    /// the credit code its certificate names.
    func verifySupplier(_ signature: Data, over bytes: [UInt8], what: String) async throws -> SupplierSigner {
        guard let verifier = supplierVerifier else {
            throw Refusal(.serviceUnavailable, code: "supplier-trust-not-configured",
                          chinese: "本开标室未配置供应商CA证书信任目录，无法验证供应商签名；请联系代理机构管理员配置 sessions.supplier_trust_dir。",
                          english: "sessions.supplier_trust_dir is not configured: supplier signatures cannot be verified")
        }
        let verdict = try await runBlocking { verifier.verify(.cms(Array(signature)), over: bytes, at: Date()) }
        let verified: VerifiedSignature
        switch verdict {
        case .success(let v): verified = v
        case .failure(let rejection):
            throw Refusal(.unprocessableContent, code: "supplier-signature-invalid",
                          chinese: "\(what)的签名验证失败（\(rejection.chineseMessage)），请使用本单位的CA证书（USBKey）重新签名。",
                          english: "the supplier's signature was refused: \(rejection.code.rawValue): \(rejection.detail)")
        }
        let organization = OrganizationIdentity(certificate: verified.certificate, creditCodeOID: creditCodeOID)
        guard let text = organization.creditCode, let code = try? CreditCode(text) else {
            throw Refusal(.unprocessableContent, code: "certificate-no-credit-code",
                          chinese: "签名证书中没有可识别的统一社会信用代码，请使用本单位的法人CA证书；如CA将代码放在其他字段，请管理员配置 sessions.credit_code_oid。",
                          english: "the certificate carries no valid credit code in \(creditCodeOID.map { "OID \($0), " } ?? "")subject serialNumber or OU (found \(organization.creditCode ?? "nothing"))")
        }
        return SupplierSigner(code: code, organization: organization.organization ?? "", fingerprint: verified.signerFingerprint,
                              certificatePEM: String(decoding: try verified.certificate.pem(), as: UTF8.self),
                              signedBytes: bytes, signature: Array(signature))
    }

    /// Who signed, and what: the signature as received, for the record (``OpeningSignature``).
    struct SupplierSigner: Sendable {
        var code: CreditCode
        var organization: String
        var fingerprint: String
        var certificatePEM: String
        var signedBytes: [UInt8]
        var signature: [UInt8]

        func stored(_ purpose: OpeningSignature.Purpose) -> OpeningSignature {
            OpeningSignature(purpose: purpose, supplier: code.text, signedBytes: signedBytes, signature: signature,
                             certificatePEM: certificatePEM, signerFingerprint: fingerprint)
        }
    }

    struct SignedIn: Encodable, Sendable {
        var opening: String
        var supplier: String
        var token: String
        /// The event of the sign-in; nil when an already signed-in supplier signed in again (new token only).
        var sequence: Int?
    }

    func signIn(_ id: String, request: String, signature: Data) async throws -> SignedIn {
        guard let challenge = challenges[request], challenge.opening == id else {
            throw Refusal(.notFound, code: "challenge-unknown", chinese: "签到请求不存在或已使用，请重新获取签到请求后签名。",
                          english: "no open sign-in challenge \(request) for opening \(id)")
        }
        challenges[request] = nil
        guard nowMs <= challenge.expiresMs else {
            throw Refusal(.gone, code: "challenge-expired", chinese: "签到请求已过期，请重新获取签到请求后签名。",
                          english: "the challenge expired at \(challenge.expiresMs) ms")
        }
        let signer = try await verifySupplier(signature, over: challenge.bytes, what: "签到")
        if let progress = try entry(id).session.state.progress[signer.code], progress.signedInAt != nil {
            return SignedIn(opening: id, supplier: signer.code.text, token: try issueToken(id, signer.code), sequence: nil)
        }
        let answer = try await submit(id, .signIn(supplier: signer.code, organization: signer.organization, certificateSHA256: signer.fingerprint),
                                      actor: "supplier \(signer.code.text) (\(signer.organization)) sha256:\(signer.fingerprint)",
                                      signature: signer.stored(.signIn))
        return SignedIn(opening: id, supplier: signer.code.text, token: try issueToken(id, signer.code), sequence: answer.sequence)
    }

    private func issueToken(_ id: String, _ code: CreditCode) throws -> String {
        let token = try Digest.randomHex(32)
        tokens[token] = (id, code)
        return token
    }

    /// The supplier a token was issued to, for this opening.
    func supplier(token: String?, opening id: String) throws -> CreditCode {
        guard let token, let holder = tokens[token], holder.opening == id else {
            throw Refusal(.unauthorized, code: "supplier-sign-in-required", chinese: "供应商尚未签到或签到已失效，请先用本单位CA证书签到。",
                          english: "the Roomd-Supplier-Token header is missing or not a token of opening \(id); sign in first")
        }
        return holder.supplier
    }
}

/// Closes decryption when an opening's window has ended: checks once a second on the room clock.
struct OpeningClockService: Service {
    let registry: OpeningRegistry
    let clock: any RoomClock

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    await registry.closeEndedWindows()
                    try await clock.sleep(for: .seconds(1))
                }
            }
        } catch is CancellationError {}
    }
}
