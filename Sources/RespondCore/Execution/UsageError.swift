/// Bad usage or input: exit 2 with this message.
package struct UsageError: Error, CustomStringConvertible {
  package var description: String
  package init(_ message: String) { description = message }
}
