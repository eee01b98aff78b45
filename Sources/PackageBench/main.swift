// PackageBench: measurements for scripts/bench-packages (issue 16, sealed packages).
//
//   PackageBench make   --dir DIR --gb G [--file-mib 64] [--devices 9] --index TSV
//       writes G GB of recordings (files of ~64 MiB, 1-minute segments) into
//       DIR/<device>/, hashing each one WHILE it is written (as the recorder
//       does), and keeps the hashes in TSV (device, path, bytes, sha256).
//   PackageBench seal   --index TSV --bytes B --into PARENT --name NAME --cert-out PEM
//       seals the first recordings of the index totalling at most B bytes the
//       way roomd's PackageSealer does (hard links, manifest from the known
//       hashes, ledger export, tag files, CMS seal, folder syncs, rename) and
//       prints how long that took; the recordings are never read.
//   PackageBench tar    --bag DIR --name NAME [--chunk-mib 1] [--out /dev/null]
//       streams the bag's PackageTar sequentially in 1 MiB chunks (the pull route).
//   PackageBench verify --bag DIR --anchor PEM
//       PackageVerifier, every payload hash recomputed.
//
// Output is one JSON object per command on stdout; progress goes to stderr.
import Archive
import Canonical
import Foundation
import GRDB
import Identity

// MARK: Options

func option(_ name: String, _ fallback: String? = nil) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count { return args[i + 1] }
    guard let fallback else { fail("missing --\(name)") }
    return fallback
}

func number(_ name: String, _ fallback: Double? = nil) -> Double {
    guard let value = Double(option(name, fallback.map { String($0) })) else { fail("--\(name) must be a number") }
    return value
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("PackageBench: \(message)\n".utf8))
    exit(1)
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("  \(message)\n".utf8))
}

func emit(_ object: CanonicalJSON) {
    let line = (try? object.canonicalData()) ?? Data()
    FileHandle.standardOutput.write(line + Data([0x0A]))
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func nowNanoseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

extension CanonicalJSON {
    /// Seconds with microsecond resolution, as a JSON number.
    static func seconds(_ value: Double) -> CanonicalJSON { .decimal(String(format: "%.6f", value)) }
}

struct Problem: Error, CustomStringConvertible {
    var description: String
}


// MARK: The index of recordings (what roomd's segments table holds for them)

struct Recording: Sendable {
    var device: String
    var path: String
    var bytes: Int64
    var sha256: String
}

func readIndex(_ path: String) throws -> [Recording] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        let fields = line.split(separator: "\t").map(String.init)
        guard fields.count == 4, let bytes = Int64(fields[2]) else { throw Problem(description: "bad index line: \(line)") }
        return Recording(device: fields[0], path: fields[1], bytes: bytes, sha256: fields[3])
    }
}

// MARK: make

/// wyrand: fast, incompressible enough that no layer below can shrink it.
struct FastRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let product = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }
}

