import Glibc

/// A segment read as boxes, for an export that copies its movie fragments
/// (moof + mdat) as they are instead of remuxing them packet by packet: in the
/// middle of a long range nothing is cut, so the evidence's bytes can go out
/// unchanged; only each fragment's sequence number (`mfhd`), track IDs
/// (`tfhd`) and decode times (`tfdt`) are rewritten to fit the clip. Samples,
/// their sizes, durations and flags, and every byte of media stay as recorded.
///
/// Reading a layout touches only the box headers and the small moov/moof
/// boxes (a few hundred reads for a 60 s segment), never the media.
///
/// Anything this reader does not fully understand — an absolute base data
/// offset, a sample whose duration, size or flags would come from the
/// movie's defaults (`trex`), composition offsets, an edit list that is more
/// than a plain shift, a fragment without its mdat — makes the layout
/// unusable, and the export remuxes that segment as before: copying is an
/// optimisation, never a second meaning.
struct FragmentLayout {
    enum Kind: Equatable { case video, audio, other }

    struct Track {
        var id: UInt32
        var kind: Kind
        var timescale: UInt32
        /// What the edit list moves the samples by: the demuxer shows sample
        /// time t as t − shift (a delay is a negative shift).
        var shift: Int64
    }

    /// One track's run of samples in a fragment (a `traf`).
    struct Run {
        var track: UInt32
        /// Offsets inside the moof of the tfhd's track_ID and of the tfdt's time field.
        var trackIDOffset: Int
        var timeOffset: Int
        var timeIs64Bit: Bool
        /// The tfdt: the first sample's decode time, in the track's timescale.
        var baseTime: Int64
        var samples: Int64
        /// From the first sample's start to the last one's start, and to its end.
        var lastStart: Int64
        var duration: Int64
    }

    struct Fragment {
        var moofOffset: Int64
        var moofSize: Int
        var sequenceOffset: Int
        var mdatOffset: Int64
        var mdatSize: Int64
        var runs: [Run]
    }

    let path: String
    let tracks: [UInt32: Track]
    let fragments: [Fragment]

    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the layout of the file at `path` (opened read-only).
    init(path: String) throws(Unusable) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Unusable(description: "\(path): cannot open (errno \(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Unusable(description: "\(path): cannot stat") }
        let size = Int64(info.st_size)
        var tracks: [UInt32: Track] = [:]
        var fragments: [Fragment] = []
        var pendingMoof: (offset: Int64, bytes: [UInt8])?
        var offset: Int64 = 0
        while offset < size {
            let (type, headerSize, boxSize) = try Self.header(fd: fd, at: offset, fileSize: size, path: path)
            switch type {
            case "moov":
                guard boxSize <= 16 << 20 else { throw Unusable(description: "\(path): a moov of \(boxSize) bytes") }
                let bytes = try Self.read(fd: fd, at: offset, count: Int(boxSize), path: path)
                tracks = try Self.tracks(moov: bytes, headerSize: headerSize, path: path)
            case "moof":
                guard pendingMoof == nil else { throw Unusable(description: "\(path): a moof without its mdat at \(pendingMoof!.offset)") }
                guard boxSize <= 4 << 20 else { throw Unusable(description: "\(path): a moof of \(boxSize) bytes") }
                pendingMoof = (offset, try Self.read(fd: fd, at: offset, count: Int(boxSize), path: path))
            case "mdat":
                guard let moof = pendingMoof else { throw Unusable(description: "\(path): an mdat without a moof at \(offset)") }
                var fragment = try Self.fragment(moof: moof.bytes, at: moof.offset, tracks: tracks, path: path)
                fragment.mdatOffset = offset
                fragment.mdatSize = boxSize
                guard offset == moof.offset + Int64(moof.bytes.count) else {
                    throw Unusable(description: "\(path): the mdat at \(offset) does not follow its moof")
                }
                fragments.append(fragment)
                pendingMoof = nil
            default:
                break   // ftyp, free, udta, sidx, mfra …: not part of the clip
            }
            offset += boxSize
        }
        guard pendingMoof == nil else { throw Unusable(description: "\(path): the last moof has no mdat") }
        guard !tracks.isEmpty else { throw Unusable(description: "\(path): no moov") }
        self.tracks = tracks
        self.fragments = fragments
    }

