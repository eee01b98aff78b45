import Delivery
import Foundation
import Testing

@Suite struct PacingTests {
    @Test func backoffIsFullJitterUnderAnExponentialCeiling() {
        let top = RetryPolicy(initial: .seconds(1), maximum: .seconds(60), random: { 0.999999 })
        #expect(top.delay(afterAttempt: 1) <= .seconds(1))
        #expect(top.delay(afterAttempt: 1) > .milliseconds(999))
        #expect(top.delay(afterAttempt: 3) > .milliseconds(3999) && top.delay(afterAttempt: 3) <= .seconds(4))
        #expect(top.delay(afterAttempt: 7) <= .seconds(60) && top.delay(afterAttempt: 7) > .seconds(59))
        #expect(top.delay(afterAttempt: 500) <= .seconds(60))
        let half = RetryPolicy(initial: .seconds(2), maximum: .seconds(600), random: { 0.5 })
        #expect(half.delay(afterAttempt: 4) == .seconds(8))
        let zero = RetryPolicy(initial: .seconds(2), maximum: .seconds(600), random: { 0 })
        #expect(zero.delay(afterAttempt: 10) == .zero)
        #expect(half.ceiling(afterAttempt: 2) == .seconds(4))
    }

    @Test func limiterHoldsTheRateAcrossConcurrentUploads() async throws {
        let limiter = BandwidthLimiter(bytesPerSecond: 4 << 20)
        let start = ContinuousClock.now
        // Two "uploads" of 3 MiB each in 64 KiB chunks: 6 MiB at 4 MiB/s, minus the 1 MiB burst ⇒ at least 1.25 s.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask { for _ in 0..<48 { try await limiter.acquire(64 << 10) } }
            }
            try await group.waitForAll()
        }
        #expect(ContinuousClock.now - start >= .milliseconds(1200))
        let unlimited = BandwidthLimiter(bytesPerSecond: 0)
        let quick = ContinuousClock.now
        for _ in 0..<1000 { try await unlimited.acquire(1 << 20) }
        #expect(ContinuousClock.now - quick < .seconds(5))
    }

    @Test func errorsAreClassified() {
        func server(_ status: Int, _ code: String?) -> DeliveryError {
            DeliveryError(operation: "UploadPart 1", object: "b/k", reason: .server(status: status, code: code, message: nil, requestID: nil))
        }
        #expect(DeliveryErrorClass.of(server(503, "SlowDown")) == .retryable)
        #expect(DeliveryErrorClass.of(server(500, "InternalError")) == .retryable)
        #expect(DeliveryErrorClass.of(server(400, "RequestTimeout")) == .retryable)
        #expect(DeliveryErrorClass.of(server(429, nil)) == .retryable)
        #expect(DeliveryErrorClass.of(server(502, nil)) == .retryable)
        #expect(DeliveryErrorClass.of(server(403, "SignatureDoesNotMatch")) == .permanent)
        #expect(DeliveryErrorClass.of(server(403, "InvalidAccessKeyId")) == .permanent)
        #expect(DeliveryErrorClass.of(server(404, "NoSuchBucket")) == .permanent)
        #expect(DeliveryErrorClass.of(server(400, "InvalidArgument")) == .permanent)
        #expect(DeliveryErrorClass.of(server(403, nil)) == .permanent)
        #expect(DeliveryErrorClass.of(DeliveryError(operation: "x", object: "b/k", reason: .network("connection reset"))) == .retryable)
        #expect(DeliveryErrorClass.of(DeliveryError(operation: "x", object: "b/k", reason: .sourceMismatch(expected: "a", actual: "b"))) == .permanent)
        #expect(DeliveryErrorClass.of(CocoaError(.fileReadUnknown)) == .retryable)
        #expect(server(403, "SignatureDoesNotMatch").description.contains("secret access key is wrong"))
    }

    @Test func partSizeGrowsForHugeSources() {
        #expect(S3Uploader.initialState(size: 100, partSize: 1).partSize == 5 << 20)
        #expect(S3Uploader.initialState(size: 1 << 30, partSize: 16 << 20).partSize == 16 << 20)
        let huge: Int64 = 5 << 40  // 5 TiB
        let state = S3Uploader.initialState(size: huge, partSize: 16 << 20)
        #expect((huge + state.partSize - 1) / state.partSize <= 10_000)
        #expect(state.partSize % (1 << 20) == 0)
    }
}
