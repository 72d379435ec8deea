import Foundation
import Runtime

/// The worker's cores: `cores` threads run requests, at most that many at once; the others wait first come,
/// first served in a queue of at most `queueLimit` (the same model the simulator's replay has). A request
/// that finds the queue full is refused at once (`Full`: HTTP 503).
///
/// Requests run on dedicated threads, not on Swift's cooperative pool or NIO's event loops: serving one
/// blocks (it waits on a forked process).
public final class CorePool: @unchecked Sendable {
    public let cores: Int
    public let queueLimit: Int
    private let threads = NamedThreads()

    public struct Full: Error {}

    public init(cores: Int, queueLimit: Int) {
        precondition(cores >= 1 && queueLimit >= 0)
        self.cores = cores
        self.queueLimit = queueLimit
    }

    /// Starts the cores' threads, `pipsqueak-core-N` (they hold the pool until `stop`); each runs `prologue`
    /// before its first request.
    public func start(prologue: @escaping @Sendable () -> Void = {}) {
        threads.start(name: "pipsqueak-core", count: cores, prologue: prologue)
    }

    /// Requests running now, and waiting for a core.
    public var running: Int { threads.running }
    public var waiting: Int { threads.waiting }

    /// Runs `work` on a core when one is free; throws `Full` at once when the queue is full.
    public func submit<T>(_ work: @escaping () -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            // Cores idle but not yet woken take jobs too: only what is beyond them counts as queued.
            let queued = threads.submit({ c.resume(returning: work()) }) { [cores, queueLimit] jobs, busy, started in
                started > 0 && jobs < queueLimit + (cores - busy)
            }
            if !queued { c.resume(throwing: Full()) }
        }
    }

    /// Refuses new work, lets queued and running requests finish, and ends the threads.
    public func stop() { threads.stop() }
}
