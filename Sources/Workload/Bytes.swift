/// Memory and disk in pipsqueak are integer bytes (`Int64`). Configs, files and reports show megabytes and
/// gigabytes, in binary units (1 MB = 2^20 bytes, as the kernel's cgroup files and `ps` count them); these
/// helpers are the only place the factors are written.
public enum Bytes {
    public static let perMB: Int64 = 1 << 20
    public static let perGB: Int64 = 1 << 30

    @inline(__always) public static func fromMB(_ mb: Double) -> Int64 { Int64(mb * Double(perMB)) }
    @inline(__always) public static func mb(_ bytes: Int64) -> Double { Double(bytes) / Double(perMB) }
    @inline(__always) public static func gb(_ bytes: Int64) -> Double { Double(bytes) / Double(perGB) }
}
