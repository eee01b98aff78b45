import ArgumentParser
import Archive
import Foundation
import Identity

/// `roomctl ledger`: proofs from the room's database, and offline verification
/// of an exported ledger (or a sealed package's data/ledger folder).
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Audit ledger proofs and offline verification (审计账本).",
        subcommands: [Proof.self, Verify.self])

    struct Proof: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an RFC 9162 inclusion or consistency proof as JSON.",
            discussion: """
                Inclusion:   roomctl ledger proof --db /var/lib/roomd/roomd.sqlite --entry 41 [--size 1000]
                Consistency: roomctl ledger proof --db /var/lib/roomd/roomd.sqlite --from 900 --to 1000
                The database is opened read-only; the daemon may keep running.
                """)

        @Option(help: "The room's SQLite database.")
        var db: String

        @Option(help: "Leaf index (seq) of the entry to prove.")
        var entry: Int?

        @Option(help: "Tree size to prove against (default: the current size).")
        var size: Int?

        @Option(name: .customLong("from"), help: "Older tree size of a consistency proof.")
        var from: Int?

        @Option(help: "Newer tree size of a consistency proof (default: the current size).")
        var to: Int?

        func validate() throws {
            if (entry == nil) == (from == nil) {
                throw ValidationError("give either --entry (inclusion) or --from (consistency)")
            }
        }

        func run() throws {
            let ledger = try Ledger.openReadOnly(path: db)
            let current = try ledger.treeHead().size
            let output: LedgerJSON
            if let entry {
                let treeSize = size ?? current
                let proof = try ledger.inclusionProof(leafIndex: entry, treeSize: treeSize)
                guard let bytes = try ledger.entryBytes(entry..<(entry + 1)).first else {
                    throw ValidationError("entry \(entry) is not in the ledger")
                }
                output = [
                    "type": "inclusion", "leaf_index": .integer(Int64(entry)), "tree_size": .integer(Int64(treeSize)),
                    "root": .string(try ledger.rootHash(size: treeSize).base64),
                    "leaf_hash": .string(MerkleHash.leaf(bytes).base64),
                    "entry": .string(String(decoding: bytes, as: UTF8.self)),
                    "path": .array(proof.path.map { .string($0.base64) }),
                ]
            } else if let from {
                let newSize = to ?? current
                let proof = try ledger.consistencyProof(oldSize: from, newSize: newSize)
                output = [
                    "type": "consistency", "old_size": .integer(Int64(from)), "new_size": .integer(Int64(newSize)),
                    "old_root": .string(try ledger.rootHash(size: from).base64),
                    "new_root": .string(try ledger.rootHash(size: newSize).base64),
                    "path": .array(proof.path.map { .string($0.base64) }),
                ]
            } else {
                throw ValidationError("give either --entry or --from")
            }
            print(String(decoding: try output.canonicalBytes(), as: UTF8.self))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an exported ledger offline against its checkpoint and independent ones.",
            discussion: """
                Detects and names edited, deleted, reordered and truncated entries and forked
                histories. Exit status: 0 intact, 1 tampering found, 3 could not decide
                (e.g. a newer --checkpoint without --consistency-proof).
                """)

        @Argument(help: "The export folder (entries.jsonl, checkpoint.txt, proofs.json, ...).")
        var export: String

        @Option(help: "Room certificate (PEM) to trust. Without it the export's own room-cert.pem is used.")
        var cert: String?

        @Option(name: .customLong("checkpoint"), help: "A checkpoint obtained independently (platform, witness). Repeatable.")
        var checkpoints: [String] = []

        @Option(name: .customLong("consistency-proof"), help: "Output of `roomctl ledger proof --from N --to M`. Repeatable.")
        var consistencyProofs: [String] = []

        func run() throws {
            let key = try cert.map { try RoomVerificationKey(certificatePEM: try Data(contentsOf: URL(fileURLWithPath: $0))) }
            let others = try checkpoints.map { path in
                try SignedCheckpoint(parsing: try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8))
            }
            let proofs = try consistencyProofs.map { path in
                try ConsistencyProof(json: try LedgerJSON(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
            }
            let report = try LedgerExportVerifier.verify(
                directory: URL(fileURLWithPath: export), trustedKey: key, checkpoints: others, consistencyProofs: proofs)
            print("ledger export \(export)")
            print("origin \(report.origin); checkpoint size \(report.checkpoint.size), root \(report.checkpoint.root.base64)")
            print("entries \(report.firstSeq)..<\(report.checkpoint.size): \(report.verifiedEntries) proven")
            for note in report.notes { print("note: \(note)") }
            for finding in report.findings { print(finding.description) }
            if report.isIntact {
                print("OK: intact (账本完整)")
            } else if report.isTampered {
                print("FAILED: the ledger was altered (账本被篡改)")
                throw ExitCode(1)
            } else {
                print("UNDECIDED: more material is needed (无法判定)")
                throw ExitCode(3)
            }
        }
    }
}
