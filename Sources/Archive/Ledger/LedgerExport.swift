public import Canonical
public import Foundation
public import Identity
internal import GRDB

/// File names of an exported ledger folder (docs/formats.md, "Audit ledger").
/// In a sealed package this folder is `data/ledger`.
public enum LedgerExportFile {
    public static let entries = "entries.jsonl"
    public static let checkpoint = "checkpoint.txt"
    public static let proofs = "proofs.json"
    public static let proofsSignature = "proofs.json.sig"
    public static let certificate = "room-cert.pem"
    public static let format = "roomd-ledger-export/1"
}

extension InclusionProof {
    /// `{"leaf_index":…,"path":[base64…],"tree_size":…}`
    public var json: CanonicalJSON {
        ["leaf_index": .integer(Int64(leafIndex)), "tree_size": .integer(Int64(treeSize)),
         "path": .array(path.map { .string($0.base64) })]
    }
}

extension ConsistencyProof {
    /// `{"new_size":…,"old_size":…,"path":[base64…]}`
    public var json: CanonicalJSON {
        ["old_size": .integer(Int64(oldSize)), "new_size": .integer(Int64(newSize)),
         "path": .array(path.map { .string($0.base64) })]
    }

    public init(json: CanonicalJSON) throws {
        guard let old = json["old_size"]?.integerValue, let new = json["new_size"]?.integerValue,
            let path = try json["path"].map(Self.hashes)
        else { throw LedgerExportError.malformed("a consistency proof needs old_size, new_size and path") }
        self.init(oldSize: Int(old), newSize: Int(new), path: path)
    }

    static func hashes(_ value: CanonicalJSON) throws -> [MerkleHash] {
        guard let items = value.arrayValue else { throw LedgerExportError.malformed("proof path is not an array") }
        return try items.map { item in
            guard let text = item.stringValue, let hash = MerkleHash(base64: text) else {
                throw LedgerExportError.malformed("proof path element is not a base64 SHA-256 hash")
            }
            return hash
        }
    }
}

public enum LedgerExportError: Error, CustomStringConvertible, Sendable, Equatable {
    case malformed(String)
    case checkpointMismatch(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed ledger export: \(why)"
        case .checkpointMismatch(let why): "cannot export: \(why)"
        }
    }
}

/// A detached signature of a file, written in signed-note style so one parser
/// serves both: "— <key name> <base64(key ID || signature)>\n".
enum LedgerManifestSignature {
    static func make(_ data: Data, keyName: String, key: RoomSigningKey) throws -> String {
        NoteSignature(name: keyName, keyID: SignedCheckpoint.keyID(for: key.publicKey), signature: try key.sign(data)).line
    }

    static func verify(_ text: String, data: Data, key: RoomVerificationKey) -> Bool {
        let id = SignedCheckpoint.keyID(for: key)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", let blob = Data(base64Encoded: String(parts[2])), blob.count > 4
            else { continue }
            if Data(blob.prefix(4)) == id && key.verify(signature: Data(blob.dropFirst(4)), for: data) { return true }
        }
        return false
    }
}

