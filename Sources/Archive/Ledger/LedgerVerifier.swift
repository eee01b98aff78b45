import Canonical
public import Foundation
public import Identity

/// One thing an offline verification found wrong (or could not decide).
public struct LedgerFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case edited, deleted, reordered, truncated, duplicated, forked
        /// A signature (checkpoint or manifest) does not verify with the room key.
        case badSignature = "bad-signature"
        case malformed
        /// Not evidence of tampering: the material to decide is missing.
        case unverifiable
    }

    public let kind: Kind
    public let message: String

    public var description: String { "\(kind.rawValue.uppercased()): \(message)" }

    static func make(_ kind: Kind, _ message: String) -> LedgerFinding { LedgerFinding(kind: kind, message: message) }
}

public struct LedgerVerificationReport: Sendable {
    public let origin: String
    public let checkpoint: TreeHead
    public let firstSeq: Int
    /// Entries whose inclusion in the checkpointed tree was proven (withheld ones included).
    public let verifiedEntries: Int
    /// Of those, entries the export carries only as seq and leaf hash (personal data).
    public let withheldEntries: Int
    public let findings: [LedgerFinding]
    /// Facts the reader should know that are not failures (e.g. an unpinned key).
    public let notes: [String]

    /// True when nothing was found wrong and nothing was left undecided.
    public var isIntact: Bool { findings.isEmpty }
    /// True when something was found wrong (as opposed to only undecidable).
    public var isTampered: Bool { findings.contains { $0.kind != .unverifiable } }
}

/// Verifies an exported ledger folder offline: signatures, every entry's
/// inclusion, the range, and consistency with checkpoints obtained elsewhere
/// (from the platform or another witness). Names what it finds:
/// edited, deleted, reordered, truncated, forked.
public enum LedgerExportVerifier {
    /// - Parameters:
    ///   - trustedKey: the room key to trust. When nil the export's own
    ///     room-cert.pem is used and a note says so: such a result proves
    ///     integrity, not origin.
    ///   - checkpoints: checkpoints of the same log obtained independently.
    ///   - consistencyProofs: proofs from the export's tree size to larger
    ///     independent checkpoints (`roomctl ledger proof --from N --to M`).
    public static func verify(
        directory: URL, trustedKey: RoomVerificationKey? = nil,
        checkpoints: [SignedCheckpoint] = [], consistencyProofs: [ConsistencyProof] = []
    ) throws -> LedgerVerificationReport {
        func read(_ name: String) throws -> Data {
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw LedgerExportError.malformed("\(name) is missing from \(directory.path)")
            }
            return data
        }
        var notes: [String] = []
        let key: RoomVerificationKey
        if let trustedKey {
            key = trustedKey
        } else {
            key = try RoomVerificationKey(certificatePEM: try read(LedgerExportFile.certificate))
            notes.append("the room key was taken from the export's own \(LedgerExportFile.certificate); pass --cert to pin it")
        }
        let checkpoint = try SignedCheckpoint(parsing: String(decoding: try read(LedgerExportFile.checkpoint), as: UTF8.self))
        var report = Builder(origin: checkpoint.origin, head: checkpoint.treeHead, notes: notes)
        guard checkpoint.isSigned(by: key) else {
            report.add(.badSignature, "\(LedgerExportFile.checkpoint): signature does not verify with the room key (检查点签名无效)")
            return report.build()
        }
        let manifestBytes = try read(LedgerExportFile.proofs)
        let manifestSignature = String(decoding: try read(LedgerExportFile.proofsSignature), as: UTF8.self)
        guard LedgerManifestSignature.verify(manifestSignature, data: manifestBytes, key: key) else {
            report.add(.badSignature, "\(LedgerExportFile.proofs): signature does not verify; the export's range or proofs were altered (导出清单签名无效)")
            return report.build()
        }
        let manifest = try CanonicalJSON(parsing: manifestBytes)
        guard manifest["format"]?.stringValue == LedgerExportFile.format,
            let first = manifest["first_seq"]?.integerValue.map(Int.init),
            let count = manifest["count"]?.integerValue.map(Int.init),
            let inclusion = manifest["inclusion"]?.arrayValue, let history = manifest["history"]?.arrayValue
        else { throw LedgerExportError.malformed("\(LedgerExportFile.proofs) lacks format, first_seq, count, inclusion or history") }
        guard manifest["tree_size"]?.integerValue == Int64(checkpoint.size),
            manifest["root"]?.stringValue == checkpoint.root.base64, manifest["origin"]?.stringValue == checkpoint.origin,
            first >= 0, count >= 0, first <= checkpoint.size, count == checkpoint.size - first, inclusion.count == count
        else {
            report.add(.malformed, "\(LedgerExportFile.proofs) does not describe the range [first_seq, size) of \(LedgerExportFile.checkpoint)")
            return report.build()
        }
        report.firstSeq = first
        var withheld = Set<Int>()
        if let listed = manifest["withheld"] {
            let seqs = listed.arrayValue?.compactMap(\.integerValue) ?? []
            guard seqs.count == listed.arrayValue?.count, !seqs.isEmpty else {
                throw LedgerExportError.malformed("\(LedgerExportFile.proofs): withheld is not a list of entry numbers")
            }
            withheld = Set(seqs.map(Int.init))
            report.withheld = withheld.count
            report.notes.append("\(withheld.count) entr\(withheld.count == 1 ? "y was" : "ies were") withheld for personal data (seq \(withheld.sorted().map(String.init).joined(separator: ", "))): their place in the tree is proven, their content is not in this export (含个人信息的条目未导出内容)")
        }

