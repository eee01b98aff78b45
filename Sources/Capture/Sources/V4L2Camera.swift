import CaptureProtocol
import Glibc
internal import CV4L2

/// A V4L2 camera, captured by mmap streaming on its own thread.
///
/// Format: MJPEG if the camera offers it (stream-copied: evidence is never
/// re-encoded), else a raw format (YUYV, NV12, YUV420) that the recorder
/// encodes to H.264. Dropped frames are counted from gaps in the driver's
/// `sequence` numbers and from buffers flagged V4L2_BUF_FLAG_ERROR.
/// Timestamps are the driver's CLOCK_MONOTONIC buffer timestamps.
final class V4L2Camera: SourceThread, @unchecked Sendable {
    let path: String
    private(set) var layout: PixelLayout = .yuyv
    private(set) var width = 0, height = 0, fps = 0
    private var bytesPerLine = 0
    private var fd: Int32 = -1
    private var buffers: [(pointer: UnsafeMutableRawPointer, length: Int)] = []

    static let bufferCount: UInt32 = 6

    init(name: String, path: String, preferred: PixelLayout?, width: Int, height: Int, fps: Int) throws(CaptureError) {
        self.path = path
        super.init(name: name)
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw errno == ENOENT || errno == ENODEV || errno == ENXIO
                ? CaptureError.deviceMissing(device: path, reason: reason)
                : CaptureError.deviceLost(device: path, reason: "open: \(reason)")
        }
        do {
            try configure(preferred: preferred, width: width, height: height, fps: fps)
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    private func release() {
        for buffer in buffers { munmap(buffer.pointer, buffer.length) }
        buffers = []
        if fd >= 0 { close(fd); fd = -1 }
    }

    private func ioctl<T>(_ request: UInt, _ value: inout T, _ what: String) throws(CaptureError) {
        let rc = withUnsafeMutablePointer(to: &value) { roomd_v4l2_ioctl(fd, request, UnsafeMutableRawPointer($0)) }
        if rc != 0 {
            let reason = "\(what): \(String(cString: strerror(errno)))"
            throw errno == ENODEV ? CaptureError.deviceLost(device: path, reason: reason) : CaptureError.deviceLost(device: path, reason: reason)
        }
    }

    /// `YUYV`, `MJPG`; big-endian variants (bit 31) as `Y16 -BE`.
    static func fourcc(_ value: UInt32) -> String {
        let code = value & 0x7fff_ffff
        let text = String(decoding: [UInt8(code & 0xff), UInt8((code >> 8) & 0xff), UInt8((code >> 16) & 0xff), UInt8(code >> 24)],
                          as: UTF8.self)
        return value & 0x8000_0000 != 0 ? text + "-BE" : text
    }

    /// The formats the device offers, as fourccs.
    func offeredFormats() -> [UInt32] {
        var out: [UInt32] = []
        var index: UInt32 = 0
        while true {
            var desc = v4l2_fmtdesc()
            desc.index = index
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard roomd_v4l2_ioctl(fd, roomd_VIDIOC_ENUM_FMT, &desc) == 0 else { break }
            out.append(desc.pixelformat)
            index += 1
        }
        return out
    }

    private func configure(preferred: PixelLayout?, width: Int, height: Int, fps: Int) throws(CaptureError) {
        var caps = v4l2_capability()
        try ioctl(roomd_VIDIOC_QUERYCAP, &caps, "VIDIOC_QUERYCAP")
        let deviceCaps = caps.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? caps.device_caps : caps.capabilities
        guard deviceCaps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0, deviceCaps & UInt32(V4L2_CAP_STREAMING) != 0 else {
            throw CaptureError.unsupportedFormat(device: path, offered: ["(not a streaming video capture device)"])
        }
        let offered = offeredFormats()
        let candidates: [(PixelLayout, UInt32)] = [
            (.mjpeg, roomd_V4L2_PIX_FMT_MJPEG), (.yuyv, roomd_V4L2_PIX_FMT_YUYV), (.nv12, roomd_V4L2_PIX_FMT_NV12),
            (.yuv420p, UInt32(0x3231_5559)),  // 'YU12'
        ]
        let ordered = preferred.map { p in candidates.filter { $0.0 == p } } ?? candidates
        guard let choice = ordered.first(where: { offered.contains($0.1) }) else {
            throw CaptureError.unsupportedFormat(device: path, offered: offered.map(Self.fourcc))
        }
        var format = v4l2_format()
        format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        format.fmt.pix.width = UInt32(width)
        format.fmt.pix.height = UInt32(height)
        format.fmt.pix.pixelformat = choice.1
        format.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        try ioctl(roomd_VIDIOC_S_FMT, &format, "VIDIOC_S_FMT")
        guard format.fmt.pix.pixelformat == choice.1 else {
            throw CaptureError.unsupportedFormat(device: path, offered: offered.map(Self.fourcc))
        }
        layout = choice.0
        self.width = Int(format.fmt.pix.width)
        self.height = Int(format.fmt.pix.height)
        bytesPerLine = Int(format.fmt.pix.bytesperline)

        var parm = v4l2_streamparm()
        parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        parm.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(fps))
        if roomd_v4l2_ioctl(fd, roomd_VIDIOC_S_PARM, &parm) == 0, parm.parm.capture.timeperframe.numerator > 0 {
            self.fps = Int((Double(parm.parm.capture.timeperframe.denominator) / Double(parm.parm.capture.timeperframe.numerator)).rounded())
        } else {
            self.fps = fps
        }

        var request = v4l2_requestbuffers()
        request.count = Self.bufferCount
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        try ioctl(roomd_VIDIOC_REQBUFS, &request, "VIDIOC_REQBUFS")
        guard request.count >= 2 else { throw CaptureError.deviceLost(device: path, reason: "driver granted \(request.count) buffers") }
        for index in 0..<request.count {
            var buffer = v4l2_buffer()
            buffer.index = index
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            try ioctl(roomd_VIDIOC_QUERYBUF, &buffer, "VIDIOC_QUERYBUF")
            let mapped = mmap(nil, Int(buffer.length), PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(buffer.m.offset))
            guard let mapped, mapped != MAP_FAILED else { throw CaptureError.system("mmap \(path)") }
            buffers.append((mapped, Int(buffer.length)))
            try ioctl(roomd_VIDIOC_QBUF, &buffer, "VIDIOC_QBUF")
        }
    }

