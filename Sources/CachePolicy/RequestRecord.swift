import Workload

/// One request's outcome, in the same columns for the simulator and the real runtime. Times in ns.
public struct RequestRecord: Sendable, Equatable, Codable {
    public var request: Int64
    public var handler: Int32
    public var arrivalNanos: Int64
    public var startNanos: Int64
    public var endNanos: Int64
    public var tier: Tier
    public var zygote: Int64?
    public var downloadNanos: Int64 = 0
    public var installNanos: Int64 = 0
    /// Container create (plus interpreter start on a cold start) or thaw.
    public var createNanos: Int64 = 0
    public var forkNanos: Int64 = 0
    public var importNanos: Int64 = 0
    public var initNanos: Int64 = 0
    public var execNanos: Int64 = 0
    /// Real runtime: the CPU time the container's process spent in its imports and in the handler's init (its
    /// own, kernel work included), beside their wall times above; wall well over it is a wait, for a core or
    /// the disk. The simulator's shared cores (`CPUModel.share`): the work its draws gave, before the sharing
    /// stretched it into the wall above. nil where not measured (a handler-cache hit, `CPUModel.hold`, a record
    /// from before they were).
    public var importCPUNanos: Int64?
    public var initCPUNanos: Int64?
    /// Real runtime: a start's container processes from their fork (or spawn) until ready (fork or create,
    /// imports and init): their time on a core and their time runnable but waiting for a core (the kernel's
    /// schedstat, read by the worker when the container said ready). The rest of that wall they were blocked
    /// (the disk, a lock, the kernel's other work). Simulated (`CPUModel.share`): the work drawn for those
    /// phases, and how much longer the shared cores made them. nil where not measured, as above.
    public var readyCPUNanos: Int64?
    public var readyWaitNanos: Int64?
    public var evictions: Int = 0
    public var estimated: Bool = false
    /// Empty on success; the error otherwise (real runtime).
    public var error: String = ""

    public var queueNanos: Int64 { startNanos - arrivalNanos }
    public var latencyNanos: Int64 { endNanos - arrivalNanos }
    /// Everything but queueing.
    public var startupNanos: Int64 { endNanos - startNanos }

    public init(request: Int64, handler: Int32, arrivalNanos: Int64, startNanos: Int64, endNanos: Int64, tier: Tier, zygote: Int64?) {
        self.request = request; self.handler = handler; self.arrivalNanos = arrivalNanos
        self.startNanos = startNanos; self.endNanos = endNanos; self.tier = tier; self.zygote = zygote
    }

    public static let header = "request,handler,arrival_ms,start_ms,end_ms,latency_ms,tier,zygote,queue_ms,download_ms,install_ms,create_ms,fork_ms,import_ms,init_ms,exec_ms,evictions,estimated,error"
}
