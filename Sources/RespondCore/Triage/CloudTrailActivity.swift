import Foundation

/// What kind of thing a leaked key did. The groups follow what a responder asks first: what
/// did it read that must now be rotated, what did it leave behind to come back, did it try to
/// blind us, did it start spending money, and everything else.
package enum ActivityCategory: String, Sendable, CaseIterable, Codable {
  case secretReads = "secret-reads"
  case persistence
  case defenceEvasion = "defence-evasion"
  case compute
  case other

  /// The heading a person reads.
  package var title: String {
    switch self {
    case .secretReads: return "reads of secrets"
    case .persistence: return "persistence"
    case .defenceEvasion: return "defence evasion"
    case .compute: return "compute launched"
    case .other: return "other"
    }
  }
}

/// One CloudTrail event, classified, with what a responder needs to act on it: where, when,
/// from where, with which client, which event (to find it again), and which resources it named.
package struct ClassifiedEvent: Sendable, Equatable {
  package var category: ActivityCategory
  package var name: String
  package var source: String?
  package var region: String?
  package var time: Date?
  package var sourceIP: String?
  package var userAgent: String?
  package var eventID: String?
  /// The error the call failed with (AccessDenied…): an attempt, not a change.
  package var errorCode: String?
  /// Resources the event named, `kind:name` (`user:backdoor`, `policy:arn:aws:iam::aws:policy/…`).
  package var resources: [String]
  /// For persistence that took effect: what a person must remove, naming the resource.
  package var removal: String?
  /// The role ARN this event assumed (AssumeRole's roleArn), whose sessions must be denied.
  package var assumedRole: String?

  package init(
    category: ActivityCategory, name: String, source: String? = nil, region: String? = nil, time: Date? = nil,
    sourceIP: String? = nil, userAgent: String? = nil, eventID: String? = nil, errorCode: String? = nil,
    resources: [String] = [], removal: String? = nil, assumedRole: String? = nil
  ) {
    self.category = category
    self.name = name
    self.source = source
    self.region = region
    self.time = time
    self.sourceIP = sourceIP
    self.userAgent = userAgent
    self.eventID = eventID
    self.errorCode = errorCode
    self.resources = resources
    self.removal = removal
    self.assumedRole = assumedRole
  }

  /// The event as a step output (and so in report.json).
  package var value: Value {
    var o: [String: Value] = [
      "category": .string(category.rawValue), "event-name": .string(name),
      "resources": .array(resources.map { .string($0) }),
    ]
    func put(_ key: String, _ s: String?) { if let s { o[key] = .string(s) } }
    put("event-source", source)
    put("region", region)
    put("time", time.map(ISO8601.string))
    put("source-ip", sourceIP)
    put("user-agent", userAgent)
    put("event-id", eventID)
    put("error-code", errorCode)
    put("removal", removal)
    put("assumed-role", assumedRole)
    return .object(o)
  }

  /// Reads an event back from its output form (merging several audit sources).
  package init?(_ v: Value) {
    guard let name = v["event-name"]?.stringValue,
      let category = v["category"]?.stringValue.flatMap(ActivityCategory.init(rawValue:))
    else { return nil }
    self.init(
      category: category, name: name, source: v["event-source"]?.stringValue, region: v["region"]?.stringValue,
      time: v["time"]?.stringValue.flatMap(ISO8601.parse), sourceIP: v["source-ip"]?.stringValue,
      userAgent: v["user-agent"]?.stringValue, eventID: v["event-id"]?.stringValue,
      errorCode: v["error-code"]?.stringValue,
      resources: (v["resources"]?.arrayValue ?? []).compactMap(\.stringValue),
      removal: v["removal"]?.stringValue, assumedRole: v["assumed-role"]?.stringValue)
  }

  /// "2026-11-23T13:09:39Z CreateUser (us-east-1) from 198.51.100.23, event 4f…: user:backdoor"
  package var line: String {
    var s = "\(time.map(ISO8601.string) ?? "unknown time") \(name)"
    if let region { s += " (\(region))" }
    if let sourceIP { s += " from \(sourceIP)" }
    if let userAgent { s += " with \(userAgent)" }
    if let eventID { s += ", event \(eventID)" }
    if let errorCode { s += ", failed: \(errorCode)" }
    if !resources.isEmpty { s += ": " + resources.joined(separator: ", ") }
    return s
  }
}

