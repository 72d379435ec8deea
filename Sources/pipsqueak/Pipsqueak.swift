import ArgumentParser
import Foundation

/// The root command only configures; each subcommand lives in its own file.
struct Pipsqueak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipsqueak",
        abstract: "Package-caching serverless workers: simulate, run and compare handler, import and install caches.",
        discussion: """
        pipsqueak replays request traces against a worker that caches paused containers (handler cache), \
        zygote interpreters with packages pre-imported (import cache) and installed packages (install cache). \
        Data shipped in traces/ drives the defaults; every command that samples takes --seed.
        """,
        subcommands: [ServeCommand.self, TraceCommand.self, MeasureCommand.self, SimulateCommand.self, RunCommand.self, CompareCommand.self, ResimulateCommand.self, CalibrateCommand.self, ReproduceCommand.self, SweepCommand.self, ResultsCommand.self, ConfigCommand.self, CleanupCommand.self])
}

/// Progress and warnings go to standard error, a line each, so standard output stays the result.
func printProgress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
