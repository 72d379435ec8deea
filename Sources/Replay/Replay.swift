import DequeModule
import Workload

/// Where a replay's time comes from. The simulator's is virtual (it jumps to the next event); the real
/// runtime's is the monotonic clock (it waits until the next event is due), as SimPy's `Environment` and
/// `RealtimeEnvironment`.
public protocol ReplayClock {
    /// Time since the replay's origin, ns.
    var now: Int64 { get }
    /// Moves time on to `t` (ns since the origin): a virtual clock jumps there; a wall clock waits until
    /// then (at once if `t` has passed).
    mutating func advance(to t: Int64)
}

/// The simulator's clock: time is whatever the last event said.
public struct VirtualClock: ReplayClock {
    public private(set) var now: Int64 = 0
    public init() {}
    @inline(__always) public mutating func advance(to t: Int64) { now = t }
}

/// What carries out the requests of a replay (the simulator's model or the real runtime). It starts a
/// request on a free core and schedules its own events (a request done, a zygote ready) on the replay's
/// queue; the replay hands each back when its time comes.
public protocol ReplayExecutor: AnyObject {
    associatedtype Event: Sendable
    /// Starts the request `invocation` (its arrival, handler and, if the trace gives one, its own execution
    /// time) at `now`, on a core now taken.
    func start(_ invocation: Invocation, now: Int64, queue: inout EventQueue<Event>)
    /// Handles one of its events at `now`; returns true when a core is free again.
    func handle(_ event: Event, now: Int64, queue: inout EventQueue<Event>) -> Bool
    /// `invocation` arrived at `now` to a full queue and was refused (a worker answers it 503): what the
    /// refusal itself costs, if anything (by default nothing).
    func refused(_ invocation: Invocation, now: Int64, queue: inout EventQueue<Event>)
}

extension ReplayExecutor {
    public func refused(_ invocation: Invocation, now: Int64, queue: inout EventQueue<Event>) {}
}

/// One driver for both executors: arrivals from a trace, `cores` requests in flight at most, the rest
/// waiting first come, first served (at most `queueLimit` of them; more are refused), and the executor's events, all in time order on one clock.
///
/// Event order: the executor's events at time t are handled before arrivals at t (a core freed at t
/// serves a request arriving at t); among scheduled events, by sequence number (`EventQueue`). Memory stays
/// flat however long the trace: invocations are pulled one at a time.
public final class Replay<Executor: ReplayExecutor, Clock: ReplayClock> {
    @usableFromInline var _clock: Clock
    public var clock: Clock { _clock }
    public let cores: Int
    @usableFromInline var freeCores: Int
    @usableFromInline var queue = EventQueue<Executor.Event>()
    @usableFromInline var waiting = Deque<Invocation>()
    /// Events handled so far (arrivals and the executor's).
    public var events: Int { _events }
    /// Requests waiting for a core now (they take cores as they free up, first come first served).
    public var waitingCount: Int { waiting.count }
    /// Requests that had to wait for a core, and the most that waited at once.
    public var queued: Int { _queued }
    public var maxWaiting: Int { _maxWaiting }
    /// Requests refused because `queueLimit` requests were already waiting (a worker answers them 503).
    public var rejected: Int { _rejected }
    @usableFromInline var _events = 0, _queued = 0, _maxWaiting = 0, _rejected = 0
    /// Asked whenever a core frees up: true drops every request still waiting (counted in `dropped`, never
    /// started), as an interrupted real replay must not go on serving a queue of minutes. Arrivals are the
    /// caller's to stop (its `next` returns nil).
    public var shouldStop: (() -> Bool)?
    /// Requests that were waiting when `shouldStop` said to stop.
    public var dropped: Int { _dropped }
    @usableFromInline var _dropped = 0
    /// How many requests may wait for a core; an arrival that finds this many waiting is refused (counted
    /// in `rejected`, never started), as `pipsqueak serve --queue` does.
    public var queueLimit = Int.max

    public init(cores: Int, clock: Clock) {
        precondition(cores >= 1)
        self.cores = cores
        _clock = clock
        freeCores = cores
    }

    /// Runs until `next` has no more invocations (arrival order, times relative to the clock's origin)
    /// and every event has been handled. Returns the time of the last event.
    @inlinable @discardableResult
    public func run(_ executor: Executor, next: () throws -> Invocation?) rethrows -> Int64 {
        var arrival = try next()
        while true {
            if let t = queue.nextTime, arrival == nil || t <= arrival!.arrivalNanos {
                let e = queue.pop()!
                _clock.advance(to: e.time)
                _events += 1
                if executor.handle(e.payload, now: _clock.now, queue: &queue) { release(executor) }
            } else if let inv = arrival {
                _clock.advance(to: inv.arrivalNanos)
                _events += 1
                if freeCores > 0 {
                    freeCores -= 1
                    executor.start(inv, now: _clock.now, queue: &queue)
                } else if waiting.count >= queueLimit {
                    _rejected += 1
                    executor.refused(inv, now: _clock.now, queue: &queue)
                } else {
                    waiting.append(inv)
                    _queued += 1
                    if waiting.count > _maxWaiting { _maxWaiting = waiting.count }
                }
                arrival = try next()
            } else {
                break
            }
        }
        return _clock.now
    }

    /// A core is free: the longest-waiting request takes it.
    @inlinable func release(_ executor: Executor) {
        if !waiting.isEmpty, let stop = shouldStop, stop() {
            _dropped += waiting.count
            waiting.removeAll()
        }
        if let w = waiting.popFirst() {
            executor.start(w, now: _clock.now, queue: &queue)
        } else {
            freeCores += 1
        }
    }
}
