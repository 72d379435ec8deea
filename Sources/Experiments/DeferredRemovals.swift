import Foundation
import POSIX

/// Removals held back until nothing is timed any more: the install trees a `compare` makes (each real run's
/// install cache, the install probe's copies), removed after its last real run. On ext4 without a journal
/// (this machine's root), inodes deleted in the last 60 s (360 s while their inode-table block is unwritten)
/// are skipped one by one at every file creation, so an install timed soon after thousands of files were
/// deleted takes longer (up to 5 × here): before, each run's worker removed its install cache at shutdown,
/// just before the next run's and the probe's installs. A crash leaves them to `pipsqueak cleanup` (a run's
/// install cache and a bench's workbench are named after the process).
final class DeferredRemovals {
    private var actions: [() -> Void] = []
    private let lock = NSLock()

    /// Runs `action` when `run` is called.
    func add(_ action: @escaping () -> Void) { lock.withLock { actions.append(action) } }

    /// Removes the directory at `path` when `run` is called.
    func add(path: String) { add { try? FileManager.default.removeItem(atPath: path) } }

    /// Does every removal held back, in order, then writes back what they dirtied (`sync(2)`: with the
    /// inode tables written, the freed inodes are skipped for 60 s rather than 360). Returns how many.
    @discardableResult
    func run() -> Int {
        let todo = lock.withLock { () -> [() -> Void] in defer { actions.removeAll() }; return actions }
        guard !todo.isEmpty else { return 0 }
        for a in todo { a() }
        Sys.syncFileSystems()
        return todo.count
    }
}
