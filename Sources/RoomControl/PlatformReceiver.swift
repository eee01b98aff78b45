import Archive
import Delivery
import Foundation
import Glibc
import Identity

/// A refusal the platform simulator answers with: `{"code", "english", "chinese"}`.
struct PlatformRefusal: Error, CustomStringConvertible {
    var statusCode: Int
    var code: String
    var english: String
    var chinese: String

    init(status: Int, code: String, english: String, chinese: String) {
        self.statusCode = status
        self.code = code
        self.english = english
        self.chinese = chinese
    }

    var description: String { "\(statusCode) \(code): \(english)" }
    var body: HTTPSUploadProtocol.ErrorBody { .init(code: code, english: english, chinese: chinese) }

    static func notFound(_ id: String) -> PlatformRefusal {
        PlatformRefusal(status: 404, code: "upload-not-found", english: "no upload \(id) of this room (never created, completed or discarded)",
                        chinese: "上传任务不存在（可能已完成或已作废）。")
    }
}

/// The receiver's side of the resumable HTTPS upload, on disk under DIR:
///
///     uploads/<id>/state.json        what was asked and which parts are held
///     uploads/<id>/part-000001       each acknowledged part, exactly its bytes
///     packages/<room>/<session>.tar  completed, verified packages
///     packages/<room>/<session>.json their receipts
///     refused/<room>/<session>-<sha256 prefix>.{tar,json}  complete but failing verification
///     checkpoints/<room>/<n>.txt     ledger checkpoints the room delivered
///     requests.log                   one JSON line per upload request
///
/// A part is acknowledged only once it is fsynced under its final name and
/// state.json (written atomically) lists it: a receiver killed at any moment
/// keeps exactly the parts it acknowledged.
///
/// Every method blocks (disk); the server calls them on its thread pool,
/// never on the Swift concurrency pool. State changes are serialised by one lock.
final class PlatformReceiverStore: @unchecked Sendable {
    let dir: String
    /// The base URL completed packages are reported at (`location`).
    let publicBase: String
    private let lock = NSLock()
    /// Uploads being concatenated and verified: no part may change meanwhile.
    private var completing: Set<String> = []

    struct UploadRecord: Codable {
        var uploadID: String
        var name: String
        var room: String
        var size: Int64
        var sha256: String
        var partSize: Int64
        var parts: [HTTPSUploadProtocol.Part]
        var createdAt: String

