import Foundation
import Runtime
import Statistics
import Workload

/// `measure_helper.py`, the Python side of measuring (`measure`, `calibrate`'s wheels, the speed probe).
enum MeasureHelper {
    static func path() throws -> String {
        guard let h = Bundle.module.path(forResource: "measure_helper", ofType: "py", inDirectory: "Python") else {
            throw RuntimeError.unavailable("measure_helper.py is missing from the Experiments bundle")
        }
        return h
    }
}

/// How fast this machine imports Python code right now: fresh interpreters (`python -S -I`) each import a
/// fixed set of standard-library modules (`measure_helper.py probe`), timed inside the interpreter.
///
/// Shared machines drift: the same package import took 47 ms at one hour and 80 ms two hours later on the
/// same virtual machine. `measure` records the probe beside the import figures it measures (the package
/// table's `import_speed_probe_ms` header line), for the record. `compare` no longer scales by it: it
/// followed package imports poorly, so compare times the trace's own packages again
/// (`PackageMeasurer.retimeImports`).
public struct ImportSpeedProbe {
    /// The key of the package table's header line that records the probe.
    public static let headerKey = "import_speed_probe_ms"
    /// Interpreters per probe (each about 0.1 s here).
    public static let defaultRuns = 15

    let python: PythonInterpreter
    let helper: String

    public init(python: PythonInterpreter) throws {
        self.python = python
        helper = try MeasureHelper.path()
    }

    /// The time of each of `runs` probes, ms, in the order run.
    public func measure(runs: Int = ImportSpeedProbe.defaultRuns) throws -> [Double] {
        let env = PythonInterpreter.cleanEnvironment()
        return try (0..<runs).map { _ in
            let r = try ChildProcess.run(python.executable, ["-S", "-I", helper, "probe"], environment: env, timeoutSeconds: 120)
            guard r.succeeded, let ms = Double(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw RuntimeError.python("the import speed probe failed: \(r.succeeded ? "unexpected output '\(r.stdout)'" : r.lastErrorLine)")
            }
            return ms
        }
    }

    /// The header line `measure` writes: the median of `samples` and how it was taken.
    public static func headerLine(_ samples: [Double], when: String) -> String {
        let s = Summary(samples)
        return String(format: "\(headerKey): %.3f (median of %d fresh `python -S -I` importing a fixed set of standard-library modules, %@; p10 %.1f, p90 %.1f)",
                      s.p50, s.count, when, s.quantile(0.1), s.quantile(0.9))
    }

    /// The probe the package table at `path` records (nil when its header has none). - Throws: `InputError`
    /// when the line is there but its value is not a positive number.
    public static func recorded(inPackageTable path: String) throws -> Double? {
        let reader = try LineReader(path: path)
        while let line = reader.nextLine({ String(decoding: $0, as: UTF8.self) }) {
            guard line.hasPrefix("#") else { break }
            let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
            guard body.hasPrefix(headerKey + ":") else { continue }
            let value = body.dropFirst(headerKey.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            guard let v = Double(value), v > 0, v.isFinite else {
                throw InputError(file: path, line: reader.lineNumber, "\(headerKey): expected a positive number of ms, found \(InputError.excerpt(value))")
            }
            return v
        }
        return nil
    }
}
