#if canImport(Glibc)
import Glibc
#endif
import Canonical
import Delivery
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Identity
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import RoomConfig
import ServiceLifecycle
import Store

/// sysexits(3) codes roomd exits with, so systemd (RestartPreventExitStatus)
/// and installers can tell a broken installation from a crash.
enum ExitStatus {
    static let ok: Int32 = 0
    static let dataError: Int32 = 65      // EX_DATAERR: database from a newer roomd
    static let missingFile: Int32 = 72    // EX_OSFILE: an installed file (roomd-capture) is missing
    static let cannotCreate: Int32 = 73   // EX_CANTCREAT: state folders
    static let config: Int32 = 78         // EX_CONFIG
}

struct DaemonFailure: Error, CustomStringConvertible {
    var status: Int32
    var description: String
}

/// Wires the daemon together and runs it until SIGTERM/SIGINT.
enum Daemon {
    static func run(config: RoomConfiguration) async throws {
        let logger = Logger(label: "roomd")
        // The one clock every timer and deadline below reads (tests give the
        // pieces a ManualClock instead).
        let clock: any RoomClock = SystemClock()
        let startedWall = clock.now().nanoseconds
        let startedMonotonic = clock.monotonic()
        umask(0o027)

        for directory in [config.storage.stateDirectory, config.storage.recordingsDirectory,
                          config.storage.packagesDirectory, (config.api.adminSocket as NSString).deletingLastPathComponent] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw DaemonFailure(status: ExitStatus.cannotCreate, description: "cannot create \(directory): \(error) / 无法创建目录")
            }
        }

        let store: RoomStore
        do {
            store = try RoomStore(path: config.storage.databasePath, clock: clock)
        } catch let error as RoomStore.OpenError {
            throw DaemonFailure(status: ExitStatus.dataError, description: error.description)
        }
        try store.syncStations(config.stations)
        let events = EventRecorder(store: store, logger: logger)
        let refusals = EventAggregator(events: events)
        raiseDescriptorLimit(logger: logger)
        let ledger: RoomLedger
        do {
            ledger = try RoomLedger(store: store, config: config, logger: logger)
        } catch {
            throw DaemonFailure(status: ExitStatus.config, description: "\(error)")
        }
        let witness: LedgerWitness
        do {
            witness = try LedgerWitness(config: config, ledger: ledger, logger: logger)
        } catch {
            throw DaemonFailure(status: ExitStatus.config, description: "checkpoint witnessing cannot start (ledger.tsa_certificate / platform / tls): \(error) / 检查点见证配置无法使用")
        }
        let configText = (try? String(contentsOfFile: config.sourcePath, encoding: .utf8)) ?? ""
        if let change = try await store.recordConfiguration(path: config.sourcePath, text: configText,
                                                              sha256: Digest.sha256Hex(Array(configText.utf8))) {
            logger.notice("configuration recorded in the audit ledger", metadata: ["event": .string(change)])
        }

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let (tls, mapper) = try makeTLS(config)
        let health = HealthRegistry()
        let apiFlag = ReadinessFlag()
        let adminFlag = ReadinessFlag()
        health.register("store") {
            do {
                try await store.ping()
                return HealthReport(name: "store", healthy: true, detail: config.storage.databasePath)
            } catch {
                return HealthReport(name: "store", healthy: false, detail: "\(error)")
            }
        }
        health.register("api") {
            let flag = apiFlag.current
            return HealthReport(name: "api", healthy: flag.up, detail: flag.detail)
        }
        health.register("admin") {
            let flag = adminFlag.current
            return HealthReport(name: "admin", healthy: flag.up, detail: flag.detail)
        }

        let recording = RecordingService(config: config, store: store, logger: logger)
        if let problem = RecordingService.installationProblem(config, helperPath: recording.helperPath) {
            throw DaemonFailure(status: ExitStatus.missingFile, description: problem)
        }
        // Writing to a capture helper that just died is an EPIPE to handle, not a signal that ends roomd.
        signal(SIGPIPE, SIG_IGN)
        health.registerMany {
            var reports = recording.health().map { report in
                var report = report
                report.watchdog = false
                return report
            }
            let alive = recording.recordersAlive()
            reports.append(HealthReport(name: "recorder threads", healthy: alive,
                                        detail: alive ? "\(recording.devices.count) alive" : "a recorder stopped making progress"))
            return reports
        }

        let status = StatusReporter(config: config, store: store, health: health, recording: recording,
                                    startedWall: startedWall, startedMonotonic: startedMonotonic)
        let notifier = SystemdNotifier()
        let systemd = SystemdService(
            notifier: notifier, health: health, logger: logger, waitFor: ["api", "admin"],
            readyStatus: "serving room \(config.room.id); API on \(config.api.host):\(config.api.port)", clock: clock)

        var checkIn: CheckInService?
        if let identity = config.identity {
            do {
                checkIn = try CheckInService(config: config, identity: identity, store: store, logger: logger)
            } catch {
                throw DaemonFailure(status: ExitStatus.config, description: "expert check-in cannot start (identity.expert_trust_dir / identity.room_secret): \(error) / 专家签到配置无法使用")
            }
        }
        let stored = try store.stationCertificates()
        let certificates = StationCertificates(enrollments: stored.enrollments, revocations: stored.revocations)
        let gate = CertificateGate(mapper: mapper, certificates: certificates, clock: clock)
        let limiter = ConnectionLimiter(limits: config.api.limits)
        let router = Router(context: RoomRequestContext.self)
        router.add(middleware: RefusalMiddleware(logger: logger))
        router.add(middleware: AccessMiddleware(gate: gate, refusals: refusals))
        let apiRoutes = APIRouteTable(router: router, refusals: refusals)
        if let checkIn {
            checkIn.registerStationRoutes(on: apiRoutes, refusals: refusals)
            checkIn.registerOperatorRoutes(on: apiRoutes) { context in context.peer?.description ?? "unknown" }
        } else {
            CheckInService.registerUnavailable(on: apiRoutes)
        }
        var platformTrust: TrustStore?
        if let folder = config.sessions.platformTrustDirectory {
            do {
                platformTrust = try TrustStore.load(directory: folder)
            } catch {
                throw DaemonFailure(status: ExitStatus.config, description: "sessions.platform_trust_dir \(folder) is unusable: \(error) / 平台签名证书信任目录无法使用")
            }
        }
        let sessions = SessionRegistry(store: store, ledger: ledger, platformTrust: platformTrust, logger: logger)
        var supplierTrust: TrustStore?
        if let folder = config.sessions.supplierTrustDirectory {
            do {
                supplierTrust = try TrustStore.load(directory: folder)
            } catch {
                throw DaemonFailure(status: ExitStatus.config, description: "sessions.supplier_trust_dir \(folder) is unusable: \(error) / 供应商CA证书信任目录无法使用")
            }
        }
        let openings = OpeningRegistry(store: store, room: config.room.id, platformTrust: platformTrust, supplierTrust: supplierTrust,
                                       creditCodeOID: config.sessions.creditCodeOID, logger: logger)
        OpeningRoutes(registry: openings).register(on: apiRoutes)
        APIRoutes(store: store, status: status, health: health, metrics: registry, events: events, recording: recording,
                  ledger: ledger, connections: limiter, config: config,
                  sessionPhases: { await sessions.summaries().map { ($0.session, $0.phase) } })
            .register(on: apiRoutes)
        let reports = SessionReports(store: store, room: config.room.name, logger: logger)
        let sessionRoutes = SessionRoutes(registry: sessions, store: store, refusals: refusals,
                                          disciplineMinimumSeconds: config.sessions.disciplineMinimumSeconds,
                                          reports: reports)
        sessionRoutes.registerOperatorRoutes(on: apiRoutes, who: { $0.peer?.description ?? "unknown" },
                                             isPlatform: { $0.peer?.role == .platform })
        sessionRoutes.registerStationRoutes(on: apiRoutes)
        sessionRoutes.registerStreamRoutes(on: apiRoutes)
        sessionRoutes.registerReportRoutes(on: apiRoutes)
        PageRoutes().register(on: apiRoutes)
        let stationControl = StationControlRoutes(store: store, stationIDs: Set(config.stations.map(\.id)), updates: sessions.updates)
        stationControl.registerOperatorRoutes(on: apiRoutes) { $0.peer?.description ?? "operator" }
        stationControl.registerStationRoutes(on: apiRoutes)
        let seats = SeatRoutes(registry: sessions, store: store, stationIDs: config.stations.map(\.id))
        seats.register(on: apiRoutes) { $0.peer?.description ?? "operator" }
        let archive = RecordingArchive(store: store, config: config, recording: recording, ledger: ledger, events: events, logger: logger)
        await runBlocking { archive.sweepLeftovers() }
        let recordings = RecordingRoutes(archive: archive)
        recordings.register(on: apiRoutes) { context in
            context.peer.map { "\($0.description) sha256:\($0.fingerprint)" } ?? "unknown"
        }
        recordings.registerStation(on: apiRoutes)
        // Sealed packages: the seal, the check before a package is offered, pull and push.
        let packages: PackageService
        do {
            try FileManager.default.createDirectory(atPath: config.storage.packagesDirectory, withIntermediateDirectories: true)
            PackageSealer.sweepUnfinished(in: config.storage.packagesDirectory, logger: logger)
            let sealer = try PackageSealer(store: store, config: config, ledger: ledger, witness: witness, reports: reports,
                                           registry: sessions, openings: openings, logger: logger)
            var outbox: PackageOutbox?
            switch config.packages.delivery {
            case .pull:
                outbox = nil
            case .https:
                outbox = try PackageOutbox.https(store: store, config: config, events: events, logger: logger)
            case .s3:
                outbox = try PackageOutbox.s3(store: store, config: config, events: events, logger: logger)
            }
            packages = try PackageService(sealer: sealer, store: store, config: config, events: events, logger: logger, outbox: outbox)
        } catch {
            throw DaemonFailure(status: ExitStatus.config, description: "sealed packages cannot start (packages: / ledger signing key / storage.packages_dir): \(error) / 封包功能无法启动")
        }
        let packageRoutes = PackageRoutes(service: packages, events: events)
        packageRoutes.register(on: apiRoutes) { context in
            context.peer.map { "\($0.description) sha256:\($0.fingerprint)" } ?? "unknown"
        }
        let api = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                let limits = config.api.limits
                return try MutualTLSChannel(
                    HTTP1Channel(responder: responder, configuration: .init(
                        additionalChannelHandlers: [RequestDeadlines(refusals: refusals, limits: limits)])),
                    tlsConfiguration: tls, refusals: refusals, gate: gate, limiter: limiter)
            },
            configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "roomd"),
            onServerRunning: { channel in
                apiFlag.set(true, "listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
                logger.notice("HTTPS API listening (mutual TLS)", metadata: ["address": .string("\(channel.localAddress.map { "\($0)" } ?? "?")")])
                systemd.listenerUp("api")
            },
            logger: logger)

        try UnixSocketFile.removeStale(config.api.adminSocket)
        let adminRouter = Router()
        adminRouter.add(middleware: RefusalMiddleware(logger: logger))
        let adminRoutes = AdminRouteTable(router: adminRouter)
        AdminRoutes(status: status, ledger: ledger, stations: StationEnrollment(
            store: store, gate: gate, stationIDs: Set(config.stations.map(\.id)), logger: logger))
            .register(on: adminRoutes, apiRoutes: apiRoutes.declared)
        checkIn?.registerOperatorRoutes(on: adminRoutes) { _ in "roomctl" }
        sessionRoutes.registerOperatorRoutes(on: adminRoutes, who: { _ in "roomctl" }, isPlatform: { _ in false })
        OpeningRoutes(registry: openings).registerOperatorRoutes(on: adminRoutes, who: { _ in "roomctl" }, isPlatform: { _ in false })
        stationControl.registerOperatorRoutes(on: adminRoutes) { _ in "roomctl" }
        seats.register(on: adminRoutes) { _ in "roomctl" }
        recordings.register(on: adminRoutes) { _ in "roomctl (admin socket)" }
        packageRoutes.register(on: adminRoutes) { _ in "roomctl (admin socket)" }
        packageRoutes.registerAdmin(on: adminRoutes)
        let socketPath = config.api.adminSocket
        // The admin socket has an event loop of its own: whatever the network
        // does to the API's loops (floods of handshakes), roomctl is answered.
        let adminLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let admin = Application(
            router: adminRouter,
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "roomd-admin"),
            onServerRunning: { _ in
                chmod(socketPath, 0o660)
                adminFlag.set(true, socketPath)
                logger.notice("admin socket listening", metadata: ["path": .string(socketPath)])
                systemd.listenerUp("admin")
            },
            eventLoopGroupProvider: .shared(adminLoop),
            logger: logger)

        // How the previous run ended: a start with no stop after it was a crash,
        // a kill or a power cut, and the record says so.
        let previous = try await store.previousRun()
        await events.record(kind: "daemon.started", severity: previous.clean ? "info" : "warning", subject: config.room.id,
                            detail: ["version": StatusReporter.version, "config": config.sourcePath, "pid": "\(getpid())",
                                     "previous_run": previous.description])
        if !previous.clean {
            logger.warning("the previous run of roomd ended uncleanly; its open segments were repaired / 上次运行未正常停止",
                           metadata: ["previous_run": .string(previous.description)])
        }
        // Every open session resumes where its last stored command left it.
        let resumed = try await sessions.load()
        if !resumed.broken.isEmpty {
            await events.record(kind: "session.replay-failed", severity: "critical", subject: config.room.id,
                                detail: resumed.broken.mapValues { String($0.prefix(500)) })
        }
        let resumedOpenings = try await openings.load()
        if !resumedOpenings.broken.isEmpty {
            await events.record(kind: "opening.replay-failed", severity: "critical", subject: config.room.id,
                                detail: resumedOpenings.broken.mapValues { String($0.prefix(500)) })
        }
        _ = try await runBlocking { try ledger.checkpoint(reason: "daemon.started", force: true) }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if witness.isEnabled { services.append(.init(service: LedgerWitnessService(witness: witness))) }
        if let checkIn { services.append(.init(service: TrustReloadService(checkIn: checkIn, events: events, logger: logger))) }
        if let outbox = packages.outbox { services.append(.init(service: outbox)) }
        let group = ServiceGroup(
            configuration: .init(
                services: services + [
                    .init(service: refusals),
                    .init(service: api),
                    .init(service: admin),
                    .init(service: recording),
                    .init(service: RetentionService(config: config, store: store, events: events, logger: logger,
                                                    refused: { recording.storageRefusedAtStart })),
                    .init(service: CheckpointService(ledger: ledger, interval: .seconds(config.ledger.checkpointSeconds))),
                    .init(service: packages),
                    .init(service: OpeningClockService(registry: openings, clock: clock)),
                    .init(service: systemd, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("service group failed", metadata: ["error": .string("\(error)")])
            await events.record(kind: "daemon.failed", severity: "error", subject: config.room.id, detail: ["error": "\(error)"])
            await witness.shutdown()
            try? store.close()
            throw error
        }
        await events.record(kind: "daemon.stopped", severity: "info", subject: config.room.id, detail: ["reason": "signal"])
        // Milestone: the last checkpoint covers everything this run appended.
        _ = try await runBlocking { try ledger.checkpoint(reason: "daemon.stopped", force: false) }
        if witness.isEnabled {
            // One last pass for the final checkpoint, bounded: stopping must not
            // wait on an unreachable TSA or platform (the next start retries).
            let done = NIOLockedValueBox(false)
            let pass = Task {
                _ = await witness.work()
                done.withLockedValue { $0 = true }
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while !done.withLockedValue({ $0 }), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            pass.cancel()
        }
        await witness.shutdown()
        try? await adminLoop.shutdownGracefully()
        try store.close()
        unlink(socketPath)
        logger.notice("roomd stopped cleanly; all writers flushed / 已安全停止")
    }

    /// Server certificate, client trust anchors and the role mapper. Problems
    /// here are configuration problems (exit 78).
    static func makeTLS(_ config: RoomConfiguration) throws -> (TLSConfiguration, RoleMapper) {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(config.tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: config.tls.key, format: .pem)
            var issuers: [String: Certificate] = [:]
            var anchorFiles = config.tls.clientCAs
            for rule in config.tls.roles {
                if case .issuerCA(let path) = rule.match {
                    issuers[path] = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                    anchorFiles.append(path)
                }
            }
            var anchors: [NIOSSLCertificate] = []
            for file in Set(anchorFiles).sorted() { anchors += try NIOSSLCertificate.fromPEMFile(file) }

            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            // Server side, this means: demand a client certificate and verify its chain.
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(anchors)
            tls.minimumTLSVersion = .tlsv12
            let mapper = RoleMapper(rules: config.tls.roles, stationIDs: Set(config.stations.map(\.id)), issuers: issuers)
            return (tls, mapper)
        } catch {
            throw DaemonFailure(status: ExitStatus.config, description: "TLS material in \(config.sourcePath) is unusable (tls.certificate / tls.key / tls.client_ca): \(error) / TLS证书或私钥无法使用")
        }
    }
}

/// Connections, segment files, the database and the admin socket all need
/// descriptors: take the hard limit (the unit sets it) as the soft one, so the
/// connection caps, not the descriptor table, are what bounds the network.
func raiseDescriptorLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    let before = limit.rlim_cur
    limit.rlim_cur = limit.rlim_max
    if setrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 {
        logger.debug("descriptor limit raised", metadata: ["from": .string(String(before)), "to": .string(String(limit.rlim_max))])
    }
}

private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
