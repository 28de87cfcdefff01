/// Text from outside (a provider's answer, a step's output or error, a person's name) made safe
/// to put into Markdown: it reads as the same characters and cannot become syntax. A CloudTrail
/// user agent of `![x](https://evil.example/p.png)` used to render as an image in report.md (a
/// beacon fetched by whoever opened the report), `[click](javascript:alert(1))` as a link, and
/// HTML passed through. The one function every such piece of text goes through is `inline`.
package enum MarkdownText {
  /// The characters CommonMark and GitHub's tables give meaning to inside a line: each gets a
  /// backslash (CommonMark's escape for any ASCII punctuation, rendered as the character alone).
  /// `&` is escaped so entity references (`&lt;`) show as typed; `~` for GFM strikethrough.
  /// A table by byte (reports escape every cell: a lookup per byte must be cheap).
  static let special: [Bool] = {
    var table = [Bool](repeating: false, count: 256)
    for b in "\\`*_[]()!<>#|&~".utf8 { table[Int(b)] = true }
    return table
  }()

  /// Inline text for a paragraph, a list item or a table cell: every special character
  /// backslash-escaped, line breaks (which would end a table row or start a block) turned into
  /// spaces, and a leading `-`, `+` or `1.` (list syntax, were the text ever at a line start)
  /// escaped too. Identifiers read the same once rendered (`ghp\_…` shows as `ghp_…`).
  package static func inline(_ text: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count + 8)
    for b in text.utf8 {
      switch b {
      case UInt8(ascii: "\r"), UInt8(ascii: "\n"): out.append(UInt8(ascii: " "))
      case _ where special[Int(b)]:
        out.append(UInt8(ascii: "\\"))
        out.append(b)
      default: out.append(b)
      }
    }
    // Block syntax at the start: `- x`, `+ x`, `---` (a rule), `12. x`, `12) x` (a list; an
    // address such as `203.0.113.7` is not one and stays as it is).
    if let first = out.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
      out.insert(UInt8(ascii: "\\"), at: 0)
    } else {
      let digits = out.prefix { $0 >= 48 && $0 <= 57 }.count
      func at(_ i: Int, _ c: Unicode.Scalar) -> Bool { i < out.count && out[i] == UInt8(ascii: c) }
      let marker = digits > 0 && (at(digits, ".") || at(digits, ")"))
      if marker, digits + 1 == out.count || at(digits + 1, " ") || at(digits + 1, "\t") {
        out.insert(UInt8(ascii: "\\"), at: digits)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// A code span holding `text` literally: delimited by one more backtick than the longest run
  /// inside (so a backtick in the text cannot close it), padded with a space when the text starts
  /// or ends with a backtick, line breaks as spaces, and `|` escaped (GitHub splits table rows on
  /// it even inside code spans).
  package static func codeSpan(_ text: String) -> String {
    var body = text.replacingASCII([UInt8(ascii: "\r"): " ", UInt8(ascii: "\n"): " ", UInt8(ascii: "|"): "\\|"])
    let ticks = String(repeating: "`", count: longestBacktickRun(body) + 1)
    if body.hasPrefix("`") || body.hasSuffix("`") { body = " " + body + " " }
    return ticks + body + ticks
  }

  /// The fence for a fenced code block holding `text`: at least three backticks, and more than
  /// any run inside, so no line of the text can end the block.
  package static func fence(for text: String) -> String {
    String(repeating: "`", count: max(3, longestBacktickRun(text) + 1))
  }

  static func longestBacktickRun(_ text: String) -> Int {
    var longest = 0
    var run = 0
    for b in text.utf8 {
      run = b == UInt8(ascii: "`") ? run + 1 : 0
      longest = max(longest, run)
    }
    return longest
  }
}
