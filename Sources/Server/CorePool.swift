import DequeModule
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
    private let cond = NSCondition()
    private var jobs = Deque<() -> Void>()
    private var busy = 0
    private var stopping = false
    private var threads: [Thread] = []
    private var exited = 0

    public struct Full: Error {}

    public init(cores: Int, queueLimit: Int) {
        precondition(cores >= 1 && queueLimit >= 0)
        self.cores = cores
        self.queueLimit = queueLimit
    }

    /// Starts the cores' threads (they hold the pool until `stop`).
    public func start() {
        cond.lock(); defer { cond.unlock() }
        guard threads.isEmpty && !stopping else { return }
        for i in 0..<cores {
            let name = "pipsqueak-core-\(i)"
            let t = Thread {
                // The kernel's name for the thread (`comm`, 15 bytes), so its CPU can be told apart.
                Sys.nameThisThread(name)
                self.loop()
            }
            t.name = name
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
    }

    /// Requests running now, and waiting for a core.
    public var running: Int { cond.withLock { busy } }
    public var waiting: Int { cond.withLock { jobs.count } }

    /// Runs `work` on a core when one is free; throws `Full` at once when the queue is full.
    public func submit<T>(_ work: @escaping () -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            cond.lock()
            // Cores idle but not yet woken take jobs too: only what is beyond them counts as queued.
            if stopping || threads.isEmpty || jobs.count >= queueLimit + (cores - busy) {
                cond.unlock()
                c.resume(throwing: Full())
                return
            }
            jobs.append { c.resume(returning: work()) }
            cond.signal()
            cond.unlock()
        }
    }

    private func loop() {
        while true {
            cond.lock()
            while jobs.isEmpty && !stopping { cond.wait() }
            guard let job = jobs.popFirst() else {
                exited += 1
                cond.broadcast()
                cond.unlock()
                return
            }
            busy += 1
            cond.unlock()
            job()
            cond.lock()
            busy -= 1
            cond.unlock()
        }
    }

    /// Refuses new work, lets queued and running requests finish, and ends the threads.
    public func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while exited < threads.count { cond.wait() }
        cond.unlock()
    }
}
