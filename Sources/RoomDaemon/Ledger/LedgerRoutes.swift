import Canonical
import Archive
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Store

/// Read-only ledger routes, served on the HTTPS API (roles declared with each route)
/// and on the admin socket for roomctl. Proofs have the shape
/// `roomctl ledger proof` prints (``Ledger/inclusionProofDocument(entry:treeSize:)``).
struct LedgerRoutes: Sendable {
    let ledger: RoomLedger

    /// At most this many entries per `/entries` request.
    static let pageLimit = 10_000
    /// Entry numbers and tree sizes a request may name: far beyond any real
    /// ledger, and small enough that no sum of two of them overflows.
    static let positions = 0...(1 << 53)

    /// `mayReadEntries`: whether the caller may read entries themselves (the
    /// roles of `/v1/ledger/entries`); others get inclusion proofs without the entry.
    func register<Routes: RouteRegistrar>(on router: Routes, mayReadEntries: @escaping @Sendable (Routes.Context) -> Bool) {
        // The latest stored checkpoint. Reading signs nothing: checkpoints come
        // from the schedule and milestones, so a client polling cannot make
        // the room sign (and store) one per poll.
        router.get("/v1/ledger/checkpoint", roles: [.operator, .supervisor, .platform],
                   purpose: "the latest signed checkpoint of the audit ledger (witnesses keep it)") { _, _ -> Response in
            guard let stored = try await runBlocking({ try ledger.ledger.latestCheckpoint() }) else {
                throw Refusal(.notFound, code: "no-checkpoint", chinese: "账本尚无已签名的检查点。",
                              english: "no checkpoint has been signed yet")
            }
            return Self.text(stored.checkpoint.text, type: "text/plain; charset=utf-8")
        }
        router.get("/v1/ledger/proof/inclusion", roles: [.operator, .supervisor, .platform],
                   purpose: "RFC 9162 inclusion proof of one entry (the entry itself only for roles that may read entries)") { request, context in
            guard let entry = try request.bounded("entry", in: Self.positions) else {
                throw Self.badRequest("query parameter entry (the entry's seq) is required")
            }
            let size = try request.bounded("size", in: Self.positions)
            let includeEntry = mayReadEntries(context)
            return try await Self.answer { try ledger.ledger.inclusionProofDocument(entry: entry, treeSize: size, includeEntry: includeEntry) }
        }
        router.get("/v1/ledger/proof/consistency", roles: [.operator, .supervisor, .platform],
                   purpose: "RFC 9162 consistency proof between two tree sizes") { request, _ in
            guard let from = try request.bounded("from", in: Self.positions) else {
                throw Self.badRequest("query parameter from (the older tree size) is required")
            }
            let to = try request.bounded("to", in: Self.positions)
            return try await Self.answer { try ledger.ledger.consistencyProofDocument(from: from, to: to) }
        }
        router.get("/v1/ledger/entries", roles: [.supervisor, .platform], purpose: "ledger entries as canonical JSON lines") { request, _ in
            let from = try request.bounded("from", in: Self.positions) ?? 0
            let requestedTo = try request.bounded("to", in: Self.positions)
            let size = try await runBlocking { try ledger.ledger.treeHead().size }
            let to = min(requestedTo ?? size, size, from + Self.pageLimit)
            guard from <= to else { throw Self.badRequest("from \(from) is beyond the ledger's \(size) entries") }
            let lines = try await runBlocking {
                try ledger.ledger.entryBytes(from..<to).enumerated().map { try Ledger.disclosable(Array($1), seq: from + $0) }
            }
            var buffer = ByteBuffer()
            for line in lines {
                buffer.writeBytes(line)
                buffer.writeInteger(UInt8(ascii: "\n"))
            }
            return Response(status: .ok, headers: [.contentType: "application/jsonl; charset=utf-8",
                                                   HTTPField.Name("Roomd-Ledger-Size")!: String(size)],
                            body: .init(byteBuffer: buffer))
        }
    }

    /// Proof requests that name sizes or entries outside the tree are the
    /// caller's mistake (400), not the daemon's.
    static func answer(_ work: @escaping @Sendable () throws -> CanonicalJSON) async throws -> Response {
        do {
            let document = try await runBlocking(work)
            var bytes = try document.canonicalBytes()
            bytes.append(UInt8(ascii: "\n"))
            return text(String(decoding: bytes, as: UTF8.self), type: "application/json; charset=utf-8")
        } catch let error as LedgerError {
            switch error {
            case .sizeOutOfRange, .indexOutOfRange: throw badRequest(error.description)
            default: throw error
            }
        }
    }

    static func badRequest(_ english: String) -> Refusal {
        Refusal(.badRequest, code: "bad-ledger-request", chinese: "账本查询参数有误：请检查条目序号或树大小。", english: english)
    }

    static func text(_ text: String, type: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: buffer))
    }
}
