import CaptureProtocol
import NIOPosix
import Store

/// Blocking work of the daemon — SQLite reads of the ledger (proofs, exports),
/// OpenSSL's signature verification, repairs at start, stopping the helpers —
/// runs here: on a fixed pool of threads, never on the Swift concurrency pool
/// (whose few threads must keep the API answering) and never on a thread
/// started per call (a request per thread would let the network decide how
/// many threads roomd runs). Work that was cancelled before a thread took it
/// does not run.
enum BlockingWork {
    /// Four threads: the ledger's reads take milliseconds; a long job (a
    /// repair at start, an export) leaves three for requests.
    static let threads = 4

    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool
    }()
}

/// Runs `work` on the blocking pool and returns its result.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try Task.checkCancellation()
    return try await BlockingWork.pool.runIfActive {
        nameCurrentThread("roomd-blocking")
        return try work()
    }
}

/// The same, for work that cannot fail (or reports its own failures).
func runBlocking(_ work: @escaping @Sendable () -> Void) async {
    _ = try? await BlockingWork.pool.runIfActive {
        nameCurrentThread("roomd-blocking")
        work()
    }
}
