public import CaptureProtocol
import Glibc
internal import CFFmpeg

/// A wall-clock range of one device's segments as one MP4, remuxed (never
/// re-encoded): the evidence's own bytes, cut at frame boundaries.
///
/// Cut: the first video frame is the one showing at `from` (the last whose
/// time is ≤ from; the first frame if there is none) — for H.264, from the
/// keyframe that starts its group, without which it cannot be decoded (at
/// most a second earlier; MJPEG frames are all keyframes). The last is the
/// last frame before `to`. Audio: the packets that start within the kept
/// video (within [from, to) when the export has no video) — one that began
/// just before the first frame would need a negative time and is left out.
///
/// Time: the clip's 0 is the first kept frame's wall-clock time, and every
/// packet sits at its own wall-clock time from there, so a gap between
/// segments stays a gap.
///
/// Segments taken: those whose span (start to the next one's start) meets
/// [from, to). Their tracks must match (codec, size, extradata, sample rate,
/// channels): an MP4 track cannot change midway. A segment without one of
/// the tracks (a camera or microphone missing for a while) is a gap in it.
public enum SegmentExport {
    /// Writes the MP4 to `output` as it is produced (chunks of at most 64
    /// KiB, each fragment as soon as it is whole) and returns what it held.
    /// With `refer` (and a request for `copyByReference` without
    /// `hashOutput`), the mdat boxes of copied fragments are named rather
    /// than written: see ``ExportRecord/copy``.
    public static func run(_ request: ExportRequest,
                           output: @escaping (UnsafeRawBufferPointer) throws(CaptureError) -> Void,
                           refer: ((ExportRecord.FileRange) throws(CaptureError) -> Void)? = nil) throws(ExportFailure) -> ExportReport {
        guard !request.segments.isEmpty else { throw ExportFailure(code: ExportFailure.noSegments, message: "no segments given") }
        let from = request.fromNanoseconds, to = request.toNanoseconds
        guard to >= from else {
            throw ExportFailure(code: ExportFailure.reversedRange, message: "the range ends (\(to)) before it starts (\(from))")
        }
        guard to > from else { throw ExportFailure(code: ExportFailure.emptyRange, message: "the range is empty (from = to = \(from))") }
        for (a, b) in zip(request.segments, request.segments.dropFirst()) where b.wallStartNanoseconds < a.wallStartNanoseconds {
            throw ExportFailure(code: ExportFailure.badRequest, message: "segments out of order: \(b.path) starts before \(a.path)")
        }
        let segments = request.segments.enumerated().filter { index, segment in
            let next = index + 1 < request.segments.count ? request.segments[index + 1].wallStartNanoseconds : Int64.max
            return segment.wallStartNanoseconds < to && next > from
        }.map(\.element)
        guard !segments.isEmpty else {
            throw ExportFailure(code: ExportFailure.emptyRange, message: "no segment given covers [\(from), \(to))")
        }
        let run = try ExportRun(segments: segments, from: from, to: to, hashing: request.hashOutput == true, output: output,
                                refer: request.copyByReference == true ? refer : nil)
        return try run.perform()
    }
}

/// One export, packet by packet.
private final class ExportRun {
    /// A packet read and not yet written, with its wall-clock time.
    final class Held {
        let packet: OwnedPacket
        let wall: Int64
        let duration: Int64
        /// pts − dts in ns: 0 without frame reordering (all of roomd's segments).
        let decodeLead: Int64
        let keyframe: Bool
        let segment: Int
        var end: Int64 { wall + duration }

        init(packet: OwnedPacket, wall: Int64, duration: Int64, decodeLead: Int64, keyframe: Bool, segment: Int) {
            self.packet = packet; self.wall = wall; self.duration = duration; self.decodeLead = decodeLead
            self.keyframe = keyframe; self.segment = segment
        }
    }

    enum Phase {
        /// Looking for the frame showing at `from`.
        case seeking
        /// Copying frames before `to`.
        case copying
        /// Video is done; audio up to the last frame's end still comes.
        case draining
    }

