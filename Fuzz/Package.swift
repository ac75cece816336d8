// swift-tools-version: 6.2
//
// Coverage-guided fuzzing of robotctl's file readers with libFuzzer (docs/fuzz.md).
// A separate package so the main build never links libFuzzer; it depends on the main package
// by path. Build and run through scripts/fuzz.sh, which passes the instrumentation flags
// (-sanitize=fuzzer and -sanitize-coverage to the frontend only, libFuzzer's no-main runtime
// to the linker) and uses its own scratch path, .build-fuzz.
import PackageDescription

let package = Package(
    name: "robotctl-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "robotctl", path: "..")],
    targets: [
        .executableTarget(
            name: "robotctl-fuzz",
            dependencies: [
                .product(name: "FixedNN", package: "robotctl"),
                .product(name: "Control", package: "robotctl"),
                .product(name: "H2OTrainer", package: "robotctl"),
                .product(name: "Tasks", package: "robotctl"),
                .product(name: "Hardware", package: "robotctl"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .treatAllWarnings(as: .error)])
    ]
)
