import Foundation
import RespondCore

/// `vault.kv.replace-copies`: writes the replacement into every KV v2 secret a `vault.kv.find`
/// step found holding the leaked value: the matched fields (and the companion fields the secret
/// already has) get the new value, every other field is kept, each write is check-and-set on
/// the version just read, and each secret is read back. Copies it cannot rewrite are listed.
package struct VaultKVReplaceCopiesAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.kv.replace-copies",
      summary: "Replace a leaked value in every Vault/OpenBao KV v2 copy found, and read each back",
      parameters: SecretCopyReplacer.parameters + [
        ParameterSpec("mount", .string, "the KV v2 mount, when its name has a slash in it (as given to vault.kv.find)"),
        ParameterSpec(
          "within", required: true, "the mount or prefix searched (vault.kv.find's path): copies outside it are refused"
        ),
      ],
      outputs: SecretCopyReplacer.outputs, mutates: true, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [
        .vault(VaultPermission(.kvTree(parameter: "within"), ["read", "update"], purpose: "the copies of the secret"))
      ])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let input = try SecretCopyReplacer.inputs(context)
    let client = try VaultClient(context)
    let mount = context.optionalString("mount")
    let within = try KVPath.parse(
      try context.string("within"), mount: mount, parameter: "within", allowEmptyPath: true)
    let inside = within.path.isEmpty ? "\(within.mount)/" : "\(within.mount)/\(within.path)/"
    for path in input.paths where !(path + "/").hasPrefix(inside) {
      throw ActionError.badParameter(name: "matches", reason: "'\(path)' is outside \(within), the prefix searched")
    }
    let replacer = SecretCopyReplacer(
      store: "vault",
      read: { path in
        let secret = try await client.readKV(try KVPath.parse(path, mount: mount, parameter: "matches"))
        return secret.found ? .object(secret.fields) : nil
      },
      write: { path, value in
        let location = try KVPath.parse(path, mount: mount, parameter: "matches")
        let current = try await client.readKV(location)
        let body: Value = ["options": ["cas": .number(Double(current.version))], "data": value]
        _ = try await client.call("POST", location.dataPath, body: body, mutates: true, secretBody: true)
      })
    let outcome = await replacer.run(
      paths: input.paths, matcher: input.matcher, replacement: input.replacement, companions: input.companions,
      context: context)
    return SecretCopyReplacer.result(outcome, store: "Vault/OpenBao")
  }
}
