public import Foundation
import Identity

/// A sealed session package is a BagIt 1.0 bag (RFC 8493) — docs/formats.md,
/// "Sealed packages". This file holds the bag's text formats: the
/// declaration, bag-info, and the SHA-256 manifests, written from hashes roomd
/// already has (recordings were hashed as they were written) and read back
/// by the verifier.
public enum Bag {
    public static let declaration = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    public static let declarationFile = "bagit.txt"
    public static let infoFile = "bag-info.txt"
    public static let manifestFile = "manifest-sha256.txt"
    public static let tagManifestFile = "tagmanifest-sha256.txt"
    /// Detached CMS SignedData (DER) over the tag manifest's bytes, by the room key.
    public static let signatureFile = "tagmanifest-sha256.txt.p7s"
    /// RFC 3161 TimeStampResp (DER) for the signature file's bytes, when a TSA is configured.
    public static let timestampFile = "tagmanifest-sha256.txt.p7s.tsr"

    /// One file of the bag: its path relative to the bag's root, its SHA-256 (hex) and size.
    public struct File: Sendable, Hashable, Codable {
        public var path: String
        public var sha256: String
        public var bytes: Int64

        public init(path: String, sha256: String, bytes: Int64) {
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// RFC 8493 §2.1.3: CR, LF and % in a manifest's file path are percent-encoded.
    public static func encodePath(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D")
    }

    public static func decodePath(_ text: String) -> String {
        text.replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%0a", with: "\n")
            .replacingOccurrences(of: "%0D", with: "\r").replacingOccurrences(of: "%0d", with: "\r")
            .replacingOccurrences(of: "%25", with: "%")
    }

    /// `<sha256>  <path>` lines, sorted by path bytes: the same files give the same manifest.
    public static func manifest(_ files: [File]) -> String {
        files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
            .map { "\($0.sha256)  \(encodePath($0.path))\n" }.joined()
    }

    public struct ManifestProblem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses a manifest: path → SHA-256 (lowercase hex).
    public static func parseManifest(_ text: String, name: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw ManifestProblem(description: "\(name) line \(number + 1) is not '<sha256> <path>'")
            }
            let hash = trimmed[..<space].lowercased()
            let path = decodePath(String(trimmed[space...].drop { $0 == " " || $0 == "\t" }))
            guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }), !path.isEmpty else {
                throw ManifestProblem(description: "\(name) line \(number + 1) is not '<sha256> <path>'")
            }
            guard out[path] == nil else { throw ManifestProblem(description: "\(name) lists \(path) twice") }
            out[path] = hash
        }
        return out
    }

    /// `Payload-Oxum`: total payload bytes and file count.
    public static func oxum(_ files: [File]) -> String { "\(files.reduce(0) { $0 + $1.bytes }).\(files.count)" }

    /// bag-info.txt: one `Label: value` line per item, in the order given (values are single lines).
    public static func info(_ items: [(String, String)]) -> String {
        items.map { "\($0.0): \($0.1.replacingOccurrences(of: "\n", with: " "))\n" }.joined()
    }

    /// Parses bag-info.txt (continuation lines, RFC 8493 §2.2.2, are joined).
    public static func parseInfo(_ text: String) -> [(String, String)] {
        var items: [(String, String)] = []
        for line in text.split(separator: "\n") {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.first == " " || line.first == "\t", !items.isEmpty {
                items[items.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            items.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                          String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        return items
    }

    /// The SHA-256 and size of in-memory content (tag files, report, JSON).
    public static func file(_ path: String, _ bytes: some ContiguousBytes & Collection) -> File {
        File(path: path, sha256: Digest.sha256Hex(bytes), bytes: Int64(bytes.count))
    }
}
