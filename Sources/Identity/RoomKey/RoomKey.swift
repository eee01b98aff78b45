public import Foundation
internal import COpenSSL

/// The signature schemes a room key can use. The room key is the server's own
/// key (in /etc/roomd/tls/): it signs ledger checkpoints and export manifests.
public enum RoomKeyAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// ECDSA over NIST P-256 with SHA-256; signature is DER `ECDSA-Sig-Value`.
    case ecdsaP256SHA256 = "ecdsa-p256-sha256"
    /// SM2 with SM3 (GB/T 32918, GB/T 35276), distinguishing ID
    /// "1234567812345678"; signature is DER `SM2Signature`.
    case sm2SM3 = "sm2-sm3"
}

/// What went wrong with a room key, in English for logs and installers.
public struct RoomKeyError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ what: String) {
        var buf = [CChar](repeating: 0, count: 256)
        roomd_openssl_last_error(&buf, buf.count)
        let detail = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        description = detail.isEmpty ? what : "\(what) (OpenSSL: \(detail))"
    }
}

/// GB/T 35276 default SM2 user ID. Both signer and verifier must use the same
/// ID or every signature fails; the room never uses another one.
private let sm2DistinguishingID: [UInt8] = Array(SM2.defaultID.utf8)

/// Owns one `EVP_PKEY`. Keys are immutable once loaded and OpenSSL 3 allows
/// concurrent use of one `EVP_PKEY` from separate operation contexts, which is
/// why the wrappers below can be `Sendable`.
private final class OwnedPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    var algorithm: RoomKeyAlgorithm? {
        if EVP_PKEY_is_a(pointer, "SM2") == 1 { return .sm2SM3 }
        guard EVP_PKEY_is_a(pointer, "EC") == 1 else { return nil }
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pointer, OSSL_PKEY_PARAM_GROUP_NAME, &name, name.count, &length) == 1
        else { return nil }
        let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch group {
        case "prime256v1", "P-256": return .ecdsaP256SHA256
        // OpenSSL 3.0 loads some SM2 keys as plain EC keys on the SM2 curve.
        case "SM2": return .sm2SM3
        default: return nil
        }
    }

    /// DER SubjectPublicKeyInfo of the public half.
    func subjectPublicKeyInfo() throws -> Data {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(pointer, &out)
        guard length > 0, let out else { throw RoomKeyError("cannot encode the public key") }
        defer { roomd_openssl_free(out) }
        return Data(bytes: out, count: Int(length))
    }
}

/// Reads PEM text through a memory BIO that is freed on every path.
private func withMemoryBIO<T>(_ pem: Data, _ body: (OpaquePointer) throws -> T) throws -> T {
    try pem.withUnsafeBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            throw RoomKeyError("cannot allocate a memory BIO")
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

extension RoomKeyAlgorithm {
    /// The same scheme as the expert signatures use, so one code path signs both.
    var scheme: SignatureAlgorithm { self == .sm2SM3 ? .sm2SM3 : .ecdsaP256SHA256 }
}

/// The room's private key, loaded from PEM. Signs checkpoint notes and export
/// manifests with ECDSA P-256/SHA-256 or SM2/SM3 depending on the key.
public final class RoomSigningKey: Sendable {
    private let key: OwnedPKey
    public let algorithm: RoomKeyAlgorithm
    /// The matching public key, for building verifiers and key IDs.
    public let publicKey: RoomVerificationKey

    /// Loads an unencrypted PEM private key (PKCS#8 or traditional EC).
    /// Keys on /etc/roomd/tls/ are protected by file permissions, not a passphrase.
    public convenience init(pem: Data) throws {
        let loaded = try withMemoryBIO(pem) { bio -> OpaquePointer in
            guard let pkey = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw RoomKeyError("the room key is not a readable PEM private key")
            }
            return pkey
        }
        try self.init(owned: OwnedPKey(loaded))
    }

    /// Shares a key the rest of Identity already holds (e.g. the room key loaded
    /// for TLS), so the daemon reads the key file once.
    public convenience init(privateKey: PrivateKey) throws {
        guard EVP_PKEY_up_ref(privateKey.handle) == 1 else { throw RoomKeyError("cannot share the private key") }
        try self.init(owned: OwnedPKey(privateKey.handle))
    }

    private init(owned: OwnedPKey) throws {
        guard let algorithm = owned.algorithm else {
            throw RoomKeyError("the room key must be ECDSA P-256 or SM2")
        }
        key = owned
        self.algorithm = algorithm
        publicKey = try RoomVerificationKey(spki: owned.subjectPublicKeyInfo())
    }

    public convenience init(pemFile: URL) throws {
        try self.init(pem: Data(contentsOf: pemFile))
    }

    /// Signs `message` (the whole message is hashed by the scheme's digest).
    public func sign(_ message: Data) throws -> Data {
        do {
            return Data(try DigestSignature.sign(key: key.pointer, algorithm: algorithm.scheme, sm2ID: sm2DistinguishingID,
                                                 message: Array(message)[...]))
        } catch {
            throw RoomKeyError("signing with the room key failed: \(error)")
        }
    }
}