extension Ledger {
    /// Exports entries `[firstSeq, checkpoint.size)` with an inclusion proof for
    /// each at the checkpoint's size, the checkpoint, the stored checkpoints
    /// from the export's window with consistency proofs to it, and the room
    /// certificate. The range always ends at the checkpoint so that a
    /// truncated export is detectable from the checkpoint alone; the manifest
    /// (proofs.json) is signed so its range claim cannot be narrowed.
    ///
    /// `directory` is created and must not exist yet. Everything is read in one
    /// transaction, so the export is a consistent snapshot.
    ///
    /// With `withholdPersonalData`, an entry holding a resident ID number (one
    /// an older roomd wrote; ``LedgerPersonalFinding``) is written as a
    /// ``WithheldEntry`` line — its seq and leaf hash — and listed in the signed
    /// manifest's `withheld`: its place in the tree is still proven, its
    /// content does not leave the room.
    public func export(
        firstSeq: Int, checkpoint: SignedCheckpoint, to directory: URL,
        keyName: String, key: RoomSigningKey, certificatePEM: Data?, withholdPersonalData: Bool = false
    ) throws {
        let size = checkpoint.size
        guard firstSeq >= 0, firstSeq < size else {
            throw LedgerExportError.checkpointMismatch("first entry \(firstSeq) is not below the checkpoint size \(size)")
        }
        guard checkpoint.isSigned(by: key.publicKey, keyName: keyName) else {
            throw LedgerExportError.checkpointMismatch("the checkpoint is not signed by this room key")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        try database.read { db in
            let root = Ledger.fold(try Ledger.peaks(db, size: size))
            guard root == checkpoint.root else {
                throw LedgerExportError.checkpointMismatch("the checkpoint's root is not this ledger's root at size \(size)")
            }
            guard FileManager.default.createFile(
                atPath: directory.appendingPathComponent(LedgerExportFile.entries).path, contents: nil)
            else { throw LedgerExportError.malformed("cannot create \(LedgerExportFile.entries) in \(directory.path)") }
            let out = try FileHandle(forWritingTo: directory.appendingPathComponent(LedgerExportFile.entries))
            defer { try? out.close() }
            var inclusion: [CanonicalJSON] = []
            var buffer = Data()
            let cursor = try Data.fetchCursor(
                db, sql: "SELECT entry FROM ledger_entry WHERE seq >= ? AND seq < ? ORDER BY seq", arguments: [firstSeq, size])
            var reader = SubtreeReader(db: db)
            var seq = firstSeq
            var withheld: [CanonicalJSON] = []
            while let bytes = try cursor.next() {
                if withholdPersonalData, LedgerEntry.mayHoldPersonalData(Array(bytes)),
                   !(try LedgerEntry(canonical: bytes)).personalData.isEmpty {
                    buffer.append(contentsOf: try WithheldEntry.line(seq: seq, leafHash: .leaf(bytes)))
                    withheld.append(.integer(Int64(seq)))
                } else {
                    buffer.append(bytes)
                }
                buffer.append(0x0A)
                if buffer.count > 1 << 20 {
                    try out.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
                let path = try RFC9162.inclusionPath(index: seq, size: size) { lo, hi in try reader.hash(lo, hi) }
                inclusion.append(.array(path.map { .string($0.base64) }))
                seq += 1
            }
            try out.write(contentsOf: buffer)
            try out.synchronize()
            guard seq == size else { throw LedgerError.corrupt("entries \(seq)..<\(size) are missing") }

            // The window's checkpoints: the last one before the range and all inside it.
            let before = try Ledger.checkpoints(
                db, sql: """
                    SELECT id, created_ns, note FROM ledger_checkpoint
                    WHERE tree_size > 0 AND tree_size <= ? ORDER BY tree_size DESC, id DESC LIMIT 1
                    """, arguments: [firstSeq])
            let inside = try Ledger.checkpoints(
                db, sql: "SELECT id, created_ns, note FROM ledger_checkpoint WHERE tree_size > ? AND tree_size <= ? ORDER BY id",
                arguments: [firstSeq, size])
            var history: [CanonicalJSON] = []
            for stored in before + inside {
                let old = stored.checkpoint
                let path = try RFC9162.consistencyPath(oldSize: old.size, newSize: size) { lo, hi in try reader.hash(lo, hi) }
                history.append(["checkpoint": .string(old.text), "consistency": .array(path.map { .string($0.base64) })])
            }
            var members: [String: CanonicalJSON] = [
                "format": .string(LedgerExportFile.format),
                "origin": .string(checkpoint.origin),
                "key_name": .string(keyName),
                "algorithm": .string(key.algorithm.rawValue),
                "tree_size": .integer(Int64(size)),
                "root": .string(checkpoint.root.base64),
                "first_seq": .integer(Int64(firstSeq)),
                "count": .integer(Int64(size - firstSeq)),
                "inclusion": .array(inclusion),
                "history": .array(history),
            ]
            if !withheld.isEmpty { members["withheld"] = .array(withheld) }
            let manifest = CanonicalJSON.object(members)
            let manifestBytes = try manifest.canonicalData()
            try manifestBytes.write(to: directory.appendingPathComponent(LedgerExportFile.proofs))
            try Data(LedgerManifestSignature.make(manifestBytes, keyName: keyName, key: key).utf8)
                .write(to: directory.appendingPathComponent(LedgerExportFile.proofsSignature))
            try Data(checkpoint.text.utf8).write(to: directory.appendingPathComponent(LedgerExportFile.checkpoint))
            if let certificatePEM {
                try certificatePEM.write(to: directory.appendingPathComponent(LedgerExportFile.certificate))
            }
        }
    }
}
