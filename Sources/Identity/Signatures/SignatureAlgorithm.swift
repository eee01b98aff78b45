internal import COpenSSL
import Foundation

/// The signature schemes an expert's cloud certificate may use. The raw values
/// are stored in the database and the audit ledger: never change them.
public enum SignatureAlgorithm: String, Sendable, Hashable, CaseIterable, Codable {
    /// RSA (≥ 2048 bits), PKCS#1 v1.5 padding, SHA-256.
    case rsaPKCS1SHA256 = "rsa-pkcs1-sha256"
    /// RSA (≥ 2048 bits), PSS padding, SHA-256 with MGF1-SHA-256. Signing uses a
    /// 32-byte salt; verification accepts the salt length the signature has.
    case rsaPSSSHA256 = "rsa-pss-sha256"
    /// ECDSA on NIST P-256 with SHA-256; DER `ECDSA-Sig-Value`.
    case ecdsaP256SHA256 = "ecdsa-p256-sha256"
    /// SM2 with SM3 (GB/T 32918, GB/T 35276) with a distinguishing ID; DER `SM2Signature`.
    case sm2SM3 = "sm2-sm3"

    /// The digest the scheme hashes with (also CMS's digestAlgorithm).
    var digest: DigestAlgorithm { self == .sm2SM3 ? .sm3 : .sha256 }
}

/// GB/T 35276's default SM2 user ID. Signer and verifier must use the same ID.
public enum SM2 {
    public static let defaultID = "1234567812345678"
}

/// What a certificate's public key is, as far as signature checks care.
public enum PublicKeyAlgorithm: Sendable, Hashable, CustomStringConvertible {
    case rsa
    /// ECDSA on NIST P-256.
    case ecP256
    case sm2
    /// Anything else, by OpenSSL's name (e.g. "EC/secp384r1", "ED25519").
    case other(String)

    public var description: String {
        switch self {
        case .rsa: "RSA"
        case .ecP256: "ECDSA P-256"
        case .sm2: "SM2"
        case .other(let name): name
        }
    }

    /// Classifies an `EVP_PKEY`. OpenSSL 3.0.22 loads keys on the SM2 curve as
    /// type "SM2"; an "EC" key on the SM2 curve (older 3.0 releases) would sign
    /// ECDSA-with-SM3 instead of SM2 and is reported as unsupported.
    init(pkey: OpaquePointer) {
        if EVP_PKEY_is_a(pkey, "SM2") == 1 {
            self = .sm2
        } else if EVP_PKEY_is_a(pkey, "RSA") == 1 {
            self = .rsa
        } else if EVP_PKEY_is_a(pkey, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let group = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, &name, name.count, &length) == 1
                ? String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            self = group == "prime256v1" || group == "P-256" ? .ecP256 : .other("EC/\(group)")
        } else {
            let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
            self = .other(name)
        }
    }

    /// The schemes a key of this kind can make.
    var algorithms: [SignatureAlgorithm] {
        switch self {
        case .rsa: [.rsaPKCS1SHA256, .rsaPSSSHA256]
        case .ecP256: [.ecdsaP256SHA256]
        case .sm2: [.sm2SM3]
        case .other: []
        }
    }
}

enum DigestAlgorithm: Sendable {
    case sha256, sm3

    var md: OpaquePointer? { self == .sha256 ? EVP_sha256() : EVP_sm3() }

    /// The one place Identity (and Archive, through ``Digest``) hashes a whole buffer at once.
    func hash(_ bytes: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &length, md, nil) }
        precondition(ok == 1, "EVP_Digest of a built-in digest cannot fail")
        return Array(out.prefix(Int(length)))
    }
}

/// Signing and verification with OpenSSL's EVP_DigestSign/Verify, one code
/// path for all four schemes (raw signatures, CMS signed attributes, room key).
enum DigestSignature {
    /// Salt length for PSS verification: whatever the signature carries.
    static let pssSaltAuto = roomd_RSA_PSS_SALTLEN_AUTO

