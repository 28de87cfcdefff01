@main struct Respond { static func main() {} }
