internal import CZlib

/// A minimal PNG writer (ISO/IEC 15948) for 8-bit grayscale images: the QR
/// codes and signatures the station shows need nothing more, and owning the
/// few lines avoids an image library in the daemon.
public enum PNGEncoder {
    /// Largest image accepted, in pixels (a 4096 × 4096 square).
    public static let maximumPixels = 4096 * 4096

    public struct EncodingError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Encodes `pixels` (row-major, 0 black … 255 white, `width × height`
    /// bytes) as IHDR, one IDAT and IEND. Rows use filter type 0 (none): the
    /// images are mostly flat runs that zlib compresses well as they are.
    public static func grayscale(width: Int, height: Int, pixels: [UInt8]) throws(EncodingError) -> [UInt8] {
        guard width > 0, height > 0, width <= maximumPixels / height else {
            throw EncodingError(description: "PNG of \(width)×\(height) pixels: each side must be at least 1 and the area at most \(maximumPixels)")
        }
        guard pixels.count == width * height else {
            throw EncodingError(description: "PNG of \(width)×\(height) needs \(width * height) pixels, got \(pixels.count)")
        }

        var raw = [UInt8]()
        raw.reserveCapacity((width + 1) * height)
        for row in 0..<height {
            raw.append(0)  // filter type: none
            raw.append(contentsOf: pixels[(row * width)..<((row + 1) * width)])
        }

        var header = [UInt8]()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 0, 0, 0, 0]  // bit depth 8, grayscale, deflate, adaptive filtering, no interlace

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", try zlibCompress(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Length, type, data, and a CRC-32 over type and data.
    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        png.appendBigEndian(UInt32(data.count))
        let typeAndData = Array(type.utf8) + data
        png += typeAndData
        png.appendBigEndian(typeAndData.withUnsafeBufferPointer { roomd_crc32(0, $0.baseAddress, $0.count) })
    }

    private static func zlibCompress(_ input: [UInt8]) throws(EncodingError) -> [UInt8] {
        var capacity = roomd_zlib_compress_bound(input.count)
        var output = [UInt8](repeating: 0, count: capacity)
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { roomd_zlib_compress(out.baseAddress, &capacity, $0.baseAddress, $0.count, 9) }
        }
        // With a buffer of compressBound bytes the only failure left is Z_MEM_ERROR.
        guard status == 0 else { throw EncodingError(description: "zlib compress2 failed with status \(status)") }
        return Array(output.prefix(capacity))
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)])
    }
}
