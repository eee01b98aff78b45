/// An ISO BMFF (MP4) box header: a 32-bit big-endian size and a four-letter
/// type; size 1 means a 64-bit size follows, size 0 "to the end of the file"
/// (each reader decides what that means for it).
struct BoxHeader {
    var type: String
    var headerSize: Int
    /// The size as written (0: to the end of the file).
    var size: Int64

    /// nil when `bytes` are too few (8, or 16 for a 64-bit size).
    init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= 8 else { return nil }
        let b = bytes.startIndex
        size = Int64(bytes[b]) << 24 | Int64(bytes[b + 1]) << 16 | Int64(bytes[b + 2]) << 8 | Int64(bytes[b + 3])
        type = String(decoding: bytes[(b + 4)..<(b + 8)], as: UTF8.self)
        headerSize = 8
        if size == 1 {
            guard bytes.count >= 16 else { return nil }
            size = bytes[(b + 8)..<(b + 16)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            headerSize = 16
        }
    }
}
