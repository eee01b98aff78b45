internal import COpenSSL

/// Incremental SHA-256 (OpenSSL EVP), fed as bytes are written so a segment's
/// hash is known the moment it closes, without reading it back.
final class SHA256Stream {
    private let context: OpaquePointer

    init() {
        context = EVP_MD_CTX_new()!
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    /// The digest as lowercase hex; the stream must not be used afterwards.
    func finish() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// The write path's SHA-256 over bytes already in memory, for `CaptureBench`:
/// it reports what the mandated hash costs apart from everything else.
public enum SegmentDigest {
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        let hash = SHA256Stream()
        hash.update(bytes)
        return hash.finish()
    }
}
