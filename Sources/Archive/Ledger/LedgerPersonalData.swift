import Canonical
public import Identity

/// Resident ID numbers in ledger entries. roomd writes none (formats.md,
/// "Personal data"), but a ledger written by an older roomd may hold some,
/// and the ledger is append-only: an entry cannot be edited without breaking
/// every checkpoint after it. What can be done is to find them
/// (`roomctl ledger scan-personal`) and to withhold them from exports: a
/// withheld entry is replaced by its leaf hash, which the inclusion proof
/// still places in the signed tree.
public struct LedgerPersonalFinding: Sendable, Hashable {
    public var seq: Int
    public var time: Int64
    public var kind: String
    /// Where in the entry, e.g. `payload.detail.detail` or `actor`.
    public var field: String
    public var occurrence: ResidentIDScan.Occurrence
}

extension LedgerEntry {
    /// Every resident ID number in this entry's fields (keys included).
    public var personalData: [LedgerPersonalFinding] {
        var findings: [LedgerPersonalFinding] = []
        func visit(_ text: String, _ field: String) {
            for occurrence in ResidentIDScan.occurrences(in: text) {
                findings.append(LedgerPersonalFinding(seq: seq, time: time, kind: kind, field: field, occurrence: occurrence))
            }
        }
        func walk(_ value: CanonicalJSON, _ field: String) {
            switch value {
            case .string(let text): visit(text, field)
            case .array(let items): for (index, item) in items.enumerated() { walk(item, "\(field)[\(index)]") }
            case .object(let members):
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    visit(key, "\(field) (key)")
                    walk(member, "\(field).\(key)")
                }
            case .null, .bool, .integer, .decimal: break
            }
        }
        visit(actor, "actor")
        visit(kind, "kind")
        walk(payload, "payload")
        return findings
    }

    /// Whether the stored bytes may hold an ID number: a fast check on the
    /// bytes before an entry is parsed and walked.
    static func mayHoldPersonalData(_ bytes: [UInt8]) -> Bool {
        !ResidentIDScan.occurrences(in: bytes).isEmpty
    }
}

extension Ledger {
    /// Entry `seq` as it may leave the room: its bytes, or — when it holds an
    /// ID number an older roomd wrote — its ``WithheldEntry`` line.
    public static func disclosable(_ bytes: [UInt8], seq: Int) throws -> [UInt8] {
        guard LedgerEntry.mayHoldPersonalData(bytes), !(try LedgerEntry(canonical: bytes)).personalData.isEmpty else { return bytes }
        return try WithheldEntry.line(seq: seq, leafHash: .leaf(bytes))
    }
}

/// A line of `entries.jsonl` standing for an entry withheld from the export:
/// `{"leaf_hash":"<base64>","seq":N,"withheld":"personal-data"}`.
public enum WithheldEntry {
    public static let reason = "personal-data"

    static func line(seq: Int, leafHash: MerkleHash) throws -> [UInt8] {
        try CanonicalJSON.object([
            "leaf_hash": .string(leafHash.base64), "seq": .integer(Int64(seq)), "withheld": .string(reason),
        ]).canonicalBytes()
    }

    /// (seq, leaf hash) when `line` is a withheld-entry line in canonical form.
    static func parse(_ line: some Collection<UInt8>) -> (seq: Int, leafHash: MerkleHash)? {
        let bytes = Array(line)
        guard let value = try? CanonicalJSON(parsing: bytes), case .object(let members) = value, members.count == 3,
              members["withheld"]?.stringValue == reason, let seq = members["seq"]?.integerValue, seq >= 0,
              let text = members["leaf_hash"]?.stringValue, let hash = MerkleHash(base64: text),
              (try? value.canonicalBytes()) == bytes
        else { return nil }
        return (Int(seq), hash)
    }
}
