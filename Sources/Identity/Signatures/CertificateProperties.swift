import Foundation
internal import COpenSSL

/// X.509 keyUsage bits (RFC 5280 4.2.1.3).
public struct KeyUsage: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let digitalSignature = KeyUsage(rawValue: roomd_KU_DIGITAL_SIGNATURE)
    public static let nonRepudiation = KeyUsage(rawValue: roomd_KU_NON_REPUDIATION)
    public static let keyEncipherment = KeyUsage(rawValue: roomd_KU_KEY_ENCIPHERMENT)
    public static let dataEncipherment = KeyUsage(rawValue: roomd_KU_DATA_ENCIPHERMENT)
    public static let keyAgreement = KeyUsage(rawValue: roomd_KU_KEY_AGREEMENT)
    public static let keyCertSign = KeyUsage(rawValue: roomd_KU_KEY_CERT_SIGN)
    public static let cRLSign = KeyUsage(rawValue: roomd_KU_CRL_SIGN)

    /// Names as `openssl x509 -ext keyUsage` would list them, for messages.
    public var names: [String] {
        let all: [(KeyUsage, String)] = [
            (.digitalSignature, "digitalSignature"), (.nonRepudiation, "nonRepudiation"),
            (.keyEncipherment, "keyEncipherment"), (.dataEncipherment, "dataEncipherment"),
            (.keyAgreement, "keyAgreement"), (.keyCertSign, "keyCertSign"), (.cRLSign, "cRLSign"),
        ]
        return all.filter { contains($0.0) }.map(\.1)
    }
}

extension Certificate {
    /// The kind of public key the certificate carries.
    public var publicKeyAlgorithm: PublicKeyAlgorithm {
        guard let key = X509_get0_pubkey(handle) else { return .other("unreadable") }
        return PublicKeyAlgorithm(pkey: key)
    }

    /// Key size in bits (RSA modulus, EC field size), 0 when unreadable.
    public var publicKeyBits: Int {
        guard let key = X509_get0_pubkey(handle) else { return 0 }
        return Int(EVP_PKEY_get_bits(key))
    }

    /// The keyUsage extension's bits, or nil when the certificate has none.
    public var keyUsage: KeyUsage? {
        guard roomd_x509_has_key_usage(handle) == 1 else { return nil }
        return KeyUsage(rawValue: X509_get_key_usage(handle))
    }

    /// Serial number in uppercase hex, as `openssl x509 -serial` prints it.
    public var serialNumberHex: String {
        guard let serial = X509_get0_serialNumber(handle), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
        defer { BN_free(bn) }
        guard let text = BN_bn2hex(bn) else { return "" }
        defer { roomd_openssl_free(text) }
        return String(cString: text)
    }

    /// Every certificate in a file's bytes: a PEM bundle or one DER certificate.
    public static func all(pemOrDER bytes: [UInt8]) throws -> [Certificate] {
        looksLikePEM(bytes) ? try all(pem: bytes) : [try Certificate(der: bytes)]
    }

    /// The issuer Name and serialNumber exactly as encoded in the TBS
    /// certificate: what a CMS IssuerAndSerialNumber names.
    static func issuerAndSerial(der: ArraySlice<UInt8>) throws -> (issuer: ArraySlice<UInt8>, serial: ArraySlice<UInt8>) {
        guard let tbsNode = try DER.Reader.single(der).children().first else { throw DER.Error("empty Certificate") }
        let tbs = try tbsNode.children()
        // tbsCertificate: [0] version (optional), serialNumber, signature, issuer, …
        let offset = tbs.first?.tag == DER.Tag.context(0) ? 1 : 0
        guard tbs.count > offset + 2 else { throw DER.Error("short TBSCertificate") }
        return (tbs[offset + 2].encoded, tbs[offset].encoded)
    }

    /// The subjectKeyIdentifier extension's value, if any.
    var subjectKeyIdentifier: [UInt8]? {
        guard let ski = X509_get0_subject_key_id(handle) else { return nil }
        return asn1Bytes(ski)
    }
}

/// The bytes of an ASN1_STRING (OCTET STRING, BIT STRING, …).
func asn1Bytes(_ string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
    let length = Int(ASN1_STRING_length(string))
    guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: length))
}

func looksLikePEM(_ bytes: [UInt8]) -> Bool {
    let marker = Array("-----BEGIN".utf8)
    // Leading white space and a BOM are tolerated.
    let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 || $0 == 0xef || $0 == 0xbb || $0 == 0xbf }
    return trimmed.starts(with: marker)
}
