import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// A live channel as Server-Sent Events (a session's, an opening's): the first event at once, then
/// one text per item of `updates` (nil: the keep-alive). It ends when the browser goes away (the
/// next write fails) or when roomd stops: a stream left open would hold the graceful shutdown until
/// its next keep-alive found the browser gone.
enum LiveChannel {
    static func response<Update: Sendable>(first: String, updates: AsyncStream<Update?>,
                                           render: @escaping @Sendable (Update?) async throws -> String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody { writer in
                     try await writer.write(ByteBuffer(string: "retry: 2000\n\n" + first))
                     // The updates, relayed into a stream the shutdown can end.
                     let (relayed, continuation) = AsyncStream.makeStream(of: Update?.self, bufferingPolicy: .bufferingNewest(16))
                     let relay = Task {
                         for await update in updates { continuation.yield(update) }
                         continuation.finish()
                     }
                     defer { relay.cancel() }
                     try await withGracefulShutdownHandler {
                         for await update in relayed {
                             try await writer.write(ByteBuffer(string: try await render(update)))
                         }
                     } onGracefulShutdown: {
                         continuation.finish()
                     }
                     try await writer.finish(nil)
                 })
    }
}