    /// The track of `kind`, when there is exactly one.
    func track(_ kind: Kind) -> Track? {
        let found = tracks.values.filter { $0.kind == kind }
        return found.count == 1 ? found[0] : nil
    }

    /// Per track: its first sample's decode time, the last sample's start and end (track ticks, shift applied) and its sample count.
    func extent(of track: UInt32) -> (first: Int64, lastStart: Int64, end: Int64, samples: Int64)? {
        let runs = fragments.flatMap(\.runs).filter { $0.track == track && $0.samples > 0 }
        guard let first = runs.first, let last = runs.last else { return nil }
        let shift = tracks[track]?.shift ?? 0
        return (first.baseTime - shift, last.baseTime + last.lastStart - shift, last.baseTime + last.duration - shift,
                runs.reduce(0) { $0 + $1.samples })
    }

    // MARK: Copying

    /// Writes the fragments to `deliver`: moof with its rewritten fields, then
    /// the mdat as it is, gathered in `buffer` and handed on whenever it is
    /// full (few, large writes) and at the end.
    /// `sequence` is the first fragment's new number; `map` gives each source
    /// track its output track ID and the ticks to add to its decode times.
    /// With `refer`, each mdat (header and media, unchanged) is not read but
    /// named by its offset and size in the segment, after everything before
    /// it has been delivered: the reader copies it from the file itself.
    func copy(sequence: UInt32, map: [UInt32: (id: UInt32, add: Int64)], buffer: UnsafeMutableRawBufferPointer,
              deliver: (UnsafeRawBufferPointer) throws(CaptureError) -> Void,
              refer: ((_ offset: Int64, _ length: Int64) throws(CaptureError) -> Void)? = nil) throws(CaptureError) -> UInt32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaptureError.system(operation: "open \(path)", errno: errno) }
        defer { close(fd) }
        var filled = 0
        func flush() throws(CaptureError) {
            if filled > 0 { try deliver(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])) }
            filled = 0
        }
        var next = sequence
        for fragment in fragments {
            var moof = try readExactly(fd: fd, at: fragment.moofOffset, count: fragment.moofSize)
            Self.put32(next, into: &moof, at: fragment.sequenceOffset)
            for run in fragment.runs {
                guard let target = map[run.track] else {
                    throw CaptureError.system(operation: "\(path): placing track \(run.track) in the export", errno: EINVAL)
                }
                Self.put32(target.id, into: &moof, at: run.trackIDOffset)
                let time = run.baseTime + target.add
                if run.timeIs64Bit {
                    Self.put64(UInt64(time), into: &moof, at: run.timeOffset)
                } else {
                    Self.put32(UInt32(time), into: &moof, at: run.timeOffset)
                }
            }
            if filled + moof.count > buffer.count { try flush() }
            if moof.count > buffer.count {
                let failed: CaptureError? = moof.withUnsafeBytes { bytes in
                    do throws(CaptureError) { try deliver(bytes); return nil } catch { return error }
                }
                if let failed { throw failed }
            } else {
                moof.withUnsafeBytes { buffer.baseAddress!.advanced(by: filled).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                filled += moof.count
            }
            if let refer {
                try flush()
                try refer(fragment.mdatOffset, fragment.mdatSize)
                next &+= 1
                continue
            }
            var at = fragment.mdatOffset, left = fragment.mdatSize
            while left > 0 {
                if filled == buffer.count { try flush() }
                let want = Int(min(Int64(buffer.count - filled), left))
                let got = pread(fd, buffer.baseAddress! + filled, want, off_t(at))
                if got < 0, errno == EINTR { continue }
                guard got > 0 else { throw CaptureError.system(operation: "read \(path) at \(at)", errno: got < 0 ? errno : EIO) }
                filled += got
                at += Int64(got)
                left -= Int64(got)
            }
            next &+= 1
        }
        try flush()
        return next
    }

    /// Whether every new decode time fits its field (a version-0 tfdt holds 32 bits).
    func fits(_ map: [UInt32: (id: UInt32, add: Int64)]) -> Bool {
        fragments.allSatisfy { fragment in
            fragment.runs.allSatisfy { run in
                guard let add = map[run.track]?.add else { return false }
                let time = run.baseTime + add
                return time >= 0 && (run.timeIs64Bit || time <= Int64(UInt32.max))
            }
        }
    }

    private func readExactly(fd: Int32, at offset: Int64, count: Int) throws(CaptureError) -> [UInt8] {
        do { return try Self.read(fd: fd, at: offset, count: count, path: path) } catch {
            throw CaptureError.system(operation: "read \(path) at \(offset)", errno: EIO)
        }
    }

    // MARK: Parsing

    private static func header(fd: Int32, at offset: Int64, fileSize: Int64, path: String) throws(Unusable) -> (String, Int, Int64) {
        let head = try read(fd: fd, at: offset, count: Int(min(16, fileSize - offset)), path: path)
        guard let box = BoxHeader(head[...]) else { throw Unusable(description: "\(path): a truncated box header at \(offset)") }
        let type = box.type, headerSize = box.headerSize
        let size = box.size == 0 ? fileSize - offset : box.size
        guard size >= Int64(headerSize), offset + size <= fileSize else {
            throw Unusable(description: "\(path): the \(type) box at \(offset) runs past the end of the file")
        }
        return (type, headerSize, size)
    }

    private static func read(fd: Int32, at offset: Int64, count: Int, path: String) throws(Unusable) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { throw Unusable(description: "\(path): cannot read \(count) bytes at \(offset)") }
            done += got
        }
        return bytes
    }

    /// The children of the box whose content spans `range` of `bytes`: (type, start of box, header size, end).
    private static func children(_ bytes: [UInt8], _ range: Range<Int>, path: String) throws(Unusable) -> [(type: String, start: Int, header: Int, end: Int)] {
        var result: [(String, Int, Int, Int)] = []
        var at = range.lowerBound
        while at + 8 <= range.upperBound {
            var size = Int(be32(bytes, at))
            var header = 8
            if size == 1 {
                guard at + 16 <= range.upperBound else { break }
                size = Int(be64(bytes, at + 8))
                header = 16
            } else if size == 0 {
                size = range.upperBound - at
            }
            guard size >= header, at + size <= range.upperBound else {
                throw Unusable(description: "\(path): a malformed box inside at byte \(at)")
            }
            result.append((String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self), at, header, at + size))
            at += size
        }
        return result
    }

    private static func child(_ type: String, of box: (type: String, start: Int, header: Int, end: Int), in bytes: [UInt8],
                              path: String) throws(Unusable) -> (type: String, start: Int, header: Int, end: Int)? {
        try children(bytes, (box.start + box.header)..<box.end, path: path).first { $0.type == type }
    }

    private static func tracks(moov bytes: [UInt8], headerSize: Int, path: String) throws(Unusable) -> [UInt32: Track] {
        var tracks: [UInt32: Track] = [:]
        let boxes = try children(bytes, headerSize..<bytes.count, path: path)
        var movieTimescale: UInt32 = 0
        if let mvhd = boxes.first(where: { $0.type == "mvhd" }) {
            let body = mvhd.start + mvhd.header
            movieTimescale = be32(bytes, body + (bytes[body] == 1 ? 20 : 12))
        }
        for trak in boxes where trak.type == "trak" {
            guard let tkhd = try child("tkhd", of: trak, in: bytes, path: path),
                  let mdia = try child("mdia", of: trak, in: bytes, path: path),
                  let mdhd = try child("mdhd", of: mdia, in: bytes, path: path),
                  let hdlr = try child("hdlr", of: mdia, in: bytes, path: path) else {
                throw Unusable(description: "\(path): a trak without tkhd, mdhd or hdlr")
            }
            let tkhdBody = tkhd.start + tkhd.header
            let id = be32(bytes, tkhdBody + (bytes[tkhdBody] == 1 ? 20 : 12))
            let mdhdBody = mdhd.start + mdhd.header
            let timescale = be32(bytes, mdhdBody + (bytes[mdhdBody] == 1 ? 20 : 12))
            let handler = String(decoding: bytes[(hdlr.start + hdlr.header + 8)..<(hdlr.start + hdlr.header + 12)], as: UTF8.self)
            guard timescale > 0 else { throw Unusable(description: "\(path): track \(id) has timescale 0") }
            var shift: Int64 = 0
            if let edts = try child("edts", of: trak, in: bytes, path: path), let elst = try child("elst", of: edts, in: bytes, path: path) {
                // Understood: one edit from media time 0, after at most one
                // empty edit (a delay, as the recorder writes for a track that
                // starts later than the other). The demuxer shows sample time t
                // as t + delay.
                let body = elst.start + elst.header
                let version = bytes[body]
                let entries = Int(be32(bytes, body + 4))
                let stride = version == 1 ? 20 : 12
                guard (1...2).contains(entries), body + 8 + stride * entries <= elst.end else {
                    throw Unusable(description: "\(path): track \(id) has an edit list of \(entries) entries")
                }
                for entry in 0..<entries {
                    let at = body + 8 + stride * entry
                    let duration = version == 1 ? Int64(bitPattern: be64(bytes, at)) : Int64(be32(bytes, at))
                    let media = version == 1 ? Int64(bitPattern: be64(bytes, at + 8)) : Int64(Int32(bitPattern: be32(bytes, at + 4)))
                    let rate = be32(bytes, at + (version == 1 ? 16 : 8))
                    guard rate == 0x1_0000 else { throw Unusable(description: "\(path): track \(id) has an edit at another rate") }
                    if media == -1, entry == 0, entries == 2 {
                        guard movieTimescale > 0 else { throw Unusable(description: "\(path): no movie timescale") }
                        shift = -(duration * Int64(timescale) / Int64(movieTimescale))
                    } else if media != 0 || entry != entries - 1 {
                        throw Unusable(description: "\(path): track \(id) has an edit from media time \(media)")
                    }
                }
            }
            let kind: Kind = handler == "vide" ? .video : handler == "soun" ? .audio : .other
            tracks[id] = Track(id: id, kind: kind, timescale: timescale, shift: shift)
        }
        return tracks
    }

    private static func fragment(moof bytes: [UInt8], at offset: Int64, tracks: [UInt32: Track], path: String) throws(Unusable) -> Fragment {
        let header = be32(bytes, 0) == 1 ? 16 : 8
        var sequenceOffset: Int?
        var runs: [Run] = []
        for box in try children(bytes, header..<bytes.count, path: path) {
            switch box.type {
            case "mfhd":
                sequenceOffset = box.start + box.header + 4
            case "traf":
                runs.append(try run(traf: box, bytes: bytes, tracks: tracks, path: path))
            default:
                throw Unusable(description: "\(path): a \(box.type) box in the moof at \(offset)")
            }
        }
        guard let sequenceOffset else { throw Unusable(description: "\(path): a moof without mfhd at \(offset)") }
        return Fragment(moofOffset: offset, moofSize: bytes.count, sequenceOffset: sequenceOffset, mdatOffset: 0, mdatSize: 0, runs: runs)
    }

    private static func run(traf: (type: String, start: Int, header: Int, end: Int), bytes: [UInt8], tracks: [UInt32: Track],
                            path: String) throws(Unusable) -> Run {
        var tfhd: (type: String, start: Int, header: Int, end: Int)?
        var tfdt: (type: String, start: Int, header: Int, end: Int)?
        var truns: [(type: String, start: Int, header: Int, end: Int)] = []
        for box in try children(bytes, (traf.start + traf.header)..<traf.end, path: path) {
            switch box.type {
            case "tfhd": tfhd = box
            case "tfdt": tfdt = box
            case "trun": truns.append(box)
            default: throw Unusable(description: "\(path): a \(box.type) box in a traf")
            }
        }
        guard let tfhd, let tfdt else { throw Unusable(description: "\(path): a traf without tfhd or tfdt") }
        let hd = tfhd.start + tfhd.header
        let hdFlags = be32(bytes, hd) & 0xFF_FFFF
        let track = be32(bytes, hd + 4)
        guard tracks[track] != nil else { throw Unusable(description: "\(path): a traf for unknown track \(track)") }
        // An absolute base data offset would point into the source file.
        guard hdFlags & 0x1 == 0 else { throw Unusable(description: "\(path): a tfhd with a base data offset") }
        var at = hd + 8
        if hdFlags & 0x2 != 0 { at += 4 }   // sample description index
        var defaultDuration: UInt32?, defaultSize = false, defaultFlags = false
        if hdFlags & 0x8 != 0 { defaultDuration = be32(bytes, at); at += 4 }
        if hdFlags & 0x10 != 0 { defaultSize = true; at += 4 }
        if hdFlags & 0x20 != 0 { defaultFlags = true }

        let dt = tfdt.start + tfdt.header
        let is64 = bytes[dt] == 1
        let baseTime = is64 ? Int64(bitPattern: be64(bytes, dt + 4)) : Int64(be32(bytes, dt + 4))

        var samples: Int64 = 0, elapsed: Int64 = 0, lastDuration: Int64 = 0
        for trun in truns {
            let body = trun.start + trun.header
            let flags = be32(bytes, body) & 0xFF_FFFF
            let count = Int(be32(bytes, body + 4))
            var field = body + 8
            if flags & 0x1 != 0 { field += 4 }
            if flags & 0x4 != 0 { field += 4 }
            let perDuration = flags & 0x100 != 0, perSize = flags & 0x200 != 0
            let perFlags = flags & 0x400 != 0, perOffset = flags & 0x800 != 0
            guard perDuration || defaultDuration != nil, perSize || defaultSize, perFlags || defaultFlags || flags & 0x4 != 0 && count <= 1 else {
                throw Unusable(description: "\(path): a trun that leans on the movie's sample defaults")
            }
            let stride = (perDuration ? 4 : 0) + (perSize ? 4 : 0) + (perFlags ? 4 : 0) + (perOffset ? 4 : 0)
            guard field + stride * count <= trun.end else { throw Unusable(description: "\(path): a truncated trun") }
            for _ in 0..<count {
                var f = field
                let duration = Int64(perDuration ? be32(bytes, f) : defaultDuration!)
                if perDuration { f += 4 }
                if perSize { f += 4 }
                if perFlags { f += 4 }
                if perOffset, be32(bytes, f) != 0 { throw Unusable(description: "\(path): samples with composition offsets") }
                elapsed += duration
                lastDuration = duration
                field += stride
            }
            samples += Int64(count)
        }
        return Run(track: track, trackIDOffset: hd + 4, timeOffset: dt + 4, timeIs64Bit: is64, baseTime: baseTime, samples: samples,
                   lastStart: elapsed - lastDuration, duration: elapsed)
    }

    private static func be32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    private static func be64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(be32(bytes, at)) << 32 | UInt64(be32(bytes, at + 4))
    }

    private static func put32(_ value: UInt32, into bytes: inout [UInt8], at: Int) {
        for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * i)) }
    }

    private static func put64(_ value: UInt64, into bytes: inout [UInt8], at: Int) {
        for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (56 - 8 * i)) }
    }
}