        checkEntries(try read(LedgerExportFile.entries), first: first, checkpoint: checkpoint, inclusion: inclusion,
                     withheld: withheld, report: &report)
        try checkHistory(history, key: key, checkpoint: checkpoint, report: &report)
        checkIndependent(checkpoints, proofs: consistencyProofs, key: key, exported: checkpoint, history: history, report: &report)
        return report.build()
    }

    struct Builder {
        let origin: String
        let head: TreeHead
        var notes: [String]
        var firstSeq = 0
        var verified = 0
        var withheld = 0
        var findings: [LedgerFinding] = []
        /// All leaf hashes from seq 0, when the export starts at 0 and every entry was proven:
        /// then the root at any smaller size can be recomputed without a proof.
        var fullLeaves: [MerkleHash]?

        init(origin: String, head: TreeHead, notes: [String]) {
            self.origin = origin
            self.head = head
            self.notes = notes
        }

        mutating func add(_ kind: LedgerFinding.Kind, _ message: String) { findings.append(.make(kind, message)) }

        func build() -> LedgerVerificationReport {
            LedgerVerificationReport(
                origin: origin, checkpoint: head, firstSeq: firstSeq, verifiedEntries: verified, withheldEntries: withheld,
                findings: findings, notes: notes)
        }
    }

    /// Each line must be proven at the seq it claims; what is not proven is
    /// classified from the pattern: a line that fails its proof was edited, an
    /// authentic line after a higher seq was moved, a seq nobody holds was
    /// deleted, and missing seqs running to the end were truncated.
    static func checkEntries(
        _ data: Data, first: Int, checkpoint: SignedCheckpoint, inclusion: [CanonicalJSON], withheld: Set<Int> = [],
        report: inout Builder
    ) {
        let size = checkpoint.size
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() } else if !data.isEmpty {
            report.add(.malformed, "\(LedgerExportFile.entries) does not end with a newline")
        }
        var provenAt: [Int: Int] = [:]  // seq → first line proving it
        var leafBySeq: [Int: MerkleHash] = [:]
        let findingsBefore = report.findings.count
        var claimed = Set<Int>()
        var highest = -1
        var highestLine = 0
        for (offset, line) in lines.enumerated() {
            let lineNo = offset + 1
            // A withheld entry counts only where the signed manifest lists it.
            let standIn = WithheldEntry.parse(line).flatMap { withheld.contains($0.seq) ? $0 : nil }
            let claimedSeq: Int? =
                standIn?.seq
                ?? (try? LedgerEntry(canonical: line)).map(\.seq)
                ?? (try? CanonicalJSON(parsing: line))?["seq"]?.integerValue.map(Int.init)
            guard let seq = claimedSeq, seq >= first, seq < size else {
                report.add(.edited, "line \(lineNo): entry is not a canonical ledger entry of this range (条目被篡改)")
                continue
            }
            let leafHash: MerkleHash? = standIn?.leafHash ?? ((try? LedgerEntry(canonical: line)) != nil ? .leaf(line) : nil)
            let proven: Bool = {
                guard let leafHash, let path = try? ConsistencyProof.hashes(inclusion[seq - first]) else { return false }
                return RFC9162.verifyInclusion(leafHash: leafHash, index: seq, size: size, path: path, root: checkpoint.root)
            }()
            guard proven else {
                claimed.insert(seq)
                report.add(.edited, "line \(lineNo) (seq \(seq)): entry does not match the checkpointed tree; its content was changed (条目被篡改)")
                continue
            }
            if let earlier = provenAt[seq] {
                report.add(.duplicated, "line \(lineNo) repeats entry seq \(seq) from line \(earlier) (条目重复)")
                continue
            }
            provenAt[seq] = lineNo
            leafBySeq[seq] = leafHash
            report.verified += 1
            if seq < highest {
                report.add(.reordered, "line \(lineNo) holds entry seq \(seq) after seq \(highest) on line \(highestLine): entries are out of order (条目顺序被改变)")
            } else {
                highest = seq
                highestLine = lineNo
            }
        }
        if first == 0 && report.findings.count == findingsBefore && provenAt.count == size {
            report.fullLeaves = (0..<size).compactMap { leafBySeq[$0] }
        }
        // Missing seqs, as runs. A run reaching the checkpoint's last entry is a truncation.
        var seq = first
        while seq < size {
            if provenAt[seq] != nil || claimed.contains(seq) {
                seq += 1
                continue
            }
            let start = seq
            while seq < size && provenAt[seq] == nil && !claimed.contains(seq) { seq += 1 }
            let what = start == seq - 1 ? "entry seq \(start) is" : "entries seq \(start)...\(seq - 1) are"
            if seq == size {
                report.add(.truncated, "\(what) missing at the end: the export stops before the \(size) entries its checkpoint covers (账本被截断)")
            } else {
                report.add(.deleted, "\(what) missing (条目被删除)")
            }
        }
    }

    /// The export's own earlier checkpoints must all be prefixes of its checkpoint.
    static func checkHistory(
        _ history: [CanonicalJSON], key: RoomVerificationKey, checkpoint: SignedCheckpoint, report: inout Builder
    ) throws {
        for item in history {
            guard let text = item["checkpoint"]?.stringValue, let path = item["consistency"] else {
                throw LedgerExportError.malformed("history item lacks checkpoint or consistency")
            }
            let old = try SignedCheckpoint(parsing: text)
            guard old.isSigned(by: key) else {
                report.add(.badSignature, "history checkpoint of size \(old.size): signature does not verify (检查点签名无效)")
                continue
            }
            let proof = ConsistencyProof(oldSize: old.size, newSize: checkpoint.size, path: try ConsistencyProof.hashes(path))
            if old.origin != checkpoint.origin || !proof.verify(oldRoot: old.root, newRoot: checkpoint.root) {
                report.add(.forked, "the room's checkpoint of size \(old.size) (root \(old.root.base64)) is not a prefix of the exported checkpoint of size \(checkpoint.size): forked history (历史分叉)")
            }
        }
    }

    /// Independent checkpoints (platform, witnesses): a signed root for some size
    /// that disagrees with the exported history is a fork.
    static func checkIndependent(
        _ others: [SignedCheckpoint], proofs: [ConsistencyProof], key: RoomVerificationKey,
        exported: SignedCheckpoint, history: [CanonicalJSON], report: inout Builder
    ) {
        let historyCheckpoints = history.compactMap { $0["checkpoint"]?.stringValue }.compactMap { try? SignedCheckpoint(parsing: $0) }
        for other in others {
            let label = "independent checkpoint of size \(other.size)"
            guard other.isSigned(by: key) else {
                report.add(.badSignature, "\(label): signature does not verify with the room key (检查点签名无效)")
                continue
            }
            guard other.origin == exported.origin else {
                report.notes.append("\(label) is for origin \"\(other.origin)\", not \"\(exported.origin)\"; skipped")
                continue
            }
            let forked = "\(label) (root \(other.root.base64)) is not consistent with the export's checkpoint of size \(exported.size): forked history (历史分叉)"
            if other.size == exported.size {
                if other.root != exported.root { report.add(.forked, forked) }
            } else if other.size < exported.size {
                if let same = historyCheckpoints.first(where: { $0.size == other.size }) {
                    // That history checkpoint was already proven a prefix of the export.
                    if same.root != other.root { report.add(.forked, forked) }
                } else if other.size == 0 {
                    if other.root != .emptyTree { report.add(.forked, forked) }
                } else if let leaves = report.fullLeaves {
                    if RFC9162.rootHash(leaves: Array(leaves.prefix(other.size))) != other.root { report.add(.forked, forked) }
                } else {
                    report.add(.unverifiable, "\(label): the export has no checkpoint of that size to compare; run `roomctl ledger proof --from \(other.size) --to \(exported.size)` on the room and verify again with --consistency-proof")
                }
            } else {
                guard let proof = proofs.first(where: { $0.oldSize == exported.size && $0.newSize == other.size }) else {
                    report.add(.unverifiable, "\(label) is newer than the export; pass a consistency proof from \(exported.size) to \(other.size) (--consistency-proof)")
                    continue
                }
                if !proof.verify(oldRoot: exported.root, newRoot: other.root) { report.add(.forked, forked) }
            }
        }
        // Two independent checkpoints of one size with different roots are a fork whatever the export says.
        for (i, a) in others.enumerated() {
            for b in others[(i + 1)...] where a.origin == b.origin && a.size == b.size && a.root != b.root {
                if a.isSigned(by: key) && b.isSigned(by: key) {
                    report.add(.forked, "two independent checkpoints of size \(a.size) carry different roots: forked history (历史分叉)")
                }
            }
        }
    }
}
