import Evaluation
import Foundation
import Identity
import Logging
import ReportPDF
import Store

/// The evaluation report as PDF (module ReportPDF), in two forms:
///
/// - the **body** of a fixed report version: rendered from the engine's result as it stood when
///   the ranking was confirmed (no signatures, no confirmation, dated by `generatedAt`), so it is
///   the same bytes whenever and wherever it is rendered again. Its SHA-256 is what each member's
///   cloud signature on the report signs;
/// - the **signed report**, once the leader confirmed: the body's content followed by the
///   signature page (each member's verified cloud signature over the body's SHA-256, the
///   handwritten signature from check-in, dissents with reasons, members deemed to agree), dated
///   by the confirmation.
///
/// Rendering takes a tenth of a second on the blocking pool; bodies are kept per session and
/// version (a few hundred KiB each).
actor SessionReports {
    struct Rendered: Sendable {
        var bytes: [UInt8]
        var sha256: String
    }

    private var bodies: [String: Rendered] = [:]
    let store: RoomStore
    let room: String
    let logger: Logger

    init(store: RoomStore, room: String, logger: Logger) {
        self.store = store
        self.room = room
        self.logger = logger
    }

    /// The body of the session's fixed report, or nil before the ranking is confirmed.
    func body(session: String, state: SessionState, definition: SessionDefinition) async throws -> Rendered? {
        guard let result = ReportComposer.fixedBody(of: state.result()) else { return nil }
        let key = "\(session)#\(result.current.version)"
        if let cached = bodies[key] { return cached }
        let room = self.room
        let bytes = try await runBlocking {
            let document = ReportComposer.compose(result: result, session: session, room: room, signatures: nil, definition: definition)
            return try ReportPDF.render(document, createdAt: ReportComposer.creationInstant(of: result))
        }
        let rendered = Rendered(bytes: bytes, sha256: Digest.sha256Hex(bytes))
        bodies[key] = rendered
        logger.info("report body rendered", metadata: [
            "session": .string(session), "version": .string(String(result.current.version)), "sha256": .string(rendered.sha256),
            "bytes": .string(String(bytes.count)),
        ])
        return rendered
    }

    /// The signed report: only once the leader confirmed it (phase closed).
    func signed(session: String, state: SessionState, definition: SessionDefinition) async throws -> Rendered? {
        guard state.phase == .closed || state.reports.last?.confirmedAt != nil,
              let body = try await body(session: session, state: state, definition: definition) else { return nil }
        var entries: [SignaturePageEntry] = []
        let records = state.reports.last?.signatures ?? []
        for member in state.members {
            let record = records.first { $0.member == member.id }
            var entry = SignaturePageEntry(member: member.id, name: member.name, kind: .deemedAgreed, at: record?.at)
            switch record?.kind {
            case .signed?:
                entry.kind = .signed
            case .dissented?:
                entry.kind = .dissented
                entry.dissent = record?.text
            default:
                break
            }
            if entry.kind == .signed, let details = try await store.acceptedSignature(
                session: session, entry: member.id, purpose: SigningPurpose.report.rawValue, documentSHA256: body.sha256) {
                entry.verified = true
                entry.signerName = details.signerName
                entry.certificateFingerprint = details.fingerprint
                entry.algorithm = details.algorithm
                entry.signedDocumentSHA256 = body.sha256
            }
            if let strokes = try await store.checkInHandwriting(session: session, entry: member.id),
               let handwriting = try? HandwrittenSignature(json: strokes) {
                entry.handwritingPNG = try? handwriting.png(scale: 1)
            }
            entries.append(entry)
        }
        let result = state.result()
        let room = self.room
        let page = entries
        let bytes = try await runBlocking {
            let document = ReportComposer.compose(result: result, session: session, room: room, signatures: page, definition: definition)
            return try ReportPDF.render(document, createdAt: ReportComposer.creationInstant(of: result))
        }
        return Rendered(bytes: bytes, sha256: Digest.sha256Hex(bytes))
    }
}
