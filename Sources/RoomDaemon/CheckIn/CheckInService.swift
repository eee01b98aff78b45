import Canonical
import Foundation
import Hummingbird
import Identity
import Logging
import NIOCore
import RoomConfig
import Store

/// Expert check-in and document signatures over the HTTPS API: a station asks
/// for a challenge for the person in its seat, shows it as a QR code, relays
/// the signed answer, and adds the handwritten signature; the operator imports
/// the roster; operator and supervisor list and view what was signed.
struct CheckInService: Sendable {
    let store: RoomStore
    let room: String
    let checkIn: CheckInVerifier
    let challengeSeconds: Int
    let trustDirectory: String
    let logger: Logger
    let answers = StationRateLimiter(perMinute: answersPerMinute)
    let identifications = StationRateLimiter(perMinute: identificationsPerMinute)

    init(config: RoomConfiguration, identity: RoomConfiguration.Identity, store: RoomStore, logger: Logger) throws {
        let trust = try TrustStore.load(directory: identity.expertTrustDirectory)
        let secret = try RoomSecret.loadOrCreate(at: identity.roomSecret)
        let policy = RevocationPolicy(missingCRL: identity.requireCRL ? .reject : .accept)
        checkIn = CheckInVerifier(verifier: SignatureVerifier(trust: trust, revocation: policy), secret: secret,
                                  idNumberOID: identity.idNumberOID)
        self.store = store
        room = config.room.id
        challengeSeconds = identity.challengeSeconds
        trustDirectory = identity.expertTrustDirectory
        self.logger = logger
    }

    /// Loads the trust folder again and puts it in force (the verifier drops
    /// its cached chain verdicts when the contents changed). Returns the new
    /// store's identifier (a hash of its contents). Blocking.
    func reloadTrust() throws -> String {
        let trust = try TrustStore.load(directory: trustDirectory)
        checkIn.verifier.replaceTrust(trust)
        return trust.identifier
    }

    /// At most this many challenges per station per minute.
    static let challengesPerMinute = 20
    /// At most this many answers per station per minute (each costs a signature verification).
    static let answersPerMinute = 30
    /// At most this many name + ID number look-ups per station per minute: a person types them;
    /// a program trying ID numbers against the roster is stopped.
    static let identificationsPerMinute = 10

    struct IdentifyRequest: Decodable {
        var session: String
        var name: String
        var idNumber: String
    }

    struct Identified: Encodable {
        var rosterEntry: String
        var name: String
        var role: String
    }
    /// The largest answer accepted; a CMS answer is stored as received, so this
    /// bounds what one answer adds to the evidence (docs/formats.md).
    static let maximumAnswerBytes = 256 * 1024

    struct ChallengeRequest: Decodable {
        var session: String
        var rosterEntry: String
        var purpose: SigningPurpose?
        var documentSHA256: String?
    }

    struct ChallengeResponse: Encodable {
        var request: String
        var nonce: String
        var session: String
        var station: String
        var rosterEntry: String
        var purpose: String
        var documentSHA256: String
        var document: String?
        var issuedAt: String
        var expiresAt: String
        /// The exact text to sign; the QR codes carry it.
        var signed: String
        var qrSVG: String
        var qrPNG: String
    }

    struct Answer: Decodable {
        var format: String
        /// Base64.
        var signature: String
        /// PEM, for raw signatures.
        var certificate: String?
        var intermediates: [String]?
        var algorithm: String?
    }

    struct VerdictResponse: Encodable {
        var verdict: String
        var reason: String
        var message: String
        var detail: String
        var signature: Int64
        var rosterEntry: String?
        var signerName: String?
        var signerFingerprint: String?
    }

