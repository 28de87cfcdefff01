import Testing

@testable import RespondCore

/// What `validate` refuses in a concurrent group, each at the exact place.
@Suite struct ConcurrentValidationTests {
  let registry = ActionRegistry([
    ScriptedAction("read", parameters: [ParameterSpec("id")], outputs: [OutputSpec("value")]),
    ScriptedAction("change", mutates: true, parameters: [ParameterSpec("id")]),
    ScriptedAction("notify.slack", mutates: true, parameters: [ParameterSpec("text")]),
  ])

  func check(_ steps: String, extra: String = "") -> [String] {
    diagnostics(
      """
      runbook: x
      phases:
        investigate:
      \(steps)
      \(extra)
      """, registry: registry)
  }

  @Test func independentMembersAreValid() {
    let steps = """
          - id: a
            action: read
            concurrent: true
            with: { id: x }
          - id: b
            action: read
            concurrent: true
            with: { id: y }
          - id: after
            action: read
            with: { id: "${{ steps.a.value }}${{ steps.b.value }}" }
      """
    #expect(check(steps) == [])
  }

  @Test func aMemberReadingAnotherMembersOutputIsRefusedWhereItReads() {
    let steps = """
          - id: a
            action: read
            concurrent: true
            with: { id: x }
          - id: b
            action: read
            concurrent: true
            when: steps.a.value == 'x'
            with: { id: "v-${{ steps.a.value }}" }
      """
    #expect(
      check(steps) == [
        "rb.yaml:11:13: error: step 'b' reads the outputs of 'a', which runs in the same concurrent group and may "
          + "not have finished: drop 'concurrent' from one of them, or move 'b' after the group",
        "rb.yaml:12:26: error: step 'b' reads the outputs of 'a', which runs in the same concurrent group and may "
          + "not have finished: drop 'concurrent' from one of them, or move 'b' after the group",
      ])
  }

  /// Gated members are valid: the runner asks every member's approval first, then starts them.
  @Test func membersBehindApprovalsAreValid() {
    let steps = """
          - id: a
            action: change
            concurrent: true
            approval: required
            with: { id: x }
          - id: b
            action: change
            concurrent: true
            approval: two-person
            with: { id: y }
      """
    #expect(check(steps) == [])
  }

  @Test func aLoneConcurrentStepIsRefused() {
    let steps = """
          - id: a
            action: read
            concurrent: true
            with: { id: x }
          - id: b
            action: read
            with: { id: y }
      """
    #expect(
      check(steps) == [
        "rb.yaml:6:19: error: step 'a' is concurrent but no step next to it in phase investigate is: mark the "
          + "steps that run together next to each other, or drop 'concurrent'"
      ])
  }

  @Test func onStopStepsCannotBeConcurrent() {
    let onStop = """
      on-stop:
        - id: s1
          action: notify.slack
          concurrent: true
          with: { text: stuck }
      """
    let steps = """
          - id: a
            action: read
            with: { id: x }
      """
    #expect(
      check(steps, extra: onStop) == [
        "rb.yaml:10:17: error: on-stop step 's1' cannot be concurrent: on-stop steps are sent one after another"
      ])
  }

  @Test func aVerificationInTheGroupOfWhatItVerifiesIsRefused() {
    let yaml = """
      runbook: x
      phases:
        contain:
          - id: off
            action: change
            concurrent: true
            with: { id: x }
          - id: proof
            action: read
            concurrent: true
            verifies: off
            with: { id: y }
          - id: tell
            action: read
            concurrent: true
            with: { id: "${{ incident.verdict }}" }
      """
    #expect(
      diagnostics(yaml, registry: registry) == [
        "rb.yaml:11:17: error: step 'proof' verifies 'off', which runs in the same concurrent group: a "
          + "verification must run after the change",
        "rb.yaml:16:24: error: step 'tell' reads the verdict while 'off', 'proof' in its concurrent group can "
          + "change it: move one of them out of the group",
      ])
  }
}
