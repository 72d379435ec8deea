import Foundation

/// Reading whole input files (configs and other small inputs), with errors that name the file.
public enum InputFile {
    /// The bytes of `path`. - Throws: `InputError` naming the file when it is missing, a directory or unreadable.
    public static func contents(_ path: String) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw InputError(file: path, line: 0, "no such file") }
        guard !isDir.boolValue else { throw InputError(file: path, line: 0, "is a directory, expected a file") }
        guard let d = FileManager.default.contents(atPath: path) else { throw InputError(file: path, line: 0, "cannot read the file") }
        return d
    }
}
