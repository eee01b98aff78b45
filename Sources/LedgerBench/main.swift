// ledger-bench: measurements for scripts/bench-ledger, and the writer that the
// kill -9 test (Tests/ArchiveTests/LedgerCrashTests.swift) kills mid-burst.
//
//   LedgerBench append --db PATH --count N --batch B     sustained durable appends
//   LedgerBench prove  --db PATH --samples K [--mmap-mb M] inclusion proof latency at the current size
//   LedgerBench crash-writer --db PATH --key PEM --origin O [--batch B] [--checkpoint-every K]
//
// Output is one JSON object per line so the script and the test can parse it.
import Canonical
import Archive
import Foundation
import GRDB
import Identity

func option(_ name: String, _ fallback: String? = nil) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count { return args[i + 1] }
    guard let fallback else {
        FileHandle.standardError.write(Data("missing --\(name)\n".utf8))
        exit(2)
    }
    return fallback
}

func intOption(_ name: String, _ fallback: Int? = nil) -> Int {
    guard let value = Int(option(name, fallback.map(String.init))) else {
        FileHandle.standardError.write(Data("--\(name) must be an integer\n".utf8))
        exit(2)
    }
    return value
}

func openLedger(_ path: String) throws -> Ledger {
    let pool = try DatabasePool(path: path, configuration: Configuration())
    try LedgerSchema.migrator().migrate(pool)
    return try Ledger(database: pool)
}

func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

/// A realistic entry: the shape of a recording segment closing (~230 bytes canonical).
/// Deterministic in `n` so a test can check what came back after a crash.
func sampleDraft(_ n: Int, time: Int64) -> LedgerDraft {
    LedgerDraft(
        time: time, kind: "recording.segment.closed", actor: "system:capture",
        payload: [
            "device": .string("S0\(n % 8 + 1)-cam"), "segment": .integer(Int64(n)),
            "sha256": .string(String(repeating: "0123456789abcdef", count: 4)),
            "bytes": .integer(Int64(1_048_576 + n % 4096)), "duration_ms": 60000,
            "path": .string("recordings/S0\(n % 8 + 1)-cam/2026-01-01/10/\(n).mp4"),
        ])
}

func emit(_ object: CanonicalJSON) {
    // Unbuffered: the crash test must see every acknowledgement printed before the kill.
    let line = (try? object.canonicalData()) ?? Data()
    FileHandle.standardOutput.write(line + Data([0x0A]))
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func runAppend() throws {
    let ledger = try openLedger(option("db"))
    let count = intOption("count")
    let batch = intOption("batch", 1000)
    let start = monotonicSeconds()
    var done = 0
    var head = try ledger.treeHead()
    while done < count {
        let n = min(batch, count - done)
        let base = head.size
        let t = now()
        head = try ledger.append((0..<n).map { sampleDraft(base + $0, time: t) }).treeHead
        done += n
    }
    let seconds = monotonicSeconds() - start
    emit([
        "mode": "append", "entries": .integer(Int64(count)), "batch": .integer(Int64(batch)),
        "seconds_x1000": .integer(Int64(seconds * 1000)), "per_second": .integer(Int64(Double(count) / seconds)),
        "tree_size": .integer(Int64(head.size)),
    ])
}

func runProve() throws {
    var config = Configuration()
    let mmap = intOption("mmap-mb", 0)
    if mmap > 0 {
        // Memory-mapped reads skip a read() syscall per page: the daemon's setting to try.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = \(mmap << 20)") }
    }
    let pool = try DatabasePool(path: option("db"), configuration: config)
    let ledger = try Ledger(database: pool)
    let samples = intOption("samples", 10000)
    let head = try ledger.treeHead()
    var generator = SystemRandomNumberGenerator()
    var times: [Double] = []
    times.reserveCapacity(samples)
    var verified = 0
    for _ in 0..<samples {
        let index = Int.random(in: 0..<head.size, using: &generator)
        let t0 = monotonicSeconds()
        let proof = try ledger.inclusionProof(leafIndex: index, treeSize: head.size)
        times.append(monotonicSeconds() - t0)
        // Check outside the timed part that the proof is real.
        guard let entry = try ledger.entry(seq: index), proof.verify(leafHash: try entry.leafHash(), root: head.root) else {
            throw LedgerError.corrupt("proof for \(index) does not verify")
        }
        verified += 1
    }
    times.sort()
    func us(_ q: Double) -> CanonicalJSON { .integer(Int64(times[min(times.count - 1, Int(Double(times.count) * q))] * 1e6)) }
    emit([
        "mode": "prove", "mmap_mb": .integer(Int64(mmap)), "tree_size": .integer(Int64(head.size)), "samples": .integer(Int64(samples)),
        "verified": .integer(Int64(verified)), "p50_us": us(0.5), "p99_us": us(0.99), "max_us": us(1.0),
        "mean_us": .integer(Int64(times.reduce(0, +) / Double(times.count) * 1e6)),
    ])
}

func runCrashWriter() throws {
    let ledger = try openLedger(option("db"))
    let key = try RoomSigningKey(pemFile: URL(fileURLWithPath: option("key")))
    let origin = option("origin")
    let batch = intOption("batch", 100)
    let every = intOption("checkpoint-every", 5)
    var round = 0
    while true {
        let base = try ledger.treeHead().size
        let t = now()
        let result = try ledger.append((0..<batch).map { sampleDraft(base + $0, time: t) })
        // Printed only after append returned: these entries are acknowledged.
        emit(["ack": .integer(Int64(result.treeHead.size - 1))])
        round += 1
        if round % every == 0 {
            let stored = try ledger.makeCheckpoint(origin: origin, keyName: origin, key: key, now: now())
            emit(["checkpoint": .integer(Int64(stored.checkpoint.size))])
        }
    }
}

do {
    switch CommandLine.arguments.dropFirst().first {
    case "append": try runAppend()
    case "prove": try runProve()
    case "crash-writer": try runCrashWriter()
    default:
        FileHandle.standardError.write(Data("usage: LedgerBench append|prove|crash-writer --db PATH ...\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("LedgerBench: \(error)\n".utf8))
    exit(1)
}
