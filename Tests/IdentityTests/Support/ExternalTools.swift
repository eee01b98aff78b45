import Foundation
import Testing

/// Independent judges for what Identity writes: Python's zlib and hmac,
/// zbarimg, rsvg-convert. scripts/lib.sh (TEST_PACKAGES) installs them.
enum ExternalTool {
    struct Result {
        let status: Int32
        let output: Data
        let errors: String
        var text: String { String(decoding: output, as: UTF8.self) }
    }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is not installed; run scripts/test (it installs TEST_PACKAGES from scripts/lib.sh)" }
    }

    static func run(_ path: String, _ arguments: [String], input: Data? = nil, in directory: String? = nil) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Missing(path: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // stderr goes to a file, so a chatty tool cannot stall on a full pipe
        // while we wait for its stdout.
        let errorPath = NSTemporaryDirectory() + "identity-stderr-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: errorPath])
        }
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let errorFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        defer { try? errorFile.close() }
        let stdout = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = errorFile
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, output: output, errors: errors)
    }

    static func python(_ script: String, _ arguments: [String] = [], input: Data? = nil) throws -> Result {
        try run("/usr/bin/python3", ["-c", script] + arguments, input: input)
    }

    /// A file in a fresh temporary folder, removed with the folder by `cleanUp`.
    static func temporaryFile(named name: String, contents: [UInt8]) throws -> String {
        let folder = NSTemporaryDirectory() + "identity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + name
        try Data(contents).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func cleanUp(_ path: String) {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}

/// A PNG decoded by Python (zlib for the data, its own CRC-32 check of every
/// chunk), so our encoder is judged by code that shares nothing with it.
struct DecodedPNG {
    let width: Int
    let height: Int
    let bitDepth: Int
    let colorType: Int
    let chunkTypes: [String]
    let pixels: [UInt8]

    func gray(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    static let decoder = #"""
        import json, struct, sys, zlib
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
        pos, chunks, idat, ihdr = 8, [], b"", None
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
            assert crc == zlib.crc32(kind + body), "CRC mismatch in " + kind.decode()
            chunks.append(kind.decode())
            if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
            if kind == b"IDAT": idat += body
            pos += 12 + length
        assert pos == len(data), "trailing bytes"
        assert chunks[0] == "IHDR" and chunks[-1] == "IEND", chunks
        width, height, depth, color, _, _, interlace = ihdr
        assert depth == 8 and color == 0 and interlace == 0, ihdr
        raw = zlib.decompress(idat)
        assert len(raw) == height * (width + 1), "wrong data length"
        out, prev = bytearray(), bytearray(width)
        for y in range(height):
            f, row = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
            for x in range(width):
                a = row[x - 1] if x else 0
                b = prev[x]
                c = prev[x - 1] if x else 0
                if f == 1: row[x] = (row[x] + a) & 255
                elif f == 2: row[x] = (row[x] + b) & 255
                elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                else: assert f == 0, "filter %d" % f
            out += row
            prev = row
        open(sys.argv[2], "wb").write(out)
        print(json.dumps({"width": width, "height": height, "bitDepth": depth, "colorType": color, "chunks": chunks}))
        """#

    init(png: [UInt8]) throws {
        let path = try ExternalTool.temporaryFile(named: "image.png", contents: png)
        defer { ExternalTool.cleanUp(path) }
        let pixelsPath = path + ".gray"
        let result = try ExternalTool.python(Self.decoder, [path, pixelsPath])
        try #require(result.status == 0, "python could not decode the PNG: \(result.errors)")
        struct Header: Decodable {
            let width, height, bitDepth, colorType: Int
            let chunks: [String]
        }
        let header = try JSONDecoder().decode(Header.self, from: result.output)
        width = header.width
        height = header.height
        bitDepth = header.bitDepth
        colorType = header.colorType
        chunkTypes = header.chunks
        pixels = Array(try Data(contentsOf: URL(fileURLWithPath: pixelsPath)))
    }
}
