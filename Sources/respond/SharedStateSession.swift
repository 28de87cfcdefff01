import Foundation
import RespondActions
import RespondCore

/// `RESPOND_STATE_URL=s3://bucket/prefix`: the wiring between the commands and the shared state
/// (`SharedIncident`, `S3StateStore`). A shared state that cannot be used stops the run before
/// anything is done (exit 2): an on-call engineer who set it expects the team to see the
/// incident, and must not find out afterwards that they responded alone.
enum SharedStateSession {
  /// Go on (sharing, or not when nil), or stop with this exit status.
  enum Outcome {
    case go(SharedIncident?)
    case stop(Int32)
  }

  static var environment: [String: String] { Frontend.environment }

  /// The location from `RESPOND_STATE_URL`, or the error said and exit 2.
  static func configured() -> Result<SharedStateLocation?, Stop> {
    do { return .success(try SharedStateLocation.fromEnvironment(environment)) } catch {
      return .failure(Stop(message: "\(error)", code: 2))
    }
  }

  /// An error to print and the exit status.
  struct Stop: Error {
    var message: String
    var code: Int32
  }

  /// The store and the retention (nil when the bucket has no Object Lock), after one call that
  /// proves the bucket is there and reachable.
  static func open(_ location: SharedStateLocation, masker: Masker) async throws -> (S3StateStore, Int?) {
    let days = try SharedRetention.days(environment)
    let store = try S3StateStore(
      location: location, environment: environment, transport: Frontend.transport(), masker: masker)
    return (store, try await store.objectLockEnabled() ? days : nil)
  }

  /// For a run or a resume: takes the shared lock on the key (live runs; `resuming` names the
  /// incident folder being resumed, whose lock is taken over) and starts the mirror. `location`
  /// overrides the variable (a resume from an s3:// URL).
  static func begin(
    runbook: Runbook, inputs: [String: String], mode: RunMode, masker: Masker, resuming: String? = nil,
    location given: SharedStateLocation? = nil
  ) async -> Outcome {
    let location: SharedStateLocation
    switch configured() {
    case .failure(let stop):
      Frontend.error(masker.mask(stop.message) + "; nothing was done")
      return .stop(stop.code)
    case .success(let found):
      guard let found = given ?? found else { return .go(nil) }
      location = found
    }
    if mode.isDry {
      Frontend.note("note: a drill or dry run is not shared: \(SharedStateLocation.variable) is ignored")
      return .go(nil)
    }
    do {
      let (store, days) = try await open(location, masker: masker)
      let id = resuming.map { (URL(fileURLWithPath: $0).standardizedFileURL.path as NSString).lastPathComponent }
      var lock: SharedLock?
      if let key = IncidentLock.key(of: runbook, inputs: inputs) {
        lock = try await SharedLock.acquire(
          store: store, location: location, identity: KeyFormats.lockIdentity(key), resuming: id,
          host: ProcessInfo.processInfo.hostName)
      }
      let mirror = IncidentMirror(
        store: store, location: location, retentionDays: days, directory: resuming,
        log: { Frontend.note(masker.mask($0)) })
      let retention = days.map { ", Object Lock retention \($0) days (\(SharedRetention.mode))" } ?? ""
      Frontend.note("sharing this incident at \(location)/incidents/\(retention)")
      return .go(SharedIncident(location: location, lock: lock, mirror: mirror))
    } catch let held as IncidentLock.Held {
      Frontend.error(masker.mask(held.description))
      return .stop(1)
    } catch {
      Frontend.error(
        masker.mask("cannot use the shared state \(location) (\(SharedStateLocation.variable)): \(error)")
          + "; nothing was done. Fix it, or unset \(SharedStateLocation.variable) to respond without sharing")
      return .stop(2)
    }
  }

  /// After the run: uploads what is left, releases the lock when the run finished, and says
  /// where the team finds the incident (or, loudly, what it cannot see).
  static func end(_ shared: SharedIncident?, result: RunResult, masker: Masker) async {
    guard let shared else { return }
    let problems = await shared.finish(directory: result.incidentDirectory, finished: result.status == .completed)
    let id = (result.incidentDirectory as NSString).lastPathComponent
    for problem in problems { Frontend.error(masker.mask("shared state: " + problem)) }
    if problems.isEmpty { Frontend.note("shared: \(shared.location.incidentURL(id))") }
  }

  /// The run never got going (an error before its folder): its lock is given back.
  static func abandon(_ shared: SharedIncident?) async {
    try? await shared?.lock?.release()
  }

  /// `respond resume s3://bucket/prefix/incidents/<id>`: the incident pulled into `<out>/<id>`
  /// and verified; the folder and the location to keep sharing it at.
  static func pull(_ url: String, out: String?, masker: Masker) async -> Result<
    (directory: String, location: SharedStateLocation), Stop
  > {
    do {
      let (location, id) = try SharedStateLocation.parseIncident(url)
      let (store, _) = try await open(location, masker: masker)
      let pulled = try await SharedIncidentPull.pull(
        store: store, location: location, id: id, outDir: out ?? "incidents")
      for note in pulled.notes { Frontend.note("note: " + note) }
      Frontend.note("pulled \(url) into \(pulled.directory); it verifies")
      return .success((pulled.directory, location))
    } catch {
      return .failure(Stop(message: masker.mask("\(error)"), code: 2))
    }
  }

  /// `respond approve s3://.../incidents/<id>`: the approval recorded in the shared incident; the
  /// copy it was recorded in (a new private folder under the temporary directory) holds the
  /// re-rendered report, whose path is returned for stdout.
  static func approve(_ url: String, step: String, by person: ApprovalPerson, host: String) async throws -> (
    IncidentApproval.Recorded, String
  ) {
    let masker = Masker(formats: KeyCatalogue(runbooksFolder: Frontend.runbooksFolder(nil)))
    let (location, id) = try SharedStateLocation.parseIncident(url)
    let (store, days) = try await open(location, masker: masker)
    let scratch = NSTemporaryDirectory() + "respond-approve-" + UUID().uuidString
    let recorded = try await SharedApproval.approve(
      store: store, location: location, id: id, step: step, by: person, host: host, scratch: scratch,
      retentionDays: days)
    return (recorded, scratch + "/" + id + "/report.md")
  }

  /// Batches are not shared yet: refused while the variable is set rather than run unshared.
  static func batchRefusal() -> String? {
    guard let raw = environment[SharedStateLocation.variable], !raw.isEmpty else { return nil }
    return
      "\(SharedStateLocation.variable) is set, but a batch (--from) is not shared yet: unset it to respond to the batch locally, or respond to each key on its own"
  }
}