    func registerStationRoutes(on router: APIRouteTable, refusals: EventAggregator) {
        router.post("/v1/checkin/identify", roles: [.station],
                    purpose: "find the roster entry of the person at this station by name and ID number (nothing stored)") { request, context in
            guard let station = context.peer?.stationID else { throw Self.notAStation }
            let body = try await request.decodeStrict(IdentifyRequest.self, limit: 4 * 1024) { _ in
                // Never echo the body: it holds an ID number.
                Refusal(.badRequest, code: "bad-identify-request", chinese: "请填写姓名和身份证号码。",
                        english: "body must be {session, name, idNumber}")
            }
            guard identifications.admit(station, now: store.clock.now().date) else {
                refusals.report(kind: "session.rate-limited", severity: "warning", subject: station, code: "too-many-identifications",
                                detail: ["station": station, "limit_per_minute": String(Self.identificationsPerMinute)])
                throw Refusal(.tooManyRequests, code: "too-many-identifications", chinese: "查询过于频繁，请稍候一分钟再试。",
                              english: "station \(station) looked up \(Self.identificationsPerMinute) people within a minute")
            }
            guard SigningChallenge.isPlainIdentifier(body.session), let roster = try await store.roster(session: body.session) else {
                throw Refusal(.conflict, code: CheckInReason.rosterMissing,
                              chinese: "本场评审尚未导入专家抽取名单，请联系代理机构操作员导入名单后再签到。",
                              english: "no roster imported for this session")
            }
            switch roster.roster.match(name: body.name, idNumber: body.idNumber, certificateFingerprint: nil, secret: checkIn.secret) {
            case .matched(let entry), .fingerprintMismatch(let entry):
                // The fingerprint is checked when the expert signs; here only who they are.
                return try Response.json(Identified(rosterEntry: entry.id, name: entry.name, role: entry.role.rawValue))
            case .malformedIDInCertificate:
                throw Refusal(.unprocessableContent, code: "id-number-malformed", chinese: "身份证号码应为18位，请核对后重新输入。",
                              english: "the ID number is not 18 characters")
            default:
                throw Refusal(.notFound, code: "not-on-roster",
                              chinese: "姓名与身份证号码不在本场专家名单中，请核对后重新输入；如确认无误请联系代理机构操作员。",
                              english: "no roster entry matches this name and ID number")
            }
        }
        router.post("/v1/checkin/challenges", roles: [.station], purpose: "a signing challenge for the person in this seat") { request, context in
            guard let station = context.peer?.stationID else { throw Self.notAStation }
            let body = try await request.decodeStrict(ChallengeRequest.self, limit: 16 * 1024) { why in
                Refusal(.badRequest, code: "bad-challenge-request", chinese: "签名请求格式错误，请升级终端程序。",
                        english: "body must be {session, rosterEntry, purpose?, documentSHA256?}: \(why)")
            }
            guard SigningChallenge.isPlainIdentifier(body.session), SigningChallenge.isPlainIdentifier(body.rosterEntry) else {
                throw Refusal(.badRequest, code: "bad-challenge-request", chinese: "场次编号或名单编号含有非法字符。",
                                english: "session and rosterEntry must be printable ASCII without quotes, at most 128 bytes")
            }
            guard let roster = try await store.roster(session: body.session) else {
                throw Refusal(.conflict, code: CheckInReason.rosterMissing,
                                chinese: "本场评审尚未导入专家抽取名单，请联系代理机构操作员导入名单后再签到。",
                                english: "no roster imported for session \(body.session)")
            }
            guard roster.roster.entries.contains(where: { $0.id == body.rosterEntry }) else {
                throw Refusal(.notFound, code: "roster-entry-unknown", chinese: "名单中没有编号 \(body.rosterEntry)，请核对座位安排。",
                                english: "roster of session \(body.session) has no entry \(body.rosterEntry)")
            }
            let purpose = body.purpose ?? .checkIn
            // One expert at one station, one expert per station, per session; and
            // a station signs only for the expert checked in at it.
            let seating = CheckInSeating(try await store.checkIns(session: body.session))
            // A seat plan (assigned or drawn by lot) says where each expert checks in.
            if purpose == .checkIn, let plan = try await store.seatPlan(session: body.session),
               let seat = plan.seats[body.rosterEntry], seat != station {
                let english = "roster entry \(body.rosterEntry) is seated at \(seat) by the seat plan, not at \(station)"
                refusals.report(kind: "session.checkin-refused", severity: "warning", subject: "\(body.session) \(station)",
                                code: "wrong-seat", detail: ["station": station, "roster_entry": body.rosterEntry, "reason": english])
                throw Refusal(.conflict, code: "wrong-seat", chinese: "按座位安排，您的终端是 \(seat)，请到 \(seat) 签到。", english: english)
            }
            if purpose == .checkIn, let conflict = seating.conflict(entry: body.rosterEntry, station: station) {
                refusals.report(kind: "session.checkin-refused", severity: "warning", subject: "\(body.session) \(station)",
                                code: conflict.code, detail: ["station": station, "roster_entry": body.rosterEntry, "reason": conflict.english])
                throw Refusal(.conflict, conflict)
            }
            if purpose != .checkIn, !seating.holds(entry: body.rosterEntry, station: station) {
                let english = "roster entry \(body.rosterEntry) is not checked in at station \(station); a station signs only for its own expert"
                AccessMiddleware.deny(refusals, request: request, context: context, who: context.peer?.description ?? station,
                                      reason: english, code: "not-checked-in-here")
                throw Refusal(.conflict, code: "not-checked-in-here",
                                chinese: "名单编号 \(body.rosterEntry) 的专家未在本终端签到，不能在本终端签署文件。", english: english)
            }
            var document: String?
            let documentSHA: String
            if let given = body.documentSHA256?.lowercased() {
                guard given.count == 64, given.allSatisfy(\.isHexDigit) else {
                    throw Refusal(.badRequest, code: "bad-challenge-request", chinese: "待签文件摘要格式错误。",
                                    english: "documentSHA256 must be 64 hex digits")
                }
                documentSHA = given
            } else if purpose == .checkIn {
                let statement = Self.checkInStatement(room: room, session: body.session, entry: body.rosterEntry, station: station)
                document = statement
                documentSHA = Digest.sha256Hex(Array(statement.utf8))
            } else {
                throw Refusal(.badRequest, code: "bad-challenge-request", chinese: "签署\(purpose.chinese)时必须提供文件摘要。",
                                english: "documentSHA256 is required for purpose \(purpose.rawValue)")
            }
            let now = store.clock.now().date
            let challenge = try SigningChallenge.issue(room: room, session: body.session, station: station,
                                                       rosterEntry: body.rosterEntry, purpose: purpose, documentSHA256: documentSHA,
                                                       now: now, lifetime: TimeInterval(challengeSeconds))
            // A station asks for a challenge when a person is about to sign; dozens
            // a minute means a broken or hostile station filling the evidence tables.
            guard try await store.storeChallenge(challenge, limit: Self.challengesPerMinute,
                                                 sinceMs: challenge.issuedMs - 60_000) else {
                refusals.report(kind: "session.rate-limited", severity: "warning", subject: station, code: "too-many-challenges",
                                detail: ["station": station, "limit_per_minute": String(Self.challengesPerMinute)])
                throw Refusal(.tooManyRequests, code: "too-many-challenges",
                                chinese: "签名请求过于频繁，请稍候一分钟再试；如持续出现请联系代理机构管理员检查终端。",
                                english: "station \(station) asked for \(Self.challengesPerMinute) challenges within a minute")
            }
            let base = "/v1/checkin/challenges/\(challenge.request)"
            return try Response.json(ChallengeResponse(
                request: challenge.request, nonce: challenge.nonce, session: challenge.session, station: station,
                rosterEntry: challenge.rosterEntry, purpose: purpose.rawValue, documentSHA256: documentSHA, document: document,
                issuedAt: Text.iso8601(nanoseconds: challenge.issuedMs * 1_000_000),
                expiresAt: Text.iso8601(nanoseconds: challenge.expiresMs * 1_000_000),
                signed: String(decoding: challenge.signedBytes(), as: UTF8.self), qrSVG: base + "/qr.svg", qrPNG: base + "/qr.png"),
                status: .created)
        }
        for ext in ["svg", "png"] {
            router.get("/v1/checkin/challenges/:request/qr.\(ext)", roles: [.station],
                       purpose: "the challenge as a QR code (\(ext.uppercased()))") { request, context in
                guard let station = context.peer?.stationID else { throw Self.notAStation }
                let id = try context.parameters.require("request")
                _ = try await ownChallenge(id, station: station, request: request, context: context, refusals: refusals)
                guard let bytes = try await store.challengeSignedBytes(request: id) else { throw Self.unknownChallengeRefusal(id) }
                return try Self.drawnQR(bytes, as: ext)
            }
        }
        router.post("/v1/checkin/challenges/:request/answer", roles: [.station],
                    purpose: "the expert's signature over the challenge, relayed by the station") { request, context in
            guard let peer = context.peer, let station = peer.stationID else { throw Self.notAStation }
            let id = try context.parameters.require("request")
            let received = store.clock.now().date
            // Verifying a signature costs; a station answering in a loop is stopped before it.
            guard answers.admit(station, now: received) else {
                refusals.report(kind: "session.rate-limited", severity: "warning", subject: station, code: "too-many-answers",
                                detail: ["station": station, "limit_per_minute": String(Self.answersPerMinute)])
                throw Refusal(.tooManyRequests, code: "too-many-answers",
                                chinese: "签名提交过于频繁，请稍候一分钟再试；如持续出现请联系代理机构管理员检查终端。",
                                english: "station \(station) sent \(Self.answersPerMinute) answers within a minute")
            }
            let challenge = try await ownChallenge(id, station: station, request: request, context: context, refusals: refusals)
            guard let signedBytes = try await store.challengeSignedBytes(request: id) else { throw Self.unknownChallengeRefusal(id) }
            let answer = try await request.decodeStrict(Answer.self, limit: Self.maximumAnswerBytes) { why in
                Refusal(.badRequest, code: "bad-signature-answer", chinese: "签名数据格式错误，请重新签名或升级终端程序。",
                        english: "body must be {format: raw|cms, signature: base64, certificate: PEM (raw), intermediates?}: \(why)")
            }
            let submission: SubmittedSignature
            let signatureBytes: [UInt8]
            do {
                (submission, signatureBytes) = try Self.submission(answer)
            } catch {
                throw Refusal(.badRequest, code: "bad-signature-answer", chinese: "签名数据格式错误，请重新签名或升级终端程序。",
                                english: "body must be {format: raw|cms, signature: base64, certificate: PEM (raw), intermediates?}: \(error)")
            }
            // A replay is refused before any work, and its body is not stored again.
            if try await store.isAnswered(request: id) {
                return Self.replayed(id, signature: signatureBytes, station: station, session: challenge.session, refusals: refusals)
            }
            let roster = try await store.roster(session: challenge.session)
            let checkIn = self.checkIn
            let verdict = try await runBlocking {
                checkIn.evaluate(challenge: challenge, signedBytes: signedBytes, submission: submission, roster: roster?.roster,
                                 alreadyAnswered: false, receivedAt: received)
            }
            let attempt = RoomStore.SignatureAttempt(
                requestID: id, receivedNanoseconds: Int64(received.timeIntervalSince1970 * 1e9), accepted: verdict.accepted,
                reason: verdict.reason, detail: verdict.detail, format: answer.format,
                algorithm: verdict.verified?.algorithm.rawValue, signerFingerprint: verdict.verified?.signerFingerprint,
                signerName: verdict.signer?.name,
                certificatePEM: verdict.verified.flatMap { try? String(decoding: $0.certificate.pem(), as: UTF8.self) },
                signature: signatureBytes)
            let (recordID, accepted, reason, detail, message): (Int64, Bool, String, String, String)
            switch try await store.recordSignature(attempt, challenge: challenge, actor: peer.description) {
            case .recorded(let rowID, nil):
                (recordID, accepted, reason, detail, message) = (rowID, verdict.accepted, verdict.reason, verdict.detail, verdict.message)
            case .recorded(let rowID, let conflict?):
                (recordID, accepted, reason, detail, message) = (rowID, false, conflict.code, conflict.english, conflict.chinese)
            case .replay:
                // Another answer to the same challenge won the race.
                return Self.replayed(id, signature: signatureBytes, station: station, session: challenge.session, refusals: refusals)
            }
            if !accepted {
                logger.warning("signature rejected", metadata: ["request": .string(id), "reason": .string(reason), "detail": .string(detail)])
            }
            return try Response.json(VerdictResponse(
                verdict: accepted ? "accepted" : "rejected", reason: reason, message: message, detail: detail, signature: recordID,
                rosterEntry: verdict.entry?.id, signerName: accepted ? verdict.signer?.name : nil,
                signerFingerprint: verdict.verified?.signerFingerprint), status: accepted ? .ok : .unprocessableContent)
        }
        router.post("/v1/checkin/signatures/:signature/handwriting", roles: [.station],
                    purpose: "the handwritten signature of an accepted check-in") { request, context in
            guard let peer = context.peer, let station = peer.stationID else { throw Self.notAStation }
            guard let id = Int64(try context.parameters.require("signature")),
                  let record = try await store.signature(id: id), record.station == station else {
                throw Refusal(.notFound, code: "signature-unknown", chinese: "找不到该签到记录，请重新签到。", english: "no such signature for this station")
            }
            guard record.verdict == "accepted", record.purpose == SigningPurpose.checkIn.rawValue else {
                throw Refusal(.conflict, code: "checkin-not-accepted", chinese: "签到未通过验证，不能提交手写签名，请先完成签到。",
                                english: "signature \(id) is not an accepted check-in")
            }
            let strokes = Array(buffer: try await request.body.collect(upTo: HandwrittenSignature.maximumJSONBytes))
            if let problem = StrictJSON.problem(in: strokes) {
                throw Refusal(.badRequest, code: HandwrittenSignatureError.Reason.malformedJSON.rawValue,
                                chinese: "手写签名数据格式错误，请点击“重写”后重新签名。", english: problem)
            }
            let handwriting: HandwrittenSignature
            do {
                handwriting = try HandwrittenSignature(json: Data(strokes))
            } catch let error as HandwrittenSignatureError {
                throw Refusal(.badRequest, error)
            }
            do {
                let stored = try await store.storeHandwriting(signatureID: id, signature: handwriting, session: record.session,
                                                              actor: peer.description)
                return try Response.json(["handwriting": String(stored), "sha256": handwriting.sha256], status: .created)
            } catch let conflict as CheckInConflict {
                throw Refusal(.conflict, code: "handwriting-exists", chinese: "该签到已有手写签名，不能重复提交。", english: conflict.description)
            }
        }
    }

