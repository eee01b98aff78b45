import Foundation

/// The deterministic tar of a sealed bag (docs/formats.md, "Package tar"):
/// what the platform pulls and what the outbox pushes. The same folder always
/// gives the same bytes: entries under `<name>/`, the tag files first
/// (bagit.txt, bag-info.txt, the manifests, the signature, the timestamp),
/// then every other file in byte order of its path; mode 0444, owner 0
/// "roomd", one mtime (the seal's); pax headers for long or UTF-8 names.
///
/// Any byte range can be read again without reading what comes before it, so
/// a download resumes with HTTP Range and an upload resumes at any part.
/// Everything here blocks on the disk: call it from a dedicated thread.
public struct PackageTar: Sendable {
    public struct Entry: Sendable {
        /// Name inside the archive (`<name>/<path>`).
        public var name: String
        /// Path relative to the bag's root.
        public var path: String
        /// File on disk.
        public var file: String
        public var bytes: Int64
        /// Where the entry's header starts in the archive.
        public var offset: Int64
        var header: [UInt8]
        /// Where the entry's content starts (after its header blocks).
        public var dataOffset: Int64 { offset + Int64(header.count) }
        var end: Int64 { dataOffset + bytes + Int64(Tar.padding(size: bytes)) }
    }

    public let name: String
    public let entries: [Entry]
    public let size: Int64

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    static let tagOrder = [Bag.declarationFile, Bag.infoFile, Bag.manifestFile, Bag.tagManifestFile, Bag.signatureFile, Bag.timestampFile]

    /// Lays out the tar of `folder` (a bag) with entries under `name/`.
    public init(folder: String, name: String, mtime: Int64) throws {
        self.name = name
        let paths = try Self.files(in: folder)
        let ordered = Self.tagOrder.filter(paths.contains)
            + paths.filter { !Self.tagOrder.contains($0) }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var entries: [Entry] = []
        var offset: Int64 = 0
        for path in ordered {
            let file = folder + "/" + path
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let header = Tar.header(name: name + "/" + path, size: bytes, mtime: mtime)
            let entry = Entry(name: name + "/" + path, path: path, file: file, bytes: bytes, offset: offset, header: header)
            entries.append(entry)
            offset = entry.end
        }
        self.entries = entries
        size = offset + Int64(Tar.end.count)
    }

    /// Every regular file below `folder`, as relative paths. Anything else (a
    /// symbolic link, a device, a socket) is refused: a bag holds files only.
    static func files(in folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { throw Problem(description: "cannot read the folder \(folder)") }
        var out: [String] = []
        while let relative = walker.nextObject() as? String {
            let type = walker.fileAttributes?[.type] as? FileAttributeType
            switch type {
            case .typeDirectory?:
                continue
            case .typeRegular?:
                out.append(relative)
            default:
                throw Problem(description: "\(folder)/\(relative) is not a regular file; a package holds files only")
            }
        }
        return out
    }

    /// `count` bytes (fewer only at the end) from `offset`.
    public func read(offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, offset <= size else { throw Problem(description: "offset \(offset) is outside the \(size)-byte archive") }
        var out: [UInt8] = []
        out.reserveCapacity(min(count, Int(size - offset)))
        var position = offset
        let stop = min(size, offset + Int64(count))
        // The first entry whose end lies after `position`.
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].end <= position { low = mid + 1 } else { high = mid }
        }
        var index = low
        while position < stop {
            guard index < entries.count else {
                // The two zero blocks that end the archive.
                out += [UInt8](repeating: 0, count: Int(stop - position))
                break
            }
            let entry = entries[index]
            if position < entry.dataOffset {
                let start = Int(position - entry.offset)
                let take = min(entry.header.count - start, Int(stop - position))
                out += entry.header[start..<(start + take)]
                position += Int64(take)
                continue
            }
            if position < entry.dataOffset + entry.bytes {
                let take = Int(min(entry.dataOffset + entry.bytes - position, stop - position))
                let data = try Self.readFile(entry.file, at: position - entry.dataOffset, count: take)
                guard data.count == take else {
                    throw Problem(description: "\(entry.file) is shorter than when the package was sealed (\(entry.bytes) bytes)")
                }
                out += data
                position += Int64(take)
                continue
            }
            let take = Int(min(entry.end - position, stop - position))
            out += [UInt8](repeating: 0, count: take)
            position += Int64(take)
            if position == entry.end { index += 1 }
        }
        return out
    }

    static func readFile(_ path: String, at offset: Int64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Problem(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if got < 0 {
                if errno == EINTR { continue }
                throw Problem(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            done += got
        }
        return Array(out.prefix(done))
    }
}
