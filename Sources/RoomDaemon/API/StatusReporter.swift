#if canImport(Glibc)
import Glibc
#endif
import Canonical
import Foundation
import RoomConfig
import Store

/// Builds the ``RoomStatus`` snapshot from the store and the health checks.
struct StatusReporter: Sendable {
    static var version: String { BuildInfo.version }
    /// A station that has not reported for this long is shown offline.
    static let stationOfflineAfterNanoseconds: Int64 = 30_000_000_000

    let config: RoomConfiguration
    let store: RoomStore
    let health: HealthRegistry
    let recording: RecordingService
    let startedWall: Int64
    let startedMonotonic: Int64

    /// The `page` a station's heartbeat reported, if it is a short plain string.
    static func page(_ report: String) -> String? {
        guard case .object(let fields)? = try? CanonicalJSON(parsing: report, decimals: true),
              case .string(let page)? = fields["page"], page.utf8.count <= 64 else { return nil }
        return page
    }

    func snapshot(events: Int = 10) async throws -> RoomStatus {
        let reports = await health.evaluate()
        let now = store.clock.now().nanoseconds
        let configured = Set(config.stations.map(\.id))
        var stations = try await store.stations().filter { configured.contains($0.id) }.map { row -> RoomStatus.Station in
            let state: String
            if let seen = row.lastSeenNanoseconds {
                state = now - seen <= Self.stationOfflineAfterNanoseconds ? "online" : "offline"
            } else {
                state = "never-seen"
            }
            return .init(id: row.id, host: row.host, camera: row.camera, microphone: row.microphone, state: state,
                         lastSeen: row.lastSeenNanoseconds.map(Self.iso8601), lastSeenAddress: row.lastSeenAddress,
                         page: row.lastReport.flatMap(Self.page))
        }
        for index in stations.indices {
            stations[index].locked = try await store.stationControl(station: stations[index].id).locked
        }
        let recent = try await store.recentEvents(limit: events).map {
            RoomStatus.Event(id: $0.id, time: Self.iso8601($0.timeNanoseconds), kind: $0.kind, severity: $0.severity,
                             subject: $0.subject, detail: $0.detail)
        }
        let outbox = Dictionary(uniqueKeysWithValues: try await store.outbox().map { ($0.session, $0) })
        let packages = try await store.packages().filter { $0.acknowledgedNs == nil }.map { row -> RoomStatus.Package in
            let push = outbox[row.session]
            let state = row.checkError != nil ? "check-failed" : row.cursor == nil ? "checking" : push?.deliveredNs != nil ? "delivered" : "offered"
            return RoomStatus.Package(session: row.session, state: state, bytes: row.tarBytes, target: push?.target,
                                      bytesConfirmed: push?.bytesConfirmed, attempts: push?.attempts, lastError: push?.lastError,
                                      stopped: push?.permanent)
        }
        return RoomStatus(
            room: .init(id: config.room.id, name: config.room.name, agency: config.room.agency, kind: config.room.kind.rawValue),
            daemon: .init(version: Self.version, pid: getpid(), startedAt: Self.iso8601(startedWall),
                          uptimeSeconds: (store.clock.monotonic() - startedMonotonic) / 1_000_000_000,
                          configPath: config.sourcePath, databasePath: config.storage.databasePath,
                          captureForkServerPID: recording.forkServer?.serverPID, captureForkServerStarts: recording.forkServer?.serversStarted),
            healthy: reports.allSatisfy(\.healthy),
            services: reports.map { .init(name: $0.name, healthy: $0.healthy, detail: $0.detail) },
            stations: stations,
            devices: recording.devices.map { recorder in
                let s = recorder.status
                return RoomStatus.Device(
                    id: recorder.configuration.device, state: s.state.rawValue, detail: s.detail,
                    synthetic: recorder.configuration.synthetic, framesPerSecond: (s.framesPerSecond * 10).rounded() / 10,
                    frames: s.frames, droppedFrames: s.droppedFrames, audioXruns: s.audioXruns,
                    bytesWritten: s.bytesWritten, segmentsClosed: s.segmentsClosed,
                    lastSegmentClosed: s.lastSegmentClosedWall > 0 ? Self.iso8601(s.lastSegmentClosedWall) : nil,
                    helperPID: recorder.helperPID, helperExits: recorder.helperExits, helperSandbox: recorder.helperSandbox?.summary)
            },
            recentEvents: recent,
            packages: packages)
    }

    static func iso8601(_ nanoseconds: Int64) -> String {
        Text.iso8601(nanoseconds: nanoseconds)
    }
}
