import ArgumentParser
import Experiments

// Every output's `# made by:` header names the whole command as given.
Provenance.commandLine = (["pipsqueak"] + CommandLine.arguments.dropFirst().map(shellQuoted)).joined(separator: " ")
Pipsqueak.main()
