import Foundation
import Glibc
internal import CV4L2

/// What an installer needs to write the `stations:` block: the V4L2 capture
/// devices with their stable by-path names, formats, sizes and frame rates,
/// and the ALSA capture devices (`roomd-capture devices`, run by `roomctl
/// devices`). Reads only: nothing is configured or streamed.
public struct DeviceInventory: Codable, Sendable {
    public struct Camera: Codable, Sendable {
        public var device: String
        /// `/dev/v4l/by-path/…`: the USB port, stable across reboots.
        public var byPath: String?
        public var card: String
        public var driver: String
        public var bus: String
        public var formats: [Format]
    }

    public struct Format: Codable, Sendable {
        public var fourcc: String
        public var description: String
        public var sizes: [Size]
    }

    public struct Size: Codable, Sendable {
        public var width: Int
        public var height: Int
        /// Discrete frame rates offered at this size (frames per second), highest first.
        public var fps: [Double]
    }

    public struct Microphone: Codable, Sendable {
        /// `hw:CARD=<id>,DEV=<n>`, what `microphone:` takes.
        public var device: String
        public var card: String
        public var name: String
    }

    public var cameras: [Camera]
    public var microphones: [Microphone]

    /// Lists what this machine has now.
    public static func scan() -> DeviceInventory {
        DeviceInventory(cameras: cameras(), microphones: microphones())
    }

