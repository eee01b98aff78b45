import ArgumentParser
import CaptureSupervisor
import Foundation

/// `roomctl devices`: the cameras (V4L2: by-path name, formats, sizes, frame
/// rates) and microphones (ALSA capture devices) of this machine, and a
/// `stations:` block for roomd.yaml. The listing is made by `roomd-capture
/// devices`: V4L2 stays in the capture helper, as FFmpeg does.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List cameras and microphones, with a stations: block for roomd.yaml (设备清单).")

    @Flag(help: "Print JSON for scripts.") var json = false

    func run() throws {
        let helper = ChildProcess.helperPath()
        guard FileManager.default.isExecutableFile(atPath: helper) else {
            throw ValidationError("roomd-capture is not at \(helper) (set ROOMD_CAPTURE_HELPER) / 未找到 roomd-capture")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = ["devices"] + (json ? ["--json"] : [])
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }
}
