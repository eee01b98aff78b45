#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ArgumentParser
import Logging
import RoomConfig
import Store

@main
struct RoomdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roomd",
        abstract: "The evaluation-room daemon: stations, recording, identity, scoring, sealed evidence.",
        version: StatusReporter.version,
        subcommands: [Run.self, CheckConfig.self],
        defaultSubcommand: Run.self)

    struct ConfigOption: ParsableArguments {
        @Option(name: .long, help: "Configuration file.")
        var config: String = ConfigLoader.defaultPath
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the daemon (the default).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try loadOrExit(options.config)
            LoggingSystem.bootstrap { label in
                JournalLogHandler(label: label, level: Logger.Level(rawValue: config.logging.level.rawValue) ?? .info)
            }
            do {
                try await Daemon.run(config: config)
            } catch let failure as DaemonFailure {
                Logger(label: "roomd").critical("\(failure.description)")
                throw ExitCode(failure.status)
            }
        }
    }

    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate the configuration and report every problem (exit 78 if any; 72 if roomd-capture is missing).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try loadOrExit(options.config)
            if let problem = RecordingService.installationProblem(config) {
                JournalLogHandler.writeErrors(problem + "\n")
                throw ExitCode(ExitStatus.missingFile)
            }
            print("configuration \(config.sourcePath) is valid: room \(config.room.id) (\(config.room.kind.rawValue)), \(config.stations.count) stations, \(config.roomCameras.count) room cameras / 配置有效")
        }
    }
}

/// Loads the configuration or exits with EX_CONFIG (78) after printing every
/// problem, before anything starts.
func loadOrExit(_ path: String) throws -> RoomConfiguration {
    do {
        return try ConfigLoader.load(path: path)
    } catch {
        JournalLogHandler.writeErrors(error.description + "\n")
        throw ExitCode(78)
    }
}
