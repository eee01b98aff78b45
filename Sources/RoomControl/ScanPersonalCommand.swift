import ArgumentParser
import Archive
import Foundation
import Identity
import RoomConfig

extension LedgerCommand {
    /// `roomctl ledger scan-personal`: finds resident ID numbers an older roomd
    /// wrote into the audit ledger (through certificate subjects in refusal
    /// texts). The ledger cannot be edited; docs/operations.md says what to do.
    struct ScanPersonal: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scan-personal",
            abstract: "Find experts' ID numbers in the audit ledger (个人信息检查).",
            discussion: """
                Reads the room's database (read-only; roomd may keep running) or an exported
                ledger folder, and lists every entry holding a resident ID number — as text, hex
                or base64 — by seq, kind and field, showing only the last four characters.
                Exit status: 0 none found, 1 found.
                """)

        @Option(help: "The room's SQLite database (default: from --config).")
        var db: String?

        @Option(help: "An exported ledger folder (entries.jsonl) instead of the database.")
        var export: String?

        @Option(help: "roomd's configuration, to find the database.")
        var config: String = AdminSocketOptions.defaultConfig

        @Flag(help: "Print JSON for scripts.")
        var json = false

        struct Finding: Codable {
            var seq: Int
            var time: String
            var kind: String
            var field: String
            var encoding: String
            var idNumber: String
        }

        struct Report: Codable {
            var source: String
            var entriesScanned: Int
            var findings: [Finding]
        }

        func run() throws {
            var scanned = 0
            var findings: [LedgerPersonalFinding] = []
            let source: String
            func check(_ bytes: some Collection<UInt8>) throws {
                scanned += 1
                guard let entry = try? LedgerEntry(canonical: bytes) else { return }
                findings += entry.personalData
            }
            if let export {
                source = export
                let data = try Data(contentsOf: URL(fileURLWithPath: export).appendingPathComponent(LedgerExportFile.entries))
                for line in data.split(separator: 0x0A) { try check(line) }
            } else {
                let path = try db ?? ConfigLoader.load(path: config).storage.databasePath
                source = path
                let ledger = try Ledger.openReadOnly(path: path)
                let size = try ledger.treeHead().size
                var from = 0
                while from < size {
                    let to = min(size, from + 10_000)
                    for bytes in try ledger.entryBytes(from..<to) { try check(bytes) }
                    from = to
                }
            }
            let rows = findings.map {
                Finding(seq: $0.seq, time: Text.iso8601(nanoseconds: $0.time), kind: $0.kind, field: $0.field,
                        encoding: $0.occurrence.encoding.rawValue, idNumber: $0.occurrence.redacted)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(Report(source: source, entriesScanned: scanned, findings: rows)))
                print()
            } else {
                print("scanned \(scanned) ledger entries in \(source)")
                if rows.isEmpty {
                    print("OK: no ID number in the ledger (账本中未发现身份证号)")
                } else {
                    print(StatusTable.table(header: ["SEQ", "TIME", "KIND", "FIELD", "AS", "ID NUMBER"],
                                rows: rows.map { [String($0.seq), $0.time, $0.kind, $0.field, $0.encoding, $0.idNumber] }))
                    let entries = Set(rows.map(\.seq)).count
                    print("""
                        FOUND: \(rows.count) ID number(s) in \(entries) entr\(entries == 1 ? "y" : "ies") (账本中发现身份证号).
                        The ledger is append-only and cannot be edited. Exports withhold these entries
                        (their seq and leaf hash stay proven) unless --include-personal is given;
                        see docs/operations.md, "Personal data in the ledger".
                        账本不可修改：导出时这些条目仅保留序号与哈希，详见运维文档“账本中的个人信息”。
                        """)
                }
            }
            if !rows.isEmpty { throw ExitCode(1) }
        }
    }
}
