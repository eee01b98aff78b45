public import Foundation
internal import COpenSSL

/// An X.509 certificate held by OpenSSL, released when the value dies.
public final class Certificate: @unchecked Sendable {
    // Never mutated after construction, so sharing across threads is safe.
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { X509_free(handle) }

    /// Parses one certificate in DER form.
    public convenience init(der: [UInt8]) throws {
        var parsed: OpaquePointer?
        let ok = der.withUnsafeBufferPointer { buffer -> Bool in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            parsed = d2i_X509(nil, &cursor, buffer.count)
            return parsed != nil
        }
        guard ok, let parsed else { throw OpenSSLError.last("d2i_X509") }
        self.init(owning: parsed)
    }

    /// Parses the first certificate of a PEM file.
    public convenience init(pem: [UInt8]) throws {
        let bio = try MemoryBIO(bytes: pem)
        guard let cert = PEM_read_bio_X509(bio.handle, nil, nil, nil) else {
            throw OpenSSLError.last("PEM_read_bio_X509")
        }
        self.init(owning: cert)
    }

    /// Every certificate of a PEM bundle, in file order.
    public static func all(pem: [UInt8]) throws -> [Certificate] {
        let bio = try MemoryBIO(bytes: pem)
        var out: [Certificate] = []
        while let cert = PEM_read_bio_X509(bio.handle, nil, nil, nil) {
            out.append(Certificate(owning: cert))
        }
        ERR_clear_error()  // the loop ends on a "no start line" error
        guard !out.isEmpty else { throw OpenSSLError(operation: "PEM_read_bio_X509", reason: "no certificate in PEM data") }
        return out
    }

    public func derBytes() throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(handle, &out)
        guard length > 0, let out else { throw OpenSSLError.last("i2d_X509") }
        defer { roomd_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    public func pem() throws -> [UInt8] {
        let bio = try MemoryBIO()
        guard PEM_write_bio_X509(bio.handle, handle) == 1 else { throw OpenSSLError.last("PEM_write_bio_X509") }
        return bio.contents
    }

    /// The subject, attribute by attribute.
    public var subjectName: DistinguishedName { DistinguishedName(X509_get_subject_name(handle)) }
    /// Subject as RFC 4514 text with personal identifiers redacted, e.g.
    /// `CN=S01,OU=stations,O=roomd` or `C=CN,serialNumber=…002X,CN=张三`
    /// (``DistinguishedName``): the only form in which a subject is ever printed.
    public var subject: String { subjectName.description }
    /// Issuer, rendered the same way.
    public var issuer: String { DistinguishedName(X509_get_issuer_name(handle)).description }

    /// Whether `self` names `other`'s subject as its issuer (byte-exact name
    /// comparison, as chain building does).
    public func isIssued(byNameOf other: Certificate) -> Bool {
        X509_NAME_cmp(X509_get_issuer_name(handle), X509_get_subject_name(other.handle)) == 0
    }

    public var isCA: Bool { roomd_x509_is_ca(handle) == 1 }

    public var notBefore: Date { asn1Date(X509_get0_notBefore(handle)) ?? Date(timeIntervalSince1970: 0) }
    public var notAfter: Date { asn1Date(X509_get0_notAfter(handle)) ?? Date(timeIntervalSince1970: 0) }

    /// Lowercase hex SHA-256 of the DER encoding: the fingerprint roomd records.
    public func sha256Fingerprint() throws -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard X509_digest(handle, EVP_sha256(), &digest, &length) == 1 else { throw OpenSSLError.last("X509_digest") }
        return hex(digest.prefix(Int(length)))
    }

    /// subjectAltName URIs (used for role mapping: `urn:roomd:station:S01`).
    public var subjectAltNameURIs: [String] { altNames(roomd_general_name_uri) }
    /// subjectAltName DNS names.
    public var subjectAltNameDNS: [String] { altNames(roomd_general_name_dns) }

    private func altNames(
        _ extract: (UnsafePointer<GENERAL_NAME>?, UnsafeMutablePointer<Int32>?) -> UnsafePointer<UInt8>?
    ) -> [String] {
        guard let raw = X509_get_ext_d2i(handle, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { roomd_general_names_free(names) }
        var out: [String] = []
        for index in 0..<roomd_general_names_count(names) {
            var length: Int32 = 0
            if let bytes = extract(roomd_general_names_value(names, index), &length) {
                out.append(String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self))
            }
        }
        return out
    }
}
