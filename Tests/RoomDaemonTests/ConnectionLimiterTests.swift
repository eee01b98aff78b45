import NIOCore
import NIOEmbedded
import RoomConfig
import Testing

@testable import RoomDaemon

/// The caps, decided without a network: per address first; at the total cap
/// the oldest connection still in its handshake makes room, a client past its
/// handshake never does.
struct ConnectionLimiterTests {
    static func limits(total: Int, perAddress: Int) -> RoomConfiguration.ConnectionLimits {
        var limits = RoomConfiguration.ConnectionLimits()
        limits.maxConnections = total
        limits.maxConnectionsPerAddress = perAddress
        return limits
    }

    @Test func perAddressCapRefusesAndReleasesCount() throws {
        let limiter = ConnectionLimiter(limits: Self.limits(total: 100, perAddress: 2))
        let channels = (0..<3).map { _ in EmbeddedChannel() }
        #expect(limiter.admit("10.0.0.1", channel: channels[0]) == nil)
        #expect(limiter.admit("10.0.0.1", channel: channels[1]) == nil)
        #expect(limiter.admit("10.0.0.1", channel: channels[2]) == .perAddress)
        #expect(limiter.admit("10.0.0.2", channel: channels[2]) == nil)
        limiter.release("10.0.0.1", channel: channels[0])
        #expect(limiter.admit("10.0.0.1", channel: channels[0]) == nil)
        #expect(limiter.counts.open == 3 && limiter.counts.peak == 3)
    }

    @Test func atTheTotalCapTheOldestHandshakeIsEvictedNeverAClient() throws {
        let limiter = ConnectionLimiter(limits: Self.limits(total: 3, perAddress: 3))
        let channels = (0..<6).map { _ in EmbeddedChannel() }
        for channel in channels { try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait() }
        for (index, channel) in channels.prefix(3).enumerated() {
            #expect(limiter.admit("10.0.0.\(index)", channel: channel) == nil)
        }
        // Two of them are clients (handshake done); the third never spoke TLS.
        limiter.established(channels[0])
        limiter.established(channels[1])
        #expect(limiter.admit("10.0.1.1", channel: channels[3]) == nil)
        #expect(!channels[2].isActive, "the silent connection made room")
        #expect(channels[0].isActive && channels[1].isActive)
        limiter.release("10.0.0.2", channel: channels[2])
        limiter.established(channels[3])
        // Everyone is a client now: a newcomer is refused.
        #expect(limiter.admit("10.0.1.2", channel: channels[4]) == .total)
        #expect(limiter.counts.evicted == 1)
    }
}
