import Foundation
import Testing

@testable import Identity

#if canImport(FoundationXML)
import FoundationXML
#endif

/// QR codes are judged by zbarimg (a decoder that shares nothing with
/// libqrencode) and, for SVG, by librsvg's rasteriser in front of it.
struct QRCodeTests {
    /// Shaped like the check-in challenge: nonce, session, station, roster entry, document hash, expiry.
    static let challenge =
        "roomd-checkin:v1;n=Q2hhbGxlbmdlTm9uY2UxMjM0NTY;s=ZB2026-0117;st=S03;r=E01;"
        + "d=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08;exp=2026-01-17T09:30:00Z"

    func zbar(_ png: [UInt8]) throws -> String {
        let path = try ExternalTool.temporaryFile(named: "qr.png", contents: png)
        defer { ExternalTool.cleanUp(path) }
        let result = try ExternalTool.run("/usr/bin/zbarimg", ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", path])
        try #require(result.status == 0, "zbarimg found no code (status \(result.status)): \(result.errors)")
        // zbarimg ends each decoded symbol with a newline.
        return String(result.text.dropLast())
    }

    func modules(of code: QRCode) -> [[Bool]] {
        (0..<code.size).map { y in (0..<code.size).map { x in code.isDark(x: x, y: y) } }
    }

    @Test func pngDecodesBackToTheChallenge() throws {
        let code = try QRCode(text: Self.challenge)
        #expect(try zbar(try code.png(moduleSize: 4)) == Self.challenge)
    }

    @Test func chineseTextSurvivesAsUTF8() throws {
        let text = "签到：评审室 3 号位，专家 E01"
        #expect(try zbar(try QRCode(text: text, errorCorrection: .high).png()) == text)
    }

    @Test func svgRasterisedByLibrsvgDecodesBackToTheChallenge() throws {
        let svg = try QRCode(text: Self.challenge).svg(moduleSize: 4)
        let path = try ExternalTool.temporaryFile(named: "qr.svg", contents: Array(svg.utf8))
        defer { ExternalTool.cleanUp(path) }
        let converted = try ExternalTool.run("/usr/bin/rsvg-convert", ["--background-color=white", path])
        try #require(converted.status == 0, "rsvg-convert: \(converted.errors)")
        #expect(try zbar(Array(converted.output)) == Self.challenge)
    }

    @Test func svgIsOneWellFormedPathWhoseRunsAreExactlyTheDarkModules() throws {
        let code = try QRCode(text: Self.challenge)
        let svg = code.svg(moduleSize: 5, quietZone: 4)
        let elements = try XMLElements(svg)
        #expect(elements.names.filter { $0 == "path" }.count == 1)
        let root = try #require(elements.attributes.first)
        let side = code.size + 8
        #expect(root["viewBox"] == "0 0 \(side) \(side)")
        #expect(root["width"] == "\(side * 5)")
        #expect(root["shape-rendering"] == "crispEdges")

        // Paint the runs ("Mx yhNv1h-Nz") onto a grid and compare with the symbol.
        let d = try #require(elements.attributes.first { $0["d"] != nil }?["d"])
        var grid = Array(repeating: Array(repeating: false, count: code.size), count: code.size)
        let numbers = d.split(whereSeparator: { "Mhvz ".contains($0) }).map { Int($0)! }
        #expect(numbers.count % 5 == 0)
        for run in stride(from: 0, to: numbers.count, by: 5) {
            let (x, y, length) = (numbers[run] - 4, numbers[run + 1] - 4, numbers[run + 2])
            #expect(numbers[run + 3] == 1 && numbers[run + 4] == -length)
            for column in x..<(x + length) {
                #expect(!grid[y][column], "module painted twice")
                grid[y][column] = true
            }
        }
        #expect(grid == modules(of: code))
    }

    @Test func pngIsGrayscaleWithValidChunksAndOneSquareAModule() throws {
        let code = try QRCode(text: Self.challenge)
        let png = try DecodedPNG(png: try code.png(moduleSize: 3, quietZone: 4))
        let side = (code.size + 8) * 3
        #expect((png.width, png.height, png.bitDepth, png.colorType) == (side, side, 8, 0))
        #expect(png.chunkTypes == ["IHDR", "IDAT", "IEND"])
        #expect(Set(png.pixels) == [0, 255])
        for y in 0..<side {
            for x in 0..<side {
                let (mx, my) = (x / 3 - 4, y / 3 - 4)
                let dark = (0..<code.size).contains(mx) && (0..<code.size).contains(my) && code.isDark(x: mx, y: my)
                if png.gray(x: x, y: y) != (dark ? 0 : 255) {
                    Issue.record("pixel (\(x), \(y)) does not show module (\(mx), \(my))")
                    return
                }
            }
        }
    }

    @Test func hasFinderPatternsAndAStandardSize() throws {
        let code = try QRCode(text: Self.challenge)
        #expect(code.size >= 21 && (code.size - 17) % 4 == 0, "a QR version's side is 17 + 4 × version")
        // The 7×7 finder in the top-left corner: dark ring, light ring, dark 3×3 centre.
        let ring = (0..<7).flatMap { i in [(i, 0), (i, 6), (0, i), (6, i)] }
        #expect(ring.allSatisfy { code.isDark(x: $0.0, y: $0.1) })
        #expect((1..<6).allSatisfy { !code.isDark(x: $0, y: 1) && !code.isDark(x: 1, y: $0) })
        #expect((2..<5).allSatisfy { x in (2..<5).allSatisfy { code.isDark(x: x, y: $0) } })
    }

    @Test func strongerErrorCorrectionNeedsAtLeastAsLargeASymbol() throws {
        let sizes = try QRCode.ErrorCorrection.allCases.map { try QRCode(text: Self.challenge, errorCorrection: $0).size }
        #expect(sizes == sizes.sorted())
        #expect(sizes.first! < sizes.last!)
    }

    @Test func refusesEmptyAndOverlongContent() {
        let empty = #expect(throws: QRCodeError.self) { try QRCode(text: "") }
        #expect(empty?.reason == .empty)
        // Version 40 at level H holds 1273 bytes.
        let long = #expect(throws: QRCodeError.self) { try QRCode(bytes: Array(repeating: 0x41, count: 1274), errorCorrection: .high) }
        #expect(long?.reason == .tooLong)
        #expect(long?.message == "签到二维码内容过长，无法生成，请联系现场工作人员。")
        #expect((try? QRCode(bytes: Array(repeating: 0x41, count: 1273), errorCorrection: .high))?.size == 177)
    }

    @Test func refusesAPNGLargerThanTheEncoderAllows() throws {
        let code = try QRCode(text: Self.challenge)
        #expect(throws: PNGEncoder.EncodingError.self) { try code.png(moduleSize: 200) }
        #expect(throws: PNGEncoder.EncodingError.self) { try code.png(moduleSize: 0) }
    }
}

/// Element names and attributes of an XML document, in order; throws when
/// Foundation's parser finds it malformed.
struct XMLElements {
    var names: [String] = []
    var attributes: [[String: String]] = []

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    init(_ text: String) throws {
        final class Collector: NSObject, XMLParserDelegate {
            var names: [String] = []
            var attributes: [[String: String]] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                names.append(name)
                self.attributes.append(attributes)
            }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            throw Malformed(description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        names = collector.names
        attributes = collector.attributes
    }
}
