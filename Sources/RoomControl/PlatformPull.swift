import AsyncHTTPClient
import Foundation
import Glibc
import Identity
import NIOCore
import NIOHTTP1

/// `roomctl platform pull`: the platform fetching sealed packages from roomd
/// (docs/formats.md, "Platform simulator"): list, download with resume
/// (`Range`), hash, verify, acknowledge. Blocking file work is roomctl's own.
struct PlatformPuller {
    let client: PlatformRoomClient
    let dir: String
    let trust: PackageTrust
    /// Attempts per download before the package is left for the next pass.
    var attempts = 5
    var quiet = false

    struct Listing: Decodable {
        struct Package: Decodable {
            var session: String
            var name: String?
            var cursor: Int
            var sealedAt: String?
            var size: Int64
            var sha256: String
            var tagmanifestSHA256: String?
            var acknowledgedAt: String?

            enum CodingKeys: String, CodingKey {
                case session, name, cursor, size, sha256
                case sealedAt = "sealed_at", tagmanifestSHA256 = "tagmanifest_sha256", acknowledgedAt = "acknowledged_at"
            }
        }
        var packages: [Package]
        var next: Int
    }

    /// What happened to one package, for the summary (and `--json`).
    struct Outcome: Encodable {
        var session: String
        var result: String
        var size: Int64
        var sha256: String?
        var file: String?
        var verification: String?
        var acknowledgedAt: String?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case session, result, size, sha256, file, verification, error
            case acknowledgedAt = "acknowledged_at"
        }
    }

    var cursorFile: String { dir + "/cursor" }
    var pulledDir: String { dir + "/pulled" }

    func savedCursor() -> Int? {
        (try? String(contentsOfFile: cursorFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// One pass from `since`: every listed package not yet acknowledged is
    /// fetched, verified and acknowledged. Returns the outcomes and the next cursor.
    func pass(since: Int) async throws -> ([Outcome], Int) {
        try FileManager.default.createDirectory(atPath: pulledDir, withIntermediateDirectories: true)
        var cursor = since
        var outcomes: [Outcome] = []
        while true {
            let before = cursor
            let (status, body) = try await client.exchange(.GET, "/v1/packages?since=\(cursor)")
            guard status == 200 else {
                throw PlatformRoomClient.Failure(description: "listing packages: " + PlatformRoomClient.explain(status, body),
                                                 retryable: status >= 500, status: status)
            }
            let listing = try JSONDecoder().decode(Listing.self, from: Data(body))
            for package in listing.packages {
                if package.acknowledgedAt != nil {
                    outcomes.append(Outcome(session: package.session, result: "already-acknowledged", size: package.size,
                                            sha256: package.sha256, acknowledgedAt: package.acknowledgedAt))
                    continue
                }
                outcomes.append(await fetch(package))
            }
            // Only move past packages that were handled: a failed one is listed again next pass.
            let failed = outcomes.contains { $0.result == "failed" }
            if !failed { cursor = max(cursor, listing.next) }
            if listing.packages.isEmpty || listing.next <= before || failed { break }
        }
        if cursor != since { try? "\(cursor)\n".write(toFile: cursorFile, atomically: true, encoding: .utf8) }
        return (outcomes, cursor)
    }

    private func fetch(_ package: Listing.Package) async -> Outcome {
        var outcome = Outcome(session: package.session, result: "failed", size: package.size)
        let file = PlatformNames.fileName(package.session)
        guard PlatformNames.isSafe(file) else {
            outcome.error = "the session id \(package.session) is not a safe file name"
            return outcome
        }
        let final = "\(pulledDir)/\(file).tar"
        do {
            try await download(package, to: final + ".partial")
            let sha = try SHA256Hasher.file(final + ".partial")
            outcome.sha256 = sha
            guard sha == package.sha256.lowercased() else {
                unlink(final + ".partial")
                throw PlatformRoomClient.Failure(description: "the received tar has SHA-256 \(sha), roomd listed \(package.sha256); not acknowledged, it will be fetched again",
                                                 retryable: true, status: nil)
            }
            guard rename(final + ".partial", final) == 0 else {
                throw PlatformRoomClient.Failure(description: "cannot rename to \(final)", retryable: false, status: nil)
            }
            outcome.file = final
            let verification: String
            do {
                verification = try verifyPackageTar(path: final, scratch: "\(dir)/tmp-verify-\(file)", trust: trust)
            } catch {
                _ = rename(final, final + ".refused")
                outcome.result = "refused"
                outcome.file = final + ".refused"
                outcome.error = "\(error)"
                say("✗ \(package.session): refused, not acknowledged: \(error)")
                return outcome
            }
            outcome.verification = verification
            let body = Array(#"{"sha256":"\#(sha)"}"#.utf8)
            let (status, answer) = try await client.exchange(.POST, "/v1/packages/\(package.session)/acknowledge", json: body)
            guard status == 200 else {
                throw PlatformRoomClient.Failure(description: "acknowledging: " + PlatformRoomClient.explain(status, answer),
                                                 retryable: status >= 500, status: status)
            }
            let acknowledged = (try? JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])?["acknowledged_at"] as? String
            outcome.acknowledgedAt = acknowledged
            outcome.result = "acknowledged"
            let receipt: [String: Any] = ["session": package.session, "sha256": sha, "size": package.size,
                                          "verification": verification, "acknowledged_at": acknowledged ?? NSNull()]
            if let data = try? JSONSerialization.data(withJSONObject: receipt, options: [.sortedKeys, .prettyPrinted]) {
                try? data.write(to: URL(fileURLWithPath: "\(pulledDir)/\(file).json"))
            }
            say("✓ \(package.session): \(package.size) bytes, sha256 \(sha.prefix(16))…, verified, acknowledged")
        } catch {
            outcome.error = "\(error)"
            say("✗ \(package.session): \(error)")
        }
        return outcome
    }

    /// Downloads into `partial`, resuming from its current size with `Range`
    /// after a cut; retries with backoff.
    private func download(_ package: Listing.Package, to partial: String) async throws {
        var delay: Duration = .milliseconds(500)
        var lastError: any Error = PlatformRoomClient.Failure(description: "not attempted", retryable: true, status: nil)
        for attempt in 1...attempts {
            do {
                if try await downloadOnce(package, to: partial) { return }
            } catch let failure as PlatformRoomClient.Failure where !failure.retryable {
                throw failure
            } catch {
                lastError = error
                say("  \(package.session): attempt \(attempt) broke off (\(error)); resuming")
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(8))
        }
        throw lastError
    }

    /// One request; true when the file is whole.
    private func downloadOnce(_ package: Listing.Package, to partial: String) async throws -> Bool {
        var have = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int64) ?? 0
        if have > package.size {
            unlink(partial)
            have = 0
        }
        if have == package.size, have > 0 { return true }
        var request = HTTPClientRequest(url: client.base + "/v1/packages/\(package.session)/package.tar")
        if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
        let response: HTTPClientResponse
        do {
            response = try await client.client.execute(request, timeout: .hours(6))
        } catch {
            throw PlatformRoomClient.Failure(description: "GET package.tar: \(error)", retryable: true, status: nil)
        }
        let status = Int(response.status.code)
        if let etag = response.headers.first(name: "ETag"), etag.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/")) != package.sha256.lowercased() {
            unlink(partial)
            throw PlatformRoomClient.Failure(description: "roomd serves ETag \(etag), the listing says \(package.sha256); starting over",
                                             retryable: true, status: status)
        }
        let append: Bool
        switch status {
        case 206: append = true
        case 200: append = false
        case 416:
            unlink(partial)
            throw PlatformRoomClient.Failure(description: "roomd refused the range from \(have); starting over", retryable: true, status: status)
        default:
            let body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            throw PlatformRoomClient.Failure(description: "GET package.tar: " + PlatformRoomClient.explain(status, body),
                                             retryable: status >= 500 || status == 429, status: status)
        }
        if append, let range = response.headers.first(name: "Content-Range"), !range.hasPrefix("bytes \(have)-") {
            unlink(partial)
            throw PlatformRoomClient.Failure(description: "roomd answered Content-Range \(range) for bytes=\(have)-; starting over",
                                             retryable: true, status: status)
        }
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = open(partial, flags, 0o644)
        guard fd >= 0 else { throw PlatformRoomClient.Failure(description: "cannot write \(partial)", retryable: false, status: nil) }
        defer { close(fd) }
        var written = append ? have : 0
        var lastReport = Date()
        for try await chunk in response.body {
            let ok = chunk.withUnsafeReadableBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    guard n > 0 else { return false }
                    offset += n
                }
                return true
            }
            guard ok else { throw PlatformRoomClient.Failure(description: "cannot write \(partial): errno \(errno)", retryable: false, status: nil) }
            written += Int64(chunk.readableBytes)
            if Date().timeIntervalSince(lastReport) > 1 {
                say("  \(package.session): \(written) / \(package.size) bytes")
                lastReport = Date()
            }
        }
        fsync(fd)
        guard written == package.size else {
            throw PlatformRoomClient.Failure(description: "the download ended at \(written) of \(package.size) bytes", retryable: true, status: nil)
        }
        return true
    }

    private func say(_ line: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

enum PlatformNames {
    /// A session id usable as a file name and URL path segment.
    /// The file name of a package key: an opening's `opening:<id>` becomes `opening_<id>`.
    static func fileName(_ key: String) -> String {
        key.hasPrefix("opening:") ? "opening_" + key.dropFirst("opening:".count) : key
    }

    static func isSafe(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && !s.hasPrefix(".")
            && s.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "-_.".unicodeScalars.contains($0) }
    }
}
