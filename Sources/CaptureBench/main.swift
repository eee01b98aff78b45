import CaptureProtocol
// Capture benchmarks (scripts/bench-capture drives this and the FFmpeg baseline).
//
//   CaptureBench write-path --input FILE --out DIR --frames N [--loops L]
//       one recorder, the file replayed as fast as the pipeline takes it;
//       prints CPU seconds per recorded minute.
//   CaptureBench hash-cost --out DIR --minutes M --total T
//       after a write-path run into DIR: what of its T CPU s per recorded
//       minute the mandated SHA-256 costs (the same hash over the same bytes).
//   CaptureBench realtime --input FILE --out DIR --streams K --seconds S
//       K recorders, each replaying the file at camera pace; prints CPU %,
//       peak RSS and dropped frames.
//   CaptureBench realtime-helpers --input FILE --out DIR --streams K --seconds S [--isolation device|shared] [--sandbox on|off]
//       the same as roomd runs it: each recorder in its own roomd-capture (or all in one)
//       (found beside this binary), answered over the pipe by CaptureProcess;
//       CPU counts this process and every helper, memory is each helper's peak
//       RSS and the PSS of the helpers together.
//
// Segments go through the real index (SQLite, WAL, synchronous=FULL), as in roomd.
import Archive
import Capture
import CaptureSupervisor
import Foundation
import GRDB
import Store
import Glibc
import Logging

final class BenchSink: CaptureIndex, @unchecked Sendable {
    let index: SegmentIndex
    init(index: SegmentIndex) { self.index = index }
    func nextSequence(device: String) throws -> Int64 { try index.nextSequence(device: device) }
    func segmentOpened(_ s: SegmentOpened) throws -> Int64 {
        try index.opened(device: s.device, sequence: s.sequence, path: s.path, wallStartNs: s.wallStartNanoseconds,
                         monotonicStartNs: s.monotonicStartNanoseconds, videoCodec: s.videoCodec, audioCodec: s.audioCodec,
                         synthetic: s.synthetic)
    }
    func segmentProgressed(id: Int64, _ p: SegmentProgress) {
        try? index.progressed(id: id, durableBytes: p.durableBytes, wallEndNs: p.wallEndNanoseconds, frames: p.frames)
    }
    func segmentClosed(id: Int64, _ c: SegmentClosed) throws {
        try index.closed(id: id, wallEndNs: c.wallEndNanoseconds, frames: c.frames, droppedFrames: c.droppedFrames,
                         audioXruns: c.audioXruns, bytes: c.bytes, sha256: c.sha256, reason: c.reason)
    }
    func segmentRecovered(id: Int64, wallStartNanoseconds: Int64, report: RepairReport) throws {
        try index.recovered(id: id, wallEndNs: wallStartNanoseconds + report.durationNanoseconds, frames: report.videoFrames,
                            bytes: report.bytes, sha256: report.sha256, reason: "crash-recovered")
    }
    func captureEvent(_ event: CaptureEvent) {}
}

func childrenCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// `Pss:` of /proc/PID/smaps_rollup, in MB (each shared page counted once across processes).
func pssMegabytes(_ pid: pid_t) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("Pss:") {
        return Double(line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0) / 1024
    }
    return 0
}

/// This process's capture helpers and fork server: its children and theirs.
func helperPIDs() -> [pid_t] {
    func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [pid_t] in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
        }
    }
    return children(of: getpid()).flatMap { [$0] + children(of: $0) }
}

func argument(_ name: String, _ fallback: String? = nil) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--" + name), i + 1 < args.count { return args[i + 1] }
    guard let fallback else { FileHandle.standardError.write(Data("missing --\(name)\n".utf8)); exit(2) }
    return fallback
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// CPU time of the calling thread alone.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

let mode = CommandLine.arguments.dropFirst().first ?? ""

// What the mandated SHA-256 alone costs: the write path's own hash
// (SHA256Stream via SegmentDigest) over the bytes of the segments a
// write-path run just produced, read into memory first and timed on this
// thread's CPU clock only; each digest is checked against the index. A
// separate process, so the machine-wide figure of the run excludes it.
if mode == "hash-cost" {
    let out = argument("out")
    let minutes = Double(argument("minutes"))!
    let total = Double(argument("total"))!   // the run's CPU s per recorded minute
    let index = try DatabaseQueue(path: out + "/index.sqlite")
    let segments = try index.read { db in
        try Row.fetchAll(db, sql: "SELECT path, sha256 FROM segments WHERE state = 'closed' ORDER BY id")
    }
    var hashCPU = 0.0, hashedBytes: Int64 = 0, mismatches = 0
    for row in segments {
        let path: String = row["path"]
        let expected: String? = row["sha256"]
        guard let data = FileManager.default.contents(atPath: path) else { mismatches += 1; continue }
        let before = threadCPUSeconds()
        let sha = data.withUnsafeBytes { SegmentDigest.sha256($0) }
        hashCPU += threadCPUSeconds() - before
        hashedBytes += Int64(data.count)
        if sha != expected { mismatches += 1 }
    }
    print(String(format: "  of which the mandated SHA-256: %.2f CPU s over %lld bytes in %d segments (%@) → %.2f CPU s per recorded minute; without it: %.2f",
                 hashCPU, hashedBytes, segments.count, mismatches == 0 ? "hashes match the index" : "\(mismatches) MISMATCHED",
                 hashCPU / minutes, total - hashCPU / minutes))
    exit(mismatches == 0 ? 0 : 1)
}

