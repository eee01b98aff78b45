import Foundation
import Synchronization

/// A token bucket shared by every upload of the process: `bytesPerSecond`
/// in total, whatever the number of uploads (0 = unlimited). Uploaders call
/// `acquire` for each chunk of a request body (64 KiB) just before handing
/// it to the network, so a part trickles out at the cap instead of bursting
/// and then sleeping for a whole part.
///
/// Reservations are taken in arrival order: a caller that finds the bucket
/// short reserves its bytes (the balance goes negative) and sleeps until they
/// are earned, so concurrent uploads share the rate fairly.
public final class BandwidthLimiter: Sendable {
    private struct Bucket {
        var bytesPerSecond: Int
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let bucket: Mutex<Bucket>
    private let clock = ContinuousClock()

    /// - Parameter bytesPerSecond: the cap; 0 means no cap.
    public init(bytesPerSecond: Int) {
        bucket = Mutex(Bucket(bytesPerSecond: max(0, bytesPerSecond), tokens: 0, last: ContinuousClock().now))
        bucket.withLock { $0.tokens = Double(Self.burst($0.bytesPerSecond)) }
    }

    /// The cap now in force (bytes per second, 0 = none).
    public var bytesPerSecond: Int { bucket.withLock { $0.bytesPerSecond } }

    /// Changes the cap (configuration reload); waiting callers keep their reservations.
    public func setBytesPerSecond(_ rate: Int) {
        bucket.withLock { bucket in
            bucket.bytesPerSecond = max(0, rate)
            bucket.tokens = min(bucket.tokens, Double(Self.burst(bucket.bytesPerSecond)))
        }
    }

    /// Waits until `count` bytes may be sent. Throws CancellationError if the task is cancelled while waiting.
    public func acquire(_ count: Int) async throws {
        let wait: Double = bucket.withLock { bucket in
            guard bucket.bytesPerSecond > 0 else { return 0 }
            let now = clock.now
            let rate = Double(bucket.bytesPerSecond)
            let elapsed = bucket.last.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            bucket.tokens = min(Double(Self.burst(bucket.bytesPerSecond)), bucket.tokens + seconds * rate)
            bucket.last = now
            bucket.tokens -= Double(count)
            return bucket.tokens >= 0 ? 0 : -bucket.tokens / rate
        }
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    }

    /// What may go out at once after a quiet spell: a quarter second's worth, at least 64 KiB.
    private static func burst(_ rate: Int) -> Int { max(64 << 10, rate / 4) }
}

/// Exponential backoff with full jitter (AWS architecture blog, "Exponential
/// Backoff And Jitter"): after attempt n the delay is uniform in
/// [0, min(maximum, initial · 2^(n-1))].
public struct RetryPolicy: Sendable {
    public var initial: Duration
    public var maximum: Duration
    /// Uniform in [0, 1); injected so that tests are deterministic.
    public var random: @Sendable () -> Double

    public init(initial: Duration = .seconds(2), maximum: Duration = .seconds(600),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.initial = initial
        self.maximum = maximum
        self.random = random
    }

    /// How long to wait after failed attempt `attempt` (1 = the first attempt failed).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt, 1) - 1, 62)
        let ceiling = min(Self.seconds(maximum), Self.seconds(initial) * pow(2, Double(exponent)))
        let fraction = min(max(random(), 0), 1)
        return .nanoseconds(Int64((ceiling * fraction * 1e9).rounded(.down)))
    }

    /// The cap of the jitter window after `attempt` (for logs and alarms).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt, 1) - 1, 62)
        return .nanoseconds(Int64(min(Self.seconds(maximum), Self.seconds(initial) * pow(2, Double(exponent))) * 1e9))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// Whether retrying later can help.
public enum DeliveryErrorClass: String, Sendable, Equatable {
    /// Network trouble, the server busy or failing (5xx, 429, SlowDown, RequestTimeout),
    /// a part damaged in transit: the outbox retries with backoff.
    case retryable
    /// Credentials or signature refused (403), no such bucket, invalid argument,
    /// a package that does not match its checksum: retrying cannot help; the
    /// outbox raises an alarm and waits for an operator.
    case permanent

    /// The class of any error an uploader throws: `DeliveryError` and `HTTPSUploadError` say their own;
    /// anything else (connection refused or reset, timeouts, TLS, read errors) is retryable.
    public static func of(_ error: any Error) -> DeliveryErrorClass {
        if let error = error as? DeliveryError { return error.errorClass }
        if let error = error as? HTTPSUploadError { return error.isRetryable ? .retryable : .permanent }
        return .retryable
    }
}
