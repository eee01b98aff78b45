import ArgumentParser
import Foundation
import RoomConfig

/// `roomctl session`: import a session definition, list sessions, show one,
/// and send the operator's commands (docs/formats.md, "Session routes").
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Evaluation sessions (评审场次): import a definition, list, show, send operator commands.",
        subcommands: [Import.self, List.self, Show.self, Send.self])

    static func path(_ session: String, _ tail: String = "") -> String { "/v1/sessions/\(pathSegment(session))\(tail)" }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a session definition (JSON, docs/formats.md) for a session, optionally with the platform's signature.",
            discussion: """
                roomctl session import definition.json --session ZC-2026-118 [--lot L1] [--signature definition.json.p7s]
                The signature is a detached CMS (DER) over the file's exact bytes, checked against
                sessions.platform_trust_dir. Rules the definition breaks are listed (Chinese and English);
                they block opening the session. A definition can be replaced until the session's first command.
                """)

        @Argument(help: "The session definition JSON file.")
        var file: String

        @Option(help: "Session id (as the roster's); default: the project number.")
        var session: String?

        @Option(help: "The lot (包) this session evaluates; default: the only lot.")
        var lot: String?

        @Option(help: "Detached CMS signature (DER) of the file by the platform.")
        var signature: String?

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            var body: [String: String] = ["definition": data.base64EncodedString()]
            if let signature {
                guard let sig = FileManager.default.contents(atPath: signature) else { throw ValidationError("cannot read \(signature)") }
                body["signature"] = sig.base64EncodedString()
            }
            if let lot { body["lot"] = lot }
            var id = session
            if id == nil {
                struct Head: Decodable { struct Project: Decodable { var number: String }; var project: Project }
                id = (try? JSONDecoder().decode(Head.self, from: data))?.project.number
            }
            guard let id else { throw ValidationError("--session is needed: the file names no project number") }
            let answer = try await AdminClient(socketPath: try socket.resolve())
                .post(SessionCommand.path(id, "/definition"), body: Array(try JSONEncoder().encode(body)), as: SessionImported.self)
            let how = answer.unchanged ? "unchanged (the same definition was imported already)" : "imported as definition \(answer.definition)"
            print("session \(answer.session), lot \(answer.lot): \(how); sha256 \(answer.sha256); source \(answer.source)"
                  + (answer.signer.map { ", signed by \($0)" } ?? "") + " / 场次定义已导入")
            if answer.violations.isEmpty {
                print("no rule violations; the session can be opened / 未发现违反规则之处，可以开始评审")
            } else {
                print("\(answer.violations.count) rule violation(s) block opening / 以下问题须更正后才能开始评审:")
                for v in answer.violations { print("  - \(v.message)\n    \(v.detail)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the room's sessions and their phases.")

        @Flag(help: "Print roomd's JSON.")
        var json = false

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            let client = AdminClient(socketPath: try socket.resolve())
            if json {
                print(String(decoding: try await client.send(.GET, "/v1/sessions"), as: UTF8.self))
                return
            }
            let sessions = try await client.get("/v1/sessions", as: [SessionSummary].self)
            if sessions.isEmpty { print("no sessions / 暂无评审场次") }
            for s in sessions {
                print("\(s.session)  lot \(s.lot)  \(s.method)  phase \(s.phase)  \(s.events) commands  \(s.projectName)"
                      + (s.violations.isEmpty ? "" : "  (\(s.violations.count) violations)"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one session: phase, members, seats (JSON).")

        @Argument(help: "Session id.")
        var session: String

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            print(String(decoding: try await AdminClient(socketPath: try socket.resolve()).send(.GET, SessionCommand.path(session)), as: UTF8.self))
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "command",
            abstract: "Send an operator command to a session, e.g. '{\"openSession\": {}}'.",
            discussion: """
                The command is the JSON of docs/formats.md, "Events" (a single-key object). Commands a member
                does in person (scores, votes, signatures) are refused: they come from the member's station.
                """)

        @Argument(help: "Session id.")
        var session: String

        @Argument(help: "The command JSON.")
        var command: String

        @Option(help: "A request id: sending the same id again returns the first answer instead of acting twice.")
        var requestID: String?

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            var body = "{\"command\":\(command)"
            if let requestID {
                body += ",\"requestID\":" + String(decoding: try JSONEncoder().encode(requestID), as: UTF8.self)
            }
            body += "}"
            let answer = try await AdminClient(socketPath: try socket.resolve()).send(.POST, SessionCommand.path(session, "/commands"),
                                                                                     body: Array(body.utf8))
            print(String(decoding: answer, as: UTF8.self))
        }
    }
}
