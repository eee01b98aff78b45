import Delivery
import Foundation
import Testing

/// The uploader against a real S3 API: moto_server 5.2.5 (pinned venv) with
/// Signature V4 checked after its setup calls, behind s3front.py.
///
/// Resume choice: moto 5.2.5 keeps its state in memory and cannot persist it,
/// so killing moto would lose the upload itself. The tests kill s3front.py
/// (the server as the client sees it) in the middle of a part and restart
/// it on the same port: the client's connection dies as in a server crash,
/// and moto keeps the parts it fully received. s3front.py also logs every
/// request (to count UploadPart per part number) and applies the part
/// checksum checks real S3 makes and moto 5.2.5 does not (BadDigest).
@Suite(.serialized) struct S3UploaderTests {
    static let partSize: Int64 = 5 << 20
    /// 3 × 5 MiB + a short tail: 4 parts.
    static let size = 3 * (5 << 20) + 12_345

    /// Runs `body` with a factory of uploaders, all shut down afterwards whatever happens.
    /// and with `atEnd` to register cleanups (stopping moto and the front), awaited before the test ends.
    func withUploaders(_ body: (_ make: (S3Configuration) throws -> S3Uploader,
                                _ atEnd: (@escaping @Sendable () async -> Void) -> Void) async throws -> Void) async throws {
        let made = Made()
        func finish() async {
            for uploader in made.list { try? await uploader.shutdown() }
            for cleanup in made.cleanups.reversed() { await cleanup() }
        }
        do {
            try await body({ configuration in
                let uploader = try S3Uploader(configuration: configuration)
                made.list.append(uploader)
                return uploader
            }, { made.cleanups.append($0) })
        } catch {
            await finish()
            throw error
        }
        await finish()
    }

    final class Made: @unchecked Sendable {
        var list: [S3Uploader] = []
        var cleanups: [@Sendable () async -> Void] = []
    }

    func configuration(_ endpoint: URL, _ moto: MotoServer, lockDays: Int? = nil, secret: String? = nil) -> S3Configuration {
        var credentials = moto.credentials
        if let secret { credentials.secretAccessKey = secret }
        return S3Configuration(endpoint: endpoint, region: "us-east-1", bucket: moto.bucket, keyPrefix: "roomd/",
                               credentials: credentials, objectLockDays: lockDays, partsInFlight: 2)
    }

    @Test func uploadsUnderObjectLockAndIsIdempotent() async throws {
        try await withUploaders { make, atEnd in
            let moto = try await MotoServer.start()
            atEnd { await moto.stop() }
            let dir = try S3Fixtures.temporaryDirectory()
            let front = try await S3Front.start(upstream: moto.port, log: dir.appendingPathComponent("front.log").path)
            atEnd { await front.kill() }
            let package = TestPackage(size: Self.size)
            let uploader = try make(configuration(front.endpoint, moto, lockDays: 30))
            let states = PersistedStates()
            let name = "room-1/中文 session+1.tar"
            let receipt = try await uploader.upload(name: name, source: package.source(), state: S3Uploader.initialState(size: Int64(Self.size), partSize: Self.partSize),
                                                    persist: states.persist, progress: { _, _ in })
            #expect(receipt.location == "s3://\(moto.bucket)/roomd/\(name)")
            #expect(states.last?.completed == true)
            #expect(states.last?.parts.map(\.number) == [1, 2, 3, 4])
            #expect(front.partRequests() == [1: 1, 2: 1, 3: 1, 4: 1])

            let read = try await moto.tool(["get", moto.bucket, "roomd/\(name)"])
            #expect(read["sha256"] as? String == package.sha256)
            #expect(read["size"] as? Int == Self.size)
            let head = try await moto.tool(["head", moto.bucket, "roomd/\(name)"])
            #expect((head["metadata"] as? [String: String])?["roomd-sha256"] == package.sha256)
            let retention = try await moto.tool(["retention", moto.bucket, "roomd/\(name)"])
            #expect(retention["mode"] as? String == "COMPLIANCE")
            let delete = try await moto.tool(["delete", moto.bucket, "roomd/\(name)"])
            #expect(delete["deleted"] as? Bool == false)
            #expect(delete["error"] as? String == "AccessDenied")

            // Again, from a fresh state (the outbox lost its row): HeadObject says it is there; nothing is sent.
            let again = try await uploader.upload(name: name, source: package.source(), state: S3Uploader.initialState(size: Int64(Self.size), partSize: Self.partSize),
                                                  persist: states.persist, progress: { _, _ in })
            #expect(again.location == receipt.location)
            #expect(front.partRequests() == [1: 1, 2: 1, 3: 1, 4: 1])
            #expect(!front.lines().contains { $0.hasPrefix("POST") && $0.contains("uploads") && $0 != front.lines().first { $0.contains("?uploads") } })
            try? await uploader.shutdown()
        }
    }

