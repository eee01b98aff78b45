internal import COpenSSL

/// A private key held by OpenSSL (`EVP_PKEY`), released when the value dies.
public final class PrivateKey: @unchecked Sendable {
    // Immutable after init; OpenSSL keys are safe to share read-only across threads.
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { EVP_PKEY_free(handle) }

    /// A new ECDSA key on NIST P-256 (prime256v1).
    public static func generateP256() throws -> PrivateKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw OpenSSLError.last("EVP_PKEY_CTX_new_from_name(EC)")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1 else {
            throw OpenSSLError.last("EVP_PKEY_keygen_init(P-256)")
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &key) == 1, let key else {
            throw OpenSSLError.last("EVP_PKEY_generate(P-256)")
        }
        return PrivateKey(owning: key)
    }

    /// Reads a PEM private key (PKCS#8 or traditional).
    public convenience init(pem: [UInt8]) throws {
        let bio = try MemoryBIO(bytes: pem)
        guard let key = PEM_read_bio_PrivateKey(bio.handle, nil, nil, nil) else {
            throw OpenSSLError.last("PEM_read_bio_PrivateKey")
        }
        self.init(owning: key)
    }

    /// Whether `certificate` carries this key's public half.
    public func matches(_ certificate: Certificate) -> Bool {
        let ok = X509_check_private_key(certificate.handle, handle) == 1
        ERR_clear_error()
        return ok
    }

    /// The key as unencrypted PKCS#8 PEM. Whoever writes it to disk must use mode 0600.
    public func pkcs8PEM() throws -> [UInt8] {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PrivateKey(bio.handle, handle, nil, nil, 0, nil, nil) == 1 else {
            throw OpenSSLError.last("PEM_write_bio_PrivateKey")
        }
        return bio.contents
    }
}