    let segments: [ExportRequest.Segment]
    let from: Int64, to: Int64
    let hashing: Bool
    var video: CodecParameters?
    var audio: CodecParameters?
    var videoFrameRate = AVRational(num: 0, den: 1)
    /// The tracks' time bases: the source's own (an MP4's timescale), so a
    /// whole fragment can be copied with its sample durations as they are.
    var videoTimeBase = AVRational(num: 1, den: 90_000)
    var audioTimeBase = AVRational(num: 0, den: 1)
    /// Every muxer and every copied fragment writes here: one byte count,
    /// one hash, one count of fragments.
    let sink: ByteSink
    /// Each output track's last decode time, when no muxer is open (after copied fragments).
    var lastTicks: [Int64] = []
    /// A buffer for copying media (1 MiB, freed with the run).
    let copyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    var videoTrack: Int?, audioTrack: Int?
    var output: StreamingMP4Output?

    var phase = Phase.seeking
    /// The frame showing at `from` and the frames back to its keyframe.
    var candidate: [Held] = []
    /// Audio read ahead of the video it goes with, in order.
    var pending: [Held] = []
    /// The clip's time 0 (wall clock), once the first packet is kept.
    var zero: Int64?
    var videoEnd = Int64.min
    var lastVideoWall = Int64.min
    var firstAudioWall: Int64?, lastAudioEnd = Int64.min, lastAudioWall = Int64.min
    var videoFrames: Int64 = 0, audioPackets: Int64 = 0
    var used: [Int: ExportReport.Segment] = [:]

    init(segments: [ExportRequest.Segment], from: Int64, to: Int64, hashing: Bool,
         output: @escaping (UnsafeRawBufferPointer) throws(CaptureError) -> Void,
         refer: ((ExportRecord.FileRange) throws(CaptureError) -> Void)?) throws(ExportFailure) {
        self.hashing = hashing
        sink = ByteSink(output, hashing: hashing, refer: refer)
        self.segments = segments
        self.from = from
        self.to = to
        // The tracks: the first segment's with video gives the video's
        // parameters, the first with audio the audio's. Only as many segments
        // are opened here as it takes to find both (usually the first): the
        // others are checked as the copy reaches them, so the first bytes go
        // out at once however long the range (an hour is 60 segments).
        // With the index's word on which segments hold which track, only
        // those two are opened.
        let hinted = segments.contains { $0.videoCodec != nil || $0.audioCodec != nil }
        let defining = hinted
            ? [segments.first { $0.videoCodec != nil }, segments.first { $0.audioCodec != nil }].compactMap { $0 }
            : segments
        var opened = Set<String>()
        for segment in defining where !opened.contains(segment.path) {
            opened.insert(segment.path)
            try adopt(try open(segment), segment)
            if video != nil, audio != nil { break }
        }
        guard video != nil || audio != nil else {
            throw ExportFailure(code: ExportFailure.emptyRange, message: "the segments hold neither video nor audio")
        }
    }

    deinit { copyBuffer.deallocate() }

    /// Takes the tracks' parameters from `input` where none are known yet,
    /// and checks them against the known ones otherwise.
    private func adopt(_ input: MediaInput, _ segment: ExportRequest.Segment) throws(ExportFailure) {
        do {
            if let stream = input.video {
                let parameters = try CodecParameters(copying: stream.pointee.codecpar)
                if let video {
                    if let change = parameters.difference(from: video) { throw changed(segment, "video", change) }
                } else if zero == nil {
                    video = parameters
                    videoFrameRate = stream.pointee.avg_frame_rate
                    if stream.pointee.time_base.num == 1, stream.pointee.time_base.den >= 1_000 { videoTimeBase = stream.pointee.time_base }
                } else {
                    throw changed(segment, "video", "a video track the earlier segments lack")
                }
            }
            if let stream = input.audio {
                let parameters = try CodecParameters(copying: stream.pointee.codecpar)
                if let audio {
                    if let change = parameters.difference(from: audio) { throw changed(segment, "audio", change) }
                } else if zero == nil {
                    audio = parameters
                    audioTimeBase = stream.pointee.time_base
                } else {
                    throw changed(segment, "audio", "an audio track the earlier segments lack")
                }
            }
        } catch let error as ExportFailure {
            throw error
        } catch {
            throw ExportFailure(code: ExportFailure.unreadableSegment, message: "\(segment.path): \(error)")
        }
    }

