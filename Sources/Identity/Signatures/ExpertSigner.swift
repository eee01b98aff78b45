public import Foundation
internal import COpenSSL

/// Why the reference signer refused to sign.
public struct ExpertSignerError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Plays the expert's cloud-sign app (demo, tests, `roomctl expert sign`):
/// raw signatures and detached CMS SignedData the verifier accepts.
public enum ExpertSigner {
    /// Signs `message` itself: the raw signature bytes (PKCS#1/PSS octets, or
    /// DER ECDSA/SM2 signature values).
    public static func signRaw(message: [UInt8], key: PrivateKey, algorithm: SignatureAlgorithm,
                               sm2ID: String = SM2.defaultID) throws -> [UInt8] {
        try check(key: key, algorithm: algorithm)
        return try DigestSignature.sign(key: key.handle, algorithm: algorithm, sm2ID: Array(sm2ID.utf8), message: message[...])
    }

    /// A detached CMS SignedData (DER) over `content`, with the signed attributes
    /// contentType, messageDigest and signingTime, the signer's certificate and
    /// `chain`. SM2 signatures use the GB/T 35275 OIDs unless `contentTypes`
    /// says otherwise; RSA and ECDSA use PKCS#7's, which `openssl cms` reads.
    public static func signCMS(content: [UInt8], key: PrivateKey, certificate: Certificate, chain: [Certificate] = [],
                               algorithm: SignatureAlgorithm, signingTime: Date = Date(),
                               contentTypes: CMSContentTypes? = nil, sm2ID: String = SM2.defaultID) throws -> [UInt8] {
        try check(key: key, algorithm: algorithm)
        guard X509_check_private_key(certificate.handle, key.handle) == 1 else {
            ERR_clear_error()
            throw ExpertSignerError(description: "the private key does not belong to the certificate \(certificate.subject)")
        }
        return try CMSSignedData.build(
            content: content, certificate: certificate, chain: chain, algorithm: algorithm,
            contentTypes: contentTypes ?? (algorithm == .sm2SM3 ? .gbt35275 : .pkcs7),
            signingTime: signingTime
        ) { signedAttributes in
            try DigestSignature.sign(key: key.handle, algorithm: algorithm, sm2ID: Array(sm2ID.utf8), message: signedAttributes[...])
        }
    }

    private static func check(key: PrivateKey, algorithm: SignatureAlgorithm) throws {
        let kind = PublicKeyAlgorithm(pkey: key.handle)
        guard kind.algorithms.contains(algorithm) else {
            throw ExpertSignerError(description: "the key is \(kind); it cannot make \(algorithm.rawValue) signatures")
        }
    }
}
