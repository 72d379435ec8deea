import Foundation

/// A handler served by a plain interpreter: no container, no sandbox, no cache, the same protocol and
/// `f(event)` call as a container (`bench-serve`'s floor: what serving costs without pipsqueak's work).
/// One request at a time; `close` (or deinit) ends the process.
public final class BareHandlerProcess {
    let process: SpawnedProcess
    let channel: LineChannel

    /// Starts `python` on the handler folder `directory` (its `f.py`) and waits until it has loaded it.
    public init(directory: String, python: PythonInterpreter) throws {
        let script = try WorkerScript.locate()
        let toChild = try Sys.pipe(), fromChild = try Sys.pipe()
        defer { Sys.close(toChild.read); Sys.close(fromChild.write) }
        do {
            process = try SpawnedProcess(python.executable, try script.arguments(mode: "bare", config: ["handler_dir": directory]),
                                         environment: PythonInterpreter.cleanEnvironment(), stdin: toChild.read,
                                         stdout: fromChild.write, stderr: 2, awaited: true)
        } catch {
            Sys.close(toChild.write); Sys.close(fromChild.read)
            throw error
        }
        channel = LineChannel(readFD: fromChild.read, writeFD: toChild.write)
        let ready = try channel.receive(timeoutSeconds: 60)
        guard ready["ready"] as? Bool == true else { throw RuntimeError.python("the bare handler did not start: \(ready)") }
    }

    /// Calls `f(event)`; returns the reply (`result`, or `error` and `traceback`).
    public func invoke(_ event: Any, timeoutSeconds: Double = 60) throws -> [String: Any] {
        try channel.send(WorkerProtocol.Request.invoke(event: event).message)
        return try channel.receive(timeoutSeconds: timeoutSeconds)
    }

    public func close() {
        channel.close()
        process.signal(SIGKILL)
        _ = process.wait(timeoutSeconds: 10)
    }

    deinit { close() }
}
