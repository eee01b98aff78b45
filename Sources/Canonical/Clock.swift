public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A moment in wall-clock time: nanoseconds since 1970-01-01T00:00:00Z,
/// without leap seconds (CLOCK_REALTIME). The one instant type above the
/// devices: what events, segments, challenges and checkpoints record. The
/// database stores `nanoseconds` as an INTEGER.
public struct WallTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public init(_ date: Date) { nanoseconds = Int64((date.timeIntervalSince1970 * 1e9).rounded()) }

    /// For APIs that speak Foundation (X.509 validity, signature verification).
    public var date: Date { Date(timeIntervalSince1970: Double(nanoseconds) / 1e9) }

    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    public var description: String { CivilTime.iso8601(nanoseconds: nanoseconds) }

    public static func < (a: WallTime, b: WallTime) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: WallTime, d: Duration) -> WallTime { WallTime(nanoseconds: a.nanoseconds + d.nanoseconds) }

    public static func - (a: WallTime, d: Duration) -> WallTime { WallTime(nanoseconds: a.nanoseconds - d.nanoseconds) }

    public static func - (a: WallTime, b: WallTime) -> Duration { .nanoseconds(a.nanoseconds - b.nanoseconds) }
}

extension Duration {
    /// Whole nanoseconds (durations roomd deals in are far below 292 years).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Where roomd reads the time and waits for it. One protocol, injected where
/// timers and deadlines are decided — the systemd watchdog, periodic ledger
/// checkpoints and the witness's retries, refusal aggregation windows,
/// challenge issue and expiry, segment cutting — so tests drive time with a
/// `ManualClock` instead of sleeping and hoping the machine was quick.
///
/// Instants are `WallTime` (what is written down) and `monotonic()` (what
/// intervals are measured in, which never jumps when NTP steps the wall
/// clock); durations are Swift's `Duration`. The capture layer below works in
/// the devices' own unit, CLOCK_MONOTONIC nanoseconds as `Int64` (V4L2 and
/// ALSA stamp frames with it), and reads "now" through this protocol too.
public protocol RoomClock: Sendable {
    /// Wall-clock time now.
    func now() -> WallTime
    /// Monotonic time now, in nanoseconds since an arbitrary origin
    /// (CLOCK_MONOTONIC for the system clock, so comparable with frame stamps).
    func monotonic() -> Int64
    /// Suspends the calling task until `duration` of this clock's monotonic
    /// time has passed. Throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The machine's clocks.
public struct SystemClock: RoomClock {
    public init() {}

    public func now() -> WallTime { WallTime(nanoseconds: Self.wallNanoseconds()) }

    public func monotonic() -> Int64 { Self.monotonicNanoseconds() }

    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }

    /// CLOCK_REALTIME in nanoseconds: for stamps nothing decides on (log lines).
    public static func wallNanoseconds() -> Int64 { read(CLOCK_REALTIME) }

    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanoseconds() -> Int64 { read(CLOCK_MONOTONIC) }

    private static func read(_ id: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A clock that moves only when told to: for tests and simulations. Sleepers
/// wake, in deadline order, when `advance(by:)` carries the time past their
/// deadline; `waitForSleepers(_:)` lets a test wait until the code under test
/// has gone to sleep before moving time, so no step depends on how fast the
/// machine is.
public final class ManualClock: RoomClock, @unchecked Sendable {
    private struct Sleeper {
        let id: UInt64
        let deadline: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSCondition()
    private var wall: Int64
    private var mono: Int64
    private var sleepers: [Sleeper] = []
    private var nextID: UInt64 = 0
    private var cancelled: Set<UInt64> = []

    public init(wall: WallTime = WallTime(nanoseconds: 1_780_000_000_000_000_000), monotonic: Int64 = 1_000_000_000_000) {
        self.wall = wall.nanoseconds
        self.mono = monotonic
    }

    public func now() -> WallTime { lock.withLock { WallTime(nanoseconds: wall) } }

    public func monotonic() -> Int64 { lock.withLock { mono } }

    public func sleep(for duration: Duration) async throws {
        let id: UInt64 = lock.withLock { nextID += 1; return nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                lock.lock()
                if cancelled.remove(id) != nil {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                    return
                }
                if duration <= .zero {
                    lock.unlock()
                    continuation.resume()
                    return
                }
                sleepers.append(Sleeper(id: id, deadline: mono + duration.nanoseconds, continuation: continuation))
                lock.broadcast()
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            if let index = sleepers.firstIndex(where: { $0.id == id }) {
                let sleeper = sleepers.remove(at: index)
                lock.broadcast()
                lock.unlock()
                sleeper.continuation.resume(throwing: CancellationError())
            } else {
                cancelled.insert(id)
                lock.unlock()
            }
        }
    }

    /// Moves both clocks forward and wakes every sleeper whose deadline has
    /// come, earliest first.
    public func advance(by duration: Duration) {
        lock.lock()
        wall += duration.nanoseconds
        mono += duration.nanoseconds
        let due = sleepers.filter { $0.deadline <= mono }.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        sleepers.removeAll { $0.deadline <= mono }
        lock.broadcast()
        lock.unlock()
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Sets the wall clock (an NTP step): monotonic time does not move.
    public func setWall(_ time: WallTime) { lock.withLock { wall = time.nanoseconds } }

    /// How many tasks are asleep on this clock.
    public var sleeperCount: Int { lock.withLock { sleepers.count } }

    /// Blocks (a test's thread, not the concurrency pool's business) until at
    /// least `count` tasks are asleep on this clock, or `timeout` of real time
    /// passes — the timeout only bounds a hang; returns whether they are.
    @discardableResult
    public func waitForSleepers(_ count: Int, timeout: Duration = .seconds(60)) -> Bool {
        let limit = Date().addingTimeInterval(Double(timeout.nanoseconds) / 1e9)
        lock.lock()
        defer { lock.unlock() }
        while sleepers.count < count {
            if !lock.wait(until: limit) { return sleepers.count >= count }
        }
        return true
    }

    /// The same, without blocking a thread of the concurrency pool.
    @discardableResult
    public func sleepers(atLeast count: Int, timeout: Duration = .seconds(60)) async -> Bool {
        let limit = ContinuousClock.now + timeout
        while sleeperCount < count {
            if ContinuousClock.now > limit { return false }
            await Task.yield()
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}
