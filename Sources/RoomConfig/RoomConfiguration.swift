/// roomd's configuration, as validated from `/etc/roomd/roomd.yaml`.
///
/// Every path is absolute once loaded: relative paths in the file are resolved
/// against the folder of the file, so a config and the files it names can be
/// moved together (the demo config relies on this).
public struct RoomConfiguration: Sendable, Equatable {
    public var room: Room
    public var stations: [Station]
    public var roomCameras: [RoomCamera]
    public var storage: Storage
    public var retention: Retention
    public var api: API
    public var tls: TLS
    public var platform: Platform?
    public var logging: Logging
    public var ledger: Ledger
    /// Expert check-in and signatures; nil: the room takes no signatures.
    public var identity: Identity?
    /// Evaluation sessions: who may push definitions, station page timings.
    public var sessions: Sessions = .default
    /// Sealed packages: the seal, and how they reach the platform.
    public var packages: Packages = .default
    /// The file this was loaded from.
    public var sourcePath: String

    public enum RoomKind: String, Sendable, CaseIterable {
        case opening, evaluation
    }

    public struct Room: Sendable, Equatable {
        public var id: String
        public var name: String
        public var agency: String
        public var kind: RoomKind
    }

    public struct CaptureFormat: Sendable, Equatable {
        public enum PixelFormat: String, Sendable, CaseIterable {
            /// Prefer MJPEG, fall back to a raw format: what a real room wants.
            case auto, mjpeg, yuyv, nv12
        }
        public var pixelFormat: PixelFormat
        public var width: Int
        public var height: Int
        public var fps: Int

        public static let `default` = CaptureFormat(pixelFormat: .auto, width: 1280, height: 720, fps: 25)
    }

    /// A V4L2 camera or `synthetic` (a generated test pattern, demo and tests only).
    public enum VideoSource: Sendable, Equatable {
        case v4l2(path: String)
        case synthetic
    }

    /// An ALSA capture device (e.g. `hw:CARD=S01,DEV=0`) or `synthetic` (a tone).
    public enum AudioSource: Sendable, Equatable {
        case alsa(device: String)
        case synthetic
    }

    public struct Station: Sendable, Equatable {
        public var id: String
        public var host: String?
        public var camera: VideoSource?
        public var format: CaptureFormat
        public var microphone: AudioSource?
    }

    public struct RoomCamera: Sendable, Equatable {
        public var id: String
        public var name: String
        public var camera: VideoSource
        public var format: CaptureFormat
        public var microphone: AudioSource?
    }

    public struct Storage: Sendable, Equatable {
        public var stateDirectory: String
        public var recordingsDirectory: String
        public var packagesDirectory: String
        public var segmentSeconds: Int
        /// x264 preset for cameras that deliver raw video (MJPEG is never re-encoded).
        public var x264Preset: String
        /// Recording stops cleanly (and an alarm is raised) below this much free space.
        public var minimumFreeBytes: Int64
        /// How the recorders are spread over capture helper processes.
        public var captureIsolation: CaptureIsolation = .device
        /// Capture helpers confine themselves (Landlock, seccomp) before they
        /// record: they can write only their own device's recordings and read
        /// neither keys nor database. Off only to diagnose a driver or ALSA
        /// plug-in that needs more (docs/operations.md, "The helper sandbox").
        public var captureSandbox: Bool = true
        /// The `roomd-capture` executable; nil: beside roomd, else /usr/libexec/roomd/.
        public var captureHelper: String?
        public var databasePath: String { stateDirectory + "/roomd.sqlite" }
    }

    /// `device`: one `roomd-capture` process per station/room camera, so a
    /// crash or a hung driver costs one device's recording for a second.
    /// `shared`: one process for all of them (~6 MB less memory per device;
    /// a crash restarts every device's recording).
    public enum CaptureIsolation: String, Sendable, Equatable {
        case device, shared
    }

    public struct Retention: Sendable, Equatable {
        /// Local copies of delivered and acknowledged sessions are kept this long.
        public var keepDeliveredDays: Int
        /// Recordings outside any session (idle room) are kept this long.
        public var keepUnassignedDays: Int
        /// Below this much free space on the recordings disk, the oldest
        /// deletable recordings go first (before recording must stop at `storage.min_free_mb`).
        public var freeSpaceMB: Int = 4096
        /// Under space pressure, recordings outside any session may go once this old.
        public var unassignedMinimumHours: Int = 24
        /// A session's recordings reach this far before its first and after its last command.
        public var sessionMarginMinutes: Int = 10
        /// How often retention looks (and how soon after start).
        public var intervalSeconds: Int = 300
    }

