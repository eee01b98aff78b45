import ArgumentParser
import Foundation
import RoomConfig

/// `roomctl roster import`: the session's drawn experts and purchaser
/// representatives, from the drawing system's JSON export.
struct RosterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roster",
        abstract: "The session's roster of drawn experts (专家抽取名单).",
        subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a roster (JSON) for a session; a new import replaces the previous one.",
            discussion: """
                The file is a JSON array of {"id","name","idNumber","role":"expert"|"purchaser_representative",
                "certificateFingerprint"?} (docs/formats.md, "Roster import JSON"). Every ID number is checked
                (GB 11643) and kept only as an HMAC under the room secret plus its last four characters.
                Every problem is listed with its row.
                """)

        @Option(help: "Session (project) id.")
        var session: String

        @Argument(help: "The roster JSON file.")
        var file: String

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let path = "/v1/sessions/\(session.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? session)/roster"
            // A refusal lists every problem with its row (roomd's message, in Chinese).
            let answer = try await AdminClient(socketPath: try socket.resolve()).post(path, body: Array(data), as: RosterImported.self)
            print("imported roster \(answer.roster) for session \(session): \(answer.entries) entries, sha256 \(answer.sha256) / 名单已导入")
        }
    }
}