    override func body(_ queue: CaptureQueue) {
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        if roomd_v4l2_ioctl(fd, roomd_VIDIOC_STREAMON, &type) != 0 {
            release()
            queue.push(.sourceFailed(.deviceLost(device: path, reason: "VIDIOC_STREAMON: \(String(cString: strerror(errno)))"), video: true))
            return
        }
        defer {
            _ = roomd_v4l2_ioctl(fd, roomd_VIDIOC_STREAMOFF, &type)
            release()
        }
        var lastSequence: UInt32?
        var pendingDrops = 0
        var silentSince = MonotonicClock.now()
        while !shouldStop {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 200)
            if ready < 0 {
                if errno == EINTR { continue }
                queue.push(.sourceFailed(.deviceLost(device: path, reason: "poll: \(String(cString: strerror(errno)))"), video: true))
                return
            }
            if pfd.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                queue.push(.sourceFailed(.deviceLost(device: path, reason: "poll reported an error (device removed or streaming failed)"), video: true))
                return
            }
            if ready == 0 {
                // A camera that stops delivering without an error is as lost as one that errors.
                if MonotonicClock.now() - silentSince > 3_000_000_000 {
                    queue.push(.sourceFailed(.deviceLost(device: path, reason: "no frame for 3 s"), video: true))
                    return
                }
                continue
            }
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            if roomd_v4l2_ioctl(fd, roomd_VIDIOC_DQBUF, &buffer) != 0 {
                if errno == EAGAIN { continue }
                queue.push(.sourceFailed(.deviceLost(device: path, reason: "VIDIOC_DQBUF: \(String(cString: strerror(errno)))"), video: true))
                return
            }
            silentSince = MonotonicClock.now()
            if let last = lastSequence, buffer.sequence > last &+ 1 {
                pendingDrops += Int(buffer.sequence &- last &- 1)
            }
            lastSequence = buffer.sequence
            // What the driver says it filled, never past what was mapped; a raw
            // frame shorter than a whole one (a driver fault, a disconnect
            // mid-frame) is a dropped frame, not a partly black one.
            let index = Int(buffer.index)
            let used = index < buffers.count ? min(Int(buffer.bytesused), buffers[index].length) : 0
            if buffer.flags & UInt32(V4L2_BUF_FLAG_ERROR) != 0 || used == 0 || (layout != .mjpeg && used < minimumFrameBytes) {
                pendingDrops += 1
            } else {
                let monotonic = buffer.flags & UInt32(V4L2_BUF_FLAG_TIMESTAMP_MASK) == UInt32(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
                    ? Int64(buffer.timestamp.tv_sec) * 1_000_000_000 + Int64(buffer.timestamp.tv_usec) * 1_000
                    : MonotonicClock.now()
                let mapped = buffers[index].pointer
                var frame = VideoFrame(layout: layout, width: width, height: height,
                                       monotonicNanoseconds: monotonic, droppedBefore: pendingDrops)
                if layout == .mjpeg {
                    // One copy, out of the driver's buffer into a refcounted
                    // FFmpeg buffer the muxer then takes by reference.
                    frame.buffer = FrameBuffer(copying: UnsafeRawBufferPointer(start: mapped, count: used))
                } else {
                    frame.bytes = copyFrame(mapped, used: used)
                }
                if layout == .mjpeg, frame.buffer == nil {
                    pendingDrops += 1  // out of memory: lost, and counted as such
                } else {
                    queue.push(.video(frame))
                    pendingDrops = 0
                }
            }
            if roomd_v4l2_ioctl(fd, roomd_VIDIOC_QBUF, &buffer) != 0 {
                queue.push(.sourceFailed(.deviceLost(device: path, reason: "VIDIOC_QBUF: \(String(cString: strerror(errno)))"), video: true))
                return
            }
        }
    }

    /// The fewest bytes a whole raw frame occupies in the driver's buffer:
    /// every row at its stride, the last without its padding.
    private var minimumFrameBytes: Int {
        switch layout {
        case .mjpeg: 1
        case .yuyv: bytesPerLine * (height - 1) + width * 2
        case .nv12: bytesPerLine * (height * 3 / 2 - 1) + width
        case .yuv420p: bytesPerLine * height + (bytesPerLine / 2) * (height - 1) + width / 2
        }
    }

    /// Copies a frame out of the driver's buffer, dropping row padding.
    private func copyFrame(_ source: UnsafeMutableRawPointer, used: Int) -> [UInt8] {
        let raw = UnsafeRawBufferPointer(start: source, count: used)
        switch layout {
        case .mjpeg:
            return Array(raw)  // not used: MJPEG goes into a FrameBuffer
        case .yuyv:
            return packed(raw, rowBytes: width * 2, rows: height, stride: bytesPerLine)
        case .nv12:
            return packed(raw, rowBytes: width, rows: height * 3 / 2, stride: bytesPerLine)
        case .yuv420p:
            if bytesPerLine == width { return Array(raw.prefix(width * height * 3 / 2)) }
            var out = packed(raw, rowBytes: width, rows: height, stride: bytesPerLine)
            let chroma = UnsafeRawBufferPointer(rebasing: raw[min(raw.count, bytesPerLine * height)...])
            out += packed(chroma, rowBytes: width / 2, rows: height, stride: bytesPerLine / 2)
            return out
        }
    }

    private func packed(_ raw: UnsafeRawBufferPointer, rowBytes: Int, rows: Int, stride: Int) -> [UInt8] {
        if stride == rowBytes { return Array(raw.prefix(rowBytes * rows)) }
        var out = [UInt8](repeating: 0, count: rowBytes * rows)
        out.withUnsafeMutableBytes { dst in
            for row in 0..<rows where (row * stride + rowBytes) <= raw.count {
                dst.baseAddress!.advanced(by: row * rowBytes).copyMemory(from: raw.baseAddress! + row * stride, byteCount: rowBytes)
            }
        }
        return out
    }
}