/// A room public key, from the room certificate or a bare public key. Used
/// offline (roomctl ledger verify) as well as in the daemon.
public final class RoomVerificationKey: Sendable {
    private let key: OwnedPKey
    public let algorithm: RoomKeyAlgorithm
    /// DER SubjectPublicKeyInfo; its SHA-256 names the key in signed notes.
    public let subjectPublicKeyInfo: Data

    /// From DER SubjectPublicKeyInfo.
    public init(spki: Data) throws {
        let loaded = try spki.withUnsafeBytes { raw -> OpaquePointer in
            var cursor = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard let pkey = d2i_PUBKEY(nil, &cursor, raw.count) else {
                throw RoomKeyError("not a DER SubjectPublicKeyInfo")
            }
            return pkey
        }
        let owned = OwnedPKey(loaded)
        guard let algorithm = owned.algorithm else { throw RoomKeyError("the room key must be ECDSA P-256 or SM2") }
        key = owned
        self.algorithm = algorithm
        subjectPublicKeyInfo = try owned.subjectPublicKeyInfo()
    }

    /// From the first certificate in a PEM file (the room certificate). Only the
    /// key is taken: trust in the certificate is the caller's decision.
    public convenience init(certificatePEM: Data) throws {
        let spki = try withMemoryBIO(certificatePEM) { bio -> Data in
            guard let cert = PEM_read_bio_X509(bio, nil, nil, nil) else {
                throw RoomKeyError("not a PEM certificate")
            }
            defer { X509_free(cert) }
            guard let pkey = X509_get0_pubkey(cert) else { throw RoomKeyError("the certificate has no usable public key") }
            var out: UnsafeMutablePointer<UInt8>? = nil
            let length = i2d_PUBKEY(pkey, &out)
            guard length > 0, let out else { throw RoomKeyError("cannot encode the certificate's public key") }
            defer { roomd_openssl_free(out) }
            return Data(bytes: out, count: Int(length))
        }
        try self.init(spki: spki)
    }

    /// From a PEM `PUBLIC KEY` block.
    public convenience init(publicKeyPEM: Data) throws {
        let spki = try withMemoryBIO(publicKeyPEM) { bio -> Data in
            guard let pkey = PEM_read_bio_PUBKEY(bio, nil, nil, nil) else { throw RoomKeyError("not a PEM public key") }
            defer { EVP_PKEY_free(pkey) }
            var out: UnsafeMutablePointer<UInt8>? = nil
            let length = i2d_PUBKEY(pkey, &out)
            guard length > 0, let out else { throw RoomKeyError("cannot encode the public key") }
            defer { roomd_openssl_free(out) }
            return Data(bytes: out, count: Int(length))
        }
        try self.init(spki: spki)
    }

    /// True only for a valid signature of `message` by this key. Malformed
    /// signatures are simply invalid: a verifier must never throw on hostile input.
    public func verify(signature: Data, for message: Data) -> Bool {
        DigestSignature.verify(key: key.pointer, algorithm: algorithm.scheme, sm2ID: sm2DistinguishingID,
                               signature: Array(signature), message: Array(message)[...])
    }
}
