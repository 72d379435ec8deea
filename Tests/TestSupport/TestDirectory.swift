import Foundation

/// A scratch directory per test, removed afterwards.
public final class TestDirectory {
    public let path: String
    public init() {
        path = NSTemporaryDirectory() + "pipsqueak-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    public func write(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        try! text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    public func read(_ name: String) -> String { (try? String(contentsOfFile: path + "/" + name, encoding: .utf8)) ?? "" }
    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }
    public var files: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path).sorted()) ?? [] }
}