    static func cameras() -> [Camera] {
        var byPath: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/dev/v4l/by-path")) ?? [] {
            let link = "/dev/v4l/by-path/" + name
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) {
                let resolved = target.hasPrefix("/") ? target : URL(fileURLWithPath: "/dev/v4l/by-path").appendingPathComponent(target).standardized.path
                byPath[resolved] = link
            }
        }
        let nodes = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []).filter { $0.hasPrefix("video") }
            .sorted { (Int($0.dropFirst(5)) ?? 0) < (Int($1.dropFirst(5)) ?? 0) }
        var out: [Camera] = []
        for node in nodes {
            let path = "/dev/" + node
            let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var caps = v4l2_capability()
            guard roomd_v4l2_ioctl(fd, roomd_VIDIOC_QUERYCAP, &caps) == 0 else { continue }
            let deviceCaps = caps.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? caps.device_caps : caps.capabilities
            guard deviceCaps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0, deviceCaps & UInt32(V4L2_CAP_STREAMING) != 0 else { continue }
            out.append(Camera(device: path, byPath: byPath[path], card: text(caps.card), driver: text(caps.driver), bus: text(caps.bus_info),
                              formats: formats(fd)))
        }
        return out
    }

    static func formats(_ fd: Int32) -> [Format] {
        var out: [Format] = []
        var index: UInt32 = 0
        while index < 64 {
            var desc = v4l2_fmtdesc()
            desc.index = index
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard roomd_v4l2_ioctl(fd, roomd_VIDIOC_ENUM_FMT, &desc) == 0 else { break }
            out.append(Format(fourcc: V4L2Camera.fourcc(desc.pixelformat), description: text(desc.description),
                              sizes: sizes(fd, pixelFormat: desc.pixelformat)))
            index += 1
        }
        return out
    }

    static func sizes(_ fd: Int32, pixelFormat: UInt32) -> [Size] {
        var out: [Size] = []
        var index: UInt32 = 0
        while index < 256 {
            var size = v4l2_frmsizeenum()
            size.index = index
            size.pixel_format = pixelFormat
            guard roomd_v4l2_ioctl(fd, roomd_VIDIOC_ENUM_FRAMESIZES, &size) == 0 else { break }
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                let width = size.discrete.width, height = size.discrete.height
                out.append(Size(width: Int(width), height: Int(height), fps: rates(fd, pixelFormat: pixelFormat, width: width, height: height)))
            } else {
                // Stepwise or continuous: the common sizes within its bounds.
                let range = size.stepwise
                for (width, height) in [(640, 480), (1280, 720), (1920, 1080)]
                where UInt32(width) >= range.min_width && UInt32(width) <= range.max_width
                    && UInt32(height) >= range.min_height && UInt32(height) <= range.max_height {
                    out.append(Size(width: width, height: height,
                                    fps: rates(fd, pixelFormat: pixelFormat, width: UInt32(width), height: UInt32(height))))
                }
                break
            }
            index += 1
        }
        return out
    }

    static func rates(_ fd: Int32, pixelFormat: UInt32, width: UInt32, height: UInt32) -> [Double] {
        var out: [Double] = []
        var index: UInt32 = 0
        while index < 64 {
            var interval = v4l2_frmivalenum()
            interval.index = index
            interval.pixel_format = pixelFormat
            interval.width = width
            interval.height = height
            guard roomd_v4l2_ioctl(fd, roomd_VIDIOC_ENUM_FRAMEINTERVALS, &interval) == 0 else { break }
            if interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue {
                let fraction = interval.discrete
                if fraction.numerator > 0 { out.append((Double(fraction.denominator) / Double(fraction.numerator) * 100).rounded() / 100) }
            } else {
                let fastest = interval.stepwise.min
                if fastest.numerator > 0 { out.append((Double(fastest.denominator) / Double(fastest.numerator) * 100).rounded() / 100) }
                break
            }
            index += 1
        }
        return out.sorted(by: >)
    }

    /// ALSA capture devices from /proc/asound: cards and their `pcm<N>c` devices.
    static func microphones() -> [Microphone] {
        var out: [Microphone] = []
        let cards = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/asound")) ?? []).filter {
            $0.hasPrefix("card") && Int($0.dropFirst(4)) != nil
        }.sorted { (Int($0.dropFirst(4)) ?? 0) < (Int($1.dropFirst(4)) ?? 0) }
        for card in cards {
            let base = "/proc/asound/" + card
            let id = ((try? String(contentsOfFile: base + "/id", encoding: .utf8)) ?? card).trimmingCharacters(in: .whitespacesAndNewlines)
            let pcms = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("pcm") && $0.hasSuffix("c") }
                .sorted { (Int($0.dropFirst(3).dropLast()) ?? 0) < (Int($1.dropFirst(3).dropLast()) ?? 0) }
            for pcm in pcms {
                guard let number = Int(pcm.dropFirst(3).dropLast()) else { continue }
                let info = (try? String(contentsOfFile: base + "/" + pcm + "/info", encoding: .utf8)) ?? ""
                let name = info.split(separator: "\n").first { $0.hasPrefix("name:") }.map { String($0.dropFirst(5)).trimmingCharacters(in: .whitespaces) } ?? id
                out.append(Microphone(device: "hw:CARD=\(id),DEV=\(number)", card: id, name: name))
            }
        }
        return out
    }

    static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
    }

    /// A human listing and a `stations:` block to paste into roomd.yaml.
    public var report: String {
        var lines: [String] = []
        lines.append(cameras.isEmpty ? "No V4L2 capture devices. / 未发现摄像头。" : "Cameras / 摄像头:")
        for camera in cameras {
            lines.append("  \(camera.byPath ?? camera.device)")
            lines.append("    \(camera.device)  \(camera.card)  (\(camera.driver), \(camera.bus))")
            for format in camera.formats {
                let sizes = format.sizes.prefix(8).map { size in
                    "\(size.width)x\(size.height)" + (size.fps.isEmpty ? "" : "@" + size.fps.prefix(3).map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: "/"))
                }.joined(separator: " ")
                lines.append("    \(format.fourcc.padding(toLength: 5, withPad: " ", startingAt: 0)) \(sizes)\(format.sizes.count > 8 ? " …" : "")")
            }
        }
        lines.append(microphones.isEmpty ? "No ALSA capture devices. / 未发现麦克风。" : "Microphones / 麦克风:")
        for microphone in microphones { lines.append("  \(microphone.device)  \(microphone.name)") }
        lines.append("")
        lines.append("# A stations: block for roomd.yaml (one station per camera, in port order; check which desk each port serves):")
        lines.append("stations:")
        for (index, camera) in cameras.enumerated() {
            let mjpeg = camera.formats.first { $0.fourcc == "MJPG" }
            let best = (mjpeg ?? camera.formats.first)?.sizes.filter { $0.width <= 1920 }.max { $0.width * $0.height < $1.width * $1.height }
            lines.append("  - id: S\(String(format: "%02d", index + 1))")
            lines.append("    camera: \(camera.byPath ?? camera.device)")
            if let best {
                let fps = min(25, Int(best.fps.first ?? 25))
                lines.append("    format: { pixel_format: \(mjpeg != nil ? "mjpeg" : "auto"), width: \(best.width), height: \(best.height), fps: \(fps) }")
            }
            if index < microphones.count { lines.append("    microphone: \"\(microphones[index].device)\"") }
        }
        return lines.joined(separator: "\n")
    }
}