/// Counts the top-level boxes of a byte stream as it passes, in pieces of
/// any size: how many movie fragments (moof) a muxer has written, so the
/// next fragment's sequence number can follow on.
struct TopLevelBoxCounter {
    private var remaining: Int64 = 0
    private var header: [UInt8] = []
    private(set) var fragments: UInt32 = 0
    /// Between two top-level boxes: a whole box (not a moof) may pass unseen.
    var atBoxBoundary: Bool { remaining == 0 && header.isEmpty }

    mutating func scan(_ chunk: UnsafeRawBufferPointer) {
        var at = 0
        while at < chunk.count {
            if remaining > 0 {
                let take = Int(min(remaining, Int64(chunk.count - at)))
                remaining -= Int64(take)
                at += take
                continue
            }
            header.append(chunk[at])
            at += 1
            guard header.count >= 8 else { continue }
            let size32 = UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3])
            var size = Int64(size32)
            if size32 == 1 {
                guard header.count >= 16 else { continue }
                size = header[8..<16].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            }
            if header[4] == 0x6D, header[5] == 0x6F, header[6] == 0x6F, header[7] == 0x66 { fragments &+= 1 }   // "moof"
            remaining = max(0, size - Int64(header.count))
            header.removeAll(keepingCapacity: true)
        }
    }
}
