import Foundation
import Runtime

/// A task executor on threads of its own, named `name-N` for the kernel: tasks that prefer it
/// (`withTaskExecutorPreference`) run there, not on Swift's shared pool, so their CPU can be read apart from
/// the rest of the process's (`/proc/self/task/*`). The load generator runs on one, beside a server in the
/// same process whose request handlers run on the shared pool.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let threads = NamedThreads()

    /// Starts `threads` threads named `name-0`, `name-1`, … (cut to 15 bytes by the kernel).
    public init(name: String, threads count: Int) { threads.start(name: name, count: count) }

    public func enqueue(_ job: consuming ExecutorJob) {
        let j = UnownedJob(job)
        threads.submit { [self] in j.runSynchronously(on: asUnownedTaskExecutor()) }
    }

    /// Ends the threads once the jobs given are run (call when no task prefers it any more).
    public func shutdown() { threads.stop() }
}
