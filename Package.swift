// swift-tools-version:5.10
import PackageDescription

/// The planner, the simulator and the record writer run millions of times a second; their state is owned by one thread,
/// so dynamic exclusivity checks are turned off there in release builds (debug builds and tests keep them).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

/// Each module folder's README (what it owns, what it may import) is documentation, not a resource.
let doc = ["README.md"]

let package = Package(
    name: "pipsqueak",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pipsqueak", targets: ["pipsqueak"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Statistics", dependencies: ["CGSL"], exclude: doc),
        .target(name: "POSIX", exclude: doc),
        .target(name: "Workload", dependencies: ["Statistics", "POSIX"], exclude: doc),
        .target(name: "CachePolicy", dependencies: ["Workload", .product(name: "HeapModule", package: "swift-collections")],
                exclude: doc, swiftSettings: hotPath),
        .target(name: "Replay", dependencies: [
            "Workload",
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "DequeModule", package: "swift-collections"),
        ], exclude: doc, swiftSettings: hotPath),
        .target(name: "Simulation", dependencies: ["CachePolicy", "Replay", "Statistics", "Workload"], exclude: doc, swiftSettings: hotPath),
        .target(name: "CSys"),
        .target(name: "Results", dependencies: ["CachePolicy", "Workload", "POSIX", "CSQLite"], exclude: doc, swiftSettings: hotPath),
        .target(name: "Runtime", dependencies: ["CachePolicy", "CSys", "POSIX", "Replay", "Workload",
                                               .product(name: "DequeModule", package: "swift-collections")], exclude: doc, resources: [.copy("Python")]),
        // The worker's HTTP interface (`pipsqueak serve`) and the open-loop client that replays traces over it.
        .target(name: "Server", dependencies: [
            "CachePolicy", "Runtime", "Workload",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], exclude: doc),
        .target(name: "Experiments", dependencies: ["Statistics", "Workload", "CachePolicy", "POSIX", "Replay", "Simulation", "Runtime", "Results", "Server"],
                exclude: doc, resources: [.copy("Python")]),
        .executableTarget(name: "pipsqueak", dependencies: [
            "Experiments",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: doc),
        .executableTarget(name: "bench-runtime", dependencies: ["Experiments", "Runtime", "CachePolicy", "Statistics", "Workload"], path: "Sources/bench-runtime"),
        .executableTarget(name: "bench-serve", dependencies: ["Experiments", "Runtime", "Server", "CachePolicy", "Statistics", "Workload"], path: "Sources/bench-serve"),
        .executableTarget(name: "bench-soak", dependencies: ["Experiments", "Runtime", "CachePolicy", "Statistics", "Workload"], path: "Sources/bench-soak"),
        .executableTarget(name: "fuzz-readers", dependencies: ["Workload", "CachePolicy"], path: "Sources/fuzz-readers",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "bench-sim", dependencies: ["Experiments", "Simulation", "Replay", "Results", "CachePolicy", "Statistics", "Workload"], path: "Sources/bench-sim"),
        // Fixtures the test targets share: scratch directories, real wheels, the built pipsqueak command.
        .target(name: "TestSupport", dependencies: ["Runtime"], path: "Tests/TestSupport"),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workload", "Statistics", "TestSupport"]),
        .testTarget(name: "CachePolicyTests", dependencies: ["CachePolicy", "Workload", "Statistics"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Replay", "CachePolicy", "Statistics", "Workload"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "CachePolicy", "Workload", "TestSupport"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results"]),
        .testTarget(name: "ExperimentsTests", dependencies: [
            "Experiments", "CachePolicy", "Results", "Runtime", "Server", "Simulation", "Statistics", "Workload", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], exclude: ["Golden"]),
    ]
)
