import Foundation
import CaptureProtocol

/// A bounded queue between device threads and the recorder thread. When the
/// recorder falls behind (a slow disk), video frames are dropped here and
/// counted rather than letting memory grow; audio is never dropped silently:
/// a full queue records an overflow the recorder turns into a gap.
final class CaptureQueue: @unchecked Sendable {
    // All state is guarded by `condition`. One condition serves both sides:
    // the consumer only waits on an empty queue and producers only on a full
    // one, so at most one side is ever waiting, and each side is woken only
    // when the other is known to wait (a wake-up per item cost the write path
    // a context switch per frame and per audio packet).
    private let condition = NSCondition()
    /// Consumed slots are set to nil at once: a popped frame's bytes must not
    /// stay alive until the array is compacted (that held ~20 MB a stream).
    private var items: [CaptureItem?] = []
    private var head = 0
    private let capacity: Int
    /// Producers blocked in `push(wait: true)` are woken once the queue has
    /// drained to this level, not at every pop: they then refill it in one go.
    private let lowWater: Int
    private var consumerWaiting = false
    private var producersWaiting = 0
    /// Set when the recorder is done with this session: pushes are discarded
    /// and a producer blocked for room returns (else stopping a replay
    /// source blocked on a full queue would wait forever).
    private var closed = false
    private(set) var droppedVideo = 0
    private(set) var droppedAudio = 0

    init(capacity: Int = 120) {
        self.capacity = capacity
        lowWater = capacity / 2
    }

    private var count: Int { items.count - head }

    /// Adds an item. A full queue drops (and counts) it, unless `wait`: then
    /// the caller blocks until there is room (file replay, where nothing is
    /// live and the reader should simply go at the writer's pace).
    func push(_ item: CaptureItem, wait: Bool = false) {
        condition.lock()
        defer { condition.unlock() }
        if wait, count >= capacity {
            producersWaiting += 1
            while count >= capacity, !closed { condition.wait() }
            producersWaiting -= 1
        }
        if closed { return }
        if count >= capacity {
            switch item {
            case .video: droppedVideo += 1; return
            case .audio: droppedAudio += 1; return
            case .sourceFailed: break
            }
        }
        items.append(item)
        if consumerWaiting { condition.signal() }
    }

    /// The next item, or nil if none arrives within `seconds`.
    func pop(timeout seconds: Double) -> CaptureItem? {
        condition.lock()
        defer { condition.unlock() }
        if head == items.count {
            let limit = Date().addingTimeInterval(seconds)
            consumerWaiting = true
            defer { consumerWaiting = false }
            while head == items.count {
                if !condition.wait(until: limit) { return nil }
            }
        }
        let item = items[head]!
        items[head] = nil
        head += 1
        if producersWaiting > 0, count <= lowWater { condition.broadcast() }
        if head >= 64, head * 2 >= items.count { items.removeFirst(head); head = 0 }
        return item
    }

    /// The consumer is gone: wake any blocked producer and take nothing more.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Drops counted since the last call.
    func takeDrops() -> (video: Int, audio: Int) {
        condition.lock()
        defer { condition.unlock() }
        defer { droppedVideo = 0; droppedAudio = 0 }
        return (droppedVideo, droppedAudio)
    }
}

/// A source that runs on a dedicated thread (never the Swift concurrency pool:
/// device reads block).
class SourceThread: @unchecked Sendable {
    let name: String
    private let stopLock = NSLock()
    private var stopRequested = false
    private let finished = NSCondition()
    private var running = false

    init(name: String) { self.name = name }

    var shouldStop: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopRequested
    }

    func start(into queue: CaptureQueue) {
        finished.lock()
        running = true
        finished.unlock()
        let thread = Thread { [self] in
            nameCurrentThread("roomd-\(name)")
            self.body(queue)
            finished.lock()
            running = false
            finished.broadcast()
            finished.unlock()
        }
        thread.name = "roomd-\(name)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Asks the thread to stop and waits for it.
    func stop() {
        stopLock.lock()
        stopRequested = true
        stopLock.unlock()
        finished.lock()
        while running { finished.wait() }
        finished.unlock()
    }

    /// Runs until `shouldStop`; subclasses capture and push, and release
    /// their device before returning (a V4L2 device that is still mapped
    /// cannot be reopened after a disconnect).
    func body(_ queue: CaptureQueue) {}
}
