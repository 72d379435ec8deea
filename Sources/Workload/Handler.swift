/// A serverless handler: a customer's function and the packages it imports.
public struct Handler: Hashable, Sendable {
    public var id: String
    public var customer: String
    /// Canonical distribution names the handler imports (its direct requirements), sorted, unique.
    public var packages: [String]
    /// Handler initialisation (module body) after its packages are imported, ms.
    public var initMillis: Double
    /// Execution of one request, ms.
    public var execMillis: Double
    /// The handler's own resident memory beyond its packages, bytes.
    public var memoryBytes: Int64

    public init(id: String, customer: String, packages: [String], initMillis: Double = 0, execMillis: Double = 0,
                memoryBytes: Int64 = 0) {
        self.id = id
        self.customer = customer
        self.packages = Array(Set(packages.map(PackageName.canonical))).sorted()
        self.initMillis = initMillis
        self.execMillis = execMillis
        self.memoryBytes = memoryBytes
    }
}

/// One request: the handler (an index into the trace's `HandlerTable`) and its arrival time.
public struct Invocation: Equatable, Sendable {
    public var arrivalNanos: Int64
    public var handler: Int32
    /// This invocation's own execution time, ns (a trace's `exec_ms` column, as the Azure traces give one
    /// per invocation); -1: its handler's `exec_ms`.
    public var execNanos: Int64

    public init(arrivalNanos: Int64, handler: Int32, execNanos: Int64 = -1) {
        self.arrivalNanos = arrivalNanos
        self.handler = handler
        self.execNanos = execNanos
    }
}
