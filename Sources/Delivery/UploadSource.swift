import Foundation

/// What an uploader sends: `size` bytes that can be read at any offset again
/// (a sealed package's deterministic tar), so that an upload cut anywhere
/// resumes without resending finished parts.
///
/// `read` may block on the disk: callers pass a closure that runs the read on
/// a dedicated thread (roomd's `runBlocking`), never on the concurrency pool.
public struct UploadSource: Sendable {
    public let size: Int64
    /// SHA-256 (lowercase hex) of all `size` bytes, known before the upload starts.
    public let sha256: String
    public let read: @Sendable (_ offset: Int64, _ count: Int) async throws -> [UInt8]

    public init(size: Int64, sha256: String, read: @escaping @Sendable (_ offset: Int64, _ count: Int) async throws -> [UInt8]) {
        self.size = size
        self.sha256 = sha256
        self.read = read
    }
}

/// Where an upload stands, persisted by the caller (roomd's outbox) after every
/// finished part, so that a restart resumes where the last run stopped.
public struct UploadState: Codable, Sendable, Equatable {
    /// The target's name for the upload in progress (S3 UploadId, HTTPS upload id); nil before it is created.
    public var uploadID: String?
    /// Bytes per part (the last one may be shorter); fixed once the upload is created.
    public var partSize: Int64
    /// Parts the target has confirmed, by number (1-based).
    public var parts: [Part]
    /// The target confirmed the whole object.
    public var completed: Bool

    public struct Part: Codable, Sendable, Equatable {
        public var number: Int
        public var size: Int64
        /// SHA-256 of the part, lowercase hex.
        public var sha256: String
        /// What the target answered for the part (S3 ETag), if anything.
        public var etag: String?

        public init(number: Int, size: Int64, sha256: String, etag: String? = nil) {
            self.number = number
            self.size = size
            self.sha256 = sha256
            self.etag = etag
        }
    }

    public init(uploadID: String? = nil, partSize: Int64, parts: [Part] = [], completed: Bool = false) {
        self.uploadID = uploadID
        self.partSize = partSize
        self.parts = parts
        self.completed = completed
    }

    /// Bytes the target holds so far.
    public var bytesConfirmed: Int64 { parts.reduce(0) { $0 + $1.size } }
}

/// What the target said once the whole object was in place.
public struct UploadReceipt: Sendable, Equatable, Codable {
    /// Where the object now is (URL or s3://bucket/key).
    public var location: String
    /// The target's own identification of the object (S3 ETag / version id, the receiver's SHA-256), for the record.
    public var targetReference: String?

    public init(location: String, targetReference: String?) {
        self.location = location
        self.targetReference = targetReference
    }
}

/// One way of getting a sealed package to the platform.
public protocol PackageUploader: Sendable {
    /// Uploads `source` as `name` (object key / package name), resuming from
    /// `state`. Calls `persist` after the upload is created and after every part
    /// the target confirmed, and `progress` with bytes confirmed so far.
    /// Throws on any failure; the caller retries later with the last persisted state.
    func upload(name: String, source: UploadSource, state: UploadState,
                persist: @escaping @Sendable (UploadState) async throws -> Void,
                progress: @escaping @Sendable (_ confirmed: Int64, _ total: Int64) -> Void) async throws -> UploadReceipt
}