    /// The challenge `id` if it was issued to `station`. Another station's
    /// challenge is as unknown to it as one never issued (404), but the probe
    /// leaves an `access.denied` trace.
    private func ownChallenge(_ id: String, station: String, request: Request, context: RoomRequestContext,
                              refusals: EventAggregator) async throws -> SigningChallenge {
        guard let challenge = try await store.challenge(request: id, room: room) else { throw Self.unknownChallengeRefusal(id) }
        guard challenge.station == station else {
            AccessMiddleware.deny(refusals, request: request, context: context, who: context.peer?.description ?? station,
                                  reason: "station \(station) asked for challenge \(id) of station \(challenge.station)",
                                  code: "challenge-of-another-station")
            throw Self.unknownChallengeRefusal(id)
        }
        return challenge
    }

    /// 422 `nonce-replayed`, without storing the answer: an aggregated event
    /// names the challenge and the hash of what was sent.
    private static func replayed(_ id: String, signature: [UInt8], station: String, session: String,
                                 refusals: EventAggregator) -> Response {
        refusals.report(kind: "session.signature-replayed", severity: "warning", subject: station, code: CheckInReason.nonceReplayed,
                        detail: ["request": id, "session": session, "signature_sha256": Digest.sha256Hex(signature)])
        let message = "该签名请求已提交过，不能重复使用，请在终端上重新获取二维码后再签名。"
        let detail = "challenge \(id) was already answered; its nonce is used"
        return (try? Response.json(VerdictResponse(verdict: "rejected", reason: CheckInReason.nonceReplayed, message: message,
                                                   detail: detail, signature: 0, rosterEntry: nil, signerName: nil,
                                                   signerFingerprint: nil), status: .unprocessableContent))
            ?? Refusal(.unprocessableContent, code: CheckInReason.nonceReplayed, chinese: message, english: detail).response
    }

