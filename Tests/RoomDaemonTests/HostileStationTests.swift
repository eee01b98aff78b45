import Foundation
import Glibc
import NIOHTTP1
import Testing

/// A station (or another client) that holds a valid certificate and misuses
/// it: requests in parallel to beat a limit, probes other stations'
/// challenges, answers in a loop, reads what its role may not.
@Suite(.serialized)
struct HostileStationTests {
    @Test func sixtyParallelChallengeRequestsIssueAtMostTheLimit() async throws {
        let r = try CheckInProcessTests.Room()
        try r.importRoster()
        let station = try APIClient(r.room, as: "S01")
        let statuses = try await withThrowingTaskGroup(of: APIClient.Answer.self) { group in
            for _ in 0..<60 {
                group.addTask {
                    try await station.send(.POST, "/v1/checkin/challenges", body: Array(#"{"session":"ZC-2026-118","rosterEntry":"E01"}"#.utf8))
                }
            }
            var answers: [APIClient.Answer] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        let issued = statuses.filter { $0.status == 201 }.count
        #expect(issued == 20, "issued \(issued) of 60; statuses \(statuses.map(\.status))")
        #expect(statuses.filter { $0.status == 429 }.allSatisfy { $0.json?["error"] as? String == "too-many-challenges" })
        #expect(statuses.allSatisfy { $0.status == 201 || $0.status == 429 })
        let stored = try run("/usr/bin/env", ["python3", "-c",
                                              "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from challenges where station_id='S01'\").fetchone()[0])",
                                              r.room.dir.path + "/state/roomd.sqlite"])
        #expect(stored.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "20")
        await station.shutdown()
        #expect(r.daemon.terminate() == 0)
    }

    @Test func probesOfAnotherStationsChallengeLeaveATraceAndLoopsAreStopped() async throws {
        let r = try CheckInProcessTests.Room()
        try r.importRoster()
        let (request, _) = try r.challenge()
        let other = try APIClient(r.room, as: "S02")
        // As unknown to S02 as a challenge never issued, but on record.
        for path in ["/v1/checkin/challenges/\(request)/qr.svg", "/v1/checkin/challenges/\(request)/qr.png"] {
            let answer = try await other.send(.GET, path)
            #expect(answer.status == 404 && answer.json?["error"] as? String == "challenge-unknown", "\(answer.text)")
        }
        let firstAnswer = Date()
        let answered = try await other.send(.POST, "/v1/checkin/challenges/\(request)/answer", body: Array(#"{"format":"cms","signature":"AAAA"}"#.utf8))
        #expect(answered.status == 404)
        let events = try r.room.curl("/v1/events?limit=200", as: "operator").2
        #expect(events.contains("challenge-of-another-station") && events.contains("station S02"), "\(events)")

        // A station signing for an expert who is not checked in at it.
        let sheet = String(repeating: "ab", count: 32)
        let notHere = try await other.send(.POST, "/v1/checkin/challenges",
                                           body: Array(#"{"session":"ZC-2026-118","rosterEntry":"E01","purpose":"score-sheet","documentSHA256":"\#(sheet)"}"#.utf8))
        #expect(notHere.status == 409 && notHere.json?["error"] as? String == "not-checked-in-here", "\(notHere.text)")

        // Answers cost a verification each: 30 a minute, then 429 before any work.
        var limited = 0
        for index in 0..<35 {
            let answer = try await other.send(.POST, "/v1/checkin/challenges/nothing-\(index)/answer", body: Array("{}".utf8))
            if answer.status == 429 {
                limited += 1
                #expect(answer.json?["error"] as? String == "too-many-answers")
            }
        }
        if Date().timeIntervalSince(firstAnswer) < 50 {
            #expect(limited == 6)  // 36 answers from S02 this minute, the first 30 admitted
        } else {
            // A machine so busy that the answers spread over more than the limiter's minute: the
            // earliest left the window, so fewer are refused — but some still are.
            #expect((1...6).contains(limited), "\(limited) refused")
        }
        await other.shutdown()
        #expect(r.daemon.terminate() == 0)
    }

    @Test func inclusionProofsCarryTheEntryOnlyForRolesThatMayReadEntries() async throws {
        let room = try DemoRoom()
        let daemon = try room.start()
        defer { _ = daemon.terminate() }
        let supervisor = try APIClient(room, as: "supervisor"), op = try APIClient(room, as: "operator")
        #expect(try await op.send(.GET, "/v1/ledger/entries").status == 403)
        let full = try await supervisor.send(.GET, "/v1/ledger/proof/inclusion?entry=0")
        let bare = try await op.send(.GET, "/v1/ledger/proof/inclusion?entry=0")
        #expect(full.status == 200 && full.json?["entry"] is String)
        #expect(bare.status == 200 && bare.json?["entry"] == nil && bare.json?["leaf_hash"] as? String == full.json?["leaf_hash"] as? String)
        await supervisor.shutdown()
        await op.shutdown()
    }
}
