import Foundation
import Runtime
import XCTest

/// Real wheels (a zip with METADATA, WHEEL and RECORD) built from source files, so tests that install
/// packages need no network. Used by the runtime fixture and the experiment tests alike.
public enum Wheels {
    static let builder = """
    import base64, hashlib, os, sys, zipfile
    src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
    info = name + "-1.0.dist-info"
    files = [(f, open(os.path.join(src, f), "rb").read()) for f in sorted(os.listdir(src))]
    files.append((info + "/METADATA", ("Metadata-Version: 2.1\\nName: %s\\nVersion: 1.0\\n" % name).encode()))
    files.append((info + "/WHEEL", b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"))
    rec = "".join("%s,sha256=%s,%d\\n" % (p, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d)) for p, d in files)
    files.append((info + "/RECORD", (rec + info + "/RECORD,,\\n").encode()))
    with zipfile.ZipFile(os.path.join(out, name + "-1.0-py3-none-any.whl"), "w") as z:
        for p, d in files: z.writestr(p, d)
    """

    /// Builds `NAME-1.0-py3-none-any.whl` in `wheelhouse` holding one module, `module.py` with `code`.
    /// `scratch` holds the sources.
    public static func build(name: String, module: String, code: String, wheelhouse: String, scratch: String,
                             python: PythonInterpreter) throws {
        let src = scratch + "/src-\(name)"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: wheelhouse, withIntermediateDirectories: true)
        try code.write(toFile: src + "/\(module).py", atomically: true, encoding: .utf8)
        let r = try ChildProcess.run(python.executable, ["-S", "-c", builder, src, wheelhouse, name])
        XCTAssert(r.succeeded, r.stderr)
    }
}
