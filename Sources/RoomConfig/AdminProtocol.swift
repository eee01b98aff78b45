/// What roomd reports about itself, over the admin socket (`roomctl status`)
/// and the HTTPS API (`GET /v1/room`). Shared so both ends agree on the shape.
public struct RoomStatus: Codable, Sendable, Equatable {
    public struct RoomInfo: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var agency: String
        public var kind: String
        public init(id: String, name: String, agency: String, kind: String) {
            self.id = id; self.name = name; self.agency = agency; self.kind = kind
        }
    }

    public struct DaemonInfo: Codable, Sendable, Equatable {
        public var version: String
        public var pid: Int32
        public var startedAt: String
        public var uptimeSeconds: Int64
        public var configPath: String
        public var databasePath: String
        /// The `roomd-capture forkserver` that forks the per-device helpers, while one runs.
        public var captureForkServerPID: Int32?
        /// How many fork servers roomd has started (more than 1: one died or hung).
        public var captureForkServerStarts: Int?
        public init(version: String, pid: Int32, startedAt: String, uptimeSeconds: Int64, configPath: String, databasePath: String,
                    captureForkServerPID: Int32? = nil, captureForkServerStarts: Int? = nil) {
            self.version = version; self.pid = pid; self.startedAt = startedAt; self.uptimeSeconds = uptimeSeconds
            self.configPath = configPath; self.databasePath = databasePath
            self.captureForkServerPID = captureForkServerPID; self.captureForkServerStarts = captureForkServerStarts
        }
    }

    public struct Service: Codable, Sendable, Equatable {
        public var name: String
        public var healthy: Bool
        public var detail: String
        public init(name: String, healthy: Bool, detail: String) {
            self.name = name; self.healthy = healthy; self.detail = detail
        }
    }

    public struct Station: Codable, Sendable, Equatable {
        public var id: String
        public var host: String?
        public var camera: String?
        public var microphone: String?
        /// online | offline | never-seen
        public var state: String
        public var lastSeen: String?
        public var lastSeenAddress: String?
        /// The page the station's browser last reported showing (its heartbeat's `page`).
        public var page: String?
        /// Whether the operator has locked the station.
        public var locked: Bool?
        public init(id: String, host: String?, camera: String?, microphone: String?, state: String,
                    lastSeen: String?, lastSeenAddress: String?, page: String? = nil, locked: Bool? = nil) {
            self.id = id; self.host = host; self.camera = camera; self.microphone = microphone
            self.state = state; self.lastSeen = lastSeen; self.lastSeenAddress = lastSeenAddress; self.page = page
            self.locked = locked
        }
    }

    public struct Event: Codable, Sendable, Equatable {
        public var id: Int64
        public var time: String
        public var kind: String
        public var severity: String
        public var subject: String?
        public var detail: String
        public init(id: Int64, time: String, kind: String, severity: String, subject: String?, detail: String) {
            self.id = id; self.time = time; self.kind = kind; self.severity = severity; self.subject = subject; self.detail = detail
        }
    }

    /// One recorder (a station's camera+microphone, or a room camera).
    public struct Device: Codable, Sendable, Equatable {
        public var id: String
        /// starting | recording | missing | reconnecting | disk-full | stopped
        public var state: String
        public var detail: String
        public var synthetic: Bool
        public var framesPerSecond: Double
        public var frames: Int64
        public var droppedFrames: Int64
        public var audioXruns: Int64
        public var bytesWritten: Int64
        public var segmentsClosed: Int64
        public var lastSegmentClosed: String?
        /// The `roomd-capture` process recording this device, while one runs.
        public var helperPID: Int32?
        /// How often its helper ended without being asked since roomd started.
        public var helperExits: Int?
        /// How its helper is confined ("Landlock ABI 7 + seccomp (no sockets)", "off …", or what is missing).
        public var helperSandbox: String?
        public init(id: String, state: String, detail: String, synthetic: Bool, framesPerSecond: Double, frames: Int64,
                    droppedFrames: Int64, audioXruns: Int64, bytesWritten: Int64, segmentsClosed: Int64, lastSegmentClosed: String?,
                    helperPID: Int32? = nil, helperExits: Int? = nil, helperSandbox: String? = nil) {
            self.id = id; self.state = state; self.detail = detail; self.synthetic = synthetic
            self.framesPerSecond = framesPerSecond; self.frames = frames; self.droppedFrames = droppedFrames
            self.audioXruns = audioXruns; self.bytesWritten = bytesWritten; self.segmentsClosed = segmentsClosed
            self.lastSegmentClosed = lastSegmentClosed
            self.helperPID = helperPID; self.helperExits = helperExits; self.helperSandbox = helperSandbox
        }
    }

    public var room: RoomInfo
    public var daemon: DaemonInfo
    public var healthy: Bool
    public var services: [Service]
    public var stations: [Station]
    public var devices: [Device]
    public var recentEvents: [Event]
    /// Sealed packages not yet acknowledged by the platform, with their delivery.
    public var packages: [Package]?

    /// A sealed package on its way to the platform.
    public struct Package: Codable, Sendable, Equatable {
        public var session: String
        /// checking | check-failed | offered | delivered | acknowledged
        public var state: String
        public var bytes: Int64
        /// push target (https | s3), nil when the platform pulls
        public var target: String?
        public var bytesConfirmed: Int64?
        public var attempts: Int?
        public var lastError: String?
        public var stopped: Bool?

        public init(session: String, state: String, bytes: Int64, target: String?, bytesConfirmed: Int64?, attempts: Int?,
                    lastError: String?, stopped: Bool?) {
            self.session = session; self.state = state; self.bytes = bytes; self.target = target; self.bytesConfirmed = bytesConfirmed
            self.attempts = attempts; self.lastError = lastError; self.stopped = stopped
        }
    }

    public init(room: RoomInfo, daemon: DaemonInfo, healthy: Bool, services: [Service], stations: [Station],
                devices: [Device], recentEvents: [Event], packages: [Package]? = nil) {
        self.room = room; self.daemon = daemon; self.healthy = healthy; self.services = services
        self.stations = stations; self.devices = devices; self.recentEvents = recentEvents; self.packages = packages
    }
}

