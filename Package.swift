// swift-tools-version: 6.0
import PackageDescription

/// respond: an incident-response runbook engine. The library targets hold all logic; the
/// `respond` executable only parses arguments, wires the real transport and prints.
let package = Package(
  name: "respond",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "respond", targets: ["respond"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
  ],
  targets: [
    /// libcurl, loaded with dlopen on a background thread at start-up (not linked: its ~30
    /// dependent libraries would delay every start), with typed wrappers for the variadic
    /// curl_easy_setopt. Building needs libcurl's headers (apt: libcurl4-openssl-dev).
    .target(name: "CCurl"),
    /// zlib as a system library: streaming gzip decompression for CloudTrail archives, and the
    /// gzip of incident bundles.
    .systemLibrary(
      name: "CZlib",
      providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
    ),
    /// libsodium as a system library: the sealed box (crypto_box_seal) GitHub requires for an
    /// Actions secret's value.
    .systemLibrary(
      name: "CSodium",
      providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
    ),
    /// The real network: HTTP(S) and SMTP through libcurl. The only importer of CCurl.
    .target(
      name: "RespondHTTP",
      dependencies: ["CCurl", "RespondCore"]
    ),
    /// Runbook model, loading, validation, expressions, conductor, executor, journal, masking,
    /// reports. Knows nothing of libcurl or the terminal.
    .target(
      name: "RespondCore",
      dependencies: [
        "Yams", "CZlib",
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    /// Actions by provider: keys, AWS, Vault, GitHub, notifications, generic HTTP.
    .target(
      name: "RespondActions",
      dependencies: [
        "RespondCore", "CZlib", "CSodium",
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    /// The command line: subcommands only, no logic.
    .executableTarget(
      name: "respond",
      dependencies: [
        "RespondCore", "RespondActions", "RespondHTTP",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    /// Test helpers shared by the test targets: the local servers' coordinates, a recorded
    /// transport, fixtures. Never linked into the executable.
    .target(name: "RespondTestSupport", dependencies: ["RespondCore"]),
    .testTarget(name: "RespondCoreTests", dependencies: ["RespondCore", "RespondActions", "RespondTestSupport"]),
    .testTarget(
      name: "RespondActionsTests", dependencies: ["RespondActions", "RespondCore", "RespondHTTP", "RespondTestSupport"]),
    .testTarget(name: "RespondHTTPTests", dependencies: ["RespondHTTP", "RespondCore", "RespondTestSupport"]),
    .testTarget(name: "EndToEndTests", dependencies: ["RespondCore", "RespondTestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
