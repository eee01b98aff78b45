import Canonical
import Evaluation
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import Opening
import Store

/// The opening's HTTPS routes (docs/formats.md, "Opening routes"). The platform pushes the
/// definition and the sealed bids and relays the suppliers' actions; a supplier's action carries
/// the token its signed sign-in earned (header `Roomd-Supplier-Token`); the operator starts,
/// closes and concludes.
struct OpeningRoutes: Sendable {
    let registry: OpeningRegistry

    static let maximumBodyBytes = 4 << 20
    static let tokenHeader = HTTPField.Name("Roomd-Supplier-Token")!

    struct DefinitionBody: Decodable { var definition: String; var signature: String? }
    struct SealedBidBody: Decodable { var sealedBid: String }
    struct SignInBody: Decodable { var request: String; var signature: String }
    struct DecryptionBody: Decodable { var plaintext: String?; var failure: String? }
    struct ConfirmationBody: Decodable { var signature: String }
    struct ObjectionBody: Decodable { var text: String; var signature: String }

    static func bad(_ shape: String) -> (String) -> Refusal {
        { why in Refusal(.badRequest, code: "bad-opening-request", chinese: "开标请求格式错误，请刷新页面后重试。", english: "body must be \(shape): \(why)") }
    }

    static func base64(_ text: String, _ field: String) throws -> Data {
        guard let data = Data(base64Encoded: text) else {
            throw Refusal(.badRequest, code: "bad-opening-request", chinese: "开标请求中的\(field)编码错误。", english: "\(field) is not base64")
        }
        return data
    }

    func register(on routes: APIRouteTable) {
        registerOperatorRoutes(on: routes, who: { $0.peer?.description ?? "unknown" }, isPlatform: { $0.peer?.role == .platform })
        registerSupplierRoutes(on: routes)
    }

