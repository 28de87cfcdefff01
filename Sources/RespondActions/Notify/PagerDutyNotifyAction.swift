import Foundation
import RespondCore

/// `notify.pagerduty`: sends an Events API v2 event (trigger, acknowledge or resolve). The routing
/// key is the credential and travels in the body by PagerDuty's design: it is registered with the
/// masker, and the rest of the body is masked before the key is put in. The dedup key defaults to the
/// incident id, so retries, resumes and the later resolve all address the same alert.
package struct PagerDutyNotifyAction: Action {
  package init() {}

  package static let defaultEndpoint = "https://events.pagerduty.com/v2/enqueue"

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "notify.pagerduty", summary: "Trigger or resolve a PagerDuty alert (Events API v2)",
      parameters: [
        ParameterSpec("event-action", required: true, allowed: ["trigger", "acknowledge", "resolve"], "what to do"),
        ParameterSpec("summary", .string, "the alert's summary (required to trigger; up to 1024 characters)"),
        ParameterSpec(
          "severity", allowed: ["critical", "error", "warning", "info"], "alert severity (default critical)"),
        ParameterSpec("source", .string, "where the problem is (default respond)"),
        ParameterSpec("dedup-key", .string, "alert identity (default: the incident id)"),
        ParameterSpec("routing-key", secret: true, "the integration key (default: PAGERDUTY_ROUTING_KEY)"),
        ParameterSpec("custom-details", .map, "extra fields shown on the alert"),
        ParameterSpec("component"), ParameterSpec("group"), ParameterSpec("class"),
      ],
      outputs: [
        OutputSpec("dedup-key", "the alert's dedup key (resolve with it)"),
        OutputSpec("status", "HTTP status of PagerDuty's answer (202 accepted)"),
        OutputSpec("message", "PagerDuty's message"),
      ],
      mutates: true, idempotent: true,
      requirements: [Requirement("PagerDuty", all: ["PAGERDUTY_ROUTING_KEY"])])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let action = try context.string("event-action")
    guard ["trigger", "acknowledge", "resolve"].contains(action) else {
      throw ActionError.badParameter(name: "event-action", reason: "must be trigger, acknowledge or resolve")
    }
    let routingKey =
      context.optionalString("routing-key")
      ?? context.environment["PAGERDUTY_ROUTING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    guard let routingKey else {
      throw ActionError.notConfigured("PagerDuty is not configured: set PAGERDUTY_ROUTING_KEY (or pass routing-key)")
    }
    context.masker.register(routingKey)
    let endpoint = context.environment["PAGERDUTY_EVENTS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultEndpoint
    try NotifySender.checkURL(endpoint, name: "PAGERDUTY_EVENTS_URL")
    let severity = context.optionalString("severity") ?? "critical"
    guard ["critical", "error", "warning", "info"].contains(severity) else {
      throw ActionError.badParameter(name: "severity", reason: "must be critical, error, warning or info")
    }
    let dedupKey = context.masker.excerpt(context.optionalString("dedup-key") ?? context.incident.id, limit: 255)

    var event: [String: Value] = [
      "event_action": .string(action), "dedup_key": .string(dedupKey), "client": "respond",
    ]
    if action == "trigger" {
      let summary = try context.string("summary")
      var payload: [String: Value] = [
        "summary": .string(context.masker.excerpt(summary, limit: 1024)),
        "source": .string(context.optionalString("source") ?? "respond"),
        "severity": .string(severity),
        "timestamp": .string(ISO8601.string(Date())),
      ]
      for name in ["component", "group", "class"] {
        if let v = context.optionalString(name) { payload[name] = .string(v) }
      }
      if let details = context.parameters["custom-details"], !details.isNull {
        guard details.objectValue != nil else {
          throw ActionError.badParameter(name: "custom-details", reason: "must be a map")
        }
        payload["custom_details"] = details
      }
      event["payload"] = .object(payload)
    }
    // Mask everything we wrote, then add the one secret PagerDuty needs in the body. The key is
    // inserted into the masked JSON text, so nothing else in the body can carry a secret.
    let masked = context.masker.mask(Value.object(event).jsonString())
    let body = Data(("{\"routing_key\":" + Value.string(routingKey).jsonString() + "," + masked.dropFirst()).utf8)

    let sender = NotifySender(
      provider: "PagerDuty", shownEndpoint: endpoint, idempotent: true, masker: context.masker,
      log: context.log)
    let response = try await sender.send(transport: context.transport, operation: "Events API \(action)") {
      HTTPRequest(
        method: "POST", url: endpoint, headers: [("Content-Type", "application/json")], body: body, mutates: true,
        operation: "pagerduty:enqueue")
    }
    let answer = response.json
    let key = answer?["dedup_key"]?.stringValue ?? dedupKey
    return ActionResult(
      outputs: [
        "dedup-key": .string(key), "status": .number(Double(response.status)),
        "message": answer?["message"] ?? .null,
      ],
      summary: "PagerDuty \(action) accepted (dedup key \(key))")
  }
}
