import Foundation

/// POSIX tar (ustar, with pax extended headers for names longer than ustar
/// allows, non-ASCII names and sizes of 8 GiB and more), written and read the
/// way roomd needs it: regular files only, deterministic headers (mode 0444,
/// owner 0 "roomd", one mtime for the whole archive), entries in the order
/// given. Python's `tarfile` and GNU tar read what this writes.
public enum Tar {
    public static let blockSize = 512

    /// The header block(s) of one regular file of `size` bytes; its content
    /// follows, then ``padding(size:)``.
    public static func header(name: String, size: Int64, mtime: Int64, mode: Int = 0o444) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        let needsPax = nameBytes.count > 100 || !name.allSatisfy(\.isASCII) || size >= 0o77777777777
        var out: [UInt8] = []
        var ustarName = nameBytes
        if needsPax {
            var records: [UInt8] = []
            records += paxRecord("path", name)
            if size >= 0o77777777777 { records += paxRecord("size", String(size)) }
            // The ustar name fields keep an ASCII stand-in (readers use the pax path).
            let standIn = String(String(name.unicodeScalars.map { $0.isASCII ? Character($0) : "_" }).suffix(80))
            out += block(name: Array("PaxHeaders/\(standIn)".utf8.suffix(100)), size: Int64(records.count), mtime: mtime,
                         mode: 0o444, type: UInt8(ascii: "x"))
            out += records
            out += [UInt8](repeating: 0, count: padding(size: Int64(records.count)))
            ustarName = Array(standIn.utf8)
        }
        out += block(name: ustarName, size: min(size, 0o77777777777), mtime: mtime, mode: mode, type: UInt8(ascii: "0"))
        return out
    }

    /// Zero bytes that complete a file's last block.
    public static func padding(size: Int64) -> Int { Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize)) }

    /// Two zero blocks end an archive.
    public static let end = [UInt8](repeating: 0, count: 2 * blockSize)

    /// `"<length> <key>=<value>\n"`, the length counting itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count != length { length += 1 }
        return Array((String(length) + body).utf8)
    }

    static func block(name: [UInt8], size: Int64, mtime: Int64, mode: Int, type: UInt8) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], _ offset: Int, _ length: Int) {
            for (i, b) in bytes.prefix(length).enumerated() { h[offset + i] = b }
        }
        func octal(_ value: Int64, _ offset: Int, _ length: Int) {
            let text = String(value, radix: 8)
            put(Array((String(repeating: "0", count: max(0, length - 1 - text.count)) + text).utf8), offset, length - 1)
        }
        put(name, 0, 100)
        octal(Int64(mode), 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(size, 124, 12)
        octal(mtime, 136, 12)
        put([UInt8](repeating: 0x20, count: 8), 148, 8)
        h[156] = type
        put(Array("ustar".utf8) + [0], 257, 6)
        put(Array("00".utf8), 263, 2)
        put(Array("roomd".utf8), 265, 32)
        put(Array("roomd".utf8), 297, 32)
        let sum = h.reduce(0) { $0 + Int($1) }
        let text = String(sum, radix: 8)
        put(Array((String(repeating: "0", count: max(0, 6 - text.count)) + text).utf8) + [0, 0x20], 148, 8)
        return h
    }

    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Unpacks regular files from `archive` into `directory` (created),
    /// refusing absolute names, `..` and anything but regular files and pax
    /// headers. Returns the names, in order.
    @discardableResult
    public static func extract(archive: String, into directory: String) throws -> [String] {
        guard let input = FileHandle(forReadingAtPath: archive) else { throw ReadError(description: "cannot open \(archive)") }
        defer { try? input.close() }
        func read(_ count: Int) throws -> Data {
            var data = Data()
            while data.count < count {
                guard let chunk = try input.read(upToCount: count - data.count), !chunk.isEmpty else {
                    throw ReadError(description: "\(archive) ends in the middle of an entry (cut short?)")
                }
                data += chunk
            }
            return data
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var names: [String] = []
        var pax: [String: String] = [:]
        while true {
            let h = [UInt8](try read(blockSize))
            if h.allSatisfy({ $0 == 0 }) { break }
            func field(_ offset: Int, _ length: Int) -> String {
                String(decoding: h[offset..<(offset + length)].prefix { $0 != 0 }, as: UTF8.self)
            }
            let stored = h[148..<156]
            var check = h
            for i in 148..<156 { check[i] = 0x20 }
            guard let sum = Int(field(148, 8).trimmingCharacters(in: CharacterSet(charactersIn: " \0")), radix: 8),
                  sum == check.reduce(0, { $0 + Int($1) }) else {
                throw ReadError(description: "a tar header's checksum is wrong (\(String(decoding: stored, as: UTF8.self))): the archive is damaged")
            }
            var size = Int64(field(124, 12).trimmingCharacters(in: CharacterSet(charactersIn: " \0")), radix: 8) ?? 0
            let type = h[156]
            if type == UInt8(ascii: "x") {
                let records = String(decoding: try read(Int(size)), as: UTF8.self)
                _ = try read(padding(size: size))
                for line in records.split(separator: "\n") {
                    guard let space = line.firstIndex(of: " "), let equals = line.firstIndex(of: "=") else { continue }
                    pax[String(line[line.index(after: space)..<equals])] = String(line[line.index(after: equals)...])
                }
                continue
            }
            guard type == UInt8(ascii: "0") || type == 0 else {
                throw ReadError(description: "entry type \(Character(UnicodeScalar(type))) is not a regular file; roomd archives hold only files")
            }
            var name = field(0, 100)
            let prefix = field(345, 155)
            if !prefix.isEmpty { name = prefix + "/" + name }
            if let path = pax["path"] { name = path }
            if let big = pax["size"], let value = Int64(big) { size = value }
            pax = [:]
            let parts = name.split(separator: "/")
            guard !name.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
                throw ReadError(description: "unsafe name \(name) in the archive; refused")
            }
            let target = directory + "/" + name
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: target, contents: nil), let output = FileHandle(forWritingAtPath: target) else {
                throw ReadError(description: "cannot write \(target)")
            }
            var left = size
            while left > 0 {
                let chunk = try read(Int(min(left, 1 << 20)))
                try output.write(contentsOf: chunk)
                left -= Int64(chunk.count)
            }
            try output.close()
            _ = try read(padding(size: size))
            names.append(name)
        }
        return names
    }
}