    private func changed(_ segment: ExportRequest.Segment, _ track: String, _ change: String) -> ExportFailure {
        ExportFailure(code: ExportFailure.parametersChanged,
                      message: "\(segment.path): the \(track) parameters changed (\(change)); one MP4 cannot hold both — export the ranges before and after it separately")
    }

    private func open(_ segment: ExportRequest.Segment) throws(ExportFailure) -> MediaInput {
        do {
            return try MediaInput(path: segment.path)
        } catch {
            throw ExportFailure(code: ExportFailure.unreadableSegment, message: "\(segment.path): \(error)")
        }
    }

    func perform() throws(ExportFailure) -> ExportReport {
        do {
            return try copy()
        } catch let error as ExportFailure {
            throw error
        } catch let error as CaptureError {
            throw ExportFailure(code: ExportFailure.outputFailed, message: "\(error)")
        } catch {
            throw ExportFailure(code: ExportFailure.outputFailed, message: "\(error)")
        }
    }

    private func copy() throws -> ExportReport {
        for (index, segment) in segments.enumerated() {
            if phase == .draining, segment.wallStartNanoseconds >= videoEnd { break }
            if video == nil, segment.wallStartNanoseconds >= to { break }
            if try copyWhole(index) { continue }
            if output == nil, zero != nil { try reopenOutput() }
            let input = try open(segment)
            try adopt(input, segment)
            let read = try OwnedPacket()
            while true {
                let got: Bool
                do { got = try input.read(into: read.pointer) } catch {
                    throw ExportFailure(code: ExportFailure.unreadableSegment, message: "\(segment.path): \(error)")
                }
                guard got else { break }
                let streamIndex = Int(read.pointer.pointee.stream_index)
                let isVideo = streamIndex == input.videoIndex, isAudio = streamIndex == input.audioIndex
                guard isVideo || isAudio, read.pointer.pointee.pts != Int64.min else {
                    av_packet_unref(read.pointer)
                    continue
                }
                let stream = input.stream(streamIndex)
                let base = stream.pointee.time_base
                var duration = Timestamps.nanoseconds(read.pointer.pointee.duration, base)
                if duration <= 0, isVideo, stream.pointee.avg_frame_rate.num > 0 {
                    duration = Int64(1_000_000_000) * Int64(stream.pointee.avg_frame_rate.den) / Int64(stream.pointee.avg_frame_rate.num)
                }
                let packet = try OwnedPacket()
                av_packet_move_ref(packet.pointer, read.pointer)
                let pts = packet.pointer.pointee.pts, dts = packet.pointer.pointee.dts
                let held = Held(packet: packet, wall: segment.wallStartNanoseconds + Timestamps.nanoseconds(pts, base),
                                duration: duration, decodeLead: dts == Int64.min ? 0 : Timestamps.nanoseconds(pts - dts, base),
                                keyframe: packet.pointer.pointee.flags & AV_PKT_FLAG_KEY != 0, segment: index)
                let more = isVideo ? try takeVideo(held) : try takeAudio(held)
                if !more { break }
            }
        }
        try finishVideo()
        guard zero != nil else {
            throw ExportFailure(code: ExportFailure.emptyRange,
                                message: video != nil ? "no video frame lies in [\(from), \(to))" : "no audio lies in [\(from), \(to))")
        }
        try output?.finishFragments()
        let bytes = sink.bytes, sha256 = sink.finish()
        let first: Int64, last: Int64, duration: Int64
        if videoFrames > 0 {
            first = zero!; last = lastVideoWall; duration = videoEnd - zero!
        } else {
            first = firstAudioWall ?? zero!; last = lastAudioWall; duration = lastAudioEnd - first
        }
        return ExportReport(firstFrameWallNanoseconds: first, lastFrameWallNanoseconds: last, durationNanoseconds: duration,
                            videoFrames: videoFrames, audioPackets: audioPackets, bytes: bytes, sha256: sha256,
                            segments: used.keys.sorted().map { index in
                                var entry = used[index]!
                                entry.copied = copied.contains(index) ? true : nil
                                return entry
                            },
                            videoCodec: videoTrack == nil ? nil : video?.codecName,
                            audioCodec: audioTrack == nil ? nil : audio?.codecName)
    }

