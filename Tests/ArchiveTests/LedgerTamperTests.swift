import Archive
import Foundation
import Identity
import Testing

/// The tamper matrix: an exported ledger is changed the ways an adversary
/// holding the export (or the room's database) could, and offline verification
/// must name each change.
@Suite("Ledger export tamper matrix")
struct LedgerTamperTests {
    let room: TestRoomKey
    let t: TestLedger
    let checkpoint: SignedCheckpoint

    init() throws {
        room = try TestRoomKey(.ecdsaP256SHA256)
        t = try TestLedger()
        try t.fill(100)
        checkpoint = try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 1).checkpoint
    }

    func export(from first: Int = 0, ledger: TestLedger? = nil, checkpoint: SignedCheckpoint? = nil) throws -> URL {
        let source = ledger ?? t
        let dir = source.directory.appendingPathComponent("export-\(UUID().uuidString)")
        try source.ledger.export(
            firstSeq: first, checkpoint: checkpoint ?? self.checkpoint, to: dir, keyName: "room", key: room.key,
            certificatePEM: room.certificatePEM)
        return dir
    }

    func editLines(_ dir: URL, _ change: (inout [String]) -> Void) throws {
        let file = dir.appendingPathComponent(LedgerExportFile.entries)
        var lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
        #expect(lines.removeLast() == "")
        change(&lines)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
    }

    func verify(_ dir: URL, checkpoints: [SignedCheckpoint] = [], proofs: [ConsistencyProof] = []) throws -> LedgerVerificationReport {
        try LedgerExportVerifier.verify(
            directory: dir, trustedKey: room.verificationKey, checkpoints: checkpoints, consistencyProofs: proofs)
    }

    func kinds(_ report: LedgerVerificationReport) -> [LedgerFinding.Kind] { report.findings.map(\.kind) }

    @Test func anUntouchedExportVerifies() throws {
        for first in [0, 1, 37, 99] {
            let report = try verify(try export(from: first))
            #expect(report.isIntact, "\(report.findings)")
            #expect(report.verifiedEntries == 100 - first)
            #expect(report.firstSeq == first)
        }
        // Without a pinned key the export's own certificate is used, and the report says so.
        let unpinned = try LedgerExportVerifier.verify(directory: try export())
        #expect(unpinned.isIntact)
        #expect(unpinned.notes.contains { $0.contains("--cert") })
    }

    @Test func anExportSignedWithAnSM2RoomKeyVerifiesAndStillCatchesEdits() throws {
        let sm2 = try TestRoomKey(.sm2SM3)
        let ledger = try TestLedger()
        try ledger.fill(40)
        let head = try ledger.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: sm2.key, now: 1).checkpoint
        let dir = ledger.directory.appendingPathComponent("export-sm2")
        try ledger.ledger.export(
            firstSeq: 0, checkpoint: head, to: dir, keyName: "room", key: sm2.key, certificatePEM: sm2.certificatePEM)
        let manifest = try String(contentsOf: dir.appendingPathComponent(LedgerExportFile.proofs), encoding: .utf8)
        #expect(manifest.contains("\"algorithm\":\"sm2-sm3\""))
        #expect(try LedgerExportVerifier.verify(directory: dir, trustedKey: sm2.verificationKey).isIntact)
        try editLines(dir) { $0[7] = $0[7].replacingOccurrences(of: "\"i\":7", with: "\"i\":8") }
        let report = try LedgerExportVerifier.verify(directory: dir, trustedKey: sm2.verificationKey)
        #expect(kinds(report) == [.edited], "\(report.findings)")
    }

    @Test func anEditedEntryIsNamed() throws {
        let dir = try export(from: 10)
        try editLines(dir) { $0[5] = $0[5].replacingOccurrences(of: "\"tag\":\"a\"", with: "\"tag\":\"x\"") }
        let report = try verify(dir)
        #expect(kinds(report) == [.edited], "\(report.findings)")
        #expect(report.findings[0].message.hasPrefix("line 6 (seq 15): entry does not match the checkpointed tree"))
        #expect(report.verifiedEntries == 89)
    }

    @Test func aReformattedEntryCountsAsEdited() throws {
        // Same JSON value, different bytes: the hash covers bytes, so this is an edit.
        let dir = try export()
        try editLines(dir) { $0[3] = $0[3].replacingOccurrences(of: "\"kind\":", with: "\"kind\": ") }
        let report = try verify(dir)
        #expect(kinds(report) == [.edited], "\(report.findings)")
        #expect(report.findings[0].message.contains("seq 3"))
    }

    @Test func aDeletedEntryIsNamed() throws {
        let dir = try export()
        try editLines(dir) { $0.remove(at: 30) }
        let report = try verify(dir)
        #expect(kinds(report) == [.deleted], "\(report.findings)")
        #expect(report.findings[0].message == "entry seq 30 is missing (条目被删除)")
    }

    @Test func reorderedEntriesAreNamed() throws {
        let dir = try export()
        try editLines(dir) { $0.swapAt(20, 21) }
        let report = try verify(dir)
        #expect(kinds(report) == [.reordered], "\(report.findings)")
        #expect(report.findings[0].message.hasPrefix("line 22 holds entry seq 20 after seq 21"))
    }

    @Test func truncationIsNamed() throws {
        let dir = try export()
        try editLines(dir) { $0.removeLast(5) }
        let report = try verify(dir)
        #expect(kinds(report) == [.truncated], "\(report.findings)")
        #expect(report.findings[0].message.hasPrefix("entries seq 95...99 are missing at the end"))
    }

    @Test func truncationWithARewrittenCheckpointFailsItsSignature() throws {
        // Cutting the tail and rewriting checkpoint.txt to the shorter tree needs the room key.
        let dir = try export()
        try editLines(dir) { $0.removeLast(5) }
        let forged = checkpoint.text
            .replacingOccurrences(of: "\n100\n", with: "\n95\n")
            .replacingOccurrences(of: checkpoint.root.base64, with: try t.ledger.rootHash(size: 95).base64)
        try Data(forged.utf8).write(to: dir.appendingPathComponent(LedgerExportFile.checkpoint))
        let report = try verify(dir)
        #expect(kinds(report) == [.badSignature], "\(report.findings)")
    }

    @Test func narrowingTheManifestFailsItsSignature() throws {
        let dir = try export()
        try editLines(dir) { $0.removeFirst(10) }
        let file = dir.appendingPathComponent(LedgerExportFile.proofs)
        var manifest = try String(contentsOf: file, encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "\"first_seq\":0", with: "\"first_seq\":10")
            .replacingOccurrences(of: "\"count\":100", with: "\"count\":90")
        try Data(manifest.utf8).write(to: file)
        let report = try verify(dir)
        #expect(kinds(report) == [.badSignature], "\(report.findings)")
        #expect(report.findings[0].message.contains("proofs.json"))
    }

    @Test func anExportSignedByAnotherKeyIsRejectedWhenTheKeyIsPinned() throws {
        let other = try TestRoomKey(.ecdsaP256SHA256)
        let report = try LedgerExportVerifier.verify(directory: try export(), trustedKey: other.verificationKey)
        #expect(kinds(report) == [.badSignature])
    }

    /// A second history with the same origin and key: the room's database was
    /// rebuilt after a checkpoint had already reached the platform.
    func forkedLedger(sharedPrefix: Int, total: Int, checkpointsAt: [Int]) throws -> (TestLedger, [SignedCheckpoint]) {
        let fork = try TestLedger()
        var made: [SignedCheckpoint] = []
        for size in checkpointsAt + [total] {
            let have = try fork.ledger.treeHead().size
            let shared = max(0, min(size, sharedPrefix) - have)
            try fork.fill(shared)
            try fork.fill(size - have - shared, tag: "forged")
            made.append(try fork.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 2).checkpoint)
        }
        return (fork, made)
    }

    @Test func aForkAgainstAnIndependentCheckpointOfTheSameSizeIsNamed() throws {
        let (fork, made) = try forkedLedger(sharedPrefix: 60, total: 100, checkpointsAt: [])
        let dir = try export(ledger: fork, checkpoint: made.last)
        #expect(try verify(dir).isIntact, "the forged export is self-consistent")
        let report = try verify(dir, checkpoints: [checkpoint])
        #expect(kinds(report) == [.forked], "\(report.findings)")
        #expect(report.findings[0].message.contains("independent checkpoint of size 100"))
    }

    @Test func aForkAgainstAnOlderIndependentCheckpointIsNamed() throws {
        // The platform holds the honest checkpoint at 70; the forged history also
        // checkpointed 70 entries, with a different root.
        let honest70 = try SignedCheckpoint.sign(
            origin: testOrigin, treeHead: TreeHead(size: 70, root: try t.ledger.rootHash(size: 70)), keyName: "room", key: room.key)
        let (fork, made) = try forkedLedger(sharedPrefix: 60, total: 120, checkpointsAt: [70])
        let dir = try export(from: 50, ledger: fork, checkpoint: made.last)
        let report = try verify(dir, checkpoints: [honest70])
        #expect(kinds(report) == [.forked], "\(report.findings)")
        #expect(report.findings[0].message.contains("size 70"))
        // A full export (from seq 0) needs no stored checkpoint of that size: the root is recomputed.
        let (fork3, made3) = try forkedLedger(sharedPrefix: 60, total: 120, checkpointsAt: [])
        let full = try verify(try export(ledger: fork3, checkpoint: made3.last), checkpoints: [honest70])
        #expect(kinds(full) == [.forked], "\(full.findings)")
        #expect(try verify(try export(), checkpoints: [honest70]).isIntact)
        // An honest checkpoint before the fork point is consistent and passes.
        let honest55 = try SignedCheckpoint.sign(
            origin: testOrigin, treeHead: TreeHead(size: 55, root: try t.ledger.rootHash(size: 55)), keyName: "room", key: room.key)
        let (fork2, made2) = try forkedLedger(sharedPrefix: 60, total: 120, checkpointsAt: [55])
        #expect(try verify(try export(from: 50, ledger: fork2, checkpoint: made2.last), checkpoints: [honest55]).isIntact)
    }

    @Test func aForkAgainstANewerIndependentCheckpointIsNamedGivenAConsistencyProof() throws {
        // Export from the forged history at 80; the platform later received the honest
        // checkpoint at 100 and the honest room's proof 80 → 100.
        let (fork, made) = try forkedLedger(sharedPrefix: 60, total: 80, checkpointsAt: [])
        let dir = try export(ledger: fork, checkpoint: made.last)
        let honestProof = try t.ledger.consistencyProof(oldSize: 80, newSize: 100)
        let report = try verify(dir, checkpoints: [checkpoint], proofs: [honestProof])
        #expect(kinds(report) == [.forked], "\(report.findings)")
        // The same without the forgery passes.
        let honestExport = try export(checkpoint: try SignedCheckpoint.sign(
            origin: testOrigin, treeHead: TreeHead(size: 80, root: try t.ledger.rootHash(size: 80)), keyName: "room", key: room.key))
        #expect(try verify(honestExport, checkpoints: [checkpoint], proofs: [honestProof]).isIntact)
        // Without a proof the verifier says what it needs instead of guessing.
        let undecided = try verify(dir, checkpoints: [checkpoint])
        #expect(kinds(undecided) == [.unverifiable])
        #expect(!undecided.isTampered)
    }

    @Test func twoIndependentCheckpointsWithDifferentRootsForOneSizeAreAFork() throws {
        let (_, made) = try forkedLedger(sharedPrefix: 10, total: 100, checkpointsAt: [])
        let report = try verify(try export(), checkpoints: [checkpoint, made[0]])
        #expect(kinds(report).filter { $0 == .forked }.count == 2, "\(report.findings)")
        #expect(report.findings.contains { $0.message.hasPrefix("two independent checkpoints of size 100") })
    }
}
