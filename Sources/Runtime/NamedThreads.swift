import DequeModule
import Foundation

/// Threads of their own, named for the kernel (`name-N`: /proc, top, perf tell them apart), running jobs first
/// come first served until stopped: the worker's maintenance thread (`RuntimeWorker`), its cores (`CorePool`)
/// and the load generator's task executor (`ThreadExecutor`).
public final class NamedThreads: @unchecked Sendable {
    private let cond = NSCondition()
    private var jobs = Deque<() -> Void>()
    private var busy = 0
    private var stopping = false
    private var started = 0, exited = 0
    /// Threads waiting in `drain`.
    private var drainers = 0

    public init() {}

    /// Starts `count` threads named `name-0`, `name-1`, … (cut to 15 bytes by the kernel), each running
    /// `prologue` before its first job; nothing when they were started before or are stopping.
    public func start(name: String, count: Int, prologue: @escaping @Sendable () -> Void = {}) {
        cond.lock(); defer { cond.unlock() }
        guard started == 0 && !stopping else { return }
        for i in 0..<max(1, count) {
            let label = "\(name)-\(i)"
            let t = Thread { [self] in
                Sys.nameThisThread(label)
                prologue()
                loop()
            }
            t.name = label
            t.stackSize = 1 << 20
            started += 1
            t.start()
        }
    }

    /// Queues `job` when `accept` (asked under the lock with the jobs queued, the threads busy and started)
    /// says so and the threads are not stopping; false: refused, not queued.
    @discardableResult
    public func submit(_ job: @escaping () -> Void, accept: (_ queued: Int, _ busy: Int, _ started: Int) -> Bool = { _, _, _ in true }) -> Bool {
        cond.lock(); defer { cond.unlock() }
        guard !stopping, accept(jobs.count, busy, started) else { return false }
        jobs.append(job)
        if drainers > 0 { cond.broadcast() } else { cond.signal() } // a signal could wake a drainer instead
        return true
    }

    /// Jobs running now, and waiting for a thread.
    public var running: Int { cond.withLock { busy } }
    public var waiting: Int { cond.withLock { jobs.count } }

    /// Waits until every job queued so far has run (at once when none is queued or running, or no thread is
    /// left to run them).
    public func drain() {
        cond.lock(); defer { cond.unlock() }
        drainers += 1
        while (!jobs.isEmpty || busy > 0) && exited < started { cond.wait() }
        drainers -= 1
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
            if drainers > 0 && busy == 0 && jobs.isEmpty { cond.broadcast() }
            cond.unlock()
        }
    }

    /// Refuses new jobs, lets queued and running ones finish, and waits for the threads to end.
    public func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while exited < started { cond.wait() }
        cond.unlock()
    }
}
