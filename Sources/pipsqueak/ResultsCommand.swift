import ArgumentParser
import Experiments
import Foundation

struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Work with results stores: merge the stores of a sweep's shards, export a sweep as CSV, list a store.",
        discussion: """
        A results store is a SQLite file (default results/pipsqueak.sqlite) holding every run with its config, \
        seed, machine and code version, and the definition of every sweep that wrote to it.
        """,
        subcommands: [ResultsMerge.self, ResultsExport.self, ResultsList.self])
}

struct ResultsMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge results stores into one (idempotent; conflicting results are reported, not overwritten).",
        discussion: """
        Copies every run whose (kind, key) the target does not hold, and every sweep definition. Runs are \
        keyed by their inputs (trace, config, seed, cost files), so a key held by two stores should have the \
        same results; when it does not, the target keeps its own, the key is listed, and the exit status is 1. \
        Merging a store twice changes nothing. Example: \
        pipsqueak results merge shards/s-0.sqlite shards/s-1.sqlite --into all.sqlite
        """)

    @Argument(help: "The stores to merge (SQLite files written by pipsqueak).")
    var stores: [String]

    @Option(help: "The store to merge into (created if missing).")
    var into: String

    func validate() throws {
        if stores.isEmpty { throw ValidationError("name at least one store to merge") }
    }

    func run() throws {
        let s = try ResultsJobs.merge(inputs: stores, into: into, progress: printProgress)
        print("merged \(s.inputs) stores into \(into): \(s.copied) runs copied, \(s.identical) already there with the same results, \(s.sweeps) sweep definitions copied")
        if !s.conflicts.isEmpty {
            printProgress("error: \(s.conflicts.count) keys have different results in different stores (kept the target's):")
            for c in s.conflicts.prefix(50) { printProgress("  \(c)") }
            if s.conflicts.count > 50 { printProgress("  … and \(s.conflicts.count - 50) more") }
            throw ExitCode(1)
        }
    }
}

struct ResultsExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the CSV of a stored sweep: the rows a local `pipsqueak sweep` of the same grid writes.",
        discussion: """
        The store keeps each sweep's grid, trace and cost fingerprint, so this needs neither the trace nor the \
        cost files. Points of the grid missing from the store are left out and counted (exit status 1).
        """)

    @Option(help: "The sweep's name (its --name).")
    var sweep: String

    @Option(help: "Results store (default: results/pipsqueak.sqlite).")
    var store: String?

    @Option(help: "Output CSV (default: results/sweep-NAME.csv).")
    var out: String?

    func run() throws {
        let store = self.store ?? ProjectPaths.results("pipsqueak.sqlite")
        let command = (["pipsqueak"] + CommandLine.arguments.dropFirst().map(shellQuoted)).joined(separator: " ")
        let r = try ResultsJobs.exportSweep(name: sweep, store: store, output: out, command: command)
        print("\(r.rows) rows in \(r.csv)")
        if r.missing > 0 {
            printProgress("error: \(r.missing) points of sweep \(sweep)'s grid are not in \(store) (a shard not run or not merged?)")
            throw ExitCode(1)
        }
    }
}

struct ResultsList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a store's sweeps (points stored of each grid) and its runs per kind.")

    @Option(help: "Results store (default: results/pipsqueak.sqlite).")
    var store: String?

    func run() throws {
        for line in try ResultsJobs.list(store: store ?? ProjectPaths.results("pipsqueak.sqlite")) { print(line) }
    }
}
