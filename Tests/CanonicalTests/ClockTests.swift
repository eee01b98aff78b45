import Canonical
import Foundation
import Testing

struct ManualClockTests {
    @Test func sleepersWakeInDeadlineOrderWhenTimeReachesThem() async throws {
        let clock = ManualClock()
        let woke = Woken()
        let tasks = [("ten", 10), ("five", 5), ("twenty", 20)].map { name, seconds in
            Task {
                try await clock.sleep(for: .seconds(seconds))
                await woke.add(name)
            }
        }
        #expect(await clock.sleepers(atLeast: 3))
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 3, "nobody's deadline has come")
        clock.advance(by: .seconds(6))
        for task in tasks.prefix(2) { try await task.value }
        #expect(Set(await woke.names) == ["five", "ten"])
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(100))
        try await tasks[2].value
        #expect(await woke.names.last == "twenty")
    }

    @Test func aCancelledSleeperThrowsAndLeaves() async throws {
        let clock = ManualClock()
        let task = Task { try await clock.sleep(for: .seconds(60)) }
        #expect(await clock.sleepers(atLeast: 1))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleeperCount == 0)
        // Cancelled before it ever slept.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(1))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test func wallAndMonotonicTimeMoveTogetherExceptForASteppedWallClock() {
        let start = WallTime(nanoseconds: 1_780_000_000_000_000_000)
        let clock = ManualClock(wall: start, monotonic: 42)
        clock.advance(by: .milliseconds(1500))
        #expect(clock.now() == start + .milliseconds(1500))
        #expect(clock.monotonic() == 42 + 1_500_000_000)
        clock.setWall(start - .seconds(3600))
        #expect(clock.now() - start == .seconds(-3600))
        #expect(clock.monotonic() == 42 + 1_500_000_000, "an NTP step does not move monotonic time")
    }

    @Test func wallTimeConvertsLosslesslyAtNanosecondsAndPrintsAsISO8601() {
        let t = WallTime(nanoseconds: 1_764_842_400_123_456_789)
        #expect(t.description == CivilTime.iso8601(nanoseconds: t.nanoseconds))
        #expect(abs(WallTime(t.date).nanoseconds - t.nanoseconds) < 1_000, "Date keeps microseconds")
        #expect(Duration.milliseconds(2500).nanoseconds == 2_500_000_000)
        #expect(Duration.nanoseconds(-7).nanoseconds == -7)
    }

    @Test func theSystemClockReadsTheMachinesClocks() async throws {
        let clock = SystemClock()
        let before = Date()
        let now = clock.now()
        #expect(abs(now.date.timeIntervalSince(before)) < 5)
        let a = clock.monotonic()
        try await clock.sleep(for: .milliseconds(5))
        #expect(clock.monotonic() - a >= 5_000_000)
    }
}

private actor Woken {
    var names: [String] = []
    func add(_ name: String) { names.append(name) }
}
