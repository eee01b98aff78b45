public import Foundation
internal import COpenSSL

/// Issues X.509 v3 certificates with OpenSSL: the room CA, the server and the
/// client certificates that map to roles. Used by `roomctl pki init` and
/// `roomctl station enroll`.
public struct CertificateRequest: Sendable {
    /// Relative distinguished names in order, e.g. `[("O", "roomd"), ("CN", "S01")]`.
    public var subject: [(String, String)]
    public var validity: TimeInterval
    public var isCA: Bool
    public var serverDNSNames: [String]
    public var serverIPAddresses: [String]
    public var uris: [String]
    public var clientAuth: Bool
    public var serverAuth: Bool
    /// keyUsage of an end-entity certificate in OpenSSL's syntax; by default
    /// what TLS clients need. Signing certificates (demo experts) use
    /// "critical,digitalSignature,nonRepudiation".
    public var keyUsage: String
    /// extendedKeyUsage emailProtection: what `openssl cms -verify` asks of a
    /// CMS signer (the room's seal certificate for packages).
    public var emailProtection = false

    public init(
        subject: [(String, String)],
        validity: TimeInterval,
        isCA: Bool = false,
        serverDNSNames: [String] = [],
        serverIPAddresses: [String] = [],
        uris: [String] = [],
        clientAuth: Bool = false,
        serverAuth: Bool = false,
        keyUsage: String = "critical,digitalSignature,keyAgreement"
    ) {
        self.subject = subject
        self.validity = validity
        self.isCA = isCA
        self.serverDNSNames = serverDNSNames
        self.serverIPAddresses = serverIPAddresses
        self.uris = uris
        self.clientAuth = clientAuth
        self.serverAuth = serverAuth
        self.keyUsage = keyUsage
    }
}

public enum CertificateIssuer {
    /// Issues a certificate for `key`'s public half. With no `issuer`, the
    /// certificate is self-signed (a root CA).
    public static func issue(
        _ request: CertificateRequest,
        publicKeyOf key: PrivateKey,
        issuer: (certificate: Certificate, key: PrivateKey)? = nil,
        now: Date = Date()
    ) throws -> Certificate {
        guard let cert = X509_new() else { throw OpenSSLError.last("X509_new") }
        let result = Certificate(owning: cert)  // frees on every error path below

        guard X509_set_version(cert, 2) == 1 else { throw OpenSSLError.last("X509_set_version") }
        try setRandomSerial(cert)

        let start = Int(now.timeIntervalSince1970) - 3600  // tolerate small clock skew between room PCs
        var startTime = time_t(start)
        guard X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &startTime) != nil,
              X509_time_adj_ex(X509_getm_notAfter(cert), 0, Int(request.validity) + 3600, &startTime) != nil
        else { throw OpenSSLError.last("X509_time_adj_ex") }

        guard let name = X509_NAME_new() else { throw OpenSSLError.last("X509_NAME_new") }
        defer { X509_NAME_free(name) }
        for (field, value) in request.subject {
            guard X509_NAME_add_entry_by_txt(name, field, roomd_MBSTRING_UTF8, value, -1, -1, 0) == 1 else {
                throw OpenSSLError.last("X509_NAME_add_entry_by_txt(\(field))")
            }
        }
        guard X509_set_subject_name(cert, name) == 1 else { throw OpenSSLError.last("X509_set_subject_name") }
        let issuerName = issuer.map { X509_get_subject_name($0.certificate.handle) } ?? name
        guard X509_set_issuer_name(cert, issuerName) == 1 else { throw OpenSSLError.last("X509_set_issuer_name") }
        guard X509_set_pubkey(cert, key.handle) == 1 else { throw OpenSSLError.last("X509_set_pubkey") }

        let issuerCert = issuer?.certificate.handle ?? cert
        func add(_ nid: Int32, _ value: String) throws {
            guard roomd_x509_add_ext(cert, issuerCert, nid, value) == 1 else {
                throw OpenSSLError.last("add extension \(value)")
            }
        }
        if request.isCA {
            try add(NID_basic_constraints, "critical,CA:TRUE,pathlen:1")
            try add(NID_key_usage, "critical,keyCertSign,cRLSign")
        } else {
            try add(NID_basic_constraints, "critical,CA:FALSE")
            try add(NID_key_usage, request.keyUsage)
            var usages: [String] = []
            if request.serverAuth { usages.append("serverAuth") }
            if request.clientAuth { usages.append("clientAuth") }
            if request.emailProtection { usages.append("emailProtection") }
            if !usages.isEmpty { try add(NID_ext_key_usage, usages.joined(separator: ",")) }
        }
        try add(NID_subject_key_identifier, "hash")
        if issuer != nil { try add(NID_authority_key_identifier, "keyid:always") }
        let altNames = request.serverDNSNames.map { "DNS:\($0)" }
            + request.serverIPAddresses.map { "IP:\($0)" }
            + request.uris.map { "URI:\($0)" }
        if !altNames.isEmpty { try add(NID_subject_alt_name, altNames.joined(separator: ",")) }

        let signingKey = issuer?.key.handle ?? key.handle
        guard X509_sign(cert, signingKey, EVP_sha256()) > 0 else { throw OpenSSLError.last("X509_sign") }
        return result
    }

    private static func setRandomSerial(_ cert: OpaquePointer) throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw OpenSSLError.last("RAND_bytes") }
        bytes[0] &= 0x7f  // a positive INTEGER, as RFC 5280 requires
        guard let bn = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw OpenSSLError.last("BN_bin2bn") }
        defer { BN_free(bn) }
        guard BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nil else {
            throw OpenSSLError.last("BN_to_ASN1_INTEGER")
        }
    }
}
