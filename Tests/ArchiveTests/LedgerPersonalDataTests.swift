import Archive
import Foundation
import Identity
import Testing

/// A ledger written by an older roomd may hold experts' ID numbers (from
/// certificate subjects in refusal texts). It cannot be edited; exports
/// withhold such entries — seq and leaf hash only — and still prove them.
@Suite("Ledger entries with personal data")
struct LedgerPersonalDataTests {
    let room: TestRoomKey
    let t: TestLedger
    /// Seqs of the entries that carry a number, as an older roomd wrote them.
    let personal: [Int]

    static let number = "11010519491231002X"

    init() throws {
        room = try TestRoomKey(.ecdsaP256SHA256)
        t = try TestLedger()
        try t.fill(10)
        let hexDER = ([0x0C, 18] + Array(Self.number.utf8)).map { String(format: "%02X", $0) }.joined()
        let legacy = [
            LedgerDraft(time: 1, kind: "session.signature-rejected", actor: "station S01", payload: [
                "detail": ["detail": .string("certificate CN=张三,serialNumber=\(Self.number) expired at 2021-01-01"), "reason": "certificate-expired"],
            ]),
            LedgerDraft(time: 2, kind: "session.checkin", actor: "station S02", payload: [
                "detail": ["detail": .string("signed by C=CN,1.2.156.10260.4.1.1=#\(hexDER),CN=冯二 (sm2) as roster entry E01")],
            ]),
        ]
        _ = try t.ledger.append(legacy)
        personal = [10, 11]
        try t.fill(5, tag: "b")
    }

    func export(withhold: Bool) throws -> URL {
        let checkpoint = try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 1).checkpoint
        let dir = t.directory.appendingPathComponent("export-\(UUID().uuidString)")
        try t.ledger.export(firstSeq: 0, checkpoint: checkpoint, to: dir, keyName: "room", key: room.key,
                            certificatePEM: room.certificatePEM, withholdPersonalData: withhold)
        return dir
    }

    func verify(_ dir: URL) throws -> LedgerVerificationReport {
        try LedgerExportVerifier.verify(directory: dir, trustedKey: room.verificationKey)
    }

    func lines(_ dir: URL) throws -> [String] {
        try String(contentsOf: dir.appendingPathComponent(LedgerExportFile.entries), encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    @Test func theScanNamesEachEntryFieldAndEncoding() throws {
        let entries = try t.ledger.entryBytes(0..<17).map { try LedgerEntry(canonical: $0) }
        let findings = entries.flatMap(\.personalData)
        #expect(Set(findings.map(\.seq)) == Set(personal))
        #expect(findings.contains { $0.seq == 10 && $0.field == "payload.detail.detail" && $0.occurrence.encoding == .text })
        #expect(findings.contains { $0.seq == 11 && $0.occurrence.encoding == .hex && $0.occurrence.redacted == "…002X" })
    }

    @Test func aWithholdingExportCarriesNoNumberAndStillProvesEveryEntry() throws {
        let dir = try export(withhold: true)
        let report = try verify(dir)
        #expect(report.isIntact, "\(report.findings)")
        #expect(report.verifiedEntries == 17 && report.withheldEntries == 2)
        #expect(report.notes.contains { $0.contains("withheld for personal data (seq 10, 11)") })
        let text = try lines(dir)
        #expect(text[10].hasPrefix(#"{"leaf_hash":"#) && text[10].hasSuffix(#""seq":10,"withheld":"personal-data"}"#))
        for file in [LedgerExportFile.entries, LedgerExportFile.proofs] {
            let bytes = Array(try Data(contentsOf: dir.appendingPathComponent(file)))
            #expect(ResidentIDScan.occurrences(in: bytes).isEmpty, "\(file)")
        }
        // The full export still has them, and verifies too.
        let full = try export(withhold: false)
        #expect(try verify(full).isIntact && (try verify(full).withheldEntries) == 0)
        #expect(try lines(full)[10].contains(Self.number))
    }

    @Test func aForgedOrUnlistedWithheldLineIsCaught() throws {
        // A withheld line whose leaf hash was changed.
        let dir = try export(withhold: true)
        var text = try lines(dir)
        let other = MerkleHash.leaf(Array("something else".utf8)).base64
        text[10] = #"{"leaf_hash":"\#(other)","seq":10,"withheld":"personal-data"}"#
        try Data((text.joined(separator: "\n") + "\n").utf8).write(to: dir.appendingPathComponent(LedgerExportFile.entries))
        #expect(try verify(dir).findings.map(\.kind) == [.edited])

        // An ordinary entry hidden behind a withheld line the signed manifest does not list.
        let second = try export(withhold: true)
        var lines2 = try lines(second)
        let entry = try LedgerEntry(canonical: Array(lines2[3].utf8))
        lines2[3] = #"{"leaf_hash":"\#(try entry.leafHash().base64)","seq":3,"withheld":"personal-data"}"#
        try Data((lines2.joined(separator: "\n") + "\n").utf8).write(to: second.appendingPathComponent(LedgerExportFile.entries))
        #expect(try verify(second).findings.map(\.kind) == [.edited])
    }
}
