import Canonical
import Foundation
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import RoomConfig
import Store

/// The HTTPS API's handlers. Who may call what is decided before these run,
/// by the roles each route declares where it is registered (``RouteRegistrar``, ``RoleGate``).
struct APIRoutes: Sendable {
    let store: RoomStore
    let status: StatusReporter
    let health: HealthRegistry
    let metrics: PrometheusCollectorRegistry
    let events: EventRecorder
    let recording: RecordingService
    let ledger: RoomLedger
    let connections: ConnectionLimiter
    let config: RoomConfiguration
    /// Each session and its phase (the live registry), for `roomd_session_phase`.
    let sessionPhases: @Sendable () async -> [(session: String, phase: String)]

    func register(on routes: APIRouteTable) {
        routes.get("/healthz", roles: .everyone, purpose: "liveness") { _, _ in
            try Response.json(["status": "ok"])
        }
        routes.get("/readyz", roles: .everyone, purpose: "readiness with health checks") { _, _ in
            let reports = await health.evaluate()
            let ready = reports.allSatisfy(\.healthy)
            return try Response.json(ReadyBody(ready: ready, checks: reports), status: ready ? .ok : .serviceUnavailable)
        }
        routes.get("/metrics", roles: [.operator, .supervisor, .platform], purpose: "Prometheus metrics") { _, _ in
            await refreshGauges()
            var buffer = ByteBuffer()
            buffer.writeBytes(metrics.emitToBuffer())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: buffer))
        }
        routes.get("/v1/room", roles: [.operator, .supervisor, .platform], purpose: "room and station status") { _, _ in
            try Response.json(try await status.snapshot())
        }
        routes.get("/v1/station/self", roles: [.station], purpose: "the calling station's own record") { _, context in
            guard let id = context.peer?.stationID,
                  let row = try await store.stations().first(where: { $0.id == id })
            else {
                throw Refusal(.notFound, code: "station-unknown", chinese: "本终端未在评标室登记，请联系代理机构管理员。",
                              english: "station record not found")
            }
            return try Response.json(row)
        }
        routes.post("/v1/station/heartbeat", roles: [.station], purpose: "station health report") { request, context in
            guard let peer = context.peer, let id = peer.stationID else {
                throw Refusal(.forbidden, code: "not-a-station", chinese: "仅评审终端可上报状态。", english: "not a station")
            }
            let bytes = Array(buffer: try await request.body.collect(upTo: 16 * 1024))
            guard bytes.first == UInt8(ascii: "{"), StrictJSON.problem(in: bytes) == nil else {
                throw Refusal(.badRequest, code: "bad-heartbeat", chinese: "终端状态报告格式错误，请升级终端程序。",
                              english: "heartbeat body must be a JSON object (\(StrictJSON.problem(in: bytes) ?? "not an object"))")
            }
            try await store.recordHeartbeat(station: id, at: store.clock.now().nanoseconds, address: context.remoteAddress,
                                            report: String(decoding: bytes, as: UTF8.self))
            return Response(status: .noContent)
        }
        routes.get("/v1/events", roles: [.operator, .supervisor], purpose: "recent room events") { request, _ in
            let limit = try request.bounded("limit", in: 1...1000) ?? 50
            return try Response.json(try await store.recentEvents(limit: limit))
        }
        let declared = routes.declared
        LedgerRoutes(ledger: ledger).register(on: routes) { context in
            context.peer.map { declared.roles(.get, "/v1/ledger/entries").contains($0.role) } ?? false
        }
    }

    private struct ReadyBody: Encodable {
        var ready: Bool
        var checks: [HealthReport]
    }

    /// Gauges that describe current state are computed at scrape time.
    private func refreshGauges() async {
        recording.refreshMetrics()
        let counts = connections.counts
        Gauge(label: "roomd_api_connections").record(counts.open)
        Gauge(label: "roomd_api_connections_peak").record(counts.peak)
        Gauge(label: "roomd_api_connections_evicted").record(counts.evicted)
        guard let snapshot = try? await status.snapshot(events: 0) else { return }
        Gauge(label: "roomd_stations_online").record(snapshot.stations.filter { $0.state == "online" }.count)
        Gauge(label: "roomd_uptime_seconds").record(snapshot.daemon.uptimeSeconds)
        for service in snapshot.services {
            Gauge(label: "roomd_health_check_ok", dimensions: [("check", service.name)]).record(service.healthy ? 1 : 0)
        }
        // The outbox: packages not yet acknowledged, by state; bytes still to push; deliveries stopped for good.
        let packages = snapshot.packages ?? []
        for state in ["checking", "check-failed", "offered", "delivered"] {
            Gauge(label: "roomd_packages", dimensions: [("state", state)]).record(packages.filter { $0.state == state }.count)
        }
        Gauge(label: "roomd_outbox_backlog_bytes").record(packages.filter { $0.target != nil && $0.state == "offered" }
            .reduce(Int64(0)) { $0 + $1.bytes - ($1.bytesConfirmed ?? 0) })
        Gauge(label: "roomd_outbox_stopped").record(packages.filter { $0.stopped == true }.count)
        // The disk, the ledger, signatures and sessions.
        if let free = try? RetentionService.freeBytes(config.storage.recordingsDirectory) {
            Gauge(label: "roomd_disk_free_bytes", dimensions: [("path", "recordings")]).record(free)
        }
        let ledger = self.ledger
        if let (size, checkpoint) = try? await runBlocking({ () throws -> (Int, Int64?) in
            (try ledger.ledger.treeHead().size, try ledger.ledger.latestCheckpoint()?.createdNs)
        }) {
            Gauge(label: "roomd_ledger_entries").record(size)
            if let checkpoint {
                Gauge(label: "roomd_ledger_checkpoint_age_seconds").record(max(0, store.clock.now().nanoseconds - checkpoint) / 1_000_000_000)
            }
        }
        if let verdicts = try? await store.signatureVerdictCounts() {
            for verdict in ["accepted", "rejected"] {
                Gauge(label: "roomd_signature_verifications", dimensions: [("result", verdict)]).record(verdicts[verdict] ?? 0)
            }
        }
        for (session, phase) in await sessionPhases() {
            Gauge(label: "roomd_session_phase", dimensions: [("session", session), ("phase", phase)]).record(1)
        }
    }
}