    func registerOperatorRoutes<Routes: RouteRegistrar>(on router: Routes, actor: @escaping @Sendable (Routes.Context) -> String) {
        router.post("/v1/sessions/:session/roster", roles: [.operator],
                    purpose: "import the session's drawn experts and purchaser representatives") { request, context -> Response in
            let session = try context.parameters.require("session")
            guard SigningChallenge.isPlainIdentifier(session) else {
                throw Refusal(.badRequest, code: "bad-session", chinese: "场次编号含有非法字符。", english: "session id must be printable ASCII")
            }
            let body = Data(buffer: try await request.body.collect(upTo: Roster.maximumImportBytes))
            if let problem = StrictJSON.problem(in: Array(body)) {
                throw Refusal(.unprocessableContent, code: "roster-invalid", chinese: "名单文件不是有效的JSON，请检查后重新导入。",
                                english: "the roster is not valid JSON: \(problem)")
            }
            let roster: Roster
            do {
                roster = try Roster.importJSON(body, secret: checkIn.secret, today: store.clock.now().date)
            } catch let error as RosterImportError {
                throw Refusal(.unprocessableContent, error)
            }
            let stored = try await store.importRoster(session: session, roster: roster, actor: actor(context))
            return try Response.json(RosterImported(session: session, roster: stored.id, sha256: stored.sha256,
                                                    entries: roster.entries.count), status: .created)
        }
        router.get("/v1/sessions/:session/signatures", roles: [.operator, .supervisor],
                   purpose: "check-ins and signatures of a session, accepted and rejected") { _, context -> Response in
            try Response.json(try await store.signatures(session: try context.parameters.require("session")))
        }
        for ext in ["svg", "png"] {
            router.get("/v1/checkin/signatures/:signature/handwriting.\(ext)", roles: [.operator, .supervisor],
                       purpose: "a handwritten signature drawn as \(ext.uppercased())") { _, context -> Response in
                guard let id = Int64(try context.parameters.require("signature")),
                      let handwriting = try await store.handwriting(signatureID: id) else {
                    throw Refusal(.notFound, code: "handwriting-unknown", chinese: "该签到没有手写签名。", english: "no handwritten signature")
                }
                return try Self.drawn(handwriting, as: ext)
            }
        }
    }