// MARK: Answers of the admin socket, shared by roomd (which encodes them) and
// roomctl (which decodes them): one definition of each shape.

/// Every refusal's body, on the HTTPS API and the admin socket.
public struct RefusalBody: Codable, Sendable, Equatable {
    /// Stable code for programs.
    public var error: String
    /// Chinese, for the person.
    public var message: String
    /// English, for logs.
    public var detail: String
    public init(error: String, message: String, detail: String) {
        self.error = error; self.message = message; self.detail = detail
    }
}

/// `POST /v1/ledger/export`.
public struct LedgerExportAnswer: Codable, Sendable, Equatable {
    public var path: String
    public init(path: String) { self.path = path }
}

/// `POST /v1/sessions/<session>/roster`.
public struct RosterImported: Codable, Sendable, Equatable {
    public var session: String
    public var roster: Int64
    public var sha256: String
    public var entries: Int
    public init(session: String, roster: Int64, sha256: String, entries: Int) {
        self.session = session; self.roster = roster; self.sha256 = sha256; self.entries = entries
    }
}

/// `POST /v1/stations/<id>/enroll`.
public struct StationEnrolled: Codable, Sendable, Equatable {
    public var station: String
    public var fingerprint: String
    public var subject: String
    public var notAfter: String
    public init(station: String, fingerprint: String, subject: String, notAfter: String) {
        self.station = station; self.fingerprint = fingerprint; self.subject = subject; self.notAfter = notAfter
    }
}

/// `POST /v1/stations/<id>/revoke`.
public struct StationRevoked: Codable, Sendable, Equatable {
    public var station: String
    public var fingerprint: String?
    public var revokedAt: String
    public init(station: String, fingerprint: String?, revokedAt: String) {
        self.station = station; self.fingerprint = fingerprint; self.revokedAt = revokedAt
    }
}


// MARK: Sessions (docs/formats.md, "Sessions in the room")

/// A rule a session definition breaks: code, Chinese message, English detail.
public struct SessionViolation: Codable, Sendable, Equatable {
    public var code: String
    public var message: String
    public var detail: String
    public init(code: String, message: String, detail: String) { self.code = code; self.message = message; self.detail = detail }
}

/// The answer to a definition import.
public struct SessionImported: Codable, Sendable, Equatable {
    public var session: String
    public var lot: String
    public var definition: Int64
    public var sha256: String
    /// `platform` (signed and verified) or `operator`.
    public var source: String
    public var signer: String?
    /// The same bytes for the same lot were the newest definition already.
    public var unchanged: Bool
    /// Rules the definition breaks; they block opening.
    public var violations: [SessionViolation]
    public init(session: String, lot: String, definition: Int64, sha256: String, source: String, signer: String?, unchanged: Bool,
                violations: [SessionViolation]) {
        self.session = session; self.lot = lot; self.definition = definition; self.sha256 = sha256; self.source = source
        self.signer = signer; self.unchanged = unchanged; self.violations = violations
    }
}

/// One session in `GET /v1/sessions`.
public struct SessionSummary: Codable, Sendable, Equatable {
    public var session: String
    public var lot: String
    public var project: String
    public var projectName: String
    public var method: String
    public var phase: String
    public var events: Int
    public var definitionSHA256: String
    public var source: String
    public var violations: [SessionViolation]
    public init(session: String, lot: String, project: String, projectName: String, method: String, phase: String, events: Int,
                definitionSHA256: String, source: String, violations: [SessionViolation]) {
        self.session = session; self.lot = lot; self.project = project; self.projectName = projectName; self.method = method
        self.phase = phase; self.events = events; self.definitionSHA256 = definitionSHA256; self.source = source; self.violations = violations
    }
}
