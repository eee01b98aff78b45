import Foundation
import Glibc
import NIOHTTP1
import Testing

/// Seeded, bounded fuzzing of what roomd takes from outside: mutated JSON
/// bodies for every POST route, mutated configurations for `check-config`,
/// mutated segment files for `roomd-capture repair`. (Mutated signatures for
/// the verifier: IdentityTests/VerifierFuzzTests.) No crash, no hang past a
/// bound, every answer a documented one.
@Suite(.serialized)
struct FuzzTests {
    /// Byte- and token-level mutations; JSON and YAML punctuation are among
    /// the inserted tokens, so structure breaks in the ways parsers meet.
    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator, tokens: [String]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...12, using: &random)))
            case 2: bytes.insert(contentsOf: Array(tokens[Int.random(in: 0..<tokens.count, using: &random)].utf8), at: at)
            case 3: bytes = Array(bytes.prefix(at))
            case 4 where !bytes.isEmpty: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 24)], at: at)
            case 5: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            default: bytes.insert(contentsOf: Array(String(repeating: "[", count: Int.random(in: 1...200, using: &random)).utf8), at: at)
            }
        }
        return bytes
    }

    static let jsonTokens = ["{", "}", "[", "]", ",", ":", "\"", "\\u0000", "\\ud800", "null", "true", "-0", "1e999",
                             "9223372036854775808", "-9223372036854775809", "\"x\":", ",,", "\u{FEFF}", "中文", "\u{0}"]

    @Test func mutatedBodiesForEveryPostRouteGetDocumentedAnswers() async throws {
        let r = try CheckInProcessTests.Room()
        try r.importRoster()
        let (request, _) = try r.challenge()
        let station = try APIClient(r.room, as: "S01"), op = try APIClient(r.room, as: "operator")
        let routes: [(APIClient, String, String)] = [
            (station, "/v1/station/heartbeat", #"{"agent":"kiosk","page":"scoring","locked":false,"fps":14.9}"#),
            (station, "/v1/checkin/challenges", #"{"session":"ZC-2026-118","rosterEntry":"E01","purpose":"checkin"}"#),
            (station, "/v1/checkin/challenges/\(request)/answer", #"{"format":"cms","signature":"MIIBAgYJKoZIhvcNAQcCoIIB8zCCAe8CAQE="}"#),
            (station, "/v1/checkin/signatures/1/handwriting", #"{"width":300,"height":120,"strokes":[[{"x":20,"y":60,"t":0},{"x":80,"y":30,"t":40}]]}"#),
            (op, "/v1/sessions/ZC-2026-118/roster", #"[{"id":"E01","name":"张三","idNumber":"11010519491231002X","role":"expert"}]"#),
        ]
        var random = SeededGenerator(seed: 0xF022_1204)
        var answered = 0
        for (client, path, seed) in routes {
            for _ in 0..<120 {
                let body = Self.mutate(Array(seed.utf8), &random, tokens: Self.jsonTokens)
                // The hang bound is the client's own deadline (30 s, on NIO's loops):
                // past it `send` throws and the test fails. Not a clock read here —
                // this task may wait for a thread while other suites' sync tests
                // hold the test process's cooperative pool (seen: 67 s under stress-ng).
                let answer = try await client.send(.POST, path, body: body)
                answered += 1
                #expect([200, 201, 204, 400, 403, 404, 409, 413, 422, 429].contains(answer.status),
                        "\(path) \(String(decoding: body.prefix(120), as: UTF8.self)): \(answer.status) \(answer.text.prefix(300))")
                if answer.status >= 400 && answer.status != 422 || answer.status == 422 && answer.json?["verdict"] == nil {
                    #expect(answer.json?["error"] is String && answer.json?["message"] is String && answer.json?["detail"] is String,
                            "\(path): undocumented refusal \(answer.text.prefix(300))")
                }
            }
        }
        // The admin socket's POST routes, through curl (fewer: a process each).
        for (path, seed) in [("/v1/sessions/ZC-2026-118/roster", #"[{"id":"E02","name":"李四","idNumber":"110101198003071239","role":"expert"}]"#),
                             ("/v1/stations/S02/enroll", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"),
                             ("/v1/stations/S02/revoke?fingerprint=00", ""), ("/v1/ledger/export?from=0", "")] {
            for _ in 0..<12 {
                let body = Self.mutate(Array(seed.utf8), &random, tokens: Self.jsonTokens)
                let file = try r.room.dir.write("fuzz-body", String(decoding: body, as: UTF8.self))
                let result = try run("/usr/bin/curl", ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", "--unix-socket", r.socket,
                                                       "-X", "POST", "--data-binary", "@" + file, "http://roomd" + path])
                let code = Int(result.stdout.split(separator: "\n").last ?? "") ?? 0
                #expect((200..<500).contains(code), "admin \(path): \(result.stdout.suffix(300))")
            }
        }
        #expect(answered == 600)
        #expect(try await station.send(.GET, "/healthz").status == 200)
        await station.shutdown()
        await op.shutdown()
        #expect(r.daemon.terminate() == 0)
    }

    static let yamlTokens = ["&a ", "*a", "<<: *a", "!!binary ", "!!python/object ", "{", "}", "[", "]", ": ", "- ", "\t", "\n  ", "? ",
                             "|", ">", "'", "\"", "#", "%YAML 1.2\n", "---\n", "...\n", "~", "0x7FFFFFFFFFFFFFFF", "99999999999999999999"]

    @Test func mutatedConfigurationsAreJudgedQuicklyByCheckConfig() throws {
        let room = try DemoRoom()
        let original = Array(try String(contentsOfFile: room.configPath, encoding: .utf8).utf8)
        var random = SeededGenerator(seed: 0xC0DF_1204)
        var outcomes: [Int32: Int] = [:]
        for _ in 0..<60 {
            let text = Self.mutate(original, &random, tokens: Self.yamlTokens)
            try Data(text).write(to: URL(fileURLWithPath: room.configPath))
            // The hang bound: timeout(1) kills a check-config that runs 30 s (the alias bomb never finished).
            let result = try run("/usr/bin/timeout", ["-s", "KILL", "30", Binaries.roomd, "check-config", "--config", room.configPath])
            outcomes[result.status, default: 0] += 1
            #expect([0, 72, 78].contains(result.status), "exit \(result.status) for:\n\(String(decoding: text, as: UTF8.self))\n\(result.stderr)")
            if result.status == 78 { #expect(result.stderr.contains("roomd.yaml")) }
        }
        #expect(outcomes[78, default: 0] > 10)

        // The alias bomb that hung check-config: aliases as mapping keys, nine levels.
        var bomb = "a0: &a0 {x: 1, y: 2}\n"
        for level in 1...9 { bomb += "a\(level): &a\(level) {*a\(level - 1): 1, *a\(level - 1) : 2, k: *a\(level - 1)}\n" }
        try bomb.write(toFile: room.configPath, atomically: true, encoding: .utf8)
        let result = try run("/usr/bin/timeout", ["-s", "KILL", "30", Binaries.roomd, "check-config", "--config", room.configPath])
        #expect(result.status == 78, "exit \(result.status) (137: killed after 30 s, the bomb went off)")
        #expect(result.stderr.contains("anchor") && result.stderr.contains("line 1"), "\(result.stderr)")
    }

    @Test func mutatedSegmentsAreRepairedOrRefusedNeverCrashing() throws {
        let dir = try TemporaryDirectory("fuzz-segment")
        // A segment as roomd writes them: fragmented MP4, H.264 and AAC.
        let source = dir.path + "/source.mp4"
        let made = try run("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15", "-f", "lavfi",
                                               "-i", "sine=frequency=1000:sample_rate=48000", "-t", "3", "-c:v", "libx264", "-g", "15",
                                               "-c:a", "aac", "-ac", "1", "-movflags", "frag_keyframe+empty_moov+default_base_moof", source])
        #expect(made.status == 0, "\(made.stderr)")
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: source)))
        var random = SeededGenerator(seed: 0x5E6_1204)
        var outcomes: [Int32: Int] = [:]
        var decodedKept = 0
        for index in 0..<24 {
            var bytes = original
            switch index % 4 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
            case 1: for _ in 0..<8 { bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            case 2:
                let at = Int.random(in: 0..<(bytes.count - 64), using: &random)
                bytes.replaceSubrange(at..<at + 64, with: [UInt8](repeating: 0, count: 64))
            default: bytes += (0..<Int.random(in: 1...5000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            let path = dir.path + "/segment-\(index).mp4"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try run("/usr/bin/timeout", ["-s", "KILL", "60", Binaries.roomdCapture, "repair", path])
            outcomes[result.status, default: 0] += 1
            // 0: cut back to what is whole (a JSON report); 2: refused, with the reason.
            #expect(result.status == 0 || result.status == 2,
                    "repair of mutation \(index) ended with \(result.status): \(result.stderr.suffix(400))")
            let report = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
            if result.status == 0 && (index % 4 == 0 || index % 4 == 3) && (report?["videoFrames"] as? Int ?? 0) > 0 {
                // A cut-off or overlong file is cut back to whole fragments, which
                // FFmpeg decodes without error. (Overwritten media bytes inside a
                // fragment are not detectable by structure: the segment hashes are.)
                let decoded = try run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"])
                decodedKept += 1
                #expect(decoded.status == 0, "kept part of mutation \(index) does not decode: \(decoded.stderr.prefix(300))")
            }
        }
        #expect(outcomes[0, default: 0] > 0 && decodedKept > 3, "\(outcomes), \(decodedKept) decoded")
    }
}
