public import Foundation
internal import COpenSSL

/// The room's seal on a package: a detached CMS SignedData (DER) by the room
/// key over a file's bytes, CAdES-BES (signed attributes contentType,
/// signingTime, messageDigest and signingCertificateV2), with the room's
/// certificate and chain, which `openssl cms -verify -binary -inform DER`
/// checks. ECDSA P-256 keys; an SM2 room key makes a GB/T 35275 CMS, which
/// roomd verifies but OpenSSL 3.0's `cms` command cannot (docs/formats.md).
public enum SealSigner {
    public static func sign(content: [UInt8], key: PrivateKey, certificate: Certificate, chain: [Certificate] = [],
                            signingTime: Date = Date()) throws -> [UInt8] {
        let kind = PublicKeyAlgorithm(pkey: key.handle)
        let algorithm: SignatureAlgorithm
        switch kind {
        case .ecP256: algorithm = .ecdsaP256SHA256
        case .sm2: algorithm = .sm2SM3
        case .rsa: algorithm = .rsaPKCS1SHA256
        default: throw ExpertSignerError(description: "the room key is \(kind); a seal needs ECDSA P-256, SM2 or RSA")
        }
        guard X509_check_private_key(certificate.handle, key.handle) == 1 else {
            ERR_clear_error()
            throw ExpertSignerError(description: "the room key does not belong to the seal certificate \(certificate.subject)")
        }
        return try CMSSignedData.build(
            content: content, certificate: certificate, chain: chain, algorithm: algorithm,
            contentTypes: algorithm == .sm2SM3 ? .gbt35275 : .pkcs7, signingTime: signingTime, bindCertificate: true
        ) { signedAttributes in
            try DigestSignature.sign(key: key.handle, algorithm: algorithm, sm2ID: Array(SM2.defaultID.utf8), message: signedAttributes[...])
        }
    }
}