    @Test func wrongSecretIsAPermanentSignatureError() async throws {
        try await withUploaders { make, atEnd in
            let moto = try await MotoServer.start()
            atEnd { await moto.stop() }
            let uploader = try make(configuration(URL(string: moto.endpoint)!, moto, secret: "not-the-secret"))
            let package = TestPackage(size: 1000)
            let error = try await #require(throws: DeliveryError.self) {
                _ = try await uploader.upload(name: "x.tar", source: package.source(), state: S3Uploader.initialState(size: 1000),
                                              persist: { _ in }, progress: { _, _ in })
            }
            #expect(error.errorClass == .permanent)
            #expect(error.code == "SignatureDoesNotMatch")
            #expect(error.description.contains("secret access key is wrong"))
            try? await uploader.shutdown()
        }
    }

    @Test func killedMidPartResumesInANewUploaderWithoutResendingFinishedParts() async throws {
        try await withUploaders { make, atEnd in
            let moto = try await MotoServer.start()
            atEnd { await moto.stop() }
            let dir = try S3Fixtures.temporaryDirectory()
            let log = dir.appendingPathComponent("front.log").path
            let first = try await S3Front.start(upstream: moto.port, log: log, options: ["--stall-part", "3"])
            atEnd { await first.kill() }
            let package = TestPackage(size: Self.size, seed: 7)
            let states = PersistedStates()
            var config = configuration(first.endpoint, moto)
            config.partsInFlight = 1
            let name = "room-2/session-9.tar"

            let crashed = try make(config)
            let attempt = Task {
                try await crashed.upload(name: name, source: package.source(), state: S3Uploader.initialState(size: Int64(Self.size), partSize: Self.partSize),
                                         persist: states.persist, progress: { _, _ in })
            }
            try await S3Fixtures.waitUntil("part 3 to be half sent") { S3Fixtures.fileContains(log, "STALL 3") }
            await first.kill()  // the "server" dies in the middle of part 3
            let failure = await attempt.result
            guard case .failure(let error) = failure else { Issue.record("the upload survived its server's death"); return }
            #expect(DeliveryErrorClass.of(error) == .retryable, "\(error)")
            try? await crashed.shutdown()

            var persisted = try #require(states.last)
            #expect(persisted.parts.map(\.number) == [1, 2])
            #expect(persisted.uploadID != nil)
            // The outbox also believed part 3 done (a lie the server does not back): it must be sent again.
            persisted.parts.append(.init(number: 3, size: Self.partSize, sha256: String(repeating: "0", count: 64), etag: "\"bogus\""))

            // roomd restarts: a new uploader, the persisted state, the server back on the same port.
            let second = try await S3Front.start(upstream: moto.port, port: first.port, log: log)
            atEnd { await second.kill() }
            let resumed = try make(config)
            let receipt = try await resumed.upload(name: name, source: package.source(), state: persisted, persist: states.persist, progress: { _, _ in })
            #expect(receipt.location == "s3://\(moto.bucket)/roomd/\(name)")
            #expect(second.partRequests() == [1: 1, 2: 1, 3: 2, 4: 1])
            #expect(second.lines().filter { $0.hasPrefix("GET") && $0.contains("uploadId=") }.count == 1)  // one ListParts
            #expect(states.last?.uploadID == persisted.uploadID)
            let read = try await moto.tool(["get", moto.bucket, "roomd/\(name)"])
            #expect(read["sha256"] as? String == package.sha256)
            try? await resumed.shutdown()
        }
    }

    @Test func anUploadTheServerForgotStartsAgain() async throws {
        try await withUploaders { make, atEnd in
            let moto = try await MotoServer.start()
            atEnd { await moto.stop() }
            let uploader = try make(configuration(URL(string: moto.endpoint)!, moto))
            let package = TestPackage(size: 6 << 20, seed: 3)
            let states = PersistedStates()
            let stale = UploadState(uploadID: "forgotten-upload", partSize: Self.partSize,
                                    parts: [.init(number: 1, size: Self.partSize, sha256: String(repeating: "1", count: 64), etag: "\"e\"")])
            _ = try await uploader.upload(name: "s.tar", source: package.source(), state: stale, persist: states.persist, progress: { _, _ in })
            #expect(states.all.first == UploadState(partSize: Self.partSize))  // reset, persisted
            #expect(states.last?.completed == true)
            #expect(states.last?.uploadID != "forgotten-upload")
            let read = try await moto.tool(["get", moto.bucket, "roomd/s.tar"])
            #expect(read["sha256"] as? String == package.sha256)
            try? await uploader.shutdown()
        }
    }

    @Test func aPartDamagedInTransitIsRefusedAndReportedThenResent() async throws {
        try await withUploaders { make, atEnd in
            let moto = try await MotoServer.start()
            atEnd { await moto.stop() }
            let dir = try S3Fixtures.temporaryDirectory()
            let front = try await S3Front.start(upstream: moto.port, log: dir.appendingPathComponent("front.log").path, options: ["--corrupt-part", "2"])
            atEnd { await front.kill() }
            var config = configuration(front.endpoint, moto)
            config.partsInFlight = 1
            let uploader = try make(config)
            let package = TestPackage(size: Self.size, seed: 11)
            let states = PersistedStates()
            let error = try await #require(throws: DeliveryError.self) {
                _ = try await uploader.upload(name: "t.tar", source: package.source(), state: S3Uploader.initialState(size: Int64(Self.size), partSize: Self.partSize),
                                              persist: states.persist, progress: { _, _ in })
            }
            #expect(error.code == "BadDigest")
            #expect(error.operation == "UploadPart 2")
            #expect(error.errorClass == .retryable)
            #expect(error.description.contains("damaged in transit"))
            #expect(front.lines().contains("REFUSED 2 BadDigest"))
            // The outbox retries with what was persisted: part 1 stays, part 2 goes again, intact this time.
            let state = try #require(states.last)
            #expect(state.parts.map(\.number) == [1])
            _ = try await uploader.upload(name: "t.tar", source: package.source(), state: state, persist: states.persist, progress: { _, _ in })
            #expect(front.partRequests() == [1: 1, 2: 2, 3: 1, 4: 1])
            let read = try await moto.tool(["get", moto.bucket, "roomd/t.tar"])
            #expect(read["sha256"] as? String == package.sha256)
            try? await uploader.shutdown()
        }
    }

    @Test func aPackageThatDoesNotMatchItsChecksumIsNeverCompleted() async throws {
        try await withUploaders { make, atEnd in
            let moto = try await MotoServer.start()
            atEnd { await moto.stop() }
            let uploader = try make(configuration(URL(string: moto.endpoint)!, moto))
            let package = TestPackage(size: Self.size, seed: 5)
            let states = PersistedStates()
            let error = try await #require(throws: DeliveryError.self) {
                _ = try await uploader.upload(name: "bad.tar", source: package.source(flipAt: 6 << 20),
                                              state: S3Uploader.initialState(size: Int64(Self.size), partSize: Self.partSize),
                                              persist: states.persist, progress: { _, _ in })
            }
            guard case .sourceMismatch = error.reason else { Issue.record("\(error)"); return }
            #expect(error.errorClass == .permanent)
            #expect(states.last == UploadState(partSize: Self.partSize))  // upload aborted, state reset
            let head = try await moto.tool(["head", moto.bucket, "roomd/bad.tar"])
            #expect(head["exists"] as? Bool == false)
            try? await uploader.shutdown()
        }
    }
}
