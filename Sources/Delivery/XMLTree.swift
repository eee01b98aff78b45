import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The small part of an XML document S3 answers need: elements by local name,
/// their text, their children. Namespaces are ignored (S3 answers put
/// everything in one default namespace).
final class S3XML: @unchecked Sendable {
    let name: String
    var text = ""
    var children: [S3XML] = []

    init(name: String) { self.name = name }

    func child(_ name: String) -> S3XML? { children.first { $0.name == name } }
    func all(_ name: String) -> [S3XML] { children.filter { $0.name == name } }
    /// The text of the child `name`, trimmed; nil if absent.
    func value(_ name: String) -> String? {
        child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Parses `bytes`; nil if they are not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> S3XML? {
        let parser = XMLParser(data: Data(bytes))
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var root: S3XML?
        var stack: [S3XML] = []

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            let element = S3XML(name: local)
            if let parent = stack.last { parent.children.append(element) } else { root = element }
            stack.append(element)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            _ = stack.popLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }
    }
}

/// `text` with the five XML special characters escaped.
func xmlEscaped(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(character)
        }
    }
    return out
}
