import Logging
import Store

/// Writes events to the store; a failure to store an event is logged loudly
/// (it means evidence is being lost) but never breaks the request that caused it.
struct EventRecorder: Sendable {
    let store: RoomStore
    let logger: Logger

    func record(kind: String, severity: String, subject: String?, detail: [String: String], actor: String = "system") async {
        do {
            try await store.appendEvent(kind: kind, severity: severity, subject: subject, detail: detail, actor: actor)
        } catch {
            logger.critical("could not store event; evidence may be incomplete / 事件未能写入数据库",
                            metadata: ["kind": .string(kind), "error": .string("\(error)")])
        }
    }
}
