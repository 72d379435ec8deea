import ArgumentParser
import Experiments
import Foundation

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a worker over HTTP for your handlers: POST /run/NAME with a JSON event (needs root).",
        discussion: """
        The registry (--registry, default ./registry) holds one folder per handler, as OpenLambda lays them out: \
        NAME/f.py defining f(event), and optionally NAME/requirements.txt pinning every package it needs, \
        dependencies included (name==version, one per line). A folder added or changed is picked up by the next \
        request for it. Packages are installed through the install cache (wheels from --wheelhouse; missing ones \
        are fetched from the package index unless --offline) and imported in zygotes by the same planner \
        `simulate` uses.

          mkdir -p registry/hello && echo 'def f(event): return {"hi": event}' > registry/hello/f.py
          pipsqueak serve &
          curl -X POST localhost:5000/run/hello -d '{"x": 1}'

        API (OpenLambda's worker API, plus stats): POST /run/NAME → the handler's JSON result; 404 no such handler, \
        400 body not JSON, 413 body too large, 500 the handler raised (error and traceback in the reply) or could \
        not start, 503 queue full (Retry-After), 504 past --request-timeout. GET /status → ready; GET /stats → JSON \
        (requests per tier, hit ratios, caches, queue); GET /metrics → Prometheus text. Each /run reply carries \
        its record (tier, zygote, phases in ms) in the Pipsqueak-Record header.

        Up to --cores requests run at once; up to --queue more wait, first come first served. Handlers run in \
        containers with their own network namespace (they reach neither this API nor anything else on the host; \
        --host-network turns that off). The worker's own process runs in a CPU group of its own, \
        pipsqueak/worker-PID, at a sixteenth of a container's weight: its containers and zygotes come first and \
        its HTTP work takes what they leave (not the session's scheduling group, which on many machines weighs as \
        much as all containers together). Its maintenance thread (zygote builds, standby children, pooled \
        cgroups) and the threads of its --cores, which carry each request out, share a container's weight on \
        cgroup v1 (pipsqueak/worker-PID-maintenance), so neither the starts the one prepares for nor the steps \
        of a request wait behind the containers. SIGTERM or Ctrl-C drains: requests in flight and queued finish, then \
        every process, cgroup and mount the worker made is removed, and the process leaves its group. \
        `pipsqueak cleanup` leaves a live worker alone, and never kills what is in a worker-PID group.
        """)

    @Option(help: "The handler registry: one folder per handler (NAME/f.py, NAME/requirements.txt).")
    var registry = "registry"

    @Option(parsing: .unconditional, help: "TCP port to listen on.")
    var port = 5000

    @Option(help: "Address to listen on (loopback by default).")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Requests running at once (default: this machine's cores).")
    var cores = ProcessInfo.processInfo.activeProcessorCount

    @Option(parsing: .unconditional, help: "Requests that may wait for a core; more are refused with 503.")
    var queue = 64

    @OptionGroup var policy: PolicyOptions

    @Option(parsing: .unconditional, help: "Seconds a request may take once it runs (its start included) before it fails with 504.")
    var requestTimeout = 60.0

    @Option(parsing: .unconditional, help: "The largest request body, MB (413 beyond).")
    var maxBodyMb = 6.0

    @Option(parsing: .unconditional, help: "Memory limit of each container, MB.")
    var containerMemoryMB: Int = 1024

    @Option(parsing: .unconditional, help: ArgumentHelp("Threads native libraries may start in a handler (OpenBLAS, OpenMP, MKL, numexpr); 0: their own default.",
                                                        discussion: "A request holds one core. Left to their defaults, these libraries start a thread per machine core at import (numpy's OpenBLAS does), and containers importing at once slow each other (two numpy imports on two cores: 1.6–2× each). `measure` and `calibrate` time imports with the default, 1."))
    var libraryThreads = ServeJob.defaultLibraryThreads

    @Option(help: "Package cost table: versions, modules and costs of the packages handlers may pin (default traces/packages.csv).")
    var packages: String?

    @Option(help: "The wheelhouse (local package mirror) installs come from.")
    var wheelhouse: String?

    @Flag(help: "Install only from the wheelhouse; never fetch a missing wheel from the package index.")
    var offline = false

    @Flag(help: "Containers share the host's network (a handler could then call this API and other local services).")
    var hostNetwork = false

    @Flag(help: ArgumentHelp("Run zygotes without their sandbox (own mount and user namespaces).",
                             discussion: "For machines where user namespaces are not available. A package's import code in a zygote then runs as root on the host."))
    var noZygoteSandbox = false

    @Option(help: "Write every request's record to this CSV when the worker stops.")
    var out: String?

    @Option(help: "Write the decision log to this file.")
    var decisions: String?

    func validate() throws {
        if !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535, found \(port)") }
        if cores < 1 { throw ValidationError("--cores must be at least 1, found \(cores)") }
        if queue < 0 { throw ValidationError("--queue must be 0 or more, found \(queue)") }
        if !(requestTimeout > 0) { throw ValidationError("--request-timeout must be positive") }
        if !(maxBodyMb > 0) { throw ValidationError("--max-body-mb must be positive") }
        if libraryThreads < 0 { throw ValidationError("--library-threads must be 0 or more, found \(libraryThreads)") }
    }

    func run() throws {
        var job = ServeJob(registry: registry)
        job.config = try policy.load()
        if let p = packages { job.packagesPath = p }
        if let w = wheelhouse { job.wheelhouse = w }
        job.runtime.online = !offline
        job.runtime.isolateNetwork = !hostNetwork
        job.runtime.sandboxZygotes = !noZygoteSandbox
        job.runtime.requestTimeoutSeconds = requestTimeout
        job.runtime.containerMemoryLimitMB = Double(containerMemoryMB)
        job.runtime.libraryThreads = libraryThreads
        job.serve.host = host; job.serve.port = port; job.serve.cores = cores; job.serve.queueLimit = queue
        job.serve.maxBodyBytes = Int(maxBodyMb * 1024 * 1024)
        job.recordsPath = out; job.decisionsPath = decisions
        job.progress = { printProgress("pipsqueak serve: " + $0) }
        try job.run()
        if let o = out { print("records: \(o)") }
        if let d = decisions { print("decision log: \(d)") }
    }
}
