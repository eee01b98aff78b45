import Foundation
import Testing

@testable import Identity

struct HandwrittenSignatureTests {
    typealias Point = HandwrittenSignature.Point

    /// A 200×100 canvas: a horizontal stroke with pressure, a curved stroke
    /// without, and a dot.
    static let sample: HandwrittenSignature = {
        let line = stride(from: 20.0, through: 180.0, by: 20).enumerated().map { Point(x: $1, y: 50, t: Double($0) * 16, p: 0.5) }
        let arc = (0...12).map { i -> Point in
            let angle = Double(i) / 12 * .pi / 2
            return Point(x: 120 + 50 * sin(angle), y: 20 + 50 * (1 - cos(angle)), t: 1000 + Double(i) * 8.5)
        }
        return try! HandwrittenSignature(width: 200, height: 100, strokes: [line, arc, [Point(x: 30, y: 20, t: 2000)]])
    }()

    func refusal(_ json: String) -> HandwrittenSignatureError? {
        do {
            _ = try HandwrittenSignature(json: Data(json.utf8))
            return nil
        } catch {
            return error
        }
    }

    func refusal(width: Int = 100, height: Int = 100, _ strokes: [[Point]]) -> HandwrittenSignatureError? {
        do {
            _ = try HandwrittenSignature(width: width, height: height, strokes: strokes)
            return nil
        } catch {
            return error
        }
    }

    let twoPoints = [Point(x: 10, y: 10, t: 0), Point(x: 20, y: 20, t: 5)]

    // MARK: Canonical form

    @Test func canonicalJSONSortsKeysDropsWhitespaceAndWritesIntegersPlainly() throws {
        let spelled = """
            { "strokes": [ [ {"y": 10.0, "x": 1e1, "t": 0, "p": 0.25},
                             {"t": 16.5, "x": 20.125, "y": 30, "tiltX": 5} ] ],
              "width": 300, "height": 150 }
            """
        let signature = try HandwrittenSignature(json: Data(spelled.utf8))
        let canonical = #"{"height":150,"strokes":[[{"p":0.25,"t":0,"x":10,"y":10},{"t":16.5,"x":20.125,"y":30}]],"width":300}"#
        #expect(String(decoding: signature.canonicalJSON(), as: UTF8.self) == canonical)
        // The canonical form reads back to the same signature.
        #expect(try HandwrittenSignature(json: Data(canonical.utf8)) == signature)
    }

