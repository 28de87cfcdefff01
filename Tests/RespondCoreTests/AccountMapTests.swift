import Foundation
import Testing

@testable import RespondCore

/// `--accounts FILE`: reading the mapping (every problem located) and the pure choice of a key's
/// credentials from the account its id encodes.
struct AccountMapTests {
  // Key ids that encode their account (made as AWS and moto make them).
  let keyA = "AKIARTXV5AHDXSHD3JAQ"  // 111111111111
  let keyB = "AKIATHPL2AOHIYLH3Q6J"  // 222222222222
  let keyZero = "AKIAQFX64DQ23UX4I6GM"  // 012345678901
  let keyC = "AKIAU3HBXAVK5TFDAJVZ"  // 333333333333
  let oldKey = "AKIAIOSFODNN7EXAMPLE"  // issued before 2019: encodes no account

  let yaml = """
    # which credentials respond uses per account
    "111111111111": { profile: prod }
    222222222222:
      role-arn: arn:aws:iam::222222222222:role/respond
      external-id: respond-7f3c
      session-name: batch-1
    012345678901: { environment: true }
    """

  @Test func theKeysOwnAccountChoosesItsCredentials() throws {
    #expect(AccessKeyAccount.decode(keyA) == "111111111111")
    let map = try AccountMap.parse(yaml, file: "accounts.yaml")
    #expect(map.choose(keyA) == .use(account: "111111111111", .profile("prod")))
    #expect(
      map.choose(keyB)
        == .use(
          account: "222222222222",
          .role(
            arn: "arn:aws:iam::222222222222:role/respond", externalID: "respond-7f3c", sessionName: "batch-1",
            sourceProfile: nil)))
    // An unquoted id keeps its leading zero.
    #expect(map.choose(keyZero) == .use(account: "012345678901", .environment))
  }

  @Test func aKeyOfAnUnmappedAccountSaysWhatToAdd() throws {
    let map = try AccountMap.parse(yaml, file: "accounts.yaml")
    guard case .unmapped(let account, let reason) = map.choose(keyC) else {
      Issue.record("\(map.choose(keyC))")
      return
    }
    #expect(account == "333333333333")
    #expect(
      reason
        == "no credentials for account 333333333333 in accounts.yaml: add `\"333333333333\": { profile: NAME }` or "
        + "`\"333333333333\": { role-arn: arn:aws:iam::333333333333:role/NAME, external-id: ID }`")
    guard case .unmapped(nil, let old) = map.choose(oldKey) else {
      Issue.record("\(map.choose(oldKey))")
      return
    }
    #expect(old.hasPrefix("the key id encodes no account (a key issued before 2019)"))
  }

  @Test func theDefaultEntryCoversOtherAccountsWithTheAccountFilledIn() throws {
    let map = try AccountMap.parse(
      yaml + "\ndefault: { role-arn: \"arn:aws:iam::{account}:role/respond\", source-profile: security }",
      file: "a.yaml")
    #expect(
      map.choose(keyC)
        == .use(
          account: "333333333333",
          .role(
            arn: "arn:aws:iam::333333333333:role/respond", externalID: nil, sessionName: "respond",
            sourceProfile: "security")))
    // The listed account still wins over the default.
    #expect(map.choose(keyA) == .use(account: "111111111111", .profile("prod")))
    // A key that encodes no account cannot fill {account} in.
    guard case .unmapped(nil, _) = map.choose(oldKey) else {
      Issue.record("\(map.choose(oldKey))")
      return
    }
    let plain = try AccountMap.parse("default: { profile: ops }", file: "a.yaml")
    #expect(plain.choose(oldKey) == .use(account: nil, .profile("ops")))
  }

  @Test func otherCredentialsAreNotAWSKeys() throws {
    let map = try AccountMap.parse(yaml, file: "a.yaml")
    #expect(map.choose("ghp_" + String(repeating: "a", count: 36)) == .notAWS)
    #expect(map.choose("hvs.CAESIJ") == .notAWS)
  }

  @Test func everyProblemIsReportedLocated() {
    let text = """
      "1234": { profile: a }
      "111111111111": { profile: a, role-arn: "arn:aws:iam::111111111111:role/r" }
      "222222222222": { role-arn: "arn:aws:iam::999999999999:role/r" }
      "333333333333": { profile: a, external-id: xx }
      "444444444444": { role-arn: "arn:aws:iam::444444444444:role/r", external-id: "a b" }
      "555555555555": { environment: false }
      "666666666666": { profile: a, colour: blue }
      """
    #expect(throws: (any Error).self) { try AccountMap.parse(text, file: "f.yaml") }
    let message = (try? AccountMap.parse(text, file: "f.yaml")).map { _ in "" } ?? errorText(text)
    #expect(
      message.split(separator: "\n").map(String.init) == [
        "f.yaml:1:1: error: '1234' is not an AWS account id (12 digits) or `default`",
        "f.yaml:2:17: error: give exactly one of profile, role-arn or environment: true (found 2)",
        "f.yaml:3:29: error: the role arn:aws:iam::999999999999:role/r is not in account 222222222222: a key is deactivated from its own account",
        "f.yaml:4:44: error: 'external-id' applies only with role-arn",
        "f.yaml:5:78: error: an external id is 2 to 1224 characters of letters, digits and +=,.@:/-",
        "f.yaml:6:32: error: environment takes only `true` (leave the account out instead)",
        "f.yaml:7:31: error: unknown setting 'colour' (known: environment, external-id, profile, role-arn, session-name, source-profile)",
      ])
  }

  func errorText(_ text: String) -> String {
    do {
      _ = try AccountMap.parse(text, file: "f.yaml")
      return ""
    } catch {
      return "\(error)"
    }
  }

  @Test func jsonIsReadToo() throws {
    let map = try AccountMap.parse(
      #"{"111111111111": {"role-arn": "arn:aws:iam::111111111111:role/r", "external-id": "x-1"}}"#, file: "a.json")
    #expect(
      map.choose(keyA)
        == .use(
          account: "111111111111",
          .role(arn: "arn:aws:iam::111111111111:role/r", externalID: "x-1", sessionName: "respond", sourceProfile: nil)
        ))
  }

  @Test func theFlagIsTakenOutOfTheCommandLine() throws {
    let (path, rest) = try AccountMap.extractFlag(["--from", "f.txt", "--accounts", "a.yaml", "--yes"])
    #expect(path == "a.yaml" && rest == ["--from", "f.txt", "--yes"])
    #expect(try AccountMap.extractFlag(["--accounts=b.json"]).path == "b.json")
    #expect(throws: (any Error).self) { try AccountMap.extractFlag(["--accounts"]) }
    #expect(throws: (any Error).self) { try AccountMap.extractFlag(["--accounts", "a", "--accounts", "b"]) }
  }

  @Test func theChoiceIsDescribedWithoutSecrets() {
    #expect(
      AccountMap.describe(
        .role(arn: "arn:aws:iam::2:role/r", externalID: "x", sessionName: "respond", sourceProfile: nil),
        account: "222222222222")
        == "account 222222222222: role arn:aws:iam::2:role/r (session respond, with an external id, assumed with the environment's credentials)"
    )
    #expect(
      AccountMap.describe(.profile("prod"), account: nil) == "a key whose id encodes no account: AWS profile 'prod'")
  }

  @Test func aKeyWithoutCredentialsIsItsOwnLineAndNeedsAPerson() {
    let live = BatchResponse.noCredentials("no credentials for account 3", mode: .live)
    #expect(live.exitCode == 4 && live.verdict == "NOT CONTAINED" && live.outcome == "no-credentials")
    #expect(live.incidentDirectory == nil)
    let drill = BatchResponse.noCredentials("x", mode: .drill)
    #expect(drill.exitCode == 0 && drill.verdict == "DRILL")
    let secret = LeakedSecret(secret: keyC, sources: [])
    let outcome = BatchResponse.outcome(secret, live, masker: Masker())
    #expect(outcome.outcome == "no-credentials" && outcome.exitCode == 4)
    // The batch exits with the worst of its keys: a completed key and this one give 4.
    let done = BatchOutcome(
      display: keyA, fingerprint: "f", outcome: "completed", exitCode: 0, incidentDirectory: "/x", detail: "",
      sources: [])
    #expect(BatchResponse.exitCode([done, outcome]) == 4)
  }
}
