import DequeModule
import Foundation
import Runtime

/// A task executor on threads of its own, named `name-N` for the kernel: tasks that prefer it
/// (`withTaskExecutorPreference`) run there, not on Swift's shared pool, so their CPU can be read apart from
/// the rest of the process's (`/proc/self/task/*`). The load generator runs on one, beside a server in the
/// same process whose request handlers run on the shared pool.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let cond = NSCondition()
    private var jobs = Deque<UnownedJob>()
    private var stopping = false
    private var running = 0

    /// Starts `threads` threads named `name-0`, `name-1`, … (cut to 15 bytes by the kernel).
    public init(name: String, threads: Int) {
        for i in 0..<max(1, threads) {
            let label = "\(name)-\(i)"
            let t = Thread { [self] in
                Sys.nameThisThread(label)
                loop()
            }
            t.name = label
            t.stackSize = 1 << 20
            running += 1
            t.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let j = UnownedJob(job)
        cond.lock()
        jobs.append(j)
        cond.signal()
        cond.unlock()
    }

    private func loop() {
        while true {
            cond.lock()
            while jobs.isEmpty && !stopping { cond.wait() }
            guard let job = jobs.popFirst() else {
                running -= 1
                cond.broadcast()
                cond.unlock()
                return
            }
            cond.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Ends the threads once the jobs given are run (call when no task prefers it any more).
    public func shutdown() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while running > 0 { cond.wait() }
        cond.unlock()
    }
}
