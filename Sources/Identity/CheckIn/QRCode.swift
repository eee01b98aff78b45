internal import CQRencode
#if canImport(Glibc)
import Glibc
#endif

/// A QR code (ISO/IEC 18004) made by libqrencode, drawn as SVG or PNG for the
/// station's check-in screen.
public struct QRCode: Sendable {
    public enum ErrorCorrection: Sendable, Hashable, CaseIterable {
        /// ~7 % of the symbol may be lost.
        case low
        /// ~15 %: the default, enough for a screen photographed by a phone.
        case medium
        /// ~25 %.
        case quartile
        /// ~30 %.
        case high

        var level: Int32 {
            switch self {
            case .low: roomd_qr_level_low
            case .medium: roomd_qr_level_medium
            case .quartile: roomd_qr_level_quartile
            case .high: roomd_qr_level_high
            }
        }
    }

    private let symbol: EncodedSymbol
    /// Modules per side, without the quiet zone.
    public let size: Int

    /// Encodes `text` as UTF-8 in 8-bit mode.
    public init(text: String, errorCorrection: ErrorCorrection = .medium) throws(QRCodeError) {
        try self.init(bytes: Array(text.utf8), errorCorrection: errorCorrection)
    }

    public init(bytes: [UInt8], errorCorrection: ErrorCorrection = .medium) throws(QRCodeError) {
        guard !bytes.isEmpty else { throw QRCodeError(reason: .empty, detail: "nothing to encode") }
        symbol = try EncodedSymbol(bytes, level: errorCorrection.level)
        size = Int(roomd_qr_width(symbol.pointer))
    }

    /// Whether the module at column `x`, row `y` (0 ..< size) is dark.
    public func isDark(x: Int, y: Int) -> Bool {
        precondition((0..<size).contains(x) && (0..<size).contains(y), "module (\(x), \(y)) outside a \(size)×\(size) symbol")
        return roomd_qr_is_dark(symbol.pointer, Int32(x), Int32(y)) != 0
    }

    /// An SVG whose user unit is one module: a white square and one `<path>`
    /// of horizontal runs of dark modules. `crispEdges` keeps scaled modules
    /// from blurring into each other.
    public func svg(moduleSize: Int = 8, quietZone: Int = 4) -> String {
        precondition(moduleSize > 0 && quietZone >= 0, "module size must be positive and the quiet zone not negative")
        let side = size + 2 * quietZone
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                let start = x
                while x < size, isDark(x: x, y: y) { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        let pixels = side * moduleSize
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(pixels)" height="\(pixels)" viewBox="0 0 \(side) \(side)" \
            shape-rendering="crispEdges"><rect width="\(side)" height="\(side)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>

            """
    }

    /// An 8-bit grayscale PNG, `moduleSize` pixels a module, on white.
    public func png(moduleSize: Int = 8, quietZone: Int = 4) throws(PNGEncoder.EncodingError) -> [UInt8] {
        guard moduleSize > 0, quietZone >= 0 else {
            throw PNGEncoder.EncodingError(description: "module size \(moduleSize) and quiet zone \(quietZone): need > 0 and ≥ 0")
        }
        let side = (size + 2 * quietZone) * moduleSize
        guard side <= 4096 else {
            throw PNGEncoder.EncodingError(description: "a \(side)-pixel QR code is larger than the 4096 pixels a PNG here may have")
        }
        var pixels = [UInt8](repeating: 255, count: side * side)
        for y in 0..<size {
            for x in 0..<size where isDark(x: x, y: y) {
                let left = (x + quietZone) * moduleSize
                for row in ((y + quietZone) * moduleSize)..<((y + quietZone + 1) * moduleSize) {
                    for column in left..<(left + moduleSize) { pixels[row * side + column] = 0 }
                }
            }
        }
        return try PNGEncoder.grayscale(width: side, height: side, pixels: pixels)
    }
}

/// Owns the `QRcode` libqrencode allocated. Immutable after creation, so it
/// can be shared between threads.
private final class EncodedSymbol: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<QRcode>

    init(_ bytes: [UInt8], level: Int32) throws(QRCodeError) {
        errno = 0
        guard let code = roomd_qr_encode_bytes(bytes, Int32(bytes.count), level) else {
            let error = errno
            if error == ERANGE {
                throw QRCodeError(reason: .tooLong, detail: "\(bytes.count) bytes do not fit in a version 40 symbol at this error correction")
            }
            throw QRCodeError(reason: .encodingFailed, detail: "libqrencode: \(String(cString: strerror(error)))")
        }
        pointer = code
    }

    deinit { roomd_qr_free(pointer) }
}

/// Why a QR code could not be made: a code, a Chinese message for the
/// station, English for logs.
public struct QRCodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        case empty
        case tooLong = "too-long"
        case encodingFailed = "encoding-failed"
    }

    public let reason: Reason
    public let detail: String

    public var message: String {
        switch reason {
        case .empty: "签到二维码内容为空，无法生成，请联系现场工作人员。"
        case .tooLong: "签到二维码内容过长，无法生成，请联系现场工作人员。"
        case .encodingFailed: "签到二维码生成失败，请稍后重试或联系现场工作人员。"
        }
    }

    public var description: String { "QR code not made (\(reason.rawValue)): \(detail)" }
}
