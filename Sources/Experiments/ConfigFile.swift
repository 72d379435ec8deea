import CachePolicy
import Foundation
import Workload

extension PolicyConfig {
    /// Reads a JSON config file; fields not given keep the values of `base` (by default the `all` preset).
    /// The file is read here (Experiments, where commands do I/O); CachePolicy only parses.
    public static func read(path: String, base: PolicyConfig? = nil) throws -> PolicyConfig {
        try parse(try InputFile.contents(path), path: path, base: base)
    }
}

/// The cache configuration type, as commands name it (they talk to Experiments only).
public typealias CacheConfig = PolicyConfig
