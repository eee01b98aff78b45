import Foundation

/// Drawing a handwritten signature: SVG for the screen and documents, PNG for
/// places that take only pictures. Both follow the same path — quadratic
/// curves through the midpoints between samples, which smooths the jitter
/// of the pointer without moving the ink away from where the pen was.
extension HandwrittenSignature {
    /// Line width in canvas pixels for a stroke with no pressure reported
    /// (and for pressure 0.5, what a mouse reports while pressed).
    public static let baseStrokeWidth = 3.0

    /// One `<path>` per stroke, round caps and joins, in canvas coordinates;
    /// transparent background so it can be laid over a document.
    public func svg() -> String {
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
            """
        for stroke in strokes {
            let pieces = Self.pieces(of: stroke)
            var d = "M\(Self.svgNumber(stroke[0].x)) \(Self.svgNumber(stroke[0].y))"
            for piece in pieces {
                switch piece {
                case .dot: d += "l0 0"  // a zero-length line with round caps draws a dot
                case .line(_, let to): d += "L\(Self.svgPoint(to))"
                case .curve(_, let control, let to): d += "Q\(Self.svgPoint(control)) \(Self.svgPoint(to))"
                }
            }
            out += "<path d=\"\(d)\" fill=\"none\" stroke=\"#000\" stroke-width=\"\(Self.svgNumber(Self.strokeWidth(of: stroke)))\" "
            out += "stroke-linecap=\"round\" stroke-linejoin=\"round\"/>"
        }
        return out + "</svg>\n"
    }

    /// An 8-bit grayscale PNG, black ink on white, `scale` pixels per canvas
    /// pixel. Anti-aliased by coverage: a pixel is as dark as the part of it
    /// the ink covers, estimated from its centre's distance to the pen's path.
    public func png(scale: Double = 1) throws(PNGEncoder.EncodingError) -> [UInt8] {
        guard scale.isFinite, scale > 0 else { throw PNGEncoder.EncodingError(description: "scale \(scale) is not a positive number") }
        let imageWidth = Int((Double(width) * scale).rounded(.up))
        let imageHeight = Int((Double(height) * scale).rounded(.up))
        guard imageWidth <= PNGEncoder.maximumPixels / max(imageHeight, 1) else {
            throw PNGEncoder.EncodingError(description: "a \(imageWidth)×\(imageHeight) image is larger than a PNG here may be")
        }
        var canvas = Raster(width: imageWidth, height: imageHeight)
        for stroke in strokes {
            let radius = Self.strokeWidth(of: stroke) * scale / 2
            for piece in Self.pieces(of: stroke) {
                for (a, b) in piece.segments() {
                    canvas.drawCapsule(from: (a.x * scale, a.y * scale), to: (b.x * scale, b.y * scale), radius: radius)
                }
            }
        }
        return try PNGEncoder.grayscale(width: imageWidth, height: imageHeight, pixels: canvas.pixels)
    }

    // MARK: Geometry shared by both

    struct Vector {
        var x: Double
        var y: Double
    }

    enum Piece {
        case dot(Vector)
        case line(from: Vector, to: Vector)
        case curve(from: Vector, control: Vector, to: Vector)

        /// Straight segments close enough to draw: a curve is cut into pieces
        /// of at most about 2 canvas pixels.
        func segments() -> [(Vector, Vector)] {
            switch self {
            case .dot(let p): return [(p, p)]
            case .line(let a, let b): return [(a, b)]
            case .curve(let a, let c, let b):
                let length = hypot(c.x - a.x, c.y - a.y) + hypot(b.x - c.x, b.y - c.y)
                let count = min(64, max(1, Int((length / 2).rounded(.up))))
                var result = [(Vector, Vector)]()
                var previous = a
                for i in 1...count {
                    let t = Double(i) / Double(count)
                    let u = 1 - t
                    let next = Vector(x: u * u * a.x + 2 * u * t * c.x + t * t * b.x, y: u * u * a.y + 2 * u * t * c.y + t * t * b.y)
                    result.append((previous, next))
                    previous = next
                }
                return result
            }
        }
    }

    /// M p0, then Q p_i → mid(p_i, p_i+1) for the inner samples, then L to the last.
    static func pieces(of stroke: [Point]) -> [Piece] {
        let points = stroke.map { Vector(x: $0.x, y: $0.y) }
        guard points.count > 1 else { return [.dot(points[0])] }
        guard points.count > 2 else { return [.line(from: points[0], to: points[1])] }
        var pieces = [Piece]()
        var current = points[0]
        for i in 1..<(points.count - 1) {
            let mid = Vector(x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2)
            pieces.append(.curve(from: current, control: points[i], to: mid))
            current = mid
        }
        pieces.append(.line(from: current, to: points[points.count - 1]))
        return pieces
    }

    /// Pressure widens the line from half (p = 0) to one and a half (p = 1)
    /// times the base width, by the stroke's mean pressure: SVG has one width a path.
    static func strokeWidth(of stroke: [Point]) -> Double {
        let pressures = stroke.compactMap(\.p)
        guard !pressures.isEmpty else { return baseStrokeWidth }
        return baseStrokeWidth * (0.5 + pressures.reduce(0, +) / Double(pressures.count))
    }

    static func svgPoint(_ v: Vector) -> String { "\(svgNumber(v.x)) \(svgNumber(v.y))" }

    /// Hundredths of a pixel are below anything a screen or printer shows.
    static func svgNumber(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : rounded.description
    }
}

/// An 8-bit gray image, white to start, darkened by ink coverage.
private struct Raster {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height)
    }

    /// Ink of `radius` around the segment a–b (a capsule: round caps and, where
    /// segments meet, round joins). Overlaps keep the darker value instead of
    /// adding up, so joints are not darker than the line.
    mutating func drawCapsule(from a: (Double, Double), to b: (Double, Double), radius: Double) {
        let reach = radius + 1
        let minX = max(0, Int((min(a.0, b.0) - reach).rounded(.down)))
        let maxX = min(width - 1, Int((max(a.0, b.0) + reach).rounded(.up)))
        let minY = max(0, Int((min(a.1, b.1) - reach).rounded(.down)))
        let maxY = min(height - 1, Int((max(a.1, b.1) + reach).rounded(.up)))
        guard minX <= maxX, minY <= maxY else { return }
        let dx = b.0 - a.0
        let dy = b.1 - a.1
        let lengthSquared = dx * dx + dy * dy
        for y in minY...maxY {
            let cy = Double(y) + 0.5
            for x in minX...maxX {
                let cx = Double(x) + 0.5
                // Distance from the pixel centre to the nearest point of the segment.
                let t = lengthSquared > 0 ? min(1, max(0, ((cx - a.0) * dx + (cy - a.1) * dy) / lengthSquared)) : 0
                let distance = hypot(cx - (a.0 + t * dx), cy - (a.1 + t * dy))
                let coverage = min(1, max(0, radius + 0.5 - distance))
                guard coverage > 0 else { continue }
                let value = UInt8((255 * (1 - coverage)).rounded())
                let index = y * width + x
                if value < pixels[index] { pixels[index] = value }
            }
        }
    }
}
