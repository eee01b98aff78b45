import Canonical
import Archive
import Foundation
import GRDB
import Identity
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 during a burst of appends. The writer is the real `LedgerBench
/// crash-writer` process (the same Ledger code the daemon runs), printing an
/// acknowledgement only after `append` returned. The test kills it at a random
/// moment, mid-transaction more often than not, then reopens the database
/// the way the daemon does after a crash and checks what a court would ask:
/// no acknowledged entry is missing, the stored tree equals the tree
/// recomputed from the entries, and the latest checkpoint is signed, agrees
/// with that tree and is a prefix of it.
///
/// SIGKILL loses the process, not the page cache: this proves transaction
/// atomicity and recovery, not the fsync path (synchronous=FULL is asserted at
/// open, and power-loss durability is SQLite's own tested guarantee).
@Suite("Ledger crash recovery", .serialized)
struct LedgerCrashTests {
    static func writerBinary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["LEDGER_BENCH_BIN"] { return URL(fileURLWithPath: path) }
        // The test bundle runs from the build products folder, next to the executable.
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
        ].map { $0.appendingPathComponent("LedgerBench") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw CrashTestError("LedgerBench executable not found next to the tests (looked in \(candidates.map(\.path))); build it or set LEDGER_BENCH_BIN")
        }
        return found
    }

    struct CrashTestError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// Runs the writer until it has acknowledged at least `minimumAcks` batches
    /// plus a random extra delay, SIGKILLs it, and returns the highest
    /// acknowledged seq it printed.
    func burstAndKill(db: String, room: TestRoomKey, minimumAcks: Int) throws -> (lastAck: Int, checkpoints: Int) {
        let process = Process()
        process.executableURL = try Self.writerBinary()
        process.arguments = ["crash-writer", "--db", db, "--key", room.keyPath, "--origin", testOrigin,
                             "--batch", "50", "--checkpoint-every", "3"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = out.fileHandleForReading
        var buffer = Data()
        var lastAck = -1
        var acks = 0
        var checkpoints = 0
        func consume() {
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                guard let value = try? CanonicalJSON(parsing: line) else { continue }
                if let ack = value["ack"]?.integerValue {
                    lastAck = max(lastAck, Int(ack))
                    acks += 1
                }
                if value["checkpoint"] != nil { checkpoints += 1 }
            }
        }
        while acks < minimumAcks {
            let chunk = reader.availableData
            if chunk.isEmpty { break }  // writer died on its own: the checks below will say why
            buffer.append(chunk)
            consume()
        }
        usleep(UInt32.random(in: 0..<20_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Acknowledgements written before the kill are still in the pipe.
        buffer.append(reader.readDataToEndOfFile())
        consume()
        #expect(process.terminationReason == .uncaughtSignal, "writer exited by itself: status \(process.terminationStatus)")
        return (lastAck, checkpoints)
    }

    @Test func killDuringABurstLosesNoAcknowledgedEntryAndKeepsTreeAndCheckpointInAgreement() throws {
        let room = try TestRoomKey(.ecdsaP256SHA256)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("roomd.sqlite").path
        var previousSize = 0
        for round in 0..<4 {
            let (lastAck, checkpoints) = try burstAndKill(db: db, room: room, minimumAcks: 10 + round * 15)
            #expect(lastAck >= previousSize, "round \(round): the writer acknowledged appends")
            #expect(checkpoints > 0)

            // Restart: open as the daemon would (WAL recovery happens here).
            let t = try reopen(db)
            let head = try t.treeHead()
            #expect(head.size > lastAck, "round \(round): acknowledged seq \(lastAck) but the ledger has \(head.size) entries")
            // Every acknowledged entry is there with the content the writer appended.
            let acknowledged = try t.entryBytes(0..<(lastAck + 1))
            #expect(acknowledged.count == lastAck + 1)
            for (seq, bytes) in acknowledged.enumerated() {
                let entry = try LedgerEntry(canonical: bytes)
                #expect(entry.seq == seq && entry.payload["segment"]?.integerValue == Int64(seq), "entry \(seq) is not what was appended")
            }
            // Stored subtrees equal the tree recomputed from the entry bytes; every
            // checkpoint's root equals the recomputed root at its size and is signed.
            let audit = try t.audit(key: room.verificationKey)
            #expect(audit.isIntact, "round \(round): \(audit.problems)")
            #expect(audit.treeHead == head)
            let latest = try #require(try t.latestCheckpoint()).checkpoint
            #expect(latest.isSigned(by: room.verificationKey))
            #expect(latest.size <= head.size)
            #expect(try t.rootHash(size: latest.size) == latest.root)
            if latest.size < head.size {
                #expect(try t.consistencyProof(oldSize: latest.size, newSize: head.size).verify(oldRoot: latest.root, newRoot: head.root))
            }
            previousSize = head.size
        }
    }

    func reopen(_ path: String) throws -> Ledger {
        let pool = try DatabasePool(path: path, configuration: Configuration())
        try LedgerSchema.migrator().migrate(pool)
        return try Ledger(database: pool)
    }
}
