internal import COpenSSL

/// PKCS#12 files, for installing a client certificate with its key where a
/// browser's certificate store reads it (NSS's `pk12util`, Windows' import).
public enum PKCS12 {
    /// `certificate` and `key` (and `chain`, e.g. the room CA) as PKCS#12 DER, protected by
    /// `password` with OpenSSL 3's defaults (AES-256-CBC, PBKDF2, SHA-256 MAC).
    public static func export(certificate: Certificate, key: PrivateKey, chain: [Certificate] = [], name: String,
                              password: String) throws -> [UInt8] {
        guard X509_check_private_key(certificate.handle, key.handle) == 1 else {
            ERR_clear_error()
            throw OpenSSLError(operation: "PKCS12_create", reason: "the private key does not belong to the certificate \(certificate.subject)")
        }
        guard let stack = OPENSSL_sk_new_null() else { throw OpenSSLError.last("OPENSSL_sk_new_null") }
        defer { OPENSSL_sk_free(stack) }
        for certificate in chain {
            guard OPENSSL_sk_push(stack, UnsafeRawPointer(certificate.handle)) > 0 else { throw OpenSSLError.last("OPENSSL_sk_push") }
        }
        let p12 = withExtendedLifetime(chain) {
            PKCS12_create(password, name, key.handle, certificate.handle, chain.isEmpty ? nil : stack, 0, 0, 0, 0, 0)
        }
        guard let p12 else { throw OpenSSLError.last("PKCS12_create") }
        defer { PKCS12_free(p12) }
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_PKCS12(p12, &out)
        guard length > 0, let out else { throw OpenSSLError.last("i2d_PKCS12") }
        defer { roomd_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