    /// True only when `signature` is valid for `message`; never throws on
    /// hostile input (a malformed signature is simply invalid).
    static func verify(
        key: OpaquePointer, algorithm: SignatureAlgorithm, sm2ID: [UInt8], pssSaltLength: Int32 = pssSaltAuto,
        signature: [UInt8], message: ArraySlice<UInt8>
    ) -> Bool {
        let ok = (try? withContext(key: key, algorithm: algorithm, sm2ID: sm2ID, pssSaltLength: pssSaltLength, signing: false) { mdctx in
            signature.withUnsafeBufferPointer { sig in
                message.withUnsafeBufferPointer { msg in
                    EVP_DigestVerify(mdctx, sig.baseAddress, sig.count, msg.baseAddress, msg.count) == 1
                }
            }
        }) ?? false
        ERR_clear_error()
        return ok
    }

    /// Signs `message`; PSS uses a salt as long as the digest (32 bytes).
    static func sign(key: OpaquePointer, algorithm: SignatureAlgorithm, sm2ID: [UInt8], message: ArraySlice<UInt8>) throws -> [UInt8] {
        try withContext(key: key, algorithm: algorithm, sm2ID: sm2ID, pssSaltLength: roomd_RSA_PSS_SALTLEN_DIGEST, signing: true) { mdctx in
            try message.withUnsafeBufferPointer { msg in
                var length = 0
                guard EVP_DigestSign(mdctx, nil, &length, msg.baseAddress, msg.count) == 1 else {
                    throw OpenSSLError.last("EVP_DigestSign(size, \(algorithm.rawValue))")
                }
                var signature = [UInt8](repeating: 0, count: length)
                guard EVP_DigestSign(mdctx, &signature, &length, msg.baseAddress, msg.count) == 1 else {
                    throw OpenSSLError.last("EVP_DigestSign(\(algorithm.rawValue))")
                }
                return Array(signature.prefix(length))
            }
        }
    }

    /// Creates the digest context with the scheme's options, runs `body`, frees
    /// everything. For SM2 the pkey context carrying the ID is attached with
    /// EVP_MD_CTX_set_pkey_ctx before the init (SM2(7)): the init computes Z from
    /// the ID. The md context does not own that pkey context.
    private static func withContext<T>(
        key: OpaquePointer, algorithm: SignatureAlgorithm, sm2ID: [UInt8], pssSaltLength: Int32, signing: Bool,
        _ body: (OpaquePointer) throws -> T
    ) throws -> T {
        guard let mdctx = EVP_MD_CTX_new() else { throw OpenSSLError.last("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(mdctx) }
        var ownedPctx: OpaquePointer?
        defer { if let ownedPctx { EVP_PKEY_CTX_free(ownedPctx) } }
        if algorithm == .sm2SM3 {
            guard let pctx = EVP_PKEY_CTX_new(key, nil) else { throw OpenSSLError.last("EVP_PKEY_CTX_new(SM2)") }
            ownedPctx = pctx
            guard EVP_PKEY_CTX_set1_id(pctx, sm2ID, Int32(sm2ID.count)) == 1 else {
                throw OpenSSLError.last("EVP_PKEY_CTX_set1_id")
            }
            EVP_MD_CTX_set_pkey_ctx(mdctx, pctx)
        }
        var pctx: OpaquePointer?
        let md = algorithm.digest.md
        let initialised = signing
            ? EVP_DigestSignInit(mdctx, &pctx, md, nil, key)
            : EVP_DigestVerifyInit(mdctx, &pctx, md, nil, key)
        guard initialised == 1 else { throw OpenSSLError.last("EVP_Digest\(signing ? "Sign" : "Verify")Init(\(algorithm.rawValue))") }
        switch algorithm {
        case .rsaPKCS1SHA256:
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, roomd_RSA_PKCS1_PADDING) == 1 else {
                throw OpenSSLError.last("EVP_PKEY_CTX_set_rsa_padding(PKCS1)")
            }
        case .rsaPSSSHA256:
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, roomd_RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pssSaltLength) == 1
            else { throw OpenSSLError.last("EVP_PKEY_CTX_set_rsa_padding(PSS)") }
        case .ecdsaP256SHA256, .sm2SM3:
            break
        }
        return try body(mdctx)
    }
}
