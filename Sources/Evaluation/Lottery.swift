/// SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): a tiny, fully specified
/// PRNG, so a lottery can be re-drawn by anyone from the recorded seed years later.
/// state += 0x9E3779B97F4A7C15; z = state; z = (z ^ z>>30) × 0xBF58476D1CE4E5B9;
/// z = (z ^ z>>27) × 0x94D049BB133111EB; return z ^ z>>31.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Unbiased integer in 0..<bound (rejection sampling), spelled out so it never depends on the
    /// standard library's algorithm.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let x = next()
            if x < limit { return x % bound }
        }
    }
}

/// A tie the rules leave open, drawn by lot (87号令 57, 68) with a supplied seed and a witness.
public struct LotteryDraw: Codable, Sendable, Equatable {
    public enum Scope: String, Codable, Sendable { case ranking, sameBrand }
    public var scope: Scope
    /// The tied bidders, in id order (the input to the draw).
    public var tied: [String]
    /// The seed supplied with the draw command.
    public var seed: UInt64
    /// The seed this group was drawn with: seed &+ n, n = the number of groups drawn before it in the session.
    public var groupSeed: UInt64
    public var witness: String
    /// The drawn order, first = best.
    public var order: [String]
    public var at: Instant

    /// Fisher–Yates over the tied ids in id order, driven by SplitMix64(seed).
    public static func draw(_ tied: [String], seed: UInt64) -> [String] {
        var order = tied.sorted()
        var rng = SplitMix64(seed: seed)
        var i = order.count - 1
        while i > 0 {
            let j = Int(rng.below(UInt64(i + 1)))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
