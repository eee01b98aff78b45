internal import Yams

/// Walks a YAML node tree, remembering the key path, the line of every node,
/// which keys were read (so unknown keys are reported, not ignored) and every
/// problem met on the way. Reading never stops at the first problem: an
/// installer fixing a file wants the whole list at once.
final class YAMLReader {
    private(set) var problems: [ConfigProblem] = []

    func problem(_ path: String, _ node: Node?, _ message: String) {
        problems.append(ConfigProblem(path: path, line: node?.mark?.line, message: message))
    }

    /// A mapping's keys and values; reports keys the caller did not ask for in `finish`.
    final class Mapping {
        let path: String
        let node: Node
        private let entries: [(key: String, keyNode: Node, value: Node)]
        private var used: Set<String> = []
        private unowned let reader: YAMLReader

        init(path: String, node: Node, entries: [(String, Node, Node)], reader: YAMLReader) {
            self.path = path
            self.node = node
            self.entries = entries.map { (key: $0.0, keyNode: $0.1, value: $0.2) }
            self.reader = reader
        }

        func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        func value(_ key: String) -> Node? {
            used.insert(key)
            return entries.first { $0.key == key }?.value
        }

        func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

        func finish(allowed: [String]) {
            for entry in entries where !used.contains(entry.key) {
                let hint = allowed.isEmpty ? "" : "; allowed keys here: \(allowed.sorted().joined(separator: ", "))"
                reader.problem(child(entry.key), entry.keyNode, "unknown key '\(entry.key)'\(hint)")
            }
        }
    }

    func mapping(_ node: Node?, path: String, required: Bool = true) -> Mapping? {
        guard let node else {
            if required { problem(path, nil, "is required") }
            return nil
        }
        guard case .mapping(let mapping) = node else {
            problem(path, node, "must be a mapping (key: value pairs)")
            return nil
        }
        var entries: [(String, Node, Node)] = []
        for (key, value) in mapping {
            guard let name = key.string else {
                problem(path, key, "keys must be strings")
                continue
            }
            entries.append((name, key, value))
        }
        return Mapping(path: path, node: node, entries: entries, reader: self)
    }

    func sequence(_ node: Node?, path: String) -> [Node]? {
        guard let node else { return nil }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.tag == Tag(.null) { return [] }
        guard case .sequence(let sequence) = node else {
            problem(path, node, "must be a list")
            return nil
        }
        return Array(sequence)
    }

    func string(_ map: Mapping, _ key: String, required: Bool = true) -> String? {
        guard let node = map.value(key) else {
            if required { problem(map.child(key), map.node, "is required") }
            return nil
        }
        guard case .scalar(let scalar) = node else {
            problem(map.child(key), node, "must be a text value")
            return nil
        }
        let text = scalar.string.trimmingWhitespace()
        if text.isEmpty, required { problem(map.child(key), node, "must not be empty") }
        return text.isEmpty ? nil : text
    }

    func int(_ map: Mapping, _ key: String, default fallback: Int? = nil, range: ClosedRange<Int>) -> Int? {
        guard let node = map.value(key) else {
            if fallback == nil { problem(map.child(key), map.node, "is required") }
            return fallback
        }
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.trimmingWhitespace().replacingUnderscores()) else {
            problem(map.child(key), node, "must be a whole number")
            return nil
        }
        guard range.contains(value) else {
            problem(map.child(key), node, "must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
            return nil
        }
        return value
    }

    func bool(_ map: Mapping, _ key: String, default fallback: Bool) -> Bool? {
        guard let node = map.value(key) else { return fallback }
        switch node.string?.trimmingWhitespace() {
        case "true", "yes": return true
        case "false", "no": return false
        default:
            problem(map.child(key), node, "must be true or false")
            return nil
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(
        _ map: Mapping, _ key: String, default fallback: E? = nil
    ) -> E? where E.RawValue == String {
        guard let node = map.value(key) else {
            if fallback == nil { problem(map.child(key), map.node, "is required") }
            return fallback
        }
        let text = node.string?.trimmingWhitespace() ?? ""
        guard let value = E(rawValue: text) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: " | ")
            problem(map.child(key), node, "'\(text)' is not one of: \(allowed)")
            return nil
        }
        return value
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }

    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