        var status: HTTPSUploadProtocol.Status {
            .init(uploadID: uploadID, name: name, size: size, sha256: sha256, partSize: partSize, parts: parts, complete: false)
        }

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id", partSize = "part_size", createdAt = "created_at"
            case name, room, size, sha256, parts
        }
    }

    struct Receipt: Codable {
        var name: String
        var room: String
        var size: Int64
        var sha256: String
        var uploadID: String
        var receivedAt: String
        var verification: String

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id", receivedAt = "received_at"
            case name, room, size, sha256, verification
        }
    }

    struct Refused: Codable {
        var name: String
        var room: String
        var size: Int64
        var sha256: String
        var refusedAt: String
        var reason: String

        enum CodingKeys: String, CodingKey {
            case refusedAt = "refused_at"
            case name, room, size, sha256, reason
        }
    }

    let trust: PackageTrust

    init(dir: String, publicBase: String, trust: PackageTrust) throws {
        self.dir = dir
        self.trust = trust
        self.publicBase = publicBase
        for folder in ["uploads", "packages", "refused", "checkpoints", "tmp"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + folder, withIntermediateDirectories: true)
        }
        // Half-written parts of a previous run were never acknowledged.
        for upload in (try? FileManager.default.contentsOfDirectory(atPath: dir + "/uploads")) ?? [] {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/uploads/\(upload)")) ?? []
            where file.hasPrefix("incoming-") || file.hasSuffix(".tmp") {
                unlink("\(dir)/uploads/\(upload)/\(file)")
            }
        }
        try? FileManager.default.removeItem(atPath: dir + "/tmp")
        try FileManager.default.createDirectory(atPath: dir + "/tmp", withIntermediateDirectories: true)
    }

    // MARK: - Create, status

    enum Created {
        case created(HTTPSUploadProtocol.CreateAnswer)
        case alreadyComplete(HTTPSUploadProtocol.CreateAnswer)
    }

    func create(room: String, request: HTTPSUploadProtocol.CreateRequest) throws -> Created {
        guard let (nameRoom, _) = HTTPSUploadProtocol.splitName(request.name) else {
            throw PlatformRefusal(status: 400, code: "bad-name", english: "name must be <room>/<session>.tar with letters, digits, - _ .",
                                  chinese: "包名称格式错误。")
        }
        guard nameRoom == room else {
            throw PlatformRefusal(status: 403, code: "room-mismatch",
                                  english: "the certificate is room \(room)'s; it may not upload \(request.name)",
                                  chinese: "证书所属评标室与包名称不符。")
        }
        let sha = request.sha256.lowercased()
        guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
            throw PlatformRefusal(status: 400, code: "bad-sha256", english: "sha256 must be 64 hex digits", chinese: "SHA-256格式错误。")
        }
        guard request.size >= 0 else {
            throw PlatformRefusal(status: 400, code: "bad-size", english: "size must not be negative", chinese: "大小错误。")
        }
        guard (HTTPSUploadProtocol.minimumPartSize...HTTPSUploadProtocol.maximumPartSize).contains(request.partSize) else {
            throw PlatformRefusal(status: 400, code: "bad-part-size",
                                  english: "part_size must be \(HTTPSUploadProtocol.minimumPartSize)…\(HTTPSUploadProtocol.maximumPartSize)",
                                  chinese: "分片大小超出范围。")
        }
        lock.lock()
        defer { lock.unlock() }
        if let receipt = try readReceipt(name: request.name) {
            guard receipt.sha256 == sha else {
                throw PlatformRefusal(status: 409, code: "package-conflict",
                                      english: "\(request.name) was received with SHA-256 \(receipt.sha256); a package never changes",
                                      chinese: "该包已接收且内容不同：包一经封存不可更改。")
            }
            return .alreadyComplete(.init(complete: true, location: location(request.name)))
        }
        // The same package already on its way: resume that upload.
        for record in allUploads() where record.name == request.name && record.sha256 == sha
            && record.size == request.size && record.partSize == request.partSize {
            return .created(.init(uploadID: record.uploadID, partSize: record.partSize, parts: record.parts))
        }
        let id = try Digest.randomHex(16)
        try FileManager.default.createDirectory(atPath: uploadDir(id), withIntermediateDirectories: true)
        let record = UploadRecord(uploadID: id, name: request.name, room: room, size: request.size, sha256: sha,
                                  partSize: request.partSize, parts: [], createdAt: Self.now())
        try save(record)
        return .created(.init(uploadID: id, partSize: record.partSize, parts: []))
    }

    func status(room: String, id: String) throws -> HTTPSUploadProtocol.Status {
        lock.lock()
        defer { lock.unlock() }
        return try record(room: room, id: id).status
    }

    /// The upload's record, refusing ids of other rooms (they are not found).
    private func record(room: String, id: String) throws -> UploadRecord {
        guard Self.isUploadID(id), let data = FileManager.default.contents(atPath: uploadDir(id) + "/state.json"),
              let record = try? JSONDecoder().decode(UploadRecord.self, from: data), record.room == room else {
            throw PlatformRefusal.notFound(id)
        }
        return record
    }

    // MARK: - Parts

    /// Where a part's bytes are streamed before they are checked; the length it must have.
    func beginPart(room: String, id: String, number: Int) throws -> (path: String, length: Int64) {
        lock.lock()
        defer { lock.unlock() }
        let record = try record(room: room, id: id)
        let count = HTTPSUploadProtocol.partCount(size: record.size, partSize: record.partSize)
        guard (1...count).contains(number) else {
            throw PlatformRefusal(status: 400, code: "bad-part-number", english: "part numbers of upload \(id) are 1…\(count)",
                                  chinese: "分片编号超出范围。")
        }
        guard !completing.contains(id) else {
            throw PlatformRefusal(status: 409, code: "upload-completing", english: "upload \(id) is being completed",
                                  chinese: "上传任务正在合并，不能再修改分片。")
        }
        return ("\(uploadDir(id))/incoming-\(number)-\(try Digest.randomHex(8))",
                HTTPSUploadProtocol.partLength(number: number, size: record.size, partSize: record.partSize))
    }

    /// Makes a checked part the upload's part `number` (replacing one held before) and records it.
    func commitPart(room: String, id: String, number: Int, incoming: String, size: Int64, sha256: String) throws -> HTTPSUploadProtocol.Part {
        lock.lock()
        defer { lock.unlock() }
        var record = try record(room: room, id: id)
        guard !completing.contains(id) else {
            throw PlatformRefusal(status: 409, code: "upload-completing", english: "upload \(id) is being completed",
                                  chinese: "上传任务正在合并，不能再修改分片。")
        }
        let part = HTTPSUploadProtocol.Part(number: number, size: size, sha256: sha256)
        guard rename(incoming, partPath(id, number)) == 0 else {
            throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot store part \(number): errno \(errno)",
                                  chinese: "分片存储失败。")
        }
        Self.syncDirectory(uploadDir(id))
        record.parts.removeAll { $0.number == number }
        record.parts.append(part)
        record.parts.sort { $0.number < $1.number }
        try save(record)
        return part
    }

    // MARK: - Complete

    /// Concatenates the parts in order, checks size and SHA-256, verifies the
    /// package and moves it into place; any mismatch discards the upload.
    func complete(room: String, id: String) throws -> HTTPSUploadProtocol.Completed {
        let record: UploadRecord
        do {
            lock.lock()
            defer { lock.unlock() }
            record = try self.record(room: room, id: id)
            guard !completing.contains(id) else {
                throw PlatformRefusal(status: 409, code: "upload-completing", english: "upload \(id) is already being completed",
                                      chinese: "上传任务正在合并。")
            }
            let count = HTTPSUploadProtocol.partCount(size: record.size, partSize: record.partSize)
            let held = Set(record.parts.map(\.number))
            let missing = (1...count).filter { !held.contains($0) }
            guard missing.isEmpty else {
                throw PlatformRefusal(status: 409, code: "parts-missing",
                                      english: "upload \(id) lacks parts \(missing.prefix(20).map(String.init).joined(separator: ","))",
                                      chinese: "分片不完整，不能合并。")
            }
            completing.insert(id)
        }
        defer {
            lock.lock()
            completing.remove(id)
            lock.unlock()
        }
        let assembled = "\(uploadDir(id))/assembled.tmp"
        let (size, sha) = try concatenate(record, into: assembled)
        guard size == record.size, sha == record.sha256 else {
            discard(id)
            throw PlatformRefusal(status: 422, code: "sha256-mismatch",
                                  english: "the parts make \(size) bytes with SHA-256 \(sha), not the \(record.size) bytes with \(record.sha256) announced; the upload is discarded, start again",
                                  chinese: "合并后的包与声明的SHA-256不符，上传已作废，请重新上传。")
        }
        guard let (_, session) = HTTPSUploadProtocol.splitName(record.name) else { throw PlatformRefusal.notFound(id) }
        let scratch = "\(dir)/tmp/verify-\(id)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let verification: String
        do {
            verification = try verifyPackageTar(path: assembled, scratch: scratch, trust: trust)
        } catch {
            let folder = "\(dir)/refused/\(record.room)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let base = "\(folder)/\(session)-\(sha.prefix(12))"
            _ = rename(assembled, base + ".tar")
            try Self.writeAtomically(Self.json(Refused(name: record.name, room: record.room, size: size, sha256: sha,
                                                       refusedAt: Self.now(), reason: "\(error)")), to: base + ".json")
            discard(id)
            throw PlatformRefusal(status: 422, code: "package-refused",
                                  english: "the package does not verify, it is refused and not acknowledged: \(error)",
                                  chinese: "包校验失败，平台拒收。")
        }
        lock.lock()
        defer { lock.unlock() }
        let folder = "\(dir)/packages/\(record.room)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let receipt = try readReceipt(name: record.name) {
            // Completed meanwhile by another upload of the same package.
            discard(id)
            guard receipt.sha256 == sha else {
                throw PlatformRefusal(status: 409, code: "package-conflict",
                                      english: "\(record.name) was received with SHA-256 \(receipt.sha256); a package never changes",
                                      chinese: "该包已接收且内容不同。")
            }
            return .init(location: location(record.name), sha256: sha)
        }
        guard rename(assembled, "\(folder)/\(session).tar") == 0 else {
            throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot move the package into place: errno \(errno)",
                                  chinese: "包存储失败。")
        }
        try Self.writeAtomically(Self.json(Receipt(name: record.name, room: record.room, size: size, sha256: sha, uploadID: id,
                                                   receivedAt: Self.now(), verification: verification)),
                                 to: "\(folder)/\(session).json")
        Self.syncDirectory(folder)
        discard(id)
        return .init(location: location(record.name), sha256: sha)
    }

    private func concatenate(_ record: UploadRecord, into path: String) throws -> (Int64, String) {
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot write \(path)", chinese: "存储失败。")
        }
        defer { try? out.close() }
        let hasher = SHA256Hasher()
        var total: Int64 = 0
        for part in record.parts.sorted(by: { $0.number < $1.number }) {
            guard let input = FileHandle(forReadingAtPath: partPath(record.uploadID, part.number)) else {
                throw PlatformRefusal(status: 500, code: "storage-failed", english: "part \(part.number) is missing on disk", chinese: "分片丢失。")
            }
            defer { try? input.close() }
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(chunk)
                try out.write(contentsOf: chunk)
                total += Int64(chunk.count)
            }
        }
        try out.synchronize()
        return (total, hasher.finishHex())
    }

    private func discard(_ id: String) {
        try? FileManager.default.removeItem(atPath: uploadDir(id))
    }

    // MARK: - Checkpoints, log

    func storeCheckpoint(room: String, text: [UInt8]) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        let folder = "\(dir)/checkpoints/\(room)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let n = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".txt") }.count + 1
        try Self.writeAtomically(text, to: String(format: "%@/%06d.txt", folder, n))
        return n
    }

    /// One line per upload request, for the operator (and the tests, which count PUTs).
    func log(_ fields: [String: String]) {
        lock.lock()
        defer { lock.unlock() }
        var line = fields
        line["time"] = Self.now()
        guard var bytes = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        bytes.append(0x0a)
        let fd = open(dir + "/requests.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    // MARK: - Files

    private func uploadDir(_ id: String) -> String { "\(dir)/uploads/\(id)" }
    private func partPath(_ id: String, _ number: Int) -> String { String(format: "%@/part-%06d", uploadDir(id), number) }
    private func location(_ name: String) -> String { "\(publicBase)/packages/\(name)" }

    static func isUploadID(_ id: String) -> Bool { id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase } }

    private func readReceipt(name: String) throws -> Receipt? {
        guard let (room, session) = HTTPSUploadProtocol.splitName(name),
              let data = FileManager.default.contents(atPath: "\(dir)/packages/\(room)/\(session).json") else { return nil }
        return try JSONDecoder().decode(Receipt.self, from: data)
    }

    private func allUploads() -> [UploadRecord] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/uploads")) ?? []).compactMap { id in
            FileManager.default.contents(atPath: uploadDir(id) + "/state.json").flatMap { try? JSONDecoder().decode(UploadRecord.self, from: $0) }
        }
    }

    private func save(_ record: UploadRecord) throws {
        try Self.writeAtomically(Self.json(record), to: uploadDir(record.uploadID) + "/state.json")
    }

    static func json(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0a]
    }

    /// Written to a temporary name, fsynced, renamed over, the folder fsynced.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot write \(temporary)", chinese: "存储失败。") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { close(fd); throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot write \(temporary)", chinese: "存储失败。") }
            offset += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot rename \(temporary)", chinese: "存储失败。")
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Best effort: the receiver answers only after its state file is written; a folder that cannot be synced is not a refusal.
    static func syncDirectory(_ path: String) { try? SecureFile.syncFolder(path) }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

/// A part's bytes on their way to disk: hashed and counted as they arrive,
/// written in large blocks on the server's thread pool.
final class IncomingPart: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let hasher = SHA256Hasher()
    private(set) var received: Int64 = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot create \(path)", chinese: "存储失败。") }
    }

    /// Blocking: call on the thread pool, one call at a time.
    func write(_ bytes: [UInt8]) throws {
        hasher.update(bytes)
        received += Int64(bytes.count)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw PlatformRefusal(status: 500, code: "storage-failed", english: "cannot write \(path): errno \(errno)", chinese: "存储失败。") }
            offset += n
        }
    }

    /// Blocking: fsyncs and closes; the SHA-256 of everything written.
    func finish() -> String {
        fsync(fd)
        close(fd)
        return hasher.finishHex()
    }

    /// Blocking: closes and removes the file (nothing is kept).
    func abandon() {
        close(fd)
        unlink(path)
    }
}
