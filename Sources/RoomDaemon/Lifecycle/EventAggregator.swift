import Canonical
import Foundation
import Logging
import RoomConfig
import ServiceLifecycle
import Synchronization
import Store

/// Turns floods of alike refusals into a bounded number of events, so that
/// anyone who can open a TCP connection cannot bloat the evidence or keep the
/// database writer busy.
///
/// Alike means the same kind, subject (a peer address or a station) and code
/// within one window. The first of each is recorded at once, with its detail
/// (so a probe leaves a trace straight away); the rest are counted and
/// recorded as one event when the window ends (or roomd stops), with the
/// count and the first and last time. At most `maximumKeys` distinct ones per
/// window; beyond that they share one bucket per kind and code, subject
/// "others". So a window adds at most 2 × (maximumKeys + codes) events,
/// whatever the traffic.
final class EventAggregator: Service, Sendable {
    struct Key: Hashable, Sendable {
        var kind: String
        var subject: String
        var code: String
    }

    private struct Bucket {
        var count: Int
        var first: Int64
        var last: Int64
        var severity: String
        var detail: [String: String]
    }

    private let events: EventRecorder
    private let window: Duration
    private let clock: any RoomClock
    let maximumKeys: Int
    private let buckets = Mutex<[Key: Bucket]>([:])

    init(events: EventRecorder, window: Duration = .seconds(60), maximumKeys: Int = 64, clock: (any RoomClock)? = nil) {
        self.events = events
        self.clock = clock ?? events.store.clock
        self.window = window
        self.maximumKeys = maximumKeys
    }

    /// Counts one refusal; records it now if it is the first of its kind this window.
    func report(kind: String, severity: String, subject: String, code: String, detail: [String: String]) {
        let now = clock.now().nanoseconds
        let first: Bool = buckets.withLock { buckets in
            var key = Key(kind: kind, subject: subject, code: code)
            if buckets[key] == nil && buckets.count >= maximumKeys {
                key.subject = "others"
            }
            if buckets[key] != nil {
                buckets[key]!.count += 1
                buckets[key]!.last = now
                return false
            }
            buckets[key] = Bucket(count: 1, first: now, last: now, severity: severity, detail: detail)
            return true
        }
        guard first else { return }
        var recorded = detail
        recorded["code"] = code
        let events = self.events
        Task { await events.record(kind: kind, severity: severity, subject: subject, detail: recorded) }
    }

    /// Records one event for every bucket that counted more than its first,
    /// and starts a new window.
    func flush() async {
        let ended = buckets.withLock { buckets in
            defer { buckets.removeAll(keepingCapacity: true) }
            return buckets
        }
        for (key, bucket) in ended.sorted(by: { $0.value.first < $1.value.first }) where bucket.count > 1 {
            var detail = bucket.detail
            detail["code"] = key.code
            detail["repeated"] = String(bucket.count - 1)
            detail["first"] = Text.iso8601(nanoseconds: bucket.first)
            detail["last"] = Text.iso8601(nanoseconds: bucket.last)
            detail["window_seconds"] = String(window.components.seconds)
            await events.record(kind: key.kind, severity: bucket.severity, subject: key.subject, detail: detail)
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await self.clock.sleep(for: self.window)
                await self.flush()
            }
        }
        await flush()
    }
}
