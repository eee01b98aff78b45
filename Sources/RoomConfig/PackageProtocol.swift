/// A sealed package as the pull API (`GET /v1/packages`) and the admin socket
/// (`roomctl package list`) show it: roomd encodes it, roomctl and the
/// platform decode it. docs/formats.md, "Pulling packages".
public struct PackageSummary: Codable, Sendable, Equatable {
    /// The package key: a session id, or `opening:<id>` for an opening (开标).
    public var session: String
    /// `session` or `opening` (absent from roomd before openings were sealed: a session).
    public var kind: String?
    public var name: String
    public var cursor: Int64?
    public var sealed_at: String
    public var size: Int64
    public var sha256: String?
    public var tagmanifest_sha256: String
    public var payload_oxum: String
    /// checking | check-failed | offered | delivered | acknowledged
    public var state: String
    public var check_error: String?
    public var acknowledged_at: String?
    public var delivery: Delivery?

    public struct Delivery: Codable, Sendable, Equatable {
        public var target: String
        public var bytes_confirmed: Int64
        public var attempts: Int
        public var last_error: String?
        public var permanent: Bool
        public var delivered_at: String?

        public init(target: String, bytes_confirmed: Int64, attempts: Int, last_error: String?, permanent: Bool, delivered_at: String?) {
            self.target = target; self.bytes_confirmed = bytes_confirmed; self.attempts = attempts
            self.last_error = last_error; self.permanent = permanent; self.delivered_at = delivered_at
        }
    }

    public init(session: String, name: String, cursor: Int64?, sealed_at: String, size: Int64, sha256: String?, tagmanifest_sha256: String,
                payload_oxum: String, state: String, check_error: String?, acknowledged_at: String?, delivery: Delivery?, kind: String? = nil) {
        self.session = session; self.kind = kind; self.name = name; self.cursor = cursor; self.sealed_at = sealed_at; self.size = size; self.sha256 = sha256
        self.tagmanifest_sha256 = tagmanifest_sha256; self.payload_oxum = payload_oxum; self.state = state; self.check_error = check_error
        self.acknowledged_at = acknowledged_at; self.delivery = delivery
    }
}

/// A page of the pull list: packages after the cursor asked for, and the cursor to ask with next.
public struct PackageList: Codable, Sendable, Equatable {
    public var packages: [PackageSummary]
    public var next: Int64

    public init(packages: [PackageSummary], next: Int64) {
        self.packages = packages
        self.next = next
    }
}
