import Glibc
internal import CFFmpeg

/// One compressed frame's bytes in an FFmpeg refcounted buffer
/// (`AVBufferRef`), so the muxer can take them by reference: a V4L2 MJPEG
/// frame is copied once, out of the driver's mmap buffer, and a demuxed
/// packet (replay) not at all. Owns one reference, dropped in `deinit`.
final class FrameBuffer {
    private var reference: UnsafeMutablePointer<AVBufferRef>?
    /// The frame's first byte (inside the buffer) and its length. The buffer
    /// holds `AV_INPUT_BUFFER_PADDING_SIZE` zeroed bytes beyond it.
    let data: UnsafeMutablePointer<UInt8>
    let count: Int

    /// Copies `bytes` into a fresh, padded buffer.
    init?(copying bytes: UnsafeRawBufferPointer) {
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        guard bytes.count > 0, bytes.count <= Int(Int32.max) - padding,
              let buffer = av_buffer_alloc(bytes.count + padding) else { return nil }
        reference = buffer
        data = buffer.pointee.data
        count = bytes.count
        data.update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count)
        (data + count).initialize(repeating: 0, count: padding)
    }

    /// Takes a reference to a (demuxed) packet's own buffer: no copy. A packet
    /// that is not refcounted is copied.
    convenience init?(referencing packet: UnsafePointer<AVPacket>) {
        guard let data = packet.pointee.data, packet.pointee.size > 0 else { return nil }
        if let buf = packet.pointee.buf, let reference = av_buffer_ref(buf) {
            self.init(reference: reference, data: data, count: Int(packet.pointee.size))
        } else {
            self.init(copying: UnsafeRawBufferPointer(start: data, count: Int(packet.pointee.size)))
        }
    }

    private init(reference: UnsafeMutablePointer<AVBufferRef>, data: UnsafeMutablePointer<UInt8>, count: Int) {
        self.reference = reference
        self.data = data
        self.count = count
    }

    deinit { av_buffer_unref(&reference) }

    /// Makes the (empty) `packet` reference these bytes; `av_packet_unref`
    /// releases that reference again.
    func attach(to packet: UnsafeMutablePointer<AVPacket>) throws(CaptureError) {
        guard let shared = av_buffer_ref(reference) else { throw CaptureError.ffmpeg("av_buffer_ref", roomd_averror(ENOMEM)) }
        packet.pointee.buf = shared
        packet.pointee.data = data
        packet.pointee.size = Int32(count)
    }
}
