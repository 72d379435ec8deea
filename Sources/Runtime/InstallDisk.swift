import Foundation

/// The filesystem install trees are timed on, and what it does to installs: on ext4 without a journal (this
/// machine's root), creating a file skips, one by one, the inodes deleted in the last 60 s (360 s while their
/// inode-table block is unwritten), so an install soon after thousands of files were deleted takes longer
/// (django 2.1 s in a first install, 4.9-5.8 s after 40 installs and removals here, 2026-12-05; `perf`: the
/// time in `recently_deleted` under `ext4_create`). Journaled ext4 and other filesystems do not.
public enum InstallDisk {
    public struct Mount: Equatable, Sendable {
        public var device: String, point: String, type: String
    }

    /// The mount holding `path`: the longest mount point that is `path` or one of its parents (the last such
    /// line when one point is mounted over: the one in effect).
    static func mount(of path: String, in table: String) -> Mount? {
        var best: Mount?
        for e in Sys.mountEntries(in: table) where e.point == "/" || path == e.point || path.hasPrefix(e.point + "/") {
            if e.point.count >= (best?.point.count ?? 0) { best = Mount(device: e.device, point: e.point, type: e.type) }
        }
        return best
    }

    /// One line saying what the filesystem holding `path` is and, for ext4, whether it has a journal (an
    /// entry `DEV-*` in /proc/fs/jbd2, `journals`).
    static func describe(path: String, table: String, journals: [String]) -> String {
        guard let m = mount(of: path, in: table) else { return "installs timed in \(path): its filesystem unknown (no mount table)" }
        let on = "\(m.type) (\(m.device), mounted at \(m.point))"
        guard m.type == "ext4" else { return "installs timed on \(on)" }
        let dev = (m.device as NSString).lastPathComponent
        if journals.contains(where: { $0.hasPrefix(dev + "-") }) { return "installs timed on \(on), with a journal" }
        return "installs timed on \(on) without a journal: a file created there skips the inodes deleted in the last 60 s (360 s while their inode table is unwritten), so an install soon after many files were deleted takes longer (up to 5 × here)"
    }

    /// `describe` for this machine (/proc/self/mounts, /proc/fs/jbd2).
    public static func describe(path: String) -> String {
        let table = (try? Sys.readFile("/proc/self/mounts")) ?? ""
        let journals = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/fs/jbd2")) ?? []
        return describe(path: path, table: table, journals: journals)
    }
}
