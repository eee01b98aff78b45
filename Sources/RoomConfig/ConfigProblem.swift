/// One thing wrong with a configuration file, located by key path and line.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path with indices, e.g. `stations[2].camera.device`.
    public var path: String
    /// 1-based line in the file, when the parser knows it.
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        let location = path.isEmpty ? "(top level)" : path
        if let line { return "\(location) (line \(line)): \(message)" }
        return "\(location): \(message)"
    }
}

/// A configuration that cannot be used, with every problem found in it.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var problems: [ConfigProblem]

    public var description: String {
        var lines = ["configuration \(file) is invalid (\(problems.count) problem\(problems.count == 1 ? "" : "s")) / 配置文件有误:"]
        lines += problems.map { "  - \($0)" }
        return lines.joined(separator: "\n")
    }
}