    /// Drawn outside the async route closure: a typed-throws call (`png`)
    /// inside a generic async closure crashes Swift 6.3's optimizer
    /// (coroutine splitting around the swifterror value) in release builds.
    static func drawn(_ handwriting: HandwrittenSignature, as ext: String) throws -> Response {
        if ext == "svg" { return body(Array(handwriting.svg().utf8), type: "image/svg+xml") }
        return body(try handwriting.png(scale: 1), type: "image/png")
    }

    static func drawnQR(_ bytes: [UInt8], as ext: String) throws -> Response {
        let code = try QRCode(bytes: bytes, errorCorrection: .medium)
        if ext == "svg" { return body(Array(code.svg().utf8), type: "image/svg+xml") }
        return body(try code.png(), type: "image/png")
    }

    /// Without `identity` in the configuration the check-in routes exist but
    /// say why they cannot serve, instead of a bare 404.
    static func registerUnavailable(on router: APIRouteTable) {
        // The check-in routes only: a session's other routes (definition, commands, pages) are the
        // session service's, with or without check-in.
        let routes: [(HTTPRequest.Method, String)] = [(.get, "/v1/checkin/**"), (.post, "/v1/checkin/**"),
                                                      (.post, "/v1/sessions/:session/roster"), (.get, "/v1/sessions/:session/signatures")]
        for (method, path) in routes {
            do {
                router.add(method, path, roles: .everyone, purpose: "expert check-in is not configured (503)") { _, _ -> Response in
                    throw Refusal(.serviceUnavailable, code: "checkin-not-configured",
                                  chinese: "本评标室未配置专家签到与云签名，请联系代理机构管理员在配置中设置 identity。",
                                  english: "expert check-in is not configured (no identity section in roomd.yaml)")
                }
            }
        }
    }

