// swift-tools-version:6.1
import Foundation
import PackageDescription

/// The version stamped into roomd, roomctl and roomd-capture: ROOMD_VERSION
/// from the build's environment (scripts/package passes on the one it is
/// given; the package gets the same version), else the VERSION file beside
/// this manifest.
let version: String = {
    if let stamped = ProcessInfo.processInfo.environment["ROOMD_VERSION"], !stamped.isEmpty { return stamped }
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("VERSION")
    return ((try? String(contentsOf: file, encoding: .utf8)) ?? "unknown").trimmingCharacters(in: .whitespacesAndNewlines)
}()

// Every target builds in Swift 6 language mode (strict concurrency) and treats
// warnings as errors: a warning in this codebase is a bug report.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .unsafeFlags(["-warnings-as-errors"]),
]

// Linux only (V4L2, ALSA, Landlock, seccomp, pidfds): no Apple platforms are declared.
let package = Package(
    name: "roomd",
    products: [
        .executable(name: "roomd", targets: ["RoomDaemon"]),
        .executable(name: "roomctl", targets: ["RoomControl"]),
        .executable(name: "roomd-capture", targets: ["CaptureHelper"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // MARK: C shims — the only places C headers are seen.
        .target(
            name: "COpenSSL",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        .target(
            name: "CFFmpeg",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [
                .linkedLibrary("avformat"), .linkedLibrary("avcodec"),
                .linkedLibrary("avutil"), .linkedLibrary("swscale"),
            ]
        ),
        .target(name: "CV4L2", cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "CALSA",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("asound")]
        ),
        .target(name: "CQRencode", linkerSettings: [.linkedLibrary("qrencode")]),
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        // cairo + pango for the report PDF (pkg-config pangocairo; helpers are static inline in the header).
        .systemLibrary(name: "CPangoCairo", pkgConfig: "pangocairo", providers: [.apt(["libpango1.0-dev", "libcairo2-dev"])]),
        .target(name: "CBuildInfo", cSettings: [.define("ROOMD_VERSION", to: "\"\(version)\"")]),
        // fork, pidfds, SCM_RIGHTS, signalfd: libc only (roomd links it too).
        .target(name: "CProcess", cSettings: [.define("_GNU_SOURCE")]),

        // MARK: Domain modules
        // The evaluation report and the opening record as deterministic PDFs (CJK fonts embedded and subset).
        .target(name: "ReportPDF", dependencies: ["Canonical", "Evaluation", "Opening", "CPangoCairo"], swiftSettings: strict,
                linkerSettings: [.linkedLibrary("pangoft2-1.0"), .linkedLibrary("fontconfig")]),
        // The one encoding of evidence (JSON that is hashed or signed): a leaf, Foundation only.
        .target(name: "Canonical", swiftSettings: strict),
        .target(name: "Evaluation", dependencies: ["Canonical"], swiftSettings: strict),
        // The opening room (开标): definition, the opening as a pure state machine, its record. Pure like Evaluation.
        .target(name: "Opening", dependencies: ["Canonical", "Evaluation"], swiftSettings: strict),
        .target(
            name: "Identity",
            dependencies: ["Canonical", "COpenSSL", "CQRencode", "CZlib"],
            swiftSettings: strict
        ),
        // What the daemon and its capture helper say to each other: no C, no FFmpeg.
        .target(name: "CaptureProtocol", dependencies: ["CProcess"], swiftSettings: strict),
        // roomd's side of it: spawning, answering and restarting capture helpers.
        .target(
            name: "CaptureSupervisor",
            dependencies: ["CaptureProtocol", "CProcess", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "Capture",
            dependencies: [
                "Canonical", "CaptureProtocol", "CFFmpeg", "CV4L2", "CALSA", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Archive",
            dependencies: [
                "Canonical", "Identity", "COpenSSL", "Opening",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The database: one SQLite file, its migrations, and a repository per kind
        // of row (events, check-in, stations, segments; the ledger's core lives in
        // Archive). Only this module and Archive's ledger import GRDB.
        .target(
            name: "Store",
            dependencies: [
                "Canonical", "Archive", "Identity", "RoomConfig", "CaptureProtocol", "CaptureSupervisor",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Getting sealed packages to the central platform: resumable HTTPS upload
        // and S3-compatible multipart upload (Signature V4), bandwidth cap, backoff.
        .target(
            name: "Delivery",
            dependencies: [
                "Identity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "RoomConfig",
            dependencies: [
                "Canonical", "Identity", "CBuildInfo",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),

        // MARK: Executables
        .executableTarget(
            name: "RoomDaemon",
            dependencies: [
                "Canonical", "RoomConfig", "Identity", "CaptureProtocol", "CaptureSupervisor", "Archive", "Evaluation", "CProcess", "Store",
                "ReportPDF", "Delivery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // `roomd-capture`: the recorders (FFmpeg, V4L2, ALSA) in their own
        // process, started and supervised by roomd.
        .executableTarget(
            name: "CaptureHelper",
            dependencies: ["Capture", "CaptureProtocol", "CProcess", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "RoomControl",
            dependencies: [
                "Canonical", "RoomConfig", "Identity", "Archive", "Delivery", "CaptureSupervisor", "Opening",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // `roomctl platform serve`: the platform simulator's mutual-TLS receiver.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),

        // MARK: Benchmarks (scripts/bench-*)
        .executableTarget(name: "EvaluationBench", dependencies: ["Canonical", "Evaluation"], swiftSettings: strict),
        .executableTarget(name: "IdentityBench", dependencies: ["Identity"], swiftSettings: strict),
        .executableTarget(name: "DeliveryBench", dependencies: ["Delivery", "Identity"], swiftSettings: strict),
        // scripts/bench-packages: sealing, the package tar, verification (issue 16). GRDB for the ledger the seal exports.
        .executableTarget(
            name: "PackageBench",
            dependencies: ["Archive", "Identity", "Canonical", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "LedgerBench",
            dependencies: ["Canonical", "Archive", "Identity", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CaptureBench",
            dependencies: ["Capture", "CaptureProtocol", "CaptureSupervisor", "Archive", "Store", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),

        // MARK: Tests
        .testTarget(name: "CanonicalTests", dependencies: ["Canonical"], swiftSettings: strict),
        .testTarget(name: "RoomConfigTests", dependencies: ["RoomConfig"], swiftSettings: strict),
        .testTarget(
            name: "IdentityTests",
            dependencies: ["Identity"],
            exclude: ["Fixtures/make-test-pki.sh"],  // run by the tests, found via #filePath
            swiftSettings: strict
        ),
        .testTarget(name: "CaptureProtocolTests", dependencies: ["CaptureProtocol"], swiftSettings: strict),
        .testTarget(name: "CaptureTests", dependencies: ["Canonical", "Capture", "CaptureProtocol", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(
            name: "ArchiveTests",
            dependencies: ["Canonical", "Archive", "Identity", "LedgerBench", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["rfc9162_check.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: [
                "Canonical", "Evaluation",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        // Whole-process tests: they run the built `roomd` and `roomctl` binaries.
        .testTarget(
            name: "DeliveryTests",
            dependencies: ["Delivery", "Identity", "Archive",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio")],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        // The opening's rules, and its definition signed and its bids sealed through Identity.
        .testTarget(name: "OpeningTests", dependencies: ["Canonical", "Evaluation", "Opening", "Identity"], swiftSettings: strict),
        .testTarget(name: "ReportPDFTests", dependencies: ["Evaluation", "Opening", "ReportPDF"], swiftSettings: strict),
        .testTarget(
            name: "RoomDaemonTests",
            dependencies: ["RoomDaemon", "CaptureHelper", "CaptureProtocol", "CaptureSupervisor", "RoomConfig", "Identity", "Archive", "Canonical", "Store",
                           "Evaluation", "Opening", "ReportPDF", "Delivery",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio")],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)
