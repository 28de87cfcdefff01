/// A small seeded random generator (SplitMix64), so the generated and fuzzed tests are
/// reproducible: a failure names its seed and happens again with it.
package struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  package init(seed: UInt64) { state = seed }

  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in 0..<n (0 when n < 1).
  package mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
