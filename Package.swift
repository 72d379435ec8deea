// swift-tools-version:5.10
import PackageDescription

/// The planner, the simulator and the record writer run millions of times a second; their state is owned by one thread,
/// so dynamic exclusivity checks are turned off there in release builds (debug builds and tests keep them).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "pipsqueak",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pipsqueak", targets: ["pipsqueak"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Statistics", dependencies: ["CGSL"]),
        .target(name: "Workload", dependencies: ["Statistics"]),
        .target(name: "CachePolicy", dependencies: ["Workload", .product(name: "HeapModule", package: "swift-collections")],
                swiftSettings: hotPath),
        .target(name: "Replay", dependencies: [
            "Workload",
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hotPath),
        .target(name: "Simulation", dependencies: ["CachePolicy", "Replay", "Statistics", "Workload"], swiftSettings: hotPath),
        .target(name: "CSys"),
        .target(name: "Results", dependencies: ["CachePolicy", "Workload", "CSQLite"], swiftSettings: hotPath),
        .target(name: "Runtime", dependencies: ["CachePolicy", "CSys", "Replay", "Workload"], resources: [.copy("Python")]),
        .target(name: "Experiments", dependencies: ["Statistics", "Workload", "CachePolicy", "Replay", "Simulation", "Runtime", "Results"],
                resources: [.copy("Python")]),
        .executableTarget(name: "pipsqueak", dependencies: [
            "Experiments",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "bench-runtime", dependencies: ["Runtime", "Experiments"], path: "Sources/bench-runtime"),
        .executableTarget(name: "bench-soak", dependencies: ["Runtime", "Experiments"], path: "Sources/bench-soak"),
        .executableTarget(name: "fuzz-readers", dependencies: ["Workload", "CachePolicy"], path: "Sources/fuzz-readers",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "bench-sim", dependencies: ["Simulation", "Replay", "Experiments"], path: "Sources/bench-sim"),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workload"]),
        .testTarget(name: "CachePolicyTests", dependencies: ["CachePolicy"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Replay"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments"], exclude: ["Golden"]),
    ]
)
