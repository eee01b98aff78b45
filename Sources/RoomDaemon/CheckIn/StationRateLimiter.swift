import Foundation
import Synchronization
import Store

/// At most `perMinute` admissions per station in any sliding minute, decided
/// under one lock: parallel requests cannot all slip through a count.
final class StationRateLimiter: Sendable {
    let perMinute: Int
    private let recent = Mutex<[String: [Date]]>([:])

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    func admit(_ station: String, now: Date) -> Bool {
        recent.withLock { recent in
            var times = recent[station, default: []].filter { now.timeIntervalSince($0) < 60 }
            guard times.count < perMinute else {
                recent[station] = times
                return false
            }
            times.append(now)
            recent[station] = times
            return true
        }
    }
}