/// Sorts CloudTrail records into `ActivityCategory` groups. Pure: a record in, a classified
/// event out, so the rules are unit-tested on real CloudTrail record shapes.
package enum CloudTrailClassifier {
  /// IAM calls that leave the attacker a way back in (a user, a key, a password, a permission,
  /// a trust) after the leaked key is dead.
  static let persistenceIAM: Set<String> = [
    "CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "AttachUserPolicy",
    "AttachRolePolicy", "AttachGroupPolicy", "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy",
    "CreatePolicyVersion", "SetDefaultPolicyVersion", "AddUserToGroup", "CreateRole", "UpdateAssumeRolePolicy",
    "CreateServiceSpecificCredential", "UploadSSHPublicKey", "UploadSigningCertificate",
    "CreateOpenIDConnectProvider", "CreateSAMLProvider", "UpdateSAMLProvider", "CreateVirtualMFADevice",
    "EnableMFADevice", "UpdateAccessKey", "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary",
    "DeleteRolePermissionsBoundary", "CreateInstanceProfile", "AddRoleToInstanceProfile",
  ]

  /// Calls that blind the defenders: audit trails, detectors and recorders switched off.
  static let evasion: [String: Set<String>] = [
    "cloudtrail.amazonaws.com": [
      "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors",
      "DeleteEventDataStore", "StopEventDataStoreIngestion",
    ],
    "config.amazonaws.com": ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"],
    "securityhub.amazonaws.com": ["DisableSecurityHub", "BatchDisableStandards", "DeleteInsight"],
    "logs.amazonaws.com": ["DeleteLogGroup", "DeleteLogStream", "DeleteSubscriptionFilter", "PutRetentionPolicy"],
    "access-analyzer.amazonaws.com": ["DeleteAnalyzer"],
    "s3.amazonaws.com": ["PutBucketLogging"],
  ]

  /// Calls that start paid compute (miners are the usual first use of a leaked key). Lambda's
  /// event names carry an API version suffix (`CreateFunction20150331`): prefixes match.
  static let compute: [String: [String]] = [
    "ec2.amazonaws.com": [
      "RunInstances", "StartInstances", "RequestSpotInstances", "RequestSpotFleet", "CreateFleet",
      "RunScheduledInstances", "CreateLaunchTemplate",
    ],
    "lambda.amazonaws.com": ["CreateFunction", "UpdateFunctionCode"],
    "ecs.amazonaws.com": ["RunTask", "StartTask", "CreateService", "RegisterTaskDefinition"],
    "eks.amazonaws.com": ["CreateCluster", "CreateNodegroup"],
    "batch.amazonaws.com": ["SubmitJob", "CreateComputeEnvironment"],
    "sagemaker.amazonaws.com": ["CreateNotebookInstance", "CreateTrainingJob", "CreateEndpoint"],
    "lightsail.amazonaws.com": ["CreateInstances"],
    "autoscaling.amazonaws.com": ["CreateAutoScalingGroup", "UpdateAutoScalingGroup"],
    "glue.amazonaws.com": ["CreateDevEndpoint", "CreateJob"],
  ]

  /// The category of one call. Reads of secrets only count when they return plaintext: an SSM
  /// read without decryption returns a SecureString still encrypted.
  package static func category(source: String?, name: String, requestParameters: Value?) -> ActivityCategory {
    let src = source ?? ""
    switch (src, name) {
    case ("secretsmanager.amazonaws.com", "GetSecretValue"), ("secretsmanager.amazonaws.com", "BatchGetSecretValue"),
      ("kms.amazonaws.com", "Decrypt"), ("s3.amazonaws.com", "GetObject"):
      return .secretReads
    case ("ssm.amazonaws.com", "GetParameter"), ("ssm.amazonaws.com", "GetParameters"),
      ("ssm.amazonaws.com", "GetParametersByPath"):
      return requestParameters?["withDecryption"]?.isTruthy == true ? .secretReads : .other
    default: break
    }
    // Reactivating a key brings one back; deactivating one does not.
    if src == "iam.amazonaws.com", name == "UpdateAccessKey" {
      return requestParameters?["status"]?.stringValue == "Active" ? .persistence : .other
    }
    if src == "iam.amazonaws.com", persistenceIAM.contains(name) { return .persistence }
    if evasion[src]?.contains(name) == true { return .defenceEvasion }
    // Any GuardDuty change (detector off, findings filtered, IP allow-listed) hides findings.
    if src == "guardduty.amazonaws.com", !["Get", "List", "Describe"].contains(where: { name.hasPrefix($0) }) {
      return .defenceEvasion
    }
    if compute[src]?.contains(where: { name.hasPrefix($0) }) == true { return .compute }
    return .other
  }

  /// Classifies one CloudTrail record. `fallback` fills what a LookupEvents answer carries
  /// outside the record (time, name, id) when the record lacks it.
  package static func classify(
    _ record: Value, fallbackTime: Date? = nil, fallbackName: String? = nil, fallbackID: String? = nil
  ) -> ClassifiedEvent {
    let name = record["eventName"]?.stringValue ?? fallbackName ?? "(unnamed)"
    let source = record["eventSource"]?.stringValue
    let request = record["requestParameters"]
    let category = category(source: source, name: name, requestParameters: request)
    var event = ClassifiedEvent(
      category: category, name: name, source: source, region: record["awsRegion"]?.stringValue,
      time: record["eventTime"]?.stringValue.flatMap(ISO8601.parse) ?? fallbackTime,
      sourceIP: record["sourceIPAddress"]?.stringValue, userAgent: record["userAgent"]?.stringValue,
      eventID: record["eventID"]?.stringValue ?? fallbackID, errorCode: record["errorCode"]?.stringValue,
      resources: CloudTrailResources.named(record))
    if category == .persistence, event.errorCode == nil {
      event.removal = CloudTrailResources.removal(name: name, request: request, response: record["responseElements"])
    }
    if source == "sts.amazonaws.com", name == "AssumeRole", event.errorCode == nil,
      let arn = request?["roleArn"]?.stringValue, CloudTrailResources.roleName(arn) != nil
    {
      event.assumedRole = arn
    }
    return event
  }
}
