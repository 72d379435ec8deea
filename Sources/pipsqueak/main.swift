import ArgumentParser
import Experiments

// Every output's `# made by:` header names the whole command as given.
Provenance.commandLine = (["pipsqueak"] + CommandLine.arguments.dropFirst().map(shellQuoted)).joined(separator: " ")
// An interrupted command leaves no temporary file (run and compare replace this with a clean stop).
Interruptions.removeTemporaryFiles()
Pipsqueak.main()
