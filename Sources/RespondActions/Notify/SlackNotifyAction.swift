import Foundation
import RespondCore

/// `notify.slack`: posts a message to a Slack incoming webhook. The webhook URL is itself a
/// credential: it is registered with the masker and never shown (errors show only its host).
package struct SlackNotifyAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "notify.slack", summary: "Post a message to a Slack incoming webhook",
      parameters: [
        // Values spliced into the text (a user name, a user agent) cannot make links or mentions.
        ParameterSpec(
          "text", required: true, interpolation: .slackText,
          "the message (Slack mrkdwn; spliced values have &, <, > escaped)"),
        ParameterSpec("webhook-url", secret: true, "the incoming webhook URL (default: SLACK_WEBHOOK_URL)"),
      ],
      outputs: [
        OutputSpec("delivered", "true when Slack accepted the message"),
        OutputSpec("status", "HTTP status of Slack's answer"),
      ],
      mutates: true, idempotent: false,
      requirements: [Requirement("Slack", all: ["SLACK_WEBHOOK_URL"])])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let text = try context.string("text")
    let url =
      context.optionalString("webhook-url")
      ?? context.environment["SLACK_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : $0 }
    guard let url else {
      throw ActionError.notConfigured("Slack is not configured: set SLACK_WEBHOOK_URL (or pass webhook-url)")
    }
    context.masker.register(url)
    // The path is the webhook's secret: masked wherever it shows up alone (e.g. echoed in an error).
    if let path = URL(string: url)?.path, path.count >= 16 { context.masker.register(path) }
    try NotifySender.checkURL(url, name: "webhook-url")
    let body = context.masker.maskedJSON(["text": .string(text)])
    let sender = NotifySender(
      provider: "Slack", shownEndpoint: NotifySender.shownURL(url), idempotent: false, masker: context.masker,
      log: context.log)
    let response = try await sender.send(transport: context.transport, operation: "incoming webhook") {
      HTTPRequest(
        method: "POST", url: url, headers: [("Content-Type", "application/json; charset=utf-8")], body: body,
        mutates: true, operation: "slack:webhook")
    }
    return ActionResult(
      outputs: ["delivered": true, "status": .number(Double(response.status))],
      summary: "posted to Slack (\(body.count) bytes)")
  }
}
