import CachePolicy
import Replay
import Workload

/// The real replay's clock: monotonic time since `origin` (ns). Waiting for a time sleeps to within a
/// millisecond of it, then spins: a timer wakes up late by a fraction of a millisecond, which would show up
/// as queueing the simulator never sees.
public struct WallClock: ReplayClock {
    public let origin: Int64
    public init(origin: Int64) { self.origin = origin }
    public var now: Int64 { Sys.monotonicNanos() - origin }
    public mutating func advance(to t: Int64) {
        let left = t - now
        if left > 1_000_000 { Sys.sleep(micros: (left - 1_000_000) / 1000) }
        while now < t {}
    }
}

/// The real runtime as a replay's executor: a request is served when the replay starts it, on the
/// worker's one thread (the worker serves one request at a time today), and is done when it returns.
public final class RuntimeReplayExecutor: ReplayExecutor {
    public enum Event: Sendable { case done }
    public let worker: RuntimeWorker
    /// Each request as it is served (its record), with what the handler returned.
    public var onServed: (RequestRecord) -> Void = { _ in }

    public init(worker: RuntimeWorker) { self.worker = worker }

    /// (A trace's per-invocation execution time is not carried out: a handler does the work its code does.)
    public func start(_ inv: Invocation, now: Int64, queue: inout EventQueue<Event>) {
        let r = worker.serve(handler: inv.handler, arrivalNanos: inv.arrivalNanos, startNanos: now)
        onServed(r)
        queue.schedule(at: worker.now(), .done)
    }

    public func handle(_ event: Event, now: Int64, queue: inout EventQueue<Event>) -> Bool { true }
}