/// Writes one recording in 1 MiB chunks, hashing each chunk as it goes out (as
/// roomd-capture's segment writer does), then fsyncs it and makes it read-only
/// (as the index does for a closed segment).
func writeRecording(path: String, bytes: Int, seed: UInt64) throws -> String {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw Problem(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var random = FastRandom(state: seed)
    let hasher = SHA256Hasher()
    let chunkWords = (1 << 20) / 8
    var chunk = [UInt64](repeating: 0, count: chunkWords)
    var left = bytes
    while left > 0 {
        chunk.withUnsafeMutableBufferPointer { words in
            for i in 0..<words.count { words[i] = random.next() }
        }
        let take = min(left, chunkWords * 8)
        try chunk.withUnsafeBytes { raw in
            let part = UnsafeRawBufferPointer(rebasing: raw[0..<take])
            hasher.update(part)
            var done = 0
            while done < take {
                let written = write(fd, part.baseAddress! + done, take - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Problem(description: "cannot write \(path): \(String(cString: strerror(errno)))")
                }
                done += written
            }
        }
        left -= take
    }
    guard fsync(fd) == 0 else { throw Problem(description: "cannot sync \(path)") }
    fchmod(fd, 0o444)
    return hasher.finishHex()
}

func runMake() throws {
    let dir = option("dir")
    let totalBytes = Int64(number("gb") * 1e9)
    let fileBytes = Int(number("file-mib", 64) * 1_048_576)
    let devices = Int(number("devices", 9))
    let count = max(1, Int((totalBytes + Int64(fileBytes) - 1) / Int64(fileBytes)))
    var plan: [(device: String, path: String, bytes: Int)] = []
    var assigned: Int64 = 0
    for i in 0..<count {
        let device = String(format: "CAM%02d", i % devices + 1)
        // Each file differs a little in size, as real segments do; the last one takes the remainder.
        var bytes = fileBytes - (i * 7919) % 65_536
        if i == count - 1 { bytes = Int(max(1, totalBytes - assigned)) }
        assigned += Int64(bytes)
        plan.append((device, "\(dir)/\(device)/seg_\(String(format: "%05d", i / devices)).mp4", bytes))
    }
    for d in 0..<devices { try FileManager.default.createDirectory(atPath: String(format: "\(dir)/CAM%02d", d + 1), withIntermediateDirectories: true) }
    // Two writers (the machine has two cores; roomd runs one recorder per device).
    final class Results: @unchecked Sendable {
        let lock = NSLock()
        var hashes: [String?]
        var failure: (any Error)?
        var next = 0
        init(_ count: Int) { hashes = Array(repeating: nil, count: count) }
    }
    let results = Results(count)
    let started = monotonic()
    let workers = 2
    let paths = plan
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while true {
            results.lock.lock()
            let i = results.next
            results.next += 1
            results.lock.unlock()
            if i >= paths.count { return }
            do {
                let hash = try writeRecording(path: paths[i].path, bytes: paths[i].bytes, seed: UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
                results.lock.lock()
                results.hashes[i] = hash
                results.lock.unlock()
            } catch {
                results.lock.lock()
                results.failure = error
                results.lock.unlock()
                return
            }
            if i % 32 == 31 { note("\(i + 1)/\(paths.count) recordings written") }
        }
    }
    if let failure = results.failure { throw failure }
    let seconds = monotonic() - started
    var index = ""
    for (i, item) in plan.enumerated() {
        index += "\(item.device)\t\(item.path)\t\(item.bytes)\t\(results.hashes[i] ?? "")\n"
    }
    try SecureFile.write(Array(index.utf8), to: option("index"), mode: 0o644)
    emit(.object(["files": .integer(Int64(plan.count)), "bytes": .integer(assigned), "seconds": .seconds(seconds)]))
}

// MARK: seal

/// Small files a session adds beside its recordings (report, results, OCDS
/// release, the session's commands, check-ins, signatures): sizes in the
/// range a real session has, contents random.
func sessionFiles() -> [(String, [UInt8])] {
    var random = FastRandom(state: 42)
    func blob(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
    func json(_ text: String) -> [UInt8] { Array(text.utf8) + [0x0A] }
    var files: [(String, [UInt8])] = [
        ("data/report/results.json", json(#"{"bidders":[{"id":"B01","score":91.5},{"id":"B02","score":88.0},{"id":"B03","score":79.25}],"lot":"BENCH-LOT"}"#)),
        ("data/report/ocds-release.json", json(#"{"ocid":"ocds-roomd-BENCH-ROOM-1","tag":["award"],"awards":[{"id":"1","suppliers":[{"name":"B01"}]}]}"#)),
        ("data/report/report-body.pdf", blob(180_000)),
        ("data/report/report-signed.pdf", blob(195_000)),
        ("data/session/definition.json", json(#"{"session":"BENCH-SESSION","lot":"BENCH-LOT","experts":5,"bidders":3}"#)),
        ("data/session/definition.json.p7s", blob(1_900)),
        ("data/session/events.jsonl", blob(60_000)),
        ("data/checkins/checkins.json", json(#"[{"entry":"E1","station":"S01"},{"entry":"E2","station":"S02"}]"#)),
        ("data/checkins/roster.json", json(#"[{"name":"专家一","id_hmac":"00","id_last4":"1234"}]"#)),
    ]
    for i in 1...10 {
        files.append(("data/signatures/\(i).json", json(#"{"signature_id":\#(i),"verdict":"accepted"}"#)))
        files.append(("data/signatures/\(i).signed", blob(2_000)))
        files.append(("data/signatures/\(i).p7s", blob(1_800)))
    }
    return files
}

func runSeal() throws {
    let recordings = try readIndex(option("index"))
    let limit = Int64(number("bytes"))
    let parent = option("into")
    let name = option("name")
    var chosen: [Recording] = []
    var chosenBytes: Int64 = 0
    for recording in recordings where chosenBytes + recording.bytes <= limit {
        chosen.append(recording)
        chosenBytes += recording.bytes
    }
    guard !chosen.isEmpty else { fail("no recording fits in \(limit) bytes") }

    // Not timed: what exists before a seal starts. The room key and its seal
    // certificate (throwaway, self-signed), and the ledger, which got one
    // segment.closed entry per recording when it was closed.
    let key = try PrivateKey.generateP256()
    var request = CertificateRequest(subject: [("O", "roomd"), ("OU", "BENCH-ROOM"), ("CN", "roomd room seal BENCH-ROOM (benchmark)")],
                                     validity: 86_400, keyUsage: "critical,digitalSignature,nonRepudiation")
    request.emailProtection = true
    let certificate = try CertificateIssuer.issue(request, publicKeyOf: key)
    let certificatePEM = try certificate.pem()
    try SecureFile.write(certificatePEM, to: option("cert-out"), mode: 0o644)
    // roomd signs once at start-up ("fail at start, not at the first seal"): so here, before the clock.
    _ = try SealSigner.sign(content: Array("roomd seal self-check".utf8), key: key, certificate: certificate)
    let roomKey = try RoomSigningKey(privateKey: key)
    let origin = "roomd/BENCH-ROOM"
    let ledgerPath = parent + "/.ledger-\(name).sqlite"
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledgerPath + suffix) }
    let pool = try DatabasePool(path: ledgerPath, configuration: Configuration())
    try LedgerSchema.migrator().migrate(pool)
    let ledger = try Ledger(database: pool)
    let windowStart = nowNanoseconds() - 3_600_000_000_000
    var drafts: [LedgerDraft] = [
        LedgerDraft(time: windowStart, kind: "session.opened", actor: "operator:bench", payload: ["session": "BENCH-SESSION"]),
    ]
    for (i, recording) in chosen.enumerated() {
        drafts.append(LedgerDraft(time: windowStart + Int64(i) * 1_000_000, kind: "segment.closed", actor: "system:capture", payload: [
            "subject": .string(recording.device), "severity": "info",
            "detail": .object(["sha256": .string(recording.sha256), "bytes": .string(String(recording.bytes)),
                               "path": .string(recording.path)]),
        ]))
    }
    _ = try ledger.append(drafts)
    let small = sessionFiles()
    let sync0 = monotonic()
    sync()
    let syncSeconds = monotonic() - sync0

    // Timed from here: PackageSealer.assemble, minus the database reads (the
    // session's rows) and the TSA round trip (none configured).
    let final = parent + "/" + name
    let work = parent + "/.sealing-\(name)-\(try Digest.randomHex(4))"
    var phases: [String: CanonicalJSON] = [:]
    var mark = monotonic()
    func lap(_ phase: String) {
        let now = monotonic()
        phases[phase] = .seconds(now - mark)
        mark = now
    }
    let started = mark
    let now = nowNanoseconds()
    try FileManager.default.createDirectory(atPath: work + "/data", withIntermediateDirectories: true)
    var files: [Bag.File] = []
    func put(_ path: String, _ bytes: [UInt8]) throws {
        let target = work + "/" + path
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try SecureFile.write(bytes, to: target, mode: 0o644)
        files.append(Bag.file(path, bytes))
    }
    for (path, bytes) in small { try put(path, bytes) }
    lap("small_files")

    // data/ledger: a fresh checkpoint and the export with inclusion proofs, synced and hashed (small files).
    let checkpoint = try ledger.makeCheckpoint(origin: origin, keyName: origin, key: roomKey, now: now)
    let ledgerFolder = work + "/data/ledger"
    try ledger.export(firstSeq: 0, checkpoint: checkpoint.checkpoint, to: URL(fileURLWithPath: ledgerFolder), keyName: origin, key: roomKey,
                      certificatePEM: Data(certificatePEM), withholdPersonalData: true)
    var ledgerBytes: Int64 = 0
    for entry in try FileManager.default.contentsOfDirectory(atPath: ledgerFolder).sorted() {
        let path = ledgerFolder + "/" + entry
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        let size = ((try FileManager.default.attributesOfItem(atPath: path))[.size] as? NSNumber)?.int64Value ?? 0
        ledgerBytes += size
        files.append(Bag.File(path: "data/ledger/" + entry, sha256: try SHA256Hasher.file(path), bytes: size))
    }
    lap("ledger_export")

    // data/recordings: hard links; hashes from the index, sizes checked against it.
    var segmentDocs: [CanonicalJSON] = []
    var madeFolders = Set<String>()
    for recording in chosen {
        let file = (recording.path as NSString).lastPathComponent
        let relative = "data/recordings/\(recording.device)/\(file)"
        let target = work + "/" + relative
        let folder = (target as NSString).deletingLastPathComponent
        if !madeFolders.contains(folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            madeFolders.insert(folder)
        }
        guard link(recording.path, target) == 0 else {
            throw Problem(description: "cannot hard-link \(recording.path): \(String(cString: strerror(errno)))")
        }
        let size = ((try FileManager.default.attributesOfItem(atPath: target))[.size] as? NSNumber)?.int64Value ?? -1
        guard size == recording.bytes else { throw Problem(description: "\(recording.path) is \(size) bytes, the index says \(recording.bytes)") }
        files.append(Bag.File(path: relative, sha256: recording.sha256, bytes: recording.bytes))
        segmentDocs.append(.object([
            "device": .string(recording.device), "file": .string(relative), "bytes": .integer(recording.bytes), "sha256": .string(recording.sha256),
            "state": "closed",
        ]))
    }
    try put("data/recordings/segments.json", try segmentDocs.isEmpty ? [] : CanonicalJSON.array(segmentDocs).canonicalBytes() + [0x0A])
    // The timeline: per device, its segments and gaps (a few KB; here a summary of the same size order).
    let devices = Dictionary(grouping: chosen, by: \.device)
    try put("data/recordings/timeline.json", try CanonicalJSON.object(Dictionary(uniqueKeysWithValues: devices.map { device, items in
        (device, CanonicalJSON.object(["segments": .integer(Int64(items.count)), "bytes": .integer(items.reduce(0) { $0 + $1.bytes }), "gaps": .array([])]))
    })).canonicalBytes() + [0x0A])
    lap("recordings_linked")

    // The tag files and the seal, then the folders synced and the rename.
    let info: [(String, String)] = [
        ("Source-Organization", "roomd benchmark agency"),
        ("Organization-Address", "benchmark room"),
        ("External-Identifier", name),
        ("External-Description", "roomd sealed session package (benchmark, scripts/bench-packages)"),
        ("Bagging-Date", String(ISO8601DateFormatter().string(from: Date()).prefix(10))),
        ("Payload-Oxum", Bag.oxum(files)),
        ("Bag-Size", "\(files.reduce(0) { $0 + $1.bytes }) bytes"),
        ("Roomd-Room", "BENCH-ROOM"),
        ("Roomd-Session", "BENCH-SESSION"),
        ("Roomd-Recordings", "\(chosen.count) segments"),
    ]
    let signingTime = Date(timeIntervalSince1970: TimeInterval(now) / 1e9)
    let tagManifest = try Bag.writeTagFiles(folder: work, files: files, info: info, sign: {
        try SealSigner.sign(content: $0, key: key, certificate: certificate, signingTime: signingTime)
    })
    lap("tag_files_and_seal")
    try SecureFile.syncFolders(below: work)
    guard rename(work, final) == 0 else { throw Problem(description: "cannot rename \(work): \(String(cString: strerror(errno)))") }
    try SecureFile.syncFolder(parent)
    lap("folders_synced_and_renamed")
    // What the daemon records in the package's row: the tar's size, from its layout.
    let tar = try PackageTar(folder: final, name: name, mtime: now / 1_000_000_000)
    lap("tar_layout")
    let seconds = monotonic() - started
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledgerPath + suffix) }

    emit(.object([
        "seconds": .seconds(seconds), "phases": .object(phases), "recordings": .integer(Int64(chosen.count)),
        "recording_bytes": .integer(chosenBytes), "files": .integer(Int64(files.count)), "payload_oxum": .string(Bag.oxum(files)),
        "ledger_bytes": .integer(ledgerBytes), "tar_bytes": .integer(tar.size), "tagmanifest_sha256": .string(Digest.sha256Hex(tagManifest)),
        "presync_seconds": .seconds(syncSeconds),
    ]))
}

// MARK: tar

func runTar() throws {
    let bag = option("bag")
    let chunk = Int(number("chunk-mib", 1) * 1_048_576)
    let out = open(option("out", "/dev/null"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard out >= 0 else { fail("cannot open the output") }
    defer { close(out) }
    let started = monotonic()
    let tar = try PackageTar(folder: bag, name: option("name"), mtime: 1_700_000_000)
    var offset: Int64 = 0
    while offset < tar.size {
        let bytes = try tar.read(offset: offset, count: chunk)
        guard !bytes.isEmpty else { throw Problem(description: "short read at \(offset)") }
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let written = write(out, raw.baseAddress! + done, raw.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Problem(description: "cannot write: \(String(cString: strerror(errno)))")
                }
                done += written
            }
        }
        offset += Int64(bytes.count)
    }
    let seconds = monotonic() - started
    emit(.object(["seconds": .seconds(seconds), "bytes": .integer(tar.size), "entries": .integer(Int64(tar.entries.count))]))
}

// MARK: verify

func runVerify() throws {
    let anchor = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: option("anchor")))))
    let started = monotonic()
    let report = PackageVerifier.verify(folder: option("bag"), options: .init(anchors: [anchor], hashPayload: true))
    let seconds = monotonic() - started
    for finding in report.findings { note(finding.description) }
    emit(.object([
        "passed": .bool(report.passed), "seconds": .seconds(seconds), "findings": .integer(Int64(report.findings.count)),
        "failures": .array(report.failures.map { .string($0.description) }),
    ]))
    if !report.passed { exit(1) }
}

do {
    switch CommandLine.arguments.dropFirst().first {
    case "make"?: try runMake()
    case "seal"?: try runSeal()
    case "tar"?: try runTar()
    case "verify"?: try runVerify()
    default: fail("usage: PackageBench make|seal|tar|verify … (see the top of Sources/PackageBench/main.swift)")
    }
} catch {
    fail("\(error)")
}
