/// The protocol between the worker (Swift) and its Python processes (`Python/pipsqueak_worker.py`): one JSON
/// object per line, each request naming its operation in `op`. The operation names are defined here and,
/// as constants (`OP_*`), at the top of the Python script; `RuntimeProtocolTests` checks the two agree.
///
/// | op | sent to | carries | answer |
/// |---|---|---|---|
/// | `fork` | a zygote's socket, or a standby child's | `container` (its config), `paths`, `imports` | the child's `ready` line, then it serves on the connection |
/// | `fork-zygote` | a zygote's socket | `zygote` (a child zygote's config) | `ready` (or an error) once it has imported |
/// | `prepare` | a zygote's socket | `cgroup_procs`, `new_net`, `socket` | `prepared`: a standby child waits in that cgroup (and its own network namespace) for one `fork` request on `socket` |
/// | `ping` | a zygote's socket | — | `pong` |
/// | `invoke` | a container's channel | `event` | `result` or `error`, with execution times |
/// | `modules` | a container's channel | — | `modules`: its `sys.modules` (tests) |
/// | `exit` | a container's channel | — | none: the process ends |
public enum WorkerProtocol {
    public enum Operation: String, CaseIterable, Sendable {
        case fork, forkZygote = "fork-zygote", prepare, ping, invoke, modules, exit
    }

    /// A request, typed; `message` is the JSON object sent.
    public enum Request {
        case fork(container: [String: Any], paths: [String], imports: [String])
        case forkZygote(config: [String: Any])
        case prepare(cgroupProcs: [String], newNetwork: Bool, socket: String)
        case ping
        case invoke(event: Any)
        case modules
        case exit

        public var operation: Operation {
            switch self {
            case .fork: return .fork
            case .forkZygote: return .forkZygote
            case .prepare: return .prepare
            case .ping: return .ping
            case .invoke: return .invoke
            case .modules: return .modules
            case .exit: return .exit
            }
        }

        public var message: [String: Any] {
            var m: [String: Any] = ["op": operation.rawValue]
            switch self {
            case .fork(let c, let p, let i): m["container"] = c; m["paths"] = p; m["imports"] = i
            case .forkZygote(let z): m["zygote"] = z
            case .prepare(let g, let n, let p): m["cgroup_procs"] = g; m["new_net"] = n; m["socket"] = p
            case .invoke(let e): m["event"] = e
            case .ping, .modules, .exit: break
            }
            return m
        }
    }
}
