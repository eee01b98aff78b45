import ArgumentParser
import Foundation
import RoomConfig

/// `roomctl opening`: the opening room (开标) on the admin socket — import a definition, show,
/// start, close decryption, conclude, seal, and the evaluation's part of a concluded opening
/// (docs/formats.md, "Openings in the room"; docs/operations.md, "Openings").
struct OpeningRoomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "opening",
        abstract: "Openings (开标): import a definition, show, start, close decryption, conclude, seal, evaluation part.",
        subcommands: [Import.self, Show.self, Start.self, Close.self, Conclude.self, Seal.self, EvaluationPart.self])

    static func path(_ opening: String, _ tail: String = "") -> String { "/v1/openings/\(pathSegment(opening))\(tail)" }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an opening definition (JSON, docs/formats.md), optionally with the platform's detached CMS signature.",
            discussion: """
                roomctl opening import definition.json [--opening KB-2026-0188] [--signature definition.json.p7s]
                Without a signature the definition is recorded as the operator's (source operator). A definition
                can be replaced until the opening's first event.
                """)
        @Argument(help: "The opening definition JSON file.") var file: String
        @Option(help: "Opening id; default: the project number.") var opening: String?
        @Option(help: "Detached CMS signature (DER) of the file by the platform.") var signature: String?
        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            var body = ["definition": data.base64EncodedString()]
            if let signature {
                guard let bytes = FileManager.default.contents(atPath: signature) else { throw ValidationError("cannot read \(signature)") }
                body["signature"] = bytes.base64EncodedString()
            }
            var id = opening
            if id == nil {
                struct Head: Decodable { struct Project: Decodable { var number: String }; var project: Project }
                id = (try? JSONDecoder().decode(Head.self, from: data))?.project.number
            }
            guard let id else { throw ValidationError("--opening is needed: the file names no project number") }
            struct Imported: Decodable { var opening: String; var sha256: String; var source: String; var signer: String?; var unchanged: Bool }
            let answer = try await AdminClient(socketPath: try socket.resolve())
                .post(OpeningRoomCommand.path(id, "/definition"), body: Array(try JSONEncoder().encode(body)), as: Imported.self)
            print("opening \(answer.opening): " + (answer.unchanged ? "unchanged" : "imported") + "; sha256 \(answer.sha256); source \(answer.source)"
                  + (answer.signer.map { ", signed by \($0)" } ?? "") + " / 开标定义已导入")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one opening (JSON): phase, times, suppliers, rejections, record.")
        @Argument(help: "Opening id.") var opening: String
        @Flag(help: "The read-out instead: the record as read out and the exact bytes suppliers sign.") var record = false
        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            let answer = try await AdminClient(socketPath: try socket.resolve())
                .send(.GET, OpeningRoomCommand.path(opening, record ? "/record" : ""))
            print(String(decoding: answer, as: UTF8.self))
        }
    }

    struct Start: OperatorStep {
        static let configuration = CommandConfiguration(abstract: "Start the opening (at or after the bid deadline): the decryption window opens.")
        static let route = "/start"
        @Argument(help: "Opening id.") var opening: String
        @OptionGroup var socket: AdminSocketOptions
    }

    struct Close: OperatorStep {
        static let configuration = CommandConfiguration(
            abstract: "Close decryption before the window ends (only once every supplier has decrypted; the clock closes it otherwise).")
        static let route = "/close-decryption"
        @Argument(help: "Opening id.") var opening: String
        @OptionGroup var socket: AdminSocketOptions
    }

    struct Conclude: OperatorStep {
        static let configuration = CommandConfiguration(abstract: "Conclude the opening after the read-out; it is then sealed.")
        static let route = "/conclude"
        @Argument(help: "Opening id.") var opening: String
        @OptionGroup var socket: AdminSocketOptions
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal the opening now (sealing is automatic once it was concluded and its recording margin passed).")
        @Argument(help: "Opening id.") var opening: String
        @Flag(help: "Seal even if it is not concluded or segments are still being written (they are left out).") var force = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            let answer = try await AdminClient(socketPath: try socket.resolve())
                .post(OpeningRoomCommand.path(opening, "/seal") + (force ? "?force=1" : ""), as: PackageSummary.self)
            if json {
                FileHandle.standardOutput.write(Data(try JSONEncoder().encode(answer)) + Data("\n".utf8))
            } else {
                print("sealed / 已封包: " + answer.line)
            }
        }
    }

    struct EvaluationPart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "evaluation-opening",
            abstract: "A concluded opening's part of the evaluation session's definition (canonical JSON): per lot the valid bids.",
            discussion: "The platform or the operator merges each lot's bidders (id, name, opening) into the session definition it signs.")
        @Argument(help: "Opening id.") var opening: String
        @Option(help: "Write to this file instead of standard output.") var out: String?
        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            let answer = try await AdminClient(socketPath: try socket.resolve()).send(.GET, OpeningRoomCommand.path(opening, "/evaluation-opening"))
            if let out {
                try Data(answer).write(to: URL(fileURLWithPath: out))
            } else {
                FileHandle.standardOutput.write(Data(answer) + Data("\n".utf8))
            }
        }
    }
}

/// start, close, conclude: one operator command each, the same answer.
protocol OperatorStep: AsyncParsableCommand {
    static var route: String { get }
    var opening: String { get }
    var socket: AdminSocketOptions { get }
}

/// roomd's answer to an operator command (`OpeningRegistry.Answer`).
struct OpeningStepAnswer: Decodable {
    var opening: String
    var sequence: Int
    var command: String
    var phase: String
}

extension OperatorStep {
    func run() async throws {
        let answer = try await AdminClient(socketPath: try socket.resolve())
            .post(OpeningRoomCommand.path(opening, Self.route), as: OpeningStepAnswer.self)
        print("opening \(answer.opening): \(answer.command) recorded as event \(answer.sequence); phase \(answer.phase)")
    }
}