    @Test func hashIsSHA256OfTheCanonicalJSONWhateverTheSpelling() throws {
        let compact = try HandwrittenSignature(json: Data(#"{"width":50,"height":40,"strokes":[[{"x":1,"y":2,"t":3},{"x":4.5,"y":6,"t":7}]]}"#.utf8))
        let loose = try HandwrittenSignature(json: Data("{\n \"strokes\" : [[{\"t\":3.0,\"y\":2,\"x\":1.0},{\"y\":6,\"t\":7,\"x\":4.50}]],\n \"height\":40,\"width\":50}".utf8))
        #expect(compact.sha256 == loose.sha256)
        let python = try ExternalTool.python(
            "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
            input: Data(compact.canonicalJSON())
        )
        #expect(compact.sha256 == python.text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(Self.sample.sha256 != compact.sha256)
    }

    // MARK: Refusals

    @Test func refusesAnEmptySignatureWithTheChineseMessage() {
        for strokes in [[], [[Point(x: 5, y: 5, t: 0)]], [[Point(x: 5, y: 5, t: 0)], [Point(x: 9, y: 9, t: 3)]]] as [[[Point]]] {
            let error = refusal(strokes)
            #expect(error?.reason == .empty)
            #expect(error?.message == "签名内容为空，请在签名框内手写签名后再提交。")
        }
        #expect(refusal(#"{"width":100,"height":100,"strokes":[]}"#)?.reason == .empty)
    }

    @Test func refusesCanvasSizesOutsideOneTo4096() {
        #expect(refusal(width: 0, [twoPoints])?.reason == .invalidCanvasSize)
        #expect(refusal(height: 4097, [twoPoints])?.reason == .invalidCanvasSize)
        #expect(refusal(width: 4096, height: 1, [[Point(x: 0, y: 0, t: 0), Point(x: 4096, y: 1, t: 1)]]) == nil)
    }

    @Test func refusesPointsBeyondTheEdgeTolerance() {
        #expect(refusal([twoPoints + [Point(x: 116, y: -16, t: 9)]]) == nil, "16 px past the edge is still the pen")
        let error = refusal([twoPoints, twoPoints + [Point(x: 116.5, y: 50, t: 9)]])
        #expect(error?.reason == .pointOutsideCanvas)
        #expect(error?.detail.contains("stroke 1 point 2") == true)
        #expect(error?.message == "签名超出签名框，请点击“重写”后在框内重新签名。")
    }

    @Test func refusesTimeRunningBackwardsWithinAStroke() {
        let error = refusal([twoPoints + [Point(x: 30, y: 30, t: 4.9)]])
        #expect(error?.reason == .timeWentBackwards)
        #expect(error?.detail.contains("stroke 0 point 2") == true)
        // A new stroke may start earlier than the last one ended (each stroke is checked on its own) …
        #expect(refusal([twoPoints, [Point(x: 1, y: 1, t: 0), Point(x: 2, y: 2, t: 0)]]) == nil)
        // … but no time may be negative.
        #expect(refusal([[Point(x: 1, y: 1, t: -1), Point(x: 2, y: 2, t: 0)]])?.reason == .invalidTime)
    }

    @Test func refusesPressureOutsideZeroToOneAndEmptyStrokes() {
        #expect(refusal([[Point(x: 1, y: 1, t: 0, p: 1.5), Point(x: 2, y: 2, t: 1)]])?.reason == .invalidPressure)
        #expect(refusal([twoPoints, []])?.reason == .emptyStroke)
    }

    @Test func refusesMoreThan20000PointsAndJSONOverOneMebibyte() {
        let many = (0..<20_001).map { Point(x: Double($0 % 100), y: 1, t: Double($0)) }
        #expect(refusal([many])?.reason == .tooManyPoints)
        #expect(refusal([Array(many.dropLast())]) == nil)

        let padded = #"{"width":100,"height":100,"strokes":[[{"x":1,"y":1,"t":0},{"x":2,"y":2,"t":1}]]}"#
            + String(repeating: " ", count: HandwrittenSignature.maximumJSONBytes)
        #expect(refusal(padded)?.reason == .tooLarge)
    }

    @Test func refusesMalformedJSON() {
        #expect(refusal("{")?.reason == .malformedJSON)
        #expect(refusal(#"{"width":100,"strokes":[]}"#)?.reason == .malformedJSON, "no height")
        #expect(refusal(#"{"width":100.5,"height":100,"strokes":[]}"#)?.reason == .malformedJSON)
        #expect(refusal(#"{"width":100,"height":100,"strokes":[[{"x":1,"y":1}]]}"#)?.reason == .malformedJSON, "no time")
    }

    // MARK: Rendering

    @Test func svgIsWellFormedWithOneRoundCappedPathPerStroke() throws {
        let elements = try XMLElements(Self.sample.svg())
        #expect(elements.names == ["svg", "path", "path", "path"])
        #expect(elements.attributes[0]["viewBox"] == "0 0 200 100")
        let paths = elements.attributes.dropFirst()
        #expect(paths.allSatisfy { $0["stroke-linecap"] == "round" && $0["stroke-linejoin"] == "round" && $0["fill"] == "none" })
        #expect(paths.map { $0["stroke-width"] } == ["3", "3", "3"], "pressure 0.5 and no pressure both draw the base width")
        let arc = try #require(paths.dropFirst().first?["d"])
        #expect(arc.hasPrefix("M120 20Q") && arc.filter { $0 == "Q" }.count == 11, "curves through midpoints")
        #expect(paths.last?["d"] == "M30 20l0 0")
    }

    @Test func pressureWidensTheStroke() throws {
        let firm = try HandwrittenSignature(width: 100, height: 100, strokes: [twoPoints.map { Point(x: $0.x, y: $0.y, t: $0.t, p: 1) }])
        let light = try HandwrittenSignature(width: 100, height: 100, strokes: [twoPoints.map { Point(x: $0.x, y: $0.y, t: $0.t, p: 0) }])
        #expect(try XMLElements(firm.svg()).attributes[1]["stroke-width"] == "4.5")
        #expect(try XMLElements(light.svg()).attributes[1]["stroke-width"] == "1.5")
    }

    @Test func pngShowsInkOnTheStrokesAndWhiteFarFromThem() throws {
        let png = try DecodedPNG(png: try Self.sample.png(scale: 2))
        #expect((png.width, png.height, png.bitDepth, png.colorType) == (400, 200, 8, 0))
        for point in Self.sample.strokes.joined() {
            #expect(png.gray(x: Int(point.x * 2), y: Int(point.y * 2)) < 64, "ink at (\(point.x), \(point.y))")
        }
        for (x, y) in [(0, 0), (399, 199), (40, 160), (300, 180), (390, 10)] {
            #expect(png.gray(x: x, y: y) == 255, "paper at (\(x), \(y))")
        }
        let grays = Set(png.pixels)
        #expect(grays.contains(0) && grays.contains(255))
        #expect(grays.contains { $0 > 32 && $0 < 224 }, "edges are anti-aliased")
    }

    @Test func pngAndSVGDrawTheSameInk() throws {
        let ours = try DecodedPNG(png: try Self.sample.png(scale: 2))
        let path = try ExternalTool.temporaryFile(named: "signature.svg", contents: Array(Self.sample.svg().utf8))
        defer { ExternalTool.cleanUp(path) }
        let rendered = try ExternalTool.run("/usr/bin/rsvg-convert", ["--zoom=2", "--background-color=white", "-o", path + ".png", path])
        try #require(rendered.status == 0, "rsvg-convert: \(rendered.errors)")
        let gray = try ExternalTool.run(
            "/usr/bin/ffmpeg", ["-v", "error", "-i", path + ".png", "-f", "rawvideo", "-pix_fmt", "gray", "-"]
        )
        try #require(gray.status == 0 && gray.output.count == 400 * 200, "ffmpeg: \(gray.errors)")
        let theirs = Array(gray.output)
        let oursInk = Set(ours.pixels.indices.filter { ours.pixels[$0] < 128 })
        let theirInk = Set(theirs.indices.filter { theirs[$0] < 128 })
        let overlap = Double(oursInk.intersection(theirInk).count) / Double(oursInk.union(theirInk).count)
        #expect(overlap > 0.85, "librsvg and our rasteriser agree on \(overlap * 100) % of the ink")
    }

    @Test func pngRefusesScalesThatMakeNoImageOrTooBigAnImage() {
        #expect(throws: PNGEncoder.EncodingError.self) { try Self.sample.png(scale: 0) }
        #expect(throws: PNGEncoder.EncodingError.self) { try Self.sample.png(scale: .nan) }
        #expect(throws: PNGEncoder.EncodingError.self) { try Self.sample.png(scale: 100) }
    }
}
