import Foundation
import Hummingbird
import NIOCore
import Store

/// Per-request context: Hummingbird's core storage, the connection (for the
/// TLS peer certificate) and, once the access middleware has run, who is calling.
struct RoomRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var peer: PeerIdentity?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        peer = nil
    }

    var remoteAddress: String? { channel.remoteAddress?.ipAddress }
}

extension Response {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var buffer = ByteBuffer()
        buffer.writeBytes(try encoder.encode(value))
        buffer.writeString("\n")
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

}