    // MARK: Cutting

    /// Takes a video frame; false when this segment has nothing more to give.
    private func takeVideo(_ frame: Held) throws -> Bool {
        switch phase {
        case .seeking:
            if frame.wall <= from {
                if frame.keyframe {
                    candidate = [frame]
                    pending.removeAll { $0.wall < frame.wall }
                } else if !candidate.isEmpty {
                    candidate.append(frame)
                }
                return true
            }
            if candidate.isEmpty {
                // Nothing was showing at `from`: the clip opens on the first
                // frame after it — a keyframe (each segment starts with one).
                guard frame.keyframe else { return true }
                guard frame.wall < to else { return true }
                try start(with: [frame])
            } else {
                try start(with: candidate)
                candidate = []
                guard frame.wall < to else {
                    phase = .draining
                    try releasePending(before: videoEnd)
                    return audio != nil
                }
                try keepVideo(frame)
            }
            phase = .copying
            return true
        case .copying:
            if frame.wall < to {
                try keepVideo(frame)
                return true
            }
            phase = .draining
            try releasePending(before: videoEnd)
            return audio != nil
        case .draining:
            return audio != nil
        }
    }

    private func takeAudio(_ packet: Held) throws -> Bool {
        if video == nil {
            // No video: the audio overlapping [from, to).
            guard packet.wall < to else { return false }
            guard packet.end > from else { return true }
            if zero == nil { try start(with: []) ; zero = packet.wall }
            try keepAudio(packet)
            return true
        }
        switch phase {
        case .seeking:
            if let first = candidate.first {
                if packet.wall >= first.wall { pending.append(packet) }
            } else if packet.wall > from {
                pending.append(packet)
            }
            return true
        case .copying:
            pending.append(packet)
            try releasePending(before: videoEnd)
            return true
        case .draining:
            guard packet.wall < videoEnd else { return false }
            if let zero, packet.wall >= zero { try keepAudio(packet) }
            return true
        }
    }

    /// At the end of the input: a clip still looking for its start is the
    /// frame showing at `from` (the range lies after the last frame, within
    /// its duration), or nothing.
    private func finishVideo() throws {
        guard video != nil else { return }
        if phase == .seeking, let last = candidate.last, last.end > from {
            try start(with: candidate)
            candidate = []
            phase = .copying
        }
        if phase != .seeking { try releasePending(before: videoEnd) }
        pending = []
    }

    /// The output's tracks: video first, then audio.
    private func outputTracks() -> [OutputTrack] {
        var tracks: [OutputTrack] = []
        if let video {
            videoTrack = tracks.count
            tracks.append(OutputTrack(source: .parameters(UnsafePointer(video.pointer)), timeBase: videoTimeBase, frameRate: videoFrameRate))
        }
        if let audio {
            audioTrack = tracks.count
            let rate = max(audio.pointer.pointee.sample_rate, 1)
            let base = audioTimeBase.num == 1 && audioTimeBase.den == rate ? audioTimeBase : AVRational(num: 1, den: rate)
            tracks.append(OutputTrack(source: .parameters(UnsafePointer(audio.pointer)), timeBase: base))
        }
        return tracks
    }

    /// Opens the output and writes the first frames; their first is time 0.
    private func start(with frames: [Held]) throws {
        output = try StreamingMP4Output(tracks: outputTracks(), sink: sink)
        timeBases = output!.streams.map { $0.pointee.time_base }
        if let first = frames.first { zero = first.wall }
        for frame in frames { try keepVideo(frame) }
    }