    /// The statement a check-in signature covers; its SHA-256 is the challenge's document hash.
    static func checkInStatement(room: String, session: String, entry: String, station: String) -> String {
        "roomd check-in statement / 签到声明\nroom: \(room)\nsession: \(session)\nroster entry: \(entry)\nstation: \(station)\n"
            + "本人确认到达评标室参加本场评审，遵守评审纪律，与供应商无利害关系。\n"
    }

    static func submission(_ answer: Answer) throws -> (SubmittedSignature, [UInt8]) {
        guard let signature = Data(base64Encoded: answer.signature, options: .ignoreUnknownCharacters), !signature.isEmpty else {
            throw CheckInConflict(description: "signature is not base64")
        }
        switch answer.format {
        case "cms":
            return (.cms(Array(signature)), Array(signature))
        case "raw":
            guard let pem = answer.certificate else { throw CheckInConflict(description: "a raw signature needs the certificate") }
            let certificate = try Certificate(pem: Array(pem.utf8))
            let intermediates = try (answer.intermediates ?? []).map { try Certificate(pem: Array($0.utf8)) }
            let algorithm = try answer.algorithm.map { name in
                guard let value = SignatureAlgorithm(rawValue: name) else { throw CheckInConflict(description: "unknown algorithm \(name)") }
                return value
            }
            return (.raw(signature: Array(signature), certificate: certificate, intermediates: intermediates, algorithm: algorithm),
                    Array(signature))
        default:
            throw CheckInConflict(description: "format must be raw or cms")
        }
    }

    static let notAStation = Refusal(.forbidden, code: "not-a-station", chinese: "仅评审终端可发起签名。", english: "not a station")

    static func unknownChallengeRefusal(_ id: String) -> Refusal {
        Refusal(.notFound, code: "challenge-unknown", chinese: "找不到该签名请求，请在终端上重新获取二维码。",
                english: "no challenge \(id) for this station")
    }

    static func body(_ bytes: [UInt8], type: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: buffer))
    }
}
