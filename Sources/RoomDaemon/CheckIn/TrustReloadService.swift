import Foundation
import Identity
import Logging
import ServiceLifecycle
import UnixSignals
import Store

/// `systemctl reload roomd` (SIGHUP): re-reads the expert trust folder —
/// typically a day's new CRLs — without a restart, so recordings are not cut.
/// A folder that no longer loads keeps the old trust store and says why.
struct TrustReloadService: Service {
    let checkIn: CheckInService
    let events: EventRecorder
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                await reload()
            }
        }
    }

    func reload() async {
        do {
            let identifier = try await runBlocking { try checkIn.reloadTrust() }
            logger.notice("expert trust folder reloaded / 已重新加载云签信任证书与吊销列表",
                          metadata: ["folder": .string(checkIn.trustDirectory), "identifier": .string(identifier)])
            await events.record(kind: "identity.trust-reloaded", severity: "notice", subject: checkIn.trustDirectory,
                                detail: ["identifier": identifier])
        } catch {
            logger.error("expert trust folder not reloaded; the previous one stays in force / 信任证书重新加载失败，继续使用原有配置",
                         metadata: ["folder": .string(checkIn.trustDirectory), "error": .string("\(error)")])
            await events.record(kind: "identity.trust-reload-failed", severity: "error", subject: checkIn.trustDirectory,
                                detail: ["error": "\(error)"])
        }
    }
}
