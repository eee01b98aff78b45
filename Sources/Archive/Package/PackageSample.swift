public import Foundation
public import Identity
import Canonical
import GRDB

extension Bag {
    /// Writes the tag files of a bag whose payload is in place — bagit.txt,
    /// bag-info.txt, manifest-sha256.txt (from `files`, hashes already known),
    /// tagmanifest-sha256.txt — and the seal over the tag manifest (and its
    /// timestamp, when given). Returns the tag manifest's bytes. Blocking.
    public static func writeTagFiles(folder: String, files: [File], info: [(String, String)], sign: ([UInt8]) throws -> [UInt8],
                                     timestamp: (([UInt8]) throws -> [UInt8]?)? = nil) throws -> [UInt8] {
        let tagFiles: [(String, [UInt8])] = [
            (declarationFile, Array(declaration.utf8)),
            (infoFile, Array(Bag.info(info).utf8)),
            (manifestFile, Array(manifest(files).utf8)),
        ]
        let tagManifest = Array(manifest(tagFiles.map { file($0.0, $0.1) }).utf8)
        let signature = try sign(tagManifest)
        let stamp = try timestamp?(signature)
        for (name, bytes) in tagFiles { try SecureFile.write(bytes, to: folder + "/" + name, mode: 0o644) }
        try SecureFile.write(tagManifest, to: folder + "/" + tagManifestFile, mode: 0o644)
        try SecureFile.write(signature, to: folder + "/" + signatureFile, mode: 0o644)
        if let stamp { try SecureFile.write(stamp, to: folder + "/" + timestampFile, mode: 0o644) }
        return tagManifest
    }
}

/// A small package made without a room (`roomctl package sample`): for a
/// platform to try its receiving and verification before a room delivers, and
/// for tests of delivery. It is sealed exactly like a room's package — a
/// payload, a ledger of its own (one entry per payload file, a signed
/// checkpoint, inclusion proofs), manifests, the CMS seal — with bag-info
/// saying `Roomd-Sample: yes`.
public enum PackageSample {
    public static func make(folder: String, room: String, session: String, payload: [(path: String, bytes: [UInt8])],
                            key: PrivateKey, certificate: Certificate, now: Date = Date()) throws {
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        var files: [Bag.File] = []
        let database = try DatabaseQueue()
        try LedgerSchema.migrator().migrate(database)
        let ledger = try Ledger(database: database, requireDurable: false)
        let nanoseconds = Int64(now.timeIntervalSince1970 * 1e9)
        for item in payload {
            let path = "data/" + item.path
            try FileManager.default.createDirectory(atPath: ((folder + "/" + path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try SecureFile.write(item.bytes, to: folder + "/" + path, mode: 0o644)
            let file = Bag.file(path, item.bytes)
            files.append(file)
            _ = try ledger.append(LedgerDraft(time: nanoseconds, kind: "sample.file", actor: "roomctl", payload: .object([
                "detail": .object(["path": .string(path), "sha256": .string(file.sha256)]),
            ])))
        }
        let roomKey = try RoomSigningKey(privateKey: key)
        let origin = "roomd/\(room)"
        let checkpoint = try ledger.makeCheckpoint(origin: origin, keyName: origin, key: roomKey, now: nanoseconds)
        let ledgerFolder = folder + "/data/ledger"
        try ledger.export(firstSeq: 0, checkpoint: checkpoint.checkpoint, to: URL(fileURLWithPath: ledgerFolder), keyName: origin,
                          key: roomKey, certificatePEM: Data(try certificate.pem()))
        for name in try FileManager.default.contentsOfDirectory(atPath: ledgerFolder).sorted() {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: ledgerFolder + "/" + name)))
            files.append(Bag.file("data/ledger/" + name, bytes))
        }
        let stamp = ISO8601DateFormatter().string(from: now)
        _ = try Bag.writeTagFiles(folder: folder, files: files, info: [
            ("Source-Organization", "roomd sample"), ("External-Identifier", "\(room)_\(session)"),
            ("Bagging-Date", String(stamp.prefix(10))), ("Payload-Oxum", Bag.oxum(files)),
            ("Roomd-Room", room), ("Roomd-Session", session), ("Roomd-Sample", "yes"), ("Roomd-Sealed-At", stamp),
        ], sign: { try SealSigner.sign(content: $0, key: key, certificate: certificate, signingTime: now) })
    }
}
