import Canonical
import ArgumentParser
import Archive
import Foundation
import Identity
import RoomConfig

/// `roomctl ledger`: proofs from the room's database, and offline verification
/// of an exported ledger (or a sealed package's data/ledger folder).
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Audit ledger proofs and offline verification (审计账本).",
        subcommands: [Proof.self, Verify.self, Checkpoint.self, Export.self, ScanPersonal.self])

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
            let output: CanonicalJSON
            if let entry {
                output = try ledger.inclusionProofDocument(entry: entry, treeSize: size)
            } else if let from {
                output = try ledger.consistencyProofDocument(from: from, to: to)
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
                try ConsistencyProof(json: try CanonicalJSON(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
            }
            let report = try LedgerExportVerifier.verify(
                directory: URL(fileURLWithPath: export), trustedKey: key, checkpoints: others, consistencyProofs: proofs)
            print("ledger export \(export)")
            print("origin \(report.origin); checkpoint size \(report.checkpoint.size), root \(report.checkpoint.root.base64)")
            print("entries \(report.firstSeq)..<\(report.checkpoint.size): \(report.verifiedEntries) proven"
                  + (report.withheldEntries > 0 ? ", \(report.withheldEntries) of them withheld (personal data)" : ""))
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

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have roomd sign a checkpoint of the ledger now and print it (a milestone).")

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            FileHandle.standardOutput.write(Data(try await AdminClient(socketPath: try socket.resolve()).send(.POST, "/v1/ledger/checkpoint")))
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have roomd export ledger entries with proofs under a fresh checkpoint.",
            discussion: """
                roomd writes the export below its state folder (it may write nowhere else) and
                roomctl prints the folder; --out copies it. Check it with `roomctl ledger verify`.
                """)

        @OptionGroup var socket: AdminSocketOptions

        @Option(name: .customLong("from"), help: "First entry (seq) to export.")
        var from = 0

        @Option(help: "Copy the export to this new folder.")
        var out: String?

        @Flag(help: """
            Export entries that hold an ID number (written by an older roomd) in full. \
            Without it they are withheld: their seq and leaf hash are exported and proven, not their content.
            """)
        var includePersonal = false

        func run() async throws {
            let query = "from=\(from)" + (includePersonal ? "&include_personal=1" : "")
            let path = try await AdminClient(socketPath: try socket.resolve()).post("/v1/ledger/export?\(query)", as: LedgerExportAnswer.self).path
            if let out {
                try FileManager.default.copyItem(atPath: path, toPath: out)
                print(out)
            } else {
                print(path)
            }
        }
    }
}
