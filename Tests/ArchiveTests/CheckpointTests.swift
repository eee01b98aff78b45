import Archive
import Foundation
import Identity
import Testing

@Suite("Signed checkpoints")
struct CheckpointTests {
    @Test(arguments: RoomKeyAlgorithm.allCases)
    func checkpointIsSignedWithTheRoomKeyAndVerifies(_ algorithm: RoomKeyAlgorithm) throws {
        let room = try TestRoomKey(algorithm)
        #expect(room.key.algorithm == algorithm)
        #expect(room.verificationKey.algorithm == algorithm)
        let t = try TestLedger()
        let head = try t.fill(1234)
        let stored = try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room-A-101", key: room.key, now: 99)
        let checkpoint = stored.checkpoint
        #expect(checkpoint.treeHead == head)
        #expect(checkpoint.text.hasPrefix("\(testOrigin)\n1234\n\(head.root.base64)\n\n\u{2014} room-A-101 "))
        #expect(checkpoint.isSigned(by: room.verificationKey))
        #expect(checkpoint.isSigned(by: room.verificationKey, keyName: "room-A-101"))
        #expect(!checkpoint.isSigned(by: room.verificationKey, keyName: "other"))
        let parsed = try SignedCheckpoint(parsing: checkpoint.text)
        #expect(parsed == checkpoint)
        #expect(try t.ledger.latestCheckpoint() == stored)
    }

    @Test(arguments: RoomKeyAlgorithm.allCases)
    func signaturesVerifyWithTheOpenSSLCommandLine(_ algorithm: RoomKeyAlgorithm) throws {
        // An independent verifier: the note body and signature checked by `openssl`.
        let room = try TestRoomKey(algorithm)
        let t = try TestLedger()
        let head = try t.fill(5)
        let checkpoint = try SignedCheckpoint.sign(origin: testOrigin, treeHead: head, keyName: "room", key: room.key)
        let body = room.directory.appendingPathComponent("body")
        let signature = room.directory.appendingPathComponent("sig")
        try Data(checkpoint.body.utf8).write(to: body)
        try checkpoint.signatures[0].signature.write(to: signature)
        let args: [String] = switch algorithm {
        case .ecdsaP256SHA256:
            ["openssl", "dgst", "-sha256", "-verify", room.certificatePath.replacingOccurrences(of: ".crt", with: ".pub"),
             "-signature", signature.path, body.path]
        case .sm2SM3:
            ["openssl", "pkeyutl", "-verify", "-certin", "-inkey", room.certificatePath, "-rawin", "-digest", "sm3",
             "-pkeyopt", "distid:1234567812345678", "-in", body.path, "-sigfile", signature.path]
        }
        if algorithm == .ecdsaP256SHA256 {
            try runTool(["openssl", "x509", "-in", room.certificatePath, "-pubkey", "-noout", "-out",
                         room.certificatePath.replacingOccurrences(of: ".crt", with: ".pub")])
        }
        let result = try runTool(args)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("Verified OK") || result.stdout.contains("Signature Verified Successfully"))
    }

    @Test(arguments: RoomKeyAlgorithm.allCases)
    func tamperedCheckpointsAreRejected(_ algorithm: RoomKeyAlgorithm) throws {
        let room = try TestRoomKey(algorithm)
        let other = try TestRoomKey(algorithm)
        let t = try TestLedger()
        try t.fill(50)
        let good = try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 1).checkpoint
        let lines = good.text.components(separatedBy: "\n")
        func variant(_ change: (inout [String]) -> Void) -> String {
            var copy = lines
            change(&copy)
            return copy.joined(separator: "\n")
        }
        let tampered = [
            variant { $0[0] = "roomd.test/room/B-202" },  // another room's origin
            variant { $0[1] = "49" },  // size rolled back
            variant { $0[2] = try! t.ledger.rootHash(size: 49).base64 },  // another root
        ]
        for text in tampered {
            let parsed = try SignedCheckpoint(parsing: text)
            #expect(!parsed.isSigned(by: room.verificationKey), "accepted: \(text)")
        }
        // A flipped signature bit, and a genuine signature checked against another key.
        var sigLine = Array(lines[4].utf8)
        let last = sigLine.count - 3
        sigLine[last] = sigLine[last] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let flipped = variant { $0[4] = String(decoding: sigLine, as: UTF8.self) }
        if let parsed = try? SignedCheckpoint(parsing: flipped) { #expect(!parsed.isSigned(by: room.verificationKey)) }
        #expect(!good.isSigned(by: other.verificationKey))
        // Not canonical: a leading zero in the size or a missing final newline does not parse.
        #expect(throws: CheckpointError.self) { try SignedCheckpoint(parsing: variant { $0[1] = "050" }) }
        #expect(throws: CheckpointError.self) { try SignedCheckpoint(parsing: String(good.text.dropLast())) }
    }

    @Test func theSchedulerCanTellWhetherANewCheckpointIsDue() throws {
        let room = try TestRoomKey(.ecdsaP256SHA256)
        let t = try TestLedger()
        #expect(try t.ledger.hasUncheckpointedEntries(), "no checkpoint yet")
        try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 1)
        #expect(try !t.ledger.hasUncheckpointedEntries())
        try t.fill(3)
        #expect(try t.ledger.hasUncheckpointedEntries())
        let second = try t.ledger.makeCheckpoint(origin: testOrigin, keyName: "room", key: room.key, now: 2)
        #expect(second.checkpoint.size == 3)
        #expect(try !t.ledger.hasUncheckpointedEntries())
        #expect(try t.ledger.checkpoints(treeSizes: 0...3).map(\.checkpoint.size) == [0, 3])
    }

    @Test func aKeyIdentityAlreadyHoldsCanSignCheckpoints() throws {
        let shared = try RoomSigningKey(privateKey: try PrivateKey.generateP256())
        #expect(shared.algorithm == .ecdsaP256SHA256)
        let head = TreeHead(size: 1, root: .leaf(Array("{}".utf8)))
        let checkpoint = try SignedCheckpoint.sign(origin: testOrigin, treeHead: head, keyName: "room", key: shared)
        #expect(checkpoint.isSigned(by: shared.publicKey))
    }

    @Test func aKeyThatIsNeitherP256NorSM2IsRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p384.key").path
        try runTool(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path])
        #expect(throws: RoomKeyError.self) { try RoomSigningKey(pemFile: URL(fileURLWithPath: path)) }
    }
}
