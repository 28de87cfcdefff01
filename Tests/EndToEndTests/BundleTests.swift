import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 17, item 2: `respond bundle DIR` writes one archive of an incident with a manifest of
/// hashes, signed with Ed25519 when RESPOND_SIGNING_KEY names a key, and `respond verify BUNDLE
/// --public-key FILE` checks it anywhere. Keys come from openssl; the archive is read and
/// re-packed by Python's tarfile and listed by the system's tar, so the format is plain tar.gz.
@Suite(.serialized) struct BundleTests {
  let services: TestServices
  let moto: MotoFixture
  let out = NSTemporaryDirectory() + "respond-bundle-e2e-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    chmod(out, 0o700)
  }

  func cli(_ args: [String], signingKey: String? = nil) throws -> ProcessOutcome {
    var env = ["HOME": out]
    if let signingKey { env["RESPOND_SIGNING_KEY"] = signingKey }
    return try runRespond(args, environment: env)
  }

  /// An Ed25519 key pair from openssl: (private PEM path, public PEM path).
  func keyPair(_ name: String) throws -> (String, String) {
    let key = out + "/\(name).pem"
    let pub = out + "/\(name).pub"
    _ = try runProgram("/usr/bin/env", ["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], environment: [:])
    chmod(key, 0o600)
    _ = try runProgram("/usr/bin/env", ["openssl", "pkey", "-in", key, "-pubout", "-out", pub], environment: [:])
    return (key, pub)
  }

  /// A live AWS response with a CloudTrail log group: the incident folder.
  func incident() throws -> String {
    let user = "bundle-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let group = "trail-\(UUID().uuidString.prefix(8).lowercased())"
    try moto.trail(group: group, key: leaked.id, decoys: [])
    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--log-group", group, "--yes", "--out", out],
      environment: services.awsEnvironment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    return (o.lastLine as NSString).deletingLastPathComponent
  }

  /// Unpacks `bundle` with Python's tarfile, lets `change` edit the folder, and packs it again.
  func repack(_ bundle: String, to target: String, _ change: String) throws {
    let script = """
      import io, os, sys, tarfile, tempfile, hashlib, json
      src, dst = sys.argv[1], sys.argv[2]
      work = tempfile.mkdtemp()
      with tarfile.open(src, "r:gz") as t:
          t.extractall(work, filter="data")
      root = os.path.join(work, os.listdir(work)[0])
      """ + "\n" + change + "\n" + """
        with tarfile.open(dst, "w:gz", format=tarfile.USTAR_FORMAT) as t:
            t.add(root, arcname=os.path.basename(root))
        """
    _ = try runProgram("/usr/bin/env", ["python3", "-c", script, bundle, target], environment: [:])
  }

  @Test func aSignedBundleVerifiesWithItsKeyAndIsRefusedWithAnotherOrWhenChanged() throws {
    let dir = try incident()
    let (key, pub) = try keyPair("alice")
    let (_, otherPub) = try keyPair("mallory")
    let made = try cli(["bundle", dir], signingKey: key)
    #expect(made.status == 0, "stderr: \(made.stderr)")
    let bundle = made.lastLine
    #expect(bundle == dir + ".tar.gz")
    #expect(made.stderr.contains("signed with Ed25519 key sha256:"))
    let mode = try FileManager.default.attributesOfItem(atPath: bundle)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    let listing = try runProgram("/usr/bin/env", ["tar", "-tzf", bundle], environment: [:])
    let name = (dir as NSString).lastPathComponent
    for file in [
      "MANIFEST.json", "MANIFEST.sig", "journal.jsonl", "report.json", "postmortem.md", "evidence/logs.json",
    ] {
      #expect(listing.contains("\(name)/\(file)"), "the bundle holds \(file): \(listing)")
    }

    let right = try cli(["verify", bundle, "--public-key", pub])
    #expect(right.status == 0, "stdout: \(right.stdout) stderr: \(right.stderr)")
    #expect(right.stderr.contains(", the given public key"))
    let wrong = try cli(["verify", bundle, "--public-key", otherPub])
    #expect(wrong.status == 1)
    #expect(wrong.stdout.contains("MANIFEST.sig: was made with key sha256:"), "\(wrong.stdout)")
    // Named as README names it, from its folder: the error says the bundle's name, unmasked
    // (`<id>.tar.gz` is not a credential), and a name that is not there is said to be missing.
    let here = try runRespond(
      ["verify", name + ".tar.gz", "--public-key", otherPub], environment: ["HOME": out],
      cwd: (bundle as NSString).deletingLastPathComponent)
    #expect(here.status == 1)
    #expect(here.stderr.contains("error: \(name).tar.gz: NOT intact"), "\(here.stderr)")
    let missing = try cli(["verify", out + "/no-such.tar.gz", "--public-key", pub])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("no-such.tar.gz: no such incident folder or bundle"), "\(missing.stderr)")

    // One changed byte in one evidence file, re-packed by another tar: named.
    let flipped = out + "/flipped.tar.gz"
    try repack(
      bundle, to: flipped,
      """
      p = os.path.join(root, "evidence", "logs.json"); b = bytearray(open(p, "rb").read())
      i = b.index(b"3"); b[i] = ord("4"); open(p, "wb").write(bytes(b))
      """)
    let changed = try cli(["verify", flipped, "--public-key", pub])
    #expect(changed.status == 1)
    #expect(changed.stdout.contains("evidence/logs.json: does not match the manifest's SHA-256"), "\(changed.stdout)")

    // The same change with the manifest's hash updated to match: the signature catches it.
    let forged = out + "/forged.tar.gz"
    try repack(
      bundle, to: forged,
      """
      p = os.path.join(root, "evidence", "logs.json"); b = bytearray(open(p, "rb").read())
      i = b.index(b"3"); b[i] = ord("4"); open(p, "wb").write(bytes(b))
      m = os.path.join(root, "MANIFEST.json"); doc = json.load(open(m))
      for f in doc["files"]:
          if f["path"] == "evidence/logs.json": f["sha256"] = hashlib.sha256(bytes(b)).hexdigest()
      open(m, "w").write(json.dumps(doc, indent=2))
      """)
    let resigned = try cli(["verify", forged, "--public-key", pub])
    #expect(resigned.status == 1)
    #expect(resigned.stdout.contains("MANIFEST.sig: does not verify: the manifest was changed after signing"))
  }

  @Test func anUnsignedBundleSaysSoAndATamperedIncidentIsNotBundled() throws {
    let dir = try incident()
    let made = try cli(["bundle", dir, "--output", out + "/plain.tar.gz"])
    #expect(made.status == 0, "stderr: \(made.stderr)")
    #expect(made.stderr.contains("not signed: set RESPOND_SIGNING_KEY to sign"))
    let unsigned = try cli(["verify", out + "/plain.tar.gz"])
    #expect(unsigned.status == 0, "stdout: \(unsigned.stdout) stderr: \(unsigned.stderr)")
    #expect(unsigned.stderr.contains("the bundle is not signed"))
    let (_, pub) = try keyPair("carol")
    let demanded = try cli(["verify", out + "/plain.tar.gz", "--public-key", pub])
    #expect(demanded.status == 1)
    #expect(demanded.stdout.contains("MANIFEST.sig: is missing: the bundle is not signed"))

    try FileManager.default.removeItem(atPath: dir + "/evidence/owner.json")
    let refused = try cli(["bundle", dir, "--output", out + "/tampered.tar.gz"])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("does not verify, so it is not bundled: evidence/owner.json: is missing"))
    #expect(!FileManager.default.fileExists(atPath: out + "/tampered.tar.gz"))
  }
}
