/// Text from outside (a provider's answer, a step's output or error, a person's name) made safe
/// to put into Markdown: it reads as the same characters and cannot become syntax. A CloudTrail
/// user agent of `![x](https://evil.example/p.png)` used to render as an image in report.md (a
/// beacon fetched by whoever opened the report), `[click](javascript:alert(1))` as a link, and
/// HTML passed through. The one function every such piece of text goes through is `inline`.
package enum MarkdownText {
  /// The characters that have meaning anywhere inside a line, each given a backslash
  /// (CommonMark's escape for any ASCII punctuation, rendered as the character alone): `[` `]`
  /// (links and images), `<` (HTML, autolinks), `*` `~` (emphasis, GFM strikethrough), `&`
  /// (entity references), `#` (GitHub's issue links), `|` (table cells), `\` and `` ` ``.
  /// The others of CommonMark's set need no escape once these are: `(` `)` `!` form a link or an
  /// image only after an unescaped `]` or before an unescaped `[`; `>` quotes only at a line
  /// start (escaped there; line breaks are spaces); `_` emphasises only at a word's edge (escaped
  /// there), never inside `SENDGRID_API_KEY`. So the report's text stays as readable as it was.
  /// A table by byte (reports escape every cell: a lookup per byte must be cheap).
  static let special: [Bool] = {
    var table = [Bool](repeating: false, count: 256)
    for b in "\\`*[]<#|&~".utf8 { table[Int(b)] = true }
    return table
  }()

  static func isAlphanumeric(_ b: UInt8) -> Bool {
    (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
  }

  /// Inline text for a paragraph, a list item or a table cell. Text between a pair of backticks
  /// becomes a code span (`codeSpan`: literal whatever it holds, so respond's own "run `respond
  /// resume DIR`" keeps its formatting and a provider's backticks are harmless); everything else
  /// has every special character backslash-escaped, line breaks (which would end a table row or
  /// start a block) turned into spaces, and a leading `-`, `+` or `1.` (list syntax, were the
  /// text ever at a line start) escaped too. An unpaired backtick is escaped. Identifiers read
  /// the same once rendered (`ghp\_…` shows as `ghp_…`).
  package static func inline(_ text: String) -> String {
    guard text.utf8.contains(UInt8(ascii: "`")) else { return escaped(text) }
    let parts = text.split(separator: "`", omittingEmptySubsequences: false).map(String.init)
    // An even number of parts means an odd number of backticks: the last one has no partner.
    let paired = parts.count % 2 == 1 ? parts.count : parts.count - 1
    var out = ""
    for (i, part) in parts.enumerated() {
      if i >= paired {
        out += "\\`" + escaped(part)
      } else if i % 2 == 0 {
        out += escaped(part)
      } else {
        out += part.isEmpty ? "\\`\\`" : codeSpan(part)
      }
    }
    return out
  }

  /// Text with no code span: the escaping proper.
  static func escaped(_ text: String) -> String {
    var out: [UInt8] = []
    let bytes = Array(text.utf8)
    out.reserveCapacity(bytes.count + 8)
    for (i, b) in bytes.enumerated() {
      switch b {
      case UInt8(ascii: "\r"), UInt8(ascii: "\n"): out.append(UInt8(ascii: " "))
      case UInt8(ascii: "_"):
        // Inside a word (`ghp_x`, `SENDGRID_API_KEY`) an underscore cannot emphasise.
        let inWord = i > 0 && i + 1 < bytes.count && isAlphanumeric(bytes[i - 1]) && isAlphanumeric(bytes[i + 1])
        if !inWord { out.append(UInt8(ascii: "\\")) }
        out.append(b)
      case _ where special[Int(b)]:
        out.append(UInt8(ascii: "\\"))
        out.append(b)
      default: out.append(b)
      }
    }
    // Block syntax at the start: `> x` (a quote), `- x`, `+ x`, `---` (a rule), `12. x`, `12) x`
    // (a list; an address such as `203.0.113.7` is not one and stays as it is).
    if let first = out.first, [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: ">")].contains(first) {
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