    /// After copied fragments: a muxer that numbers its fragments on and keeps decode times rising.
    private func reopenOutput() throws {
        output = try StreamingMP4Output(tracks: outputTracks(), sink: sink,
                                        continuing: .init(fragmentIndex: sink.fragments &+ 1, lastDTS: lastTicks))
        let bases = output!.streams.map { $0.pointee.time_base }
        guard bases.count == timeBases.count, zip(bases, timeBases).allSatisfy({ $0.num == $1.num && $0.den == $1.den }) else {
            throw ExportFailure(code: ExportFailure.outputFailed, message: "the muxer chose other time bases for the same tracks")
        }
    }

    // MARK: Copying whole fragments

    /// The output tracks' time bases, as the first muxer settled them.
    var timeBases: [AVRational] = []
    /// Segments whose fragments were copied as they are.
    var copied = Set<Int>()

    /// Copies segment `index` fragment by fragment when the whole of it
    /// belongs to the clip and its boxes allow it (``FragmentLayout``);
    /// false to remux it packet by packet instead. Whole: the clip has begun,
    /// a later segment still starts before `to` (so this one is not where the
    /// clip ends), every frame lies before `to`, and its decode times follow
    /// what was written before.
    private func copyWhole(_ index: Int) throws -> Bool {
        guard phase == .copying, zero != nil, let videoTrack, index + 1 < segments.count,
              segments[index + 1].wallStartNanoseconds < to, timeBases.count == (audioTrack == nil ? 1 : 2) else { return false }
        let segment = segments[index]
        guard let layout = try? FragmentLayout(path: segment.path), let (map, extents) = placement(layout, segment) else { return false }
        let videoExtent = extents[videoTrack]!
        guard videoExtent.lastWall < to else { return false }
        // The same codec parameters, or the export stops as it would when remuxing.
        let input = try open(segment)
        try adopt(input, segment)
        // The demuxer (what remuxing would read) must see the first samples
        // where the boxes put them.
        guard demuxerAgrees(input, layout) else { return false }

        // Everything read ahead lies before this segment: write it, and close
        // the muxer's last fragment.
        try releasePending(before: Int64.max)
        let previous = output?.lastDecodeTimes ?? lastTicks
        guard extents.allSatisfy({ $0.value.firstTicks > previous[$0.key] }) else { return false }
        if let output {
            try output.finishFragments()
            self.output = nil
        }
        lastTicks = previous
        let sink = sink
        _ = try layout.copy(sequence: sink.fragments &+ 1, map: map, buffer: copyBuffer, deliver: sink.deliverOrThrow,
                            refer: sink.referrer == nil ? nil : { (offset, length) throws(CaptureError) in
                                try sink.refer(path: segment.path, offset: offset, length: length)
                            })

        var entry = ExportReport.Segment(path: segment.path, packets: 0, firstPacketWallNanoseconds: Int64.max, lastPacketWallNanoseconds: Int64.min)
        for (track, extent) in extents {
            lastTicks[track] = extent.lastTicks
            entry.packets += extent.samples
            entry.firstPacketWallNanoseconds = min(entry.firstPacketWallNanoseconds, extent.firstWall)
            entry.lastPacketWallNanoseconds = max(entry.lastPacketWallNanoseconds, extent.lastWall)
            if track == videoTrack {
                videoFrames += extent.samples
                lastVideoWall = extent.lastWall
                videoEnd = max(videoEnd, extent.endWall)
            } else {
                audioPackets += extent.samples
                if firstAudioWall == nil { firstAudioWall = extent.firstWall }
                lastAudioWall = extent.lastWall
                lastAudioEnd = max(lastAudioEnd, extent.endWall)
            }
        }
        used[index] = entry
        copied.insert(index)
        return true
    }

    /// Whether the first packet of each track, as the demuxer reads it, has
    /// the time the layout gives its first sample.
    private func demuxerAgrees(_ input: MediaInput, _ layout: FragmentLayout) -> Bool {
        var wanted: [Int: Int64] = [:]
        for (kind, index) in [(FragmentLayout.Kind.video, input.videoIndex), (.audio, input.audioIndex)] {
            guard let index else { continue }
            guard let track = layout.track(kind), let extent = layout.extent(of: track.id) else { return false }
            wanted[index] = extent.first
        }
        guard let packet = try? OwnedPacket() else { return false }
        for _ in 0..<256 where !wanted.isEmpty {
            guard (try? input.read(into: packet.pointer)) == true else { return false }
            let index = Int(packet.pointer.pointee.stream_index), pts = packet.pointer.pointee.pts
            av_packet_unref(packet.pointer)
            guard let first = wanted.removeValue(forKey: index) else { continue }
            if pts != first { return false }
        }
        return wanted.isEmpty
    }

