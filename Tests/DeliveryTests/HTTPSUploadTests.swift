import Delivery
import Foundation
import Glibc
import Identity
import Testing

/// The resumable HTTPS upload end to end: ``HTTPSUploader`` against the real
/// `roomctl platform serve` (mutual TLS, on-disk receiver), with curl as an
/// independent client for the refusals.
@Suite(.serialized) struct HTTPSUploadTests {
    static let mib = 1 << 20
    static let partSize = Int64(1 << 20)

    func uploader(_ workspace: HTTPSWorkspace, _ simulator: PlatformSimulator, pki: String? = nil) throws -> HTTPSUploader {
        let identity = pki ?? workspace.pki
        return try HTTPSUploader(endpoint: simulator.base, certificate: identity + "/server.crt", key: identity + "/server.key",
                                 trustRoots: workspace.pki + "/room-ca.crt")
    }

    @Test func uploadsInPartsAndCompletesOnce() async throws {
        let workspace = try HTTPSWorkspace()
        let simulator = try PlatformSimulator(workspace: workspace)
        let tar = try workspace.makePackage("S1", payload: 3 * Self.mib + 500_000)
        let source = try fileSource(tar)
        let states = HTTPSPersistedStates()
        let paced = ReadCounter()
        let client = try HTTPSUploader(endpoint: simulator.base, certificate: workspace.pki + "/server.crt",
                                       key: workspace.pki + "/server.key", trustRoots: workspace.pki + "/room-ca.crt",
                                       pace: { _ in _ = paced.next() })
        let receipt = try await client.upload(name: "TEST-ROOM/S1.tar", source: source, state: UploadState(partSize: Self.partSize),
                                              persist: { await states.record($0) }, progress: { _, _ in })
        try await client.shutdown()
        #expect(receipt.targetReference == source.sha256)
        #expect(receipt.location.hasSuffix("/packages/TEST-ROOM/S1.tar"))
        let received = simulator.dir + "/packages/TEST-ROOM/S1.tar"
        #expect(try SHA256Hasher.file(received) == source.sha256)
        #expect(simulator.acceptedPUTs() == [1: 1, 2: 1, 3: 1, 4: 1])
        #expect(paced.next() > 4, "the pacing hook saw every chunk")
        let final = try #require(await states.last)
        #expect(final.completed && final.parts.map(\.number) == [1, 2, 3, 4] && final.bytesConfirmed == source.size)
        let receiptFile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: simulator.dir + "/packages/TEST-ROOM/S1.json"))) as? [String: Any]
        #expect(receiptFile?["sha256"] as? String == source.sha256)
        #expect((receiptFile?["verification"] as? String)?.hasPrefix("package verified") == true)

        // Idempotent: the same package again is answered "complete" without a part sent.
        let again = try uploader(workspace, simulator)
        let second = try await again.upload(name: "TEST-ROOM/S1.tar", source: source, state: UploadState(partSize: Self.partSize),
                                            persist: { _ in }, progress: { _, _ in })
        #expect(second.location == receipt.location)
        #expect(simulator.acceptedPUTs() == [1: 1, 2: 1, 3: 1, 4: 1])

        // A package never changes: the same name with other bytes is refused for good.
        let other = try fileSource(try workspace.makePackage("S1-other", payload: 200_000))
        await #expect {
            _ = try await again.upload(name: "TEST-ROOM/S1.tar", source: other, state: UploadState(partSize: Self.partSize),
                                       persist: { _ in }, progress: { _, _ in })
        } throws: { error in
            let error = error as? HTTPSUploadError
            return error?.status == 409 && error?.code == "package-conflict" && error?.isRetryable == false
        }
        // Nor may a room upload under another room's name.
        await #expect {
            _ = try await again.upload(name: "OTHER-ROOM/S1.tar", source: other, state: UploadState(partSize: Self.partSize),
                                       persist: { _ in }, progress: { _, _ in })
        } throws: { ($0 as? HTTPSUploadError)?.status == 403 }
        try await again.shutdown()
    }

    @Test func resumesAfterTheReceiverIsKilled() async throws {
        let workspace = try HTTPSWorkspace()
        let simulator = try PlatformSimulator(workspace: workspace)
        let tar = try workspace.makePackage("S2", payload: 4 * Self.mib + 123_456)
        let source = try fileSource(tar)
        let states = HTTPSPersistedStates()
        let first = try uploader(workspace, simulator)
        // kill -9 the receiver the moment two parts are confirmed.
        await #expect {
            _ = try await first.upload(name: "TEST-ROOM/S2.tar", source: source, state: UploadState(partSize: Self.partSize),
                                       persist: { state in
                                           await states.record(state)
                                           if state.parts.count == 2 { simulator.kill9() }
                                       }, progress: { _, _ in })
        } throws: { ($0 as? HTTPSUploadError)?.isRetryable == true }
        try await first.shutdown()
        let persisted = try #require(await states.last)
        #expect(persisted.uploadID != nil && persisted.parts.map(\.number) == [1, 2] && !persisted.completed)
        #expect(simulator.acceptedPUTs() == [1: 1, 2: 1])

        try simulator.start()
        // A new uploader (a restarted roomd) from the persisted state.
        let second = try uploader(workspace, simulator)
        let receipt = try await second.upload(name: "TEST-ROOM/S2.tar", source: source, state: persisted,
                                              persist: { await states.record($0) }, progress: { _, _ in })
        try await second.shutdown()
        #expect(receipt.targetReference == source.sha256)
        #expect(try SHA256Hasher.file(simulator.dir + "/packages/TEST-ROOM/S2.tar") == source.sha256)
        // The two parts acknowledged before the kill were not sent again.
        #expect(simulator.acceptedPUTs() == [1: 1, 2: 1, 3: 1, 4: 1, 5: 1])
        #expect(await states.last?.completed == true)
        #expect(await states.last?.uploadID == persisted.uploadID)
    }

    @Test func refusesTamperedAndTruncatedPartsAndKeepsNothing() async throws {
        let workspace = try HTTPSWorkspace()
        let simulator = try PlatformSimulator(workspace: workspace)
        let tar = try workspace.makePackage("S3", payload: 2 * Self.mib + 4096)
        let source = try fileSource(tar)
        let create = #"{"name":"TEST-ROOM/S3.tar","size":\#(source.size),"sha256":"\#(source.sha256)","part_size":\#(Self.partSize)}"#
        let (_, created, body) = try workspace.curl(simulator.base + "/packages/uploads", method: "POST", json: create)
        #expect(created == 201, "\(body)")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["upload_id"] as? String)

        let part1 = try await source.read(0, Int(Self.partSize))
        let partFile = workspace.path + "/part1.bin", shortFile = workspace.path + "/short.bin"
        try Data(part1).write(to: URL(fileURLWithPath: partFile))
        try Data(part1.prefix(700_000)).write(to: URL(fileURLWithPath: shortFile))
        let url = simulator.base + "/packages/uploads/\(id)/parts/1"
        func digest(_ bytes: [UInt8]) -> String { "Content-Digest: " + HTTPSUploadProtocol.contentDigest(sha256: Digest.sha256(bytes)) }

        // The bytes do not match the digest (changed on the way).
        var tampered = part1
        tampered[12345] ^= 0x01
        let (_, refused, why) = try workspace.curl(url, method: "PUT", headers: [digest(tampered)], dataFile: partFile)
        #expect(refused == 422 && why.contains("digest-mismatch"), "\(why)")
        // A body shorter than the part (its digest right for what was sent).
        let (_, short, shortWhy) = try workspace.curl(url, method: "PUT", headers: [digest(Array(part1.prefix(700_000)))], dataFile: shortFile)
        #expect(short == 422 && shortWhy.contains("size-mismatch"), "\(shortWhy)")
        // No digest at all.
        let (_, bare, _) = try workspace.curl(url, method: "PUT", dataFile: partFile)
        #expect(bare == 400)

        // Nothing was kept: the receiver holds no part and no stray file.
        let (_, _, status) = try workspace.curl(simulator.base + "/packages/uploads/\(id)", method: "GET")
        #expect(((try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any])?["parts"] as? [Any])?.isEmpty == true, "\(status)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: simulator.dir + "/uploads/\(id)") == ["state.json"])

        // Idempotent PUT: the right bytes twice are acknowledged twice, held once.
        for _ in 0..<2 {
            let (_, ok, answer) = try workspace.curl(url, method: "PUT", headers: [digest(part1)], dataFile: partFile)
            #expect(ok == 200 && answer.contains(Digest.sha256Hex(part1)), "\(answer)")
        }

        // The uploader resumes that upload: part 1 is held with the right SHA-256, parts 2 and 3 are sent.
        let client = try uploader(workspace, simulator)
        let states = HTTPSPersistedStates()
        let receipt = try await client.upload(name: "TEST-ROOM/S3.tar", source: source, state: UploadState(uploadID: id, partSize: Self.partSize),
                                              persist: { await states.record($0) }, progress: { _, _ in })
        #expect(receipt.targetReference == source.sha256)
        #expect(simulator.acceptedPUTs() == [1: 2, 2: 1, 3: 1])
        try await client.shutdown()
    }

    @Test func aPackageThatChangesWhileSentIsDiscardedAndSentAgain() async throws {
        let workspace = try HTTPSWorkspace()
        let simulator = try PlatformSimulator(workspace: workspace)
        let tar = try workspace.makePackage("S4", payload: 2 * Self.mib + 10)
        // The first read of part 2 returns other bytes than every later read:
        // each part matches its own digest, the whole does not match its SHA-256.
        let source = try fileSource(tar) { _, offset, bytes in
            guard offset == HTTPSUploadTests.partSize else { return bytes }
            return FlipOnce.shared.apply(bytes)
        }
        let states = HTTPSPersistedStates()
        let client = try uploader(workspace, simulator)
        await #expect {
            _ = try await client.upload(name: "TEST-ROOM/S4.tar", source: source, state: UploadState(partSize: Self.partSize),
                                        persist: { await states.record($0) }, progress: { _, _ in })
        } throws: { error in
            let error = error as? HTTPSUploadError
            return error?.code == "sha256-mismatch" && error?.isRetryable == true
        }
        // The state was reset; the receiver discarded the upload.
        let reset = try #require(await states.last)
        #expect(reset.uploadID == nil && reset.parts.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: simulator.dir + "/uploads").isEmpty)
        let receipt = try await client.upload(name: "TEST-ROOM/S4.tar", source: source, state: reset,
                                              persist: { await states.record($0) }, progress: { _, _ in })
        #expect(receipt.targetReference == source.sha256)
        #expect(try SHA256Hasher.file(simulator.dir + "/packages/TEST-ROOM/S4.tar") == source.sha256)
        try await client.shutdown()
    }

    @Test func aPackageThatDoesNotVerifyIsRefused() async throws {
        let workspace = try HTTPSWorkspace()
        let simulator = try PlatformSimulator(workspace: workspace)
        let source = try fileSource(try workspace.makePackage("S5", payload: 300_000, valid: false))
        let client = try uploader(workspace, simulator)
        await #expect {
            _ = try await client.upload(name: "TEST-ROOM/S5.tar", source: source, state: UploadState(partSize: Self.partSize),
                                        persist: { _ in }, progress: { _, _ in })
        } throws: { error in
            let error = error as? HTTPSUploadError
            return error?.code == "package-refused" && error?.isRetryable == false
        }
        try await client.shutdown()
        #expect(!FileManager.default.fileExists(atPath: simulator.dir + "/packages/TEST-ROOM/S5.tar"))
        let refused = try FileManager.default.contentsOfDirectory(atPath: simulator.dir + "/refused/TEST-ROOM")
        #expect(refused.contains { $0.hasSuffix(".json") } && refused.contains { $0.hasSuffix(".tar") })
    }

    @Test func aCertificateFromAnotherCAIsRefusedAtTheHandshake() async throws {
        let workspace = try HTTPSWorkspace()
        let simulator = try PlatformSimulator(workspace: workspace)
        let source = try fileSource(try workspace.makePackage("S6", payload: 100_000))
        let client = try uploader(workspace, simulator, pki: workspace.foreign)
        await #expect {
            _ = try await client.upload(name: "OTHER-ROOM/S6.tar", source: source, state: UploadState(partSize: Self.partSize),
                                        persist: { _ in }, progress: { _, _ in })
        } throws: { error in
            guard let error = error as? HTTPSUploadError, case .network = error.kind else { return false }
            return error.isRetryable
        }
        try await client.shutdown()
        // curl, independently: the handshake fails (no HTTP status at all).
        let (exit, code, _) = try workspace.curl(simulator.base + "/packages/uploads", method: "POST", pki: workspace.foreign, json: "{}")
        #expect(exit != 0 && code == 0)
        #expect(simulator.requests().isEmpty, "no request got past the handshake")
    }
}

/// Flips a byte of the first part-2 read only.
final class FlipOnce: @unchecked Sendable {
    static let shared = FlipOnce()
    private let lock = NSLock()
    private var done = false

    func apply(_ bytes: [UInt8]) -> [UInt8] {
        lock.withLock {
            guard !done, !bytes.isEmpty else { return bytes }
            done = true
            var changed = bytes
            changed[0] ^= 0xff
            return changed
        }
    }
}
