import ArgumentParser
import Experiments
import Foundation

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show cache configurations: a preset, or a config file on top of one, as JSON; and every key.",
        discussion: "A config file is JSON with any of these keys (the rest keep the preset's values):\n\n"
            + CacheConfig.keyDescriptions.map { "  \($0.key): \($0.meaning)" }.joined(separator: "\n"),
        subcommands: [ConfigShow.self, ConfigKeys.self])
}

struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a configuration as JSON in the config-file format (edit it and pass it with --config).")

    @OptionGroup var policy: PolicyOptions

    func run() throws { print(try policy.load().prettyJSON) }
}

struct ConfigKeys: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "List every key of a config file, with its default and meaning.")

    func run() throws {
        for k in CacheConfig.keyDescriptions { print(k.key.padding(toLength: 28, withPad: " ", startingAt: 0) + k.meaning) }
    }
}