    struct Extent {
        var firstTicks: Int64, lastTicks: Int64, samples: Int64
        var firstWall: Int64, lastWall: Int64, endWall: Int64
    }

    /// Where each of the layout's tracks goes (output track ID, ticks to add)
    /// and what it holds in clip ticks and wall clock; nil when the layout's
    /// tracks are not exactly the output's, with the same timescales.
    private func placement(_ layout: FragmentLayout, _ segment: ExportRequest.Segment)
        -> ([UInt32: (id: UInt32, add: Int64)], [Int: Extent])? {
        guard let zero, let videoTrack else { return nil }
        var wanted: [(FragmentLayout.Kind, Int)] = [(.video, videoTrack)]
        if let audioTrack { wanted.append((.audio, audioTrack)) }
        guard layout.tracks.count == wanted.count else { return nil }
        var map: [UInt32: (id: UInt32, add: Int64)] = [:]
        var extents: [Int: Extent] = [:]
        for (kind, output) in wanted {
            let base = timeBases[output]
            guard let track = layout.track(kind), base.num == 1, Int64(track.timescale) == Int64(base.den),
                  let extent = layout.extent(of: track.id), extent.samples > 0 else { return nil }
            let start = Timestamps.ticks(segment.wallStartNanoseconds - zero, base)
            map[track.id] = (UInt32(output + 1), start - track.shift)
            let wall = { (ticks: Int64) in segment.wallStartNanoseconds + Timestamps.nanoseconds(ticks, base) }
            extents[output] = Extent(firstTicks: start + extent.first, lastTicks: start + extent.lastStart, samples: extent.samples,
                                     firstWall: wall(extent.first), lastWall: wall(extent.lastStart), endWall: wall(extent.end))
        }
        guard layout.fits(map) else { return nil }
        return (map, extents)
    }

    private func releasePending(before limit: Int64) throws {
        var taken = 0
        for packet in pending {
            guard packet.wall < limit else { break }
            taken += 1
            if let zero, packet.wall >= zero { try keepAudio(packet) }
        }
        pending.removeFirst(taken)
    }

    // MARK: Writing

    private func keepVideo(_ frame: Held) throws {
        try write(frame, track: videoTrack!)
        videoFrames += 1
        lastVideoWall = frame.wall
        videoEnd = max(videoEnd, frame.end)
    }

    private func keepAudio(_ packet: Held) throws {
        try write(packet, track: audioTrack!)
        audioPackets += 1
        if firstAudioWall == nil { firstAudioWall = packet.wall }
        lastAudioWall = packet.wall
        lastAudioEnd = max(lastAudioEnd, packet.end)
    }

    private func write(_ held: Held, track: Int) throws {
        guard let output, let zero else { return }
        let packet = held.packet.pointer
        let base = output.timeBase(track)
        packet.pointee.pts = Timestamps.ticks(held.wall - zero, base)
        packet.pointee.dts = Timestamps.ticks(held.wall - held.decodeLead - zero, base)
        packet.pointee.duration = Timestamps.ticks(held.duration, base)
        packet.pointee.stream_index = Int32(track)
        packet.pointee.pos = -1
        do { try output.write(packet) } catch {
            throw ExportFailure(code: ExportFailure.outputFailed, message: "writing the MP4: \(error)")
        }
        var entry = used[held.segment] ?? ExportReport.Segment(path: segments[held.segment].path, packets: 0,
                                                                firstPacketWallNanoseconds: held.wall, lastPacketWallNanoseconds: held.wall)
        entry.packets += 1
        entry.firstPacketWallNanoseconds = min(entry.firstPacketWallNanoseconds, held.wall)
        entry.lastPacketWallNanoseconds = max(entry.lastPacketWallNanoseconds, held.wall)
        used[held.segment] = entry
    }
}
