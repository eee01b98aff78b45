internal import COpenSSL

/// A failure inside OpenSSL, with the library's own reason when it gave one.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let reason: String

    public var description: String {
        reason.isEmpty ? "\(operation) failed" : "\(operation) failed: \(reason)"
    }

    /// Captures (and clears) the thread's OpenSSL error queue.
    static func last(_ operation: String) -> OpenSSLError {
        var buffer = [CChar](repeating: 0, count: 256)
        roomd_openssl_last_error(&buffer, buffer.count)
        let reason = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return OpenSSLError(operation: operation, reason: reason)
    }
}

/// A memory BIO that owns its handle.
final class MemoryBIO {
    let handle: OpaquePointer

    init() throws {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.last("BIO_new") }
        handle = bio
    }

    init(bytes: [UInt8]) throws {
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw OpenSSLError.last("BIO_new_mem_buf")
        }
        // BIO_new_mem_buf does not copy: keep the bytes alive for the BIO's life.
        storage = bytes
        handle = bio
    }

    private var storage: [UInt8] = []

    deinit { BIO_free(handle) }

    /// Everything written to the BIO so far.
    var contents: [UInt8] {
        var pointer: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(handle, BIO_CTRL_INFO, 0, &pointer)
        guard length > 0, let pointer else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