let input = argument("input")
let out = argument("out")
try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
var configuration = Configuration()
configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
let pool = try DatabasePool(path: out + "/index.sqlite", configuration: configuration)
try pool.write { db in try SegmentIndex.createSchema(db) }
let sink = BenchSink(index: SegmentIndex(writer: pool))
var logger = Logger(label: "bench")
logger.logLevel = .warning

switch mode {
case "write-path":
    let frames = Int64(argument("frames"))!
    let loops = Int(argument("loops", "1"))!
    let recorder = Recorder(configuration: .init(device: "B01", video: .replay(path: input, paced: false, loops: loops), audio: nil,
                                                 directory: out, segmentSeconds: 60, minimumFreeBytes: 64 << 20),
                            sink: sink, logger: logger)
    let cpu0 = cpuSeconds(), wall0 = Date()
    recorder.start()
    while recorder.status.frames < frames * Int64(loops) { usleep(20_000) }
    recorder.stop()
    let cpu = cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
    let minutes = Double(frames * Int64(loops)) / 30 / 60
    let s = recorder.status
    print(String(format: "roomd write path: %.1f media-minutes in %.1f s wall, %.2f CPU s → %.2f CPU s per recorded minute; frames %lld, dropped %lld",
                 minutes, wall, cpu, cpu / minutes, s.frames, s.droppedFrames))
case "realtime":
    let streams = Int(argument("streams"))!
    let seconds = Double(argument("seconds"))!
    let recorders = (1...streams).map { i in
        Recorder(configuration: .init(device: String(format: "R%02d", i), video: .replay(path: input, paced: true, loops: 1000), audio: nil,
                                      directory: out, segmentSeconds: 60, minimumFreeBytes: 64 << 20),
                 sink: sink, logger: logger)
    }
    let cpu0 = cpuSeconds(), wall0 = Date()
    recorders.forEach { $0.start() }
    Thread.sleep(forTimeInterval: seconds)
    recorders.forEach { $0.stop() }
    let cpu = cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
    let frames = recorders.reduce(Int64(0)) { $0 + $1.status.frames }
    let dropped = recorders.reduce(Int64(0)) { $0 + $1.status.droppedFrames }
    print(String(format: "roomd %d real-time streams for %.0f s: CPU %.1f%% of one core (%.1f%% per stream), peak RSS %.1f MB, frames %lld, dropped %lld",
                 streams, wall, cpu / wall * 100, cpu / wall * 100 / Double(streams), peakRSSMegabytes(), frames, dropped))
case "realtime-helpers":
    let streams = Int(argument("streams"))!
    let seconds = Double(argument("seconds"))!
    let helper = ChildProcess.helperPath()
    guard access(helper, X_OK) == 0 else {
        FileHandle.standardError.write(Data("\(helper) is missing: build the roomd-capture product\n".utf8))
        exit(2)
    }
    let configurations = (1...streams).map { i in
        RecorderConfiguration(device: String(format: "H%02d", i), video: .replay(path: input, paced: true, loops: 1000),
                              audio: nil, directory: out, segmentSeconds: 60, minimumFreeBytes: 64 << 20)
    }
    // storage.capture_isolation: device (a helper per stream, forked by one
    // fork server, as roomd runs them) or shared (one helper for all).
    let shared = argument("isolation", "device") == "shared"
    // storage.capture_sandbox: helpers confined (the default) or not.
    let sandbox = argument("sandbox", "on") == "on"
    let forkServer = shared ? nil : ForkServer(helperPath: helper, logger: logger)
    let processes = shared
        ? [CaptureProcess(configurations: configurations, helperPath: helper, sandbox: sandbox, sink: sink, logger: logger)]
        : configurations.map { CaptureProcess(configurations: [$0], helperPath: helper, launcher: forkServer, sandbox: sandbox, sink: sink, logger: logger) }
    let cpu0 = cpuSeconds() + childrenCPUSeconds(), wall0 = Date()
    processes.forEach { $0.start() }
    Thread.sleep(forTimeInterval: seconds * 0.8)
    let helpers = helperPIDs()
    let pss = helpers.reduce(0) { $0 + pssMegabytes($1) }
    Thread.sleep(forTimeInterval: seconds * 0.2)
    // Until every helper is reaped (a helper reports `stopped` before it
    // exits; a child's CPU counts in RUSAGE_CHILDREN only once it is reaped),
    // then the fork server, whose count includes the helpers it reaped.
    onThreadsConcurrently(processes, name: "bench-stop") { $0.stop() }
    forkServer?.stop()
    let cpu = cpuSeconds() + childrenCPUSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
    var children = rusage()
    getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &children)
    let statuses = processes.flatMap { p in p.configurations.map { p.status(of: $0.device) } }
    let frames = statuses.reduce(Int64(0)) { $0 + $1.frames }
    let dropped = statuses.reduce(Int64(0)) { $0 + $1.droppedFrames }
    let confined = processes.compactMap(\.sandboxed).first?.summary ?? "?"
    print(String(format: "roomd %d real-time streams in %d roomd-capture helper(s) (sandbox: %@) for %.0f s: CPU %.1f%% of one core (%.1f%% per stream, helpers and supervisor), "
                 + "peak RSS %.1f MB per helper (supervisor %.1f MB), PSS of the helpers (and fork server) together %.1f MB, frames %lld, dropped %lld",
                 streams, helpers.count - (forkServer == nil ? 0 : 1), confined, wall, cpu / wall * 100, cpu / wall * 100 / Double(streams), Double(children.ru_maxrss) / 1024,
                 peakRSSMegabytes(), pss, frames, dropped))
default:
    FileHandle.standardError.write(Data("usage: CaptureBench write-path|hash-cost|realtime|realtime-helpers --input FILE --out DIR ...\n".utf8))
    exit(2)
}
