import Archive
import Foundation
import GRDB
import Identity
import Testing

/// A fresh durable ledger in its own temporary folder, removed with it.
final class TestLedger: Sendable {
    let directory: URL
    let path: String
    let pool: DatabasePool
    let ledger: Ledger

    init() throws {
        directory = try makeTemporaryDirectory()
        path = directory.appendingPathComponent("ledger.sqlite").path
        pool = try DatabasePool(path: path, configuration: Configuration())
        try LedgerSchema.migrator().migrate(pool)
        ledger = try Ledger(database: pool)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Appends `count` varied entries (Unicode, nesting, escapes) in batches.
    @discardableResult
    func fill(_ count: Int, batch: Int = 500, tag: String = "a") throws -> TreeHead {
        var head = try ledger.treeHead()
        var done = 0
        while done < count {
            let n = min(batch, count - done)
            let base = head.size
            head = try ledger.append((0..<n).map { sampleEntry(base + $0, tag: tag) }).treeHead
            done += n
        }
        return head
    }
}

func sampleEntry(_ i: Int, tag: String = "a") -> LedgerDraft {
    let kinds = ["session.checkin", "session.score", "recording.segment.closed", "supervisor.view", "retention.delete"]
    return LedgerDraft(
        time: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000, kind: kinds[i % kinds.count],
        actor: i % 3 == 0 ? "expert:张三" : "operator:op\(i % 7)",
        payload: [
            "i": .integer(Int64(i)), "tag": .string(tag), "note": .string("第\(i)项 \"quoted\"\n\u{1}"),
            "nested": ["list": [1, true, nil, "x"], "price": "1234.50"],
        ])
}

func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("roomd-ledger-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a tool to completion (test fixtures and independent checkers).
@discardableResult
func runTool(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    // Read before waiting so a chatty child cannot fill the pipe and stall.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// A room key and self-signed room certificate made with the openssl CLI, the
/// way an installer would make them. Files are removed with the value.
final class TestRoomKey: Sendable {
    let directory: URL
    let keyPath: String
    let certificatePath: String
    let key: RoomSigningKey
    let certificatePEM: Data
    let verificationKey: RoomVerificationKey

    init(_ algorithm: RoomKeyAlgorithm) throws {
        directory = try makeTemporaryDirectory()
        keyPath = directory.appendingPathComponent("room.key").path
        certificatePath = directory.appendingPathComponent("room.crt").path
        let curve = algorithm == .sm2SM3 ? "SM2" : "P-256"
        let gen = try runTool(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-out", keyPath])
        try #require(gen.status == 0, "openssl genpkey: \(gen.stderr)")
        var req = ["openssl", "req", "-new", "-x509", "-key", keyPath, "-subj", "/CN=room-test", "-days", "3650", "-out", certificatePath]
        req += algorithm == .sm2SM3 ? ["-sm3", "-sigopt", "distid:1234567812345678"] : ["-sha256"]
        let cert = try runTool(req)
        try #require(cert.status == 0, "openssl req: \(cert.stderr)")
        key = try RoomSigningKey(pemFile: URL(fileURLWithPath: keyPath))
        certificatePEM = try Data(contentsOf: URL(fileURLWithPath: certificatePath))
        verificationKey = try RoomVerificationKey(certificatePEM: certificatePEM)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

let testOrigin = "roomd.test/room/A-101"
