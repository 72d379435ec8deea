import Workload

/// Settings of a real worker.
public struct RuntimeOptions: Sendable {
    /// Where sockets, container roots and handler code live (removed at shutdown).
    public var stateDirectory = "/run/pipsqueak"
    /// The run's install cache (one directory per name-version), kept apart from the state directory
    /// because containers mount packages at their host paths (a zygote's modules keep those paths).
    public var packageDirectory = "/var/cache/pipsqueak/install-cache"
    public var wheelhouse: String
    public var containerMemoryLimitBytes: Int64 = Bytes.perGB
    /// The same limit in MB (for command-line flags).
    public var containerMemoryLimitMB: Double {
        get { Bytes.mb(containerMemoryLimitBytes) }
        set { containerMemoryLimitBytes = Bytes.fromMB(newValue) }
    }
    public var zygoteMemoryLimitBytes: Int64 = 4 * Bytes.perGB
    public var pidsLimit = 64
    public var requestTimeoutSeconds = 60.0
    /// The longest a request or zygote build waits for another's install of a package it counts on.
    public var installWaitSeconds = 600.0
    /// How long a zygote may take to import its packages and report ready (an import that hangs ends here).
    public var zygoteStartTimeoutSeconds = 120.0
    /// The largest reply a handler may send; a larger one fails its request and the container is destroyed.
    public var maxReplyBytes = Int(16 * Bytes.perMB)
    /// Handler directories to use instead of generated ones: `DIR/<handler id>/f.py` defining `f(event)`.
    public var handlerSources: String?
    /// Fetch wheels missing from the wheelhouse from the package index.
    public var online = false
    /// Run zygotes in their sandbox: a mount namespace holding only what they need (pivot_root, the host's
    /// tree detached) and a user namespace whose root is `zygoteHostUID` on the host, so a package's import
    /// code in a zygote has no power over the host.
    public var sandboxZygotes = true
    /// The unprivileged host uid (and gid) a sandboxed zygote's root maps to.
    public var zygoteHostUID: UInt32 = 700_000_000

    /// Give each container its own network namespace: it has a loopback device and nothing else, so a handler
    /// reaches neither the worker's HTTP API nor other services on the host (nor the network). The namespace
    /// is made ahead of need for import-cache starts (with the zygote's standby child). Off: containers share
    /// the host's network, as before `serve` existed.
    public var isolateNetwork = true
    /// How many container cgroups the worker keeps made ahead of need (`serve` sizes it to its cores).
    public var cgroupPoolSize = 2
    /// Standby children each zygote keeps ready (forked, in a container cgroup, namespaces made), so that
    /// this many requests can fork from it at once without waiting (`serve`: its cores).
    public var standbysPerZygote = 1
    /// Threads native libraries (OpenBLAS, OpenMP, MKL, …) may start in a handler's process; 0 leaves their
    /// defaults (one per machine core). See `PythonInterpreter.defaultLibraryThreads`.
    public var libraryThreads = PythonInterpreter.defaultLibraryThreads

    public init(wheelhouse: String) { self.wheelhouse = wheelhouse }
}
