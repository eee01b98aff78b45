import Archive
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RoomConfig
import Store

/// Sealed packages over HTTPS and the admin socket (docs/formats.md,
/// "Pulling packages"): the platform lists what was offered since its cursor,
/// downloads a package as the deterministic tar (HTTP Range resumes it), and
/// acknowledges it with its own SHA-256. roomctl seals, lists and retries.
struct PackageRoutes: Sendable {
    let service: PackageService
    let events: EventRecorder

    struct AcknowledgeBody: Decodable {
        var sha256: String
    }

    struct Acknowledged: Encodable {
        var session: String
        var acknowledged_at: String
    }

    func register<Routes: RouteRegistrar>(on routes: Routes, who: @escaping @Sendable (Routes.Context) -> String) {
        let service = self.service, events = self.events
        routes.get("/v1/packages", roles: [.platform, .operator, .supervisor],
                   purpose: "sealed packages offered to the platform, after a cursor (?since=N&limit=M)") { request, _ in
            let since = Int64(request.uri.queryParameters.get("since") ?? "0") ?? -1
            let limit = Int(request.uri.queryParameters.get("limit") ?? "100") ?? -1
            guard since >= 0, (1...1000).contains(limit) else {
                throw Refusal.badQuery("since is a cursor (an integer ≥ 0) and limit is 1…1000")
            }
            let rows = try await service.store.offeredPackages(after: since, limit: limit)
            let outbox = Dictionary(uniqueKeysWithValues: try await service.store.outbox().map { ($0.session, $0) })
            return try Response.json(PackageList(packages: rows.map { PackageSummary($0, outbox: outbox[$0.session]) },
                                                 next: rows.last?.cursor ?? since))
        }
        routes.get("/v1/packages/:session/package.tar", roles: [.platform, .supervisor],
                   purpose: "one offered package as its tar, streamed (HTTP Range to resume)") { request, context in
            let session = try context.parameters.require("session")
            guard let row = try await service.store.package(session: session), row.cursor != nil, let sha = row.tarSHA256 else {
                throw Refusal(.notFound, code: "package-not-offered", chinese: "该场次没有已提交的封包。", english: "no offered package for session \(session)")
            }
            let tar = try await service.tar(row)
            guard tar.size == row.tarBytes else {
                throw Refusal(.internalServerError, code: "package-changed", chinese: "封包文件与封包记录不符，请联系运维人员。",
                              english: "the package on disk is \(tar.size) bytes, \(row.tarBytes) when sealed")
            }
            var headers: HTTPFields = [.contentType: "application/x-tar", .acceptRanges: "bytes", .eTag: "\"\(sha)\"",
                                       .contentDisposition: "attachment; filename=\"\(row.name).tar\"", .cacheControl: "no-store"]
            var range = 0...(Int(tar.size) - 1)
            var status = HTTPResponse.Status.ok
            if let header = request.headers[.range] {
                if let ifRange = request.headers[.ifRange], ifRange != "\"\(sha)\"" {
                    // The client holds bytes of another package: the whole thing again.
                } else if let asked = RecordingArchive.byteRange(header, size: Int(tar.size)) {
                    range = asked
                    status = .partialContent
                    headers[.contentRange] = "bytes \(asked.lowerBound)-\(asked.upperBound)/\(tar.size)"
                } else {
                    var refusal = Refusal(.rangeNotSatisfiable, code: "bad-range", chinese: "请求的字节范围无效。",
                                          english: "Range \(header) does not fit a package of \(tar.size) bytes (one range, bytes=a-b)")
                    refusal.headers = [.contentRange: "bytes */\(tar.size)"]
                    throw refusal
                }
            }
            headers[.contentLength] = String(range.count)
            await events.record(kind: "package.downloaded", severity: "info", subject: session, detail: [
                "session": session, "by": who(context), "from": String(range.lowerBound), "to": String(range.upperBound),
                "tar_sha256": sha,
            ], actor: who(context))
            let start = Int64(range.lowerBound), end = Int64(range.upperBound) + 1
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                var offset = start
                while offset < end {
                    let at = offset, count = Int(min(end - offset, 1 << 20))
                    let chunk = try await runBlocking { try tar.read(offset: at, count: count) }
                    guard !chunk.isEmpty else { break }
                    offset += Int64(chunk.count)
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            })
        }
        routes.post("/v1/packages/:session/acknowledge", roles: [.platform],
                    purpose: "the platform received and verified a package: its SHA-256 of the tar") { request, context in
            let session = try context.parameters.require("session")
            let body = try await request.decodeStrict(AcknowledgeBody.self, limit: 4096) { why in
                Refusal(.badRequest, code: "bad-acknowledgement", chinese: "确认请求格式错误。", english: "body must be {\"sha256\": hex}: \(why)")
            }
            guard body.sha256.utf8.count == 64, body.sha256.lowercased().utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw Refusal(.badRequest, code: "bad-acknowledgement", chinese: "哈希值格式错误。", english: "sha256 must be 64 hex digits")
            }
            let at = try await service.acknowledge(session: session, sha256: body.sha256, by: who(context))
            return try Response.json(Acknowledged(session: session, acknowledged_at: Text.iso8601(nanoseconds: at)))
        }
    }

    func seal(key: String, force: Bool) async throws -> Response {
        do {
            let row = try await service.seal(key: key, actor: "roomctl", force: force)
            let outbox = try await service.store.outbox().first { $0.session == key }
            return try Response.json(PackageSummary(row, outbox: outbox))
        } catch let refused as PackageSealer.Refused {
            throw Refusal(.conflict, code: "seal-refused", chinese: "无法封包：\(refused.description)", english: refused.description)
        }
    }

    /// roomctl's routes (admin socket).
    func registerAdmin<Routes: RouteRegistrar>(on routes: Routes) {
        let service = self.service
        routes.get("/v1/packages/all", roles: [], purpose: "every sealed package with its check and delivery state") { _, _ in
            let outbox = Dictionary(uniqueKeysWithValues: try await service.store.outbox().map { ($0.session, $0) })
            let rows = try await service.store.packages()
            return try Response.json(PackageList(packages: rows.map { PackageSummary($0, outbox: outbox[$0.session]) },
                                                 next: rows.compactMap(\.cursor).max() ?? 0))
        }
        routes.post("/v1/packages/:session/seal", roles: [],
                    purpose: "seal a session, or an opening as opening:<id>, now (?force=1: before it ends)") { request, context in
            try await seal(key: try context.parameters.require("session"), force: request.uri.queryParameters.get("force") == "1")
        }
        routes.post("/v1/openings/:opening/seal", roles: [], purpose: "seal an opening now (?force=1: before it is concluded)") { request, context in
            try await seal(key: PackageKey.opening(try context.parameters.require("opening")),
                           force: request.uri.queryParameters.get("force") == "1")
        }
        routes.post("/v1/packages/retry", roles: [], purpose: "retry deliveries that failed for good (?session=S)") { request, _ in
            let count = try await service.store.retryOutbox(session: request.uri.queryParameters.get("session"))
            service.outbox?.wake.open()
            return try Response.json(["retried": count])
        }
    }
}