    public struct API: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var adminSocket: String
        public var limits = ConnectionLimits()
    }

    /// What one client may hold of the HTTPS API (docs/formats.md, "Connections").
    public struct ConnectionLimits: Sendable, Equatable {
        /// Open connections at once, all clients together; beyond it new ones are closed at once.
        public var maxConnections = 256
        /// Open connections at once from one IP address.
        public var maxConnectionsPerAddress = 32
        /// From accepting a connection to the end of the TLS handshake.
        public var handshakeSeconds = 10
        /// From the handshake or the end of a response to a request's whole head.
        public var headerSeconds = 10
        /// From a request's head to the end of its body.
        public var bodySeconds = 30
        /// A keep-alive connection with nothing to do.
        public var idleSeconds = 60

        public init() {}
    }

    public enum Role: String, Sendable, CaseIterable {
        case station, `operator`, supervisor, platform
    }

    public struct RoleRule: Sendable, Equatable {
        public enum Match: Sendable, Equatable {
            /// The certificate carries exactly this subjectAltName URI.
            case sanURI(String)
            /// A SAN URI starting with this prefix; for stations the rest is the station id.
            case sanURIPrefix(String)
            /// The certificate was issued by the CA in this file.
            case issuerCA(path: String)
        }
        public var role: Role
        public var match: Match

        public init(role: Role, match: Match) {
            self.role = role
            self.match = match
        }
    }

    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
        /// Trust anchors for client certificates. Issuer CAs named in `roles` are added.
        public var clientCAs: [String]
        public var roles: [RoleRule]
    }

    public struct Platform: Sendable, Equatable {
        public var endpoint: String
        public var caCertificate: String?
    }

    /// `packages:` — docs/formats.md, "Sealed packages" and "Delivery".
    public struct Packages: Sendable, Equatable {
        public enum Delivery: String, Sendable, Equatable, CaseIterable {
            /// The platform pulls (GET /v1/packages); nothing is pushed.
            case pull
            /// Resumable HTTPS upload to `platform.endpoint` over mutual TLS.
            case https
            /// S3-compatible multipart upload (MinIO, Ceph RGW, Aliyun OSS, Huawei OBS).
            case s3
        }

        public struct S3: Sendable, Equatable {
            public var endpoint: String
            public var region: String
            public var bucket: String
            public var prefix: String
            public var accessKeyID: String
            /// File holding the secret access key (mode 0600); its content, once read.
            public var secretAccessKeyFile: String
            public var pathStyle: Bool
            /// S3 Object Lock, COMPLIANCE mode, this many days; nil: none.
            public var objectLockDays: Int?
            public var caCertificate: String?
        }

        /// The key and certificate that seal packages; nil: the ledger's.
        public var signingKey: String?
        public var signingCertificate: String?
        /// Seal automatically once a session has ended and its recordings' margin has passed.
        public var sealOnClose: Bool
        public var delivery: Delivery
        public var s3: S3?
        public var partSizeMB: Int
        /// Upload bandwidth cap in Mbit/s, all uploads together; 0: none.
        public var bandwidthMbit: Int
        public var retryInitialSeconds: Int
        public var retryMaximumSeconds: Int

        public static let `default` = Packages(signingKey: nil, signingCertificate: nil, sealOnClose: true, delivery: .pull, s3: nil,
                                               partSizeMB: 16, bandwidthMbit: 0, retryInitialSeconds: 10, retryMaximumSeconds: 1800)
    }

    /// The audit ledger's checkpoints: who signs them and how often.
    public struct Ledger: Sendable, Equatable {
        /// The C2SP checkpoint origin line, e.g. `roomd/R-301`; also the signer's key name.
        public var origin: String
        /// The room key (ECDSA P-256 or SM2) that signs checkpoints; by default the TLS key.
        public var signingKey: String
        /// Its certificate, copied into exports so verifiers know the key.
        public var signingCertificate: String
        /// A checkpoint is signed this often when entries were appended since the last one.
        public var checkpointSeconds: Int
        /// An RFC 3161 time-stamping authority for checkpoints (http or https URL), optional.
        public var tsaURL: String?
        /// Certificates (PEM) that TSA responses must chain to; required with `tsaURL`.
        public var tsaCertificates: String?
    }

    /// Expert signatures: which CAs issue experts' cloud-sign certificates, and
    /// the secret under which ID numbers are kept.
    public struct Identity: Sendable, Equatable {
        /// Trust anchors, intermediates and CRLs of the expert cloud-sign CAs (PEM or DER files).
        public var expertTrustDirectory: String
        /// 32 random bytes; created on first start. ID numbers are stored as HMACs under it.
        public var roomSecret: String
        /// A certificate-subject OID that carries the ID number, besides serialNumber and GM/T 0015's.
        public var idNumberOID: String?
        public var challengeSeconds: Int
        /// Refuse signatures whose issuers have no CRL in the trust folder.
        public var requireCRL: Bool
    }

    /// Evaluation sessions.
    public struct Sessions: Sendable, Equatable {
        /// Trust anchors (and intermediates, CRLs) of the certificates that sign session definitions
        /// the central platform pushes (detached CMS). Nil: pushed definitions are refused; the
        /// operator can still import one (`roomctl session import`).
        public var platformTrustDirectory: String?
        /// The discipline text stays on a station's screen at least this long before the expert may go on.
        public var disciplineMinimumSeconds: Int
        /// Trust anchors (and intermediates, CRLs) of the CAs that issue suppliers' certificates (the
        /// opening's sign-in, confirmations and objections). Nil: suppliers cannot sign in.
        public var supplierTrustDirectory: String?
        /// Where a supplier certificate carries the 统一社会信用代码 when a CA puts it neither in the
        /// subject serialNumber nor in an OU: an OID, looked up in the subject, then as an extension.
        public var creditCodeOID: String?

        public static let `default` = Sessions(platformTrustDirectory: nil, disciplineMinimumSeconds: 120)

        public init(platformTrustDirectory: String?, disciplineMinimumSeconds: Int, supplierTrustDirectory: String? = nil,
                    creditCodeOID: String? = nil) {
            self.platformTrustDirectory = platformTrustDirectory
            self.disciplineMinimumSeconds = disciplineMinimumSeconds
            self.supplierTrustDirectory = supplierTrustDirectory
            self.creditCodeOID = creditCodeOID
        }
    }

    public struct Logging: Sendable, Equatable {
        public enum Level: String, Sendable, CaseIterable {
            case trace, debug, info, notice, warning, error, critical
        }
        public var level: Level
    }
}
