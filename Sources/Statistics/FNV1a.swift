/// FNV-1a, 64-bit: a stable hash of bytes (Swift's `Hasher` is randomised per process, so it can never name
/// anything kept across runs: substream seeds, stored result keys).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inline(__always) public mutating func add(_ byte: UInt8) { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }

    public mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 { for b in bytes { add(b) } }

    /// The hash of `text`'s UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 { var h = FNV1a(); h.add(text.utf8); return h.value }
}