    /// The operator's, supervisor's and platform's routes: on HTTPS and, for roomctl, on the admin socket.
    func registerOperatorRoutes<Routes: RouteRegistrar>(on routes: Routes, who: @escaping @Sendable (Routes.Context) -> String,
                                                        isPlatform: @escaping @Sendable (Routes.Context) -> Bool) {
        let registry = self.registry
        routes.post("/v1/openings/:opening/definition", roles: [.platform, .operator],
                    purpose: "an opening definition: the platform's signed push, or the operator's import") { request, context in
            let id = try context.parameters.require("opening")
            let body = try await request.decodeStrict(DefinitionBody.self, limit: Self.maximumBodyBytes,
                                                      refusal: Self.bad(#"{"definition": base64, "signature"?: base64 CMS}"#))
            let answer = try await registry.importDefinition(
                opening: id, bytes: try Self.base64(body.definition, "definition"), signature: try body.signature.map { try Self.base64($0, "signature") },
                requireSignature: isPlatform(context), actor: who(context))
            return try Response.json(answer, status: answer.unchanged ? .ok : .created)
        }
        routes.get("/v1/openings", roles: [.operator, .supervisor, .platform],
                   purpose: "the room's openings, oldest first: id, phase, project, bid deadline") { _, _ in
            try Response.json(await registry.list().map {
                ListItem(opening: $0.opening, phase: $0.phase, project: $0.project, projectName: $0.projectName, deadline: $0.deadline)
            })
        }
        routes.get("/v1/openings/:opening/stream", roles: [.operator, .supervisor, .platform],
                   purpose: "the opening's live board (Server-Sent Events): the whole view with the server's time after every event") { _, context in
            let id = try context.parameters.require("opening")
            let first = try await Self.view(registry, id)
            let updates = registry.updates.stream(keepAlive: .seconds(15)) { $0 == id }
            // Every event: the board as it is now; a quiet stream: the clock, so countdowns stay on the server's time.
            return LiveChannel.response(first: Self.event(first, now: registry.nowMs), updates: updates) { update in
                update == nil ? Self.clock(now: registry.nowMs) : Self.event(try await Self.view(registry, id), now: registry.nowMs)
            }
        }
        routes.get("/v1/openings/:opening", roles: [.operator, .supervisor, .platform],
                   purpose: "one opening: phase, times, every supplier's progress, the rejections recorded") { _, context in
            try Response.json(try await Self.view(registry, try context.parameters.require("opening")))
        }
        routes.post("/v1/openings/:opening/sealed-bids/:supplier", roles: [.platform],
                    purpose: "the platform delivers a supplier's sealed bid (roomd hashes and keeps the bytes)") { request, context in
            let id = try context.parameters.require("opening")
            let code = try Self.creditCode(try context.parameters.require("supplier"))
            let body = try await request.decodeStrict(SealedBidBody.self, limit: Self.maximumBodyBytes, refusal: Self.bad(#"{"sealedBid": base64 DER}"#))
            let bytes = try Self.base64(body.sealedBid, "sealedBid")
            let answer = try await registry.submit(id, .receiveSealedBid(supplier: code, sha256: Digest.sha256Hex(Array(bytes))),
                                                   actor: who(context), sealedBid: bytes)
            return try Response.json(answer, status: .created)
        }
        for (path, command, purpose) in [("start", OpeningCommand.startOpening, "start the opening (at or after the bid deadline): decryption begins"),
                                         ("close-decryption", .closeDecryption, "close decryption (window over, or every bid decrypted)"),
                                         ("conclude", .concludeOpening, "conclude the opening after the read-out")] {
            routes.post("/v1/openings/:opening/\(path)", roles: [.operator], purpose: purpose) { _, context in
                let answer = try await registry.submit(try context.parameters.require("opening"), command, actor: who(context))
                return try Response.json(answer, status: .created)
            }
        }
        routes.get("/v1/openings/:opening/record", roles: [.operator, .supervisor, .platform],
                   purpose: "the opening record as read out (开标记录), and the exact bytes suppliers sign to confirm it") { _, context in
            let (record, bytes) = try await registry.readout(try context.parameters.require("opening"))
            return try Response.json(RecordView(readout: record, readoutBytes: Data(bytes).base64EncodedString(),
                                                readoutSHA256: Digest.sha256Hex(bytes)))
        }
        routes.get("/v1/openings/:opening/evaluation-opening", roles: [.operator, .supervisor, .platform],
                   purpose: "a concluded opening's part of the evaluation session's definition: per lot the valid bids as bidders' opening records") { _, context in
            let id = try context.parameters.require("opening")
            guard let record = try await registry.entry(id).session.state.record(), let evaluation = EvaluationOpening(record: record) else {
                throw Refusal(.conflict, code: "opening-not-concluded", chinese: "开标尚未结束，不能生成评审所用的开标结果；请先结束开标。",
                              english: "opening \(id) is not concluded: its record may still change")
            }
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try CanonicalJSON.canonicalBytes(encoding: evaluation))))
        }
    }

    /// What a supplier does, relayed by the platform.
    func registerSupplierRoutes(on routes: APIRouteTable) {
        routes.post("/v1/openings/:opening/sign-in/challenges", roles: [.platform],
                    purpose: "a sign-in challenge for a supplier to sign with its CA certificate") { _, context in
            let issued = try await registry.challenge(try context.parameters.require("opening"))
            return try Response.json(["request": issued.request, "signed": issued.signed, "expiresMs": String(issued.expiresMs)], status: .created)
        }
        routes.post("/v1/openings/:opening/sign-in", roles: [.platform],
                    purpose: "a supplier's signed sign-in challenge (detached CMS); answers a token for its later actions") { request, context in
            let id = try context.parameters.require("opening")
            let body = try await request.decodeStrict(SignInBody.self, limit: 64 << 10, refusal: Self.bad(#"{"request": id, "signature": base64 CMS}"#))
            let answer = try await registry.signIn(id, request: body.request, signature: try Self.base64(body.signature, "signature"))
            return try Response.json(answer, status: answer.sequence == nil ? .ok : .created)
        }
        routes.get("/v1/openings/:opening/supplier/sealed-bid", roles: [.platform],
                   purpose: "the signed-in supplier's own sealed bid, to decrypt with its key") { request, context in
            let id = try context.parameters.require("opening")
            let code = try await registry.supplier(token: request.headers[Self.tokenHeader], opening: id)
            let entry = try await registry.entry(id)
            guard entry.session.state.progress[code]?.signedInAt != nil, let supplier = entry.session.state.definition.supplier(code),
                  let bytes = try await registry.store.sealedBid(opening: id, supplier: code.text, sha256: supplier.sealedBidSHA256) else {
                throw Refusal(.notFound, code: "sealed-bid-missing", chinese: "尚未收到贵单位的加密投标文件，请联系代理机构。",
                              english: "no sealed bid with the definition's hash was received for \(code)")
            }
            return try Response.json(["sealedBid": bytes.base64EncodedString(), "sha256": supplier.sealedBidSHA256])
        }
        routes.post("/v1/openings/:opening/supplier/decryption", roles: [.platform],
                    purpose: "the decrypted opening summary (roomd checks its SHA-256), or the reason decryption failed") { request, context in
            let id = try context.parameters.require("opening")
            let code = try await registry.supplier(token: request.headers[Self.tokenHeader], opening: id)
            let body = try await request.decodeStrict(DecryptionBody.self, limit: Self.maximumBodyBytes,
                                                      refusal: Self.bad(#"{"plaintext": base64} or {"failure": text}"#))
            let command: OpeningCommand
            switch (body.plaintext, body.failure) {
            case (let text?, nil):
                let plaintext = Array(try Self.base64(text, "plaintext"))
                let summary: DecryptedSummary
                do {
                    summary = .read(try OpeningSummary.decode(plaintext))
                } catch let problem as SummaryProblem {
                    summary = .unreadable(problem.english)
                }
                command = .submitDecryption(supplier: code, plaintextSHA256: Digest.sha256Hex(plaintext), summary: summary)
            case (nil, let reason?):
                command = .reportDecryptionFailure(supplier: code, reason: reason)
            default:
                throw Self.bad(#"{"plaintext": base64} or {"failure": text}"#)("exactly one of plaintext and failure")
            }
            return try Response.json(try await registry.submit(id, command, actor: "supplier \(code)"), status: .created)
        }
        routes.post("/v1/openings/:opening/supplier/confirmation", roles: [.platform],
                    purpose: "the supplier confirms the read-out: its signature (detached CMS) over the record's bytes") { request, context in
            let id = try context.parameters.require("opening")
            let code = try await registry.supplier(token: request.headers[Self.tokenHeader], opening: id)
            let body = try await request.decodeStrict(ConfirmationBody.self, limit: 64 << 10, refusal: Self.bad(#"{"signature": base64 CMS}"#))
            let signature = try Self.base64(body.signature, "signature")
            let (_, bytes) = try await registry.readout(id)
            let signer = try await registry.verifySupplier(signature, over: bytes, what: "开标记录确认")
            try Self.sameSupplier(code, signer)
            return try Response.json(try await registry.submit(id, .confirmRecord(supplier: code, signature: body.signature),
                                                               actor: "supplier \(code)", signature: signer.stored(.confirmation)),
                                     status: .created)
        }
        routes.post("/v1/openings/:opening/supplier/objection", roles: [.platform],
                    purpose: "the supplier objects (87号令 40): the text and its signature (detached CMS over the text's UTF-8)") { request, context in
            let id = try context.parameters.require("opening")
            let code = try await registry.supplier(token: request.headers[Self.tokenHeader], opening: id)
            let body = try await request.decodeStrict(ObjectionBody.self, limit: 64 << 10,
                                                      refusal: Self.bad(#"{"text": text, "signature": base64 CMS over the text}"#))
            let signature = try Self.base64(body.signature, "signature")
            let signer = try await registry.verifySupplier(signature, over: Array(body.text.utf8), what: "异议")
            try Self.sameSupplier(code, signer)
            return try Response.json(try await registry.submit(id, .raiseObjection(supplier: code, text: body.text, signature: body.signature),
                                                               actor: "supplier \(code)", signature: signer.stored(.objection)),
                                     status: .created)
        }
    }

    struct ListItem: Encodable {
        var opening: String
        var phase: String
        var project: String
        var projectName: String
        var deadline: Int64
    }

    struct Board: Encodable {
        var now: Int64
        var opening: View
    }

    static func event(_ view: View, now: Int64) -> String {
        let data = (try? JSONEncoder().encode(Board(now: now, opening: view))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: opening\ndata: \(data)\n\n"
    }

    static func clock(now: Int64) -> String { "event: clock\ndata: {\"now\":\(now)}\n\n" }

    static func sameSupplier(_ code: CreditCode, _ signer: OpeningRegistry.SupplierSigner) throws {
        guard signer.code == code else {
            throw Refusal(.forbidden, code: "signer-not-this-supplier",
                          chinese: "签名证书属于其他单位（统一社会信用代码 \(signer.code)），请使用本单位的CA证书签名。",
                          english: "signed by a certificate of \(signer.code), the token is \(code)'s")
        }
    }

    static func creditCode(_ text: String) throws -> CreditCode {
        do { return try CreditCode(text) } catch {
            throw Refusal(.badRequest, code: error.code, chinese: error.chineseMessage, english: error.englishMessage)
        }
    }

    struct RecordView: Encodable {
        var readout: BidOpeningRecord
        /// The canonical JSON of `readout`, base64: exactly what a confirmation signs.
        var readoutBytes: String
        var readoutSHA256: String
    }

    struct SupplierView: Encodable {
        var creditCode: String
        var name: String
        var sealedBidReceivedAt: Int64?
        var signedInAt: Int64?
        var decrypted: Bool
        var attempts: [String]
        var answer: String?
        /// For the board: absent, signedIn, waiting, failed, decrypted, timedOut, notOpened.
        var status: String
        /// The status in Chinese, with the reason of a failure.
        var statusText: String
        var objection: String?
    }

    /// A line of the opening record as the room reads it out (开标一览表), in Chinese.
    struct BidRow: Encodable {
        var supplier: String
        var name: String
        var priceInFigures: String
        var priceInWords: String
        /// Figures and words disagree or cannot be read: flagged, never corrected here (87号令 59).
        var flagged: Bool
        var note: String
    }

    struct InvalidRow: Encodable {
        var supplier: String
        var name: String
        var reason: String
    }

    struct LotTable: Encodable {
        var lot: String
        var name: String
        var bids: [BidRow]
        var invalid: [InvalidRow]
        var failure: String?
    }

    struct RejectionView: Encodable {
        var sequence: Int
        var at: Int64
        var supplier: String
        var error: String
        var message: String
        var detail: String
    }

    struct View: Encodable {
        var opening: String
        var definitionSHA256: String
        var source: String
        var phase: String
        var deadline: Int64
        var openedAt: Int64?
        var windowEnd: Int64?
        var closedAt: Int64?
        var concludedAt: Int64?
        var events: Int
        var suppliers: [SupplierView]
        var rejections: [RejectionView]
        var record: BidOpeningRecord?
        /// The record as a table in Chinese (once decryption has closed).
        var table: [LotTable]?
    }

    static func view(_ registry: OpeningRegistry, _ id: String) async throws -> View {
        let entry = try await registry.entry(id)
        let state = entry.session.state
        let record = state.record()
        return View(
            opening: id, definitionSHA256: entry.stored.sha256, source: entry.stored.source, phase: state.phase.rawValue,
            deadline: state.deadline, openedAt: state.openedAt, windowEnd: state.windowEnd, closedAt: state.closedAt,
            concludedAt: state.concludedAt, events: state.lastSequence,
            suppliers: state.definition.suppliers.map { s in
                let p = state.progress[s.creditCode]
                let answer: String?, objection: String?
                switch p?.answer {
                case .confirmed?: (answer, objection) = ("confirmed", nil)
                case .objected(_, let text, _)?: (answer, objection) = ("objected", text)
                case nil: (answer, objection) = (nil, nil)
                }
                let (status, text) = Self.status(p, phase: state.phase, notOpened: record?.suppliers.first { $0.supplier == s.creditCode }?.notOpened)
                return SupplierView(creditCode: s.creditCode.text, name: s.name, sealedBidReceivedAt: p?.sealedBidReceivedAt,
                                    signedInAt: p?.signedInAt, decrypted: p?.summary != nil,
                                    attempts: (p?.attempts ?? []).map { $0.failure?.code ?? "decrypted" }, answer: answer,
                                    status: status, statusText: text, objection: objection)
            },
            rejections: state.rejections.map {
                RejectionView(sequence: $0.sequence, at: $0.at, supplier: $0.supplier.text, error: $0.reason.code,
                              message: $0.reason.chineseMessage, detail: $0.reason.englishMessage)
            },
            record: record, table: record.map(Self.table))
    }

    /// Where a supplier stands, for the board: a code and the Chinese the pages show.
    static func status(_ p: SupplierProgress?, phase: OpeningPhase, notOpened: OpeningRejection?) -> (String, String) {
        if p?.summary != nil { return ("decrypted", "已解密") }
        if let notOpened {
            if case .decryptionTimedOut = notOpened { return ("timedOut", "超时未解密：" + notOpened.chineseMessage) }
            return ("notOpened", "未开启：" + notOpened.chineseMessage)
        }
        guard p?.signedInAt != nil else { return ("absent", "未签到") }
        if phase == .signIn { return ("signedIn", "已签到") }
        if let failure = p?.attempts.last?.failure { return ("failed", "解密失败：" + failure.chineseMessage) }
        return ("waiting", "等待解密")
    }

    static func table(_ record: BidOpeningRecord) -> [LotTable] {
        record.lots.map { lot in
            LotTable(lot: lot.lot, name: lot.name, bids: lot.bids.map { bid in
                let note: String = switch bid.consistency {
                case .consistent: "大小写金额一致"
                case .wordsDiffer(let figures, let words):
                    "大写金额（\(words.display(decimals: 2))元）与小写金额（\(figures.display(decimals: 2))元）不一致：已标记，由评标委员会依87号令第五十九条处理"
                case .figuresUnreadable: "小写金额无法识读：已标记，由评标委员会处理"
                case .wordsUnreadable(_, let chinese, _): "大写金额无法识读（\(chinese)）：已标记，由评标委员会处理"
                }
                return BidRow(supplier: bid.supplier.text, name: bid.name, priceInFigures: bid.priceInFigures, priceInWords: bid.priceInWords,
                              flagged: bid.consistency.flagged, note: note)
            }, invalid: lot.invalid.map { InvalidRow(supplier: $0.supplier.text, name: $0.name, reason: $0.reason.chineseMessage) },
            failure: lot.failure?.chineseMessage)
        }
    }
}
