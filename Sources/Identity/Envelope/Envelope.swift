public import Canonical
internal import COpenSSL

/// Sealed bids: CMS EnvelopedData (RFC 5652) and AuthEnvelopedData (RFC 5083), made and opened
/// with OpenSSL. A supplier's bid is encrypted to the supplier's own encryption certificate before
/// the deadline; at the opening the supplier's representative opens it with the key on the USBKey
/// (`roomctl supplier decrypt` plays that part with a key file).
///
/// Supported (docs/formats.md, "Sealed bids"):
/// - RSA: key transport (ktri) with RSAES-OAEP, SHA-256 and MGF1-SHA-256 when roomd seals;
///   opening also accepts PKCS#1 v1.5 key transport, which other tools still make.
/// - ECDSA keys on P-256: key agreement (kari), ephemeral-static ECDH with the X9.63 KDF over
///   SHA-256 (dhSinglePass-stdDH-sha256kdf-scheme) and AES key wrap; opening accepts the SHA-1
///   KDF that `openssl cms` uses by default too.
/// - Content: AES-256-GCM in AuthEnvelopedData by default (tampering is detected by the tag);
///   AES-256-CBC EnvelopedData on request and when opening (no integrity of its own: the
///   plaintext's SHA-256 in the opening definition is what catches a change).
/// - SM2: not supported. OpenSSL 3.0's CMS has no SM2 recipient (encrypting to an SM2 certificate
///   fails inside `CMS_encrypt`, and it cannot open a GB/T 35275 envelope); SM2 public-key
///   encryption itself works, so a GB/T 35275 envelope (SM2-encrypted SM4 key) would have to be
///   assembled and parsed by roomd's own DER code. Both directions refuse SM2 with that reason.
public enum Envelope {
    public enum ContentCipher: String, Sendable, CaseIterable {
        /// AuthEnvelopedData: a changed byte fails the tag.
        case aes256GCM = "aes-256-gcm"
        /// EnvelopedData: what older tools make.
        case aes256CBC = "aes-256-cbc"
    }

    /// Seals `plaintext` for each of `recipients` (RSA or P-256 certificates whose keyUsage, when
    /// present, allows keyEncipherment or keyAgreement respectively); DER.
    public static func seal(_ plaintext: [UInt8], for recipients: [Certificate],
                            cipher: ContentCipher = .aes256GCM) throws(EnvelopeError) -> [UInt8] {
        guard !recipients.isEmpty else { throw .noRecipients }
        for certificate in recipients {
            let algorithm = certificate.publicKeyAlgorithm
            try supported(algorithm)
            // A supplier has a signing and an encryption certificate (双证书); sealing to the
            // signing one is the usual mistake, and the bid could then not be opened as agreed.
            let needed: KeyUsage = algorithm == .rsa ? .keyEncipherment : .keyAgreement
            if let usage = certificate.keyUsage, !usage.contains(needed) {
                throw .notForEncryption(certificate.subject, usage: usage.names.joined(separator: ","),
                                        needed: needed.names.joined(separator: ","))
            }
        }
        let evpCipher = cipher == .aes256GCM ? EVP_aes_256_gcm() : EVP_aes_256_cbc()
        guard let raw = CMS_encrypt(nil, nil, evpCipher, roomd_CMS_BINARY | roomd_CMS_PARTIAL) else {
            throw .openssl(OpenSSLError.last("CMS_encrypt").description)
        }
        let cms = CMSContent(owning: raw)
        for certificate in recipients {
            guard let info = CMS_add1_recipient_cert(cms.handle, certificate.handle, roomd_CMS_KEY_PARAM),
                  let context = CMS_RecipientInfo_get0_pkey_ctx(info) else {
                throw .openssl(OpenSSLError.last("CMS_add1_recipient_cert").description)
            }
            let ok = certificate.publicKeyAlgorithm == .rsa
                ? EVP_PKEY_CTX_set_rsa_padding(context, roomd_RSA_PKCS1_OAEP_PADDING) == 1
                    && EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) == 1
                    && EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) == 1
                : EVP_PKEY_CTX_set_ecdh_kdf_md(context, EVP_sha256()) == 1
            guard ok else { throw .openssl(OpenSSLError.last("recipient parameters").description) }
        }
        do {
            let input = try MemoryBIO(bytes: plaintext)
            guard CMS_final(cms.handle, input.handle, nil, roomd_CMS_BINARY) == 1 else { throw OpenSSLError.last("CMS_final") }
            var out: UnsafeMutablePointer<UInt8>?
            let length = i2d_CMS_ContentInfo(cms.handle, &out)
            guard length > 0, let out else { throw OpenSSLError.last("i2d_CMS_ContentInfo") }
            defer { roomd_openssl_free(out) }
            return Array(UnsafeBufferPointer(start: out, count: Int(length)))
        } catch {
            throw .openssl("\(error)")
        }
    }

    /// Opens a sealed bid (DER, or PEM armour) with the private key of `certificate`. Every
    /// failure says which step failed: not an envelope, the key is not the certificate's, the
    /// envelope was not made for this certificate, its key cannot be unwrapped, its content
    /// fails to decrypt (changed). No plaintext is returned unless all of it decrypted.
    public static func open(_ envelope: [UInt8], key: PrivateKey, certificate: Certificate) throws(EnvelopeError) -> [UInt8] {
        try supported(certificate.publicKeyAlgorithm)
        guard key.matches(certificate) else { throw .keyDoesNotMatchCertificate(certificate.subject) }
        let cms = try parse(envelope)
        guard roomd_cms_has_recipient(cms.handle, certificate.handle) == 1 else { throw .notARecipient(certificate.subject) }
        // The recipient is chosen by the certificate, so a wrong key is an error here rather
        // than OpenSSL's random key against padding oracles: whoever opens holds the key.
        guard CMS_decrypt_set1_pkey_and_peer(cms.handle, key.handle, certificate.handle, nil) == 1 else {
            throw .keyUnwrapFailed(OpenSSLError.last("CMS_decrypt_set1_pkey_and_peer").reason)
        }
        let output: MemoryBIO
        do { output = try MemoryBIO() } catch { throw .openssl("\(error)") }
        guard CMS_decrypt(cms.handle, nil, nil, nil, output.handle, roomd_CMS_BINARY | roomd_CMS_DEBUG_DECRYPT) == 1 else {
            throw .contentAltered(OpenSSLError.last("CMS_decrypt").reason)
        }
        return output.contents
    }

    /// What an envelope is, without opening it: for `roomctl supplier` and for tests.
    public static func inspect(_ envelope: [UInt8]) throws(EnvelopeError) -> EnvelopeSummary {
        let cms = try parse(envelope)
        var recipients: [EnvelopeSummary.Recipient] = []
        for index in 0..<roomd_cms_recipient_count(cms.handle) {
            guard let info = roomd_cms_recipient_value(cms.handle, index) else { continue }
            var algorithm: UnsafeMutablePointer<X509_ALGOR>?
            switch CMS_RecipientInfo_type(info) {
            case roomd_CMS_RECIPINFO_TRANS:
                _ = CMS_RecipientInfo_ktri_get0_algs(info, nil, nil, &algorithm)
                recipients.append(.init(kind: .keyTransport, keyEncryption: algorithmName(algorithm)))
            case roomd_CMS_RECIPINFO_AGREE:
                _ = CMS_RecipientInfo_kari_get0_alg(info, &algorithm, nil)
                recipients.append(.init(kind: .keyAgreement, keyEncryption: algorithmName(algorithm)))
            default:
                recipients.append(.init(kind: .other, keyEncryption: ""))
            }
        }
        ERR_clear_error()
        let authenticated = OBJ_obj2nid(CMS_get0_type(cms.handle)) == NID_id_smime_ct_authEnvelopedData
        return EnvelopeSummary(authenticated: authenticated, recipients: recipients)
    }

    private static func parse(_ bytes: [UInt8]) throws(EnvelopeError) -> CMSContent {
        var parsed: OpaquePointer?
        if bytes.starts(with: Array("-----BEGIN".utf8)) {
            guard let bio = try? MemoryBIO(bytes: bytes) else { throw .malformed("out of memory") }
            parsed = PEM_read_bio_CMS(bio.handle, nil, nil, nil)
        } else {
            parsed = bytes.withUnsafeBufferPointer { buffer in
                var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
                return d2i_CMS_ContentInfo(nil, &cursor, buffer.count)
            }
        }
        guard let parsed else { throw .malformed(OpenSSLError.last("d2i_CMS_ContentInfo").reason) }
        let cms = CMSContent(owning: parsed)
        let nid = OBJ_obj2nid(CMS_get0_type(parsed))
        guard nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData else {
            throw .notAnEnvelope(OBJ_nid2ln(nid).map { String(cString: $0) } ?? "unknown")
        }
        return cms
    }

    private static func supported(_ algorithm: PublicKeyAlgorithm) throws(EnvelopeError) {
        switch algorithm {
        case .rsa, .ecP256: return
        case .sm2: throw .sm2NotSupported
        case .other(let name): throw .unsupportedKey(name)
        }
    }

    private static func algorithmName(_ algorithm: UnsafeMutablePointer<X509_ALGOR>?) -> String {
        guard let algorithm else { return "" }
        var object: OpaquePointer?
        X509_ALGOR_get0(&object, nil, nil, algorithm)
        var buffer = [CChar](repeating: 0, count: 128)
        let length = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 0)
        return length > 0 ? text(buffer) : ""
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A CMS ContentInfo held by OpenSSL, released when the value dies.
final class CMSContent {
    let handle: OpaquePointer
    init(owning handle: OpaquePointer) { self.handle = handle }
    deinit { CMS_ContentInfo_free(handle) }
}

public struct EnvelopeSummary: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case keyTransport = "ktri"
        case keyAgreement = "kari"
        case other
    }

    public struct Recipient: Sendable, Equatable {
        public var kind: Kind
        /// OpenSSL's name of the key-encryption algorithm, e.g. "rsaesOaep",
        /// "dhSinglePass-stdDH-sha256kdf-scheme".
        public var keyEncryption: String
    }

    /// AuthEnvelopedData (AES-GCM), else EnvelopedData.
    public var authenticated: Bool
    public var recipients: [Recipient]
}

/// Why a bid could not be sealed or opened: what happened and what to do, in Chinese for the
/// supplier's representative and English for logs.
public enum EnvelopeError: Error, Equatable, CustomStringConvertible, ExplainedRefusal {
    case noRecipients
    case sm2NotSupported
    case unsupportedKey(String)
    case notForEncryption(String, usage: String, needed: String)
    case malformed(String)
    case notAnEnvelope(String)
    case keyDoesNotMatchCertificate(String)
    case notARecipient(String)
    case keyUnwrapFailed(String)
    case contentAltered(String)
    case openssl(String)

    public var code: String {
        switch self {
        case .noRecipients: "envelope-no-recipients"
        case .sm2NotSupported: "envelope-sm2-unsupported"
        case .unsupportedKey: "envelope-key-unsupported"
        case .notForEncryption: "envelope-not-an-encryption-certificate"
        case .malformed: "envelope-malformed"
        case .notAnEnvelope: "envelope-wrong-type"
        case .keyDoesNotMatchCertificate: "envelope-key-certificate-mismatch"
        case .notARecipient: "envelope-not-a-recipient"
        case .keyUnwrapFailed: "envelope-key-unwrap-failed"
        case .contentAltered: "envelope-content-altered"
        case .openssl: "envelope-openssl"
        }
    }

    public var chinese: String {
        switch self {
        case .noRecipients: "未指定接收方证书，无法加密。"
        case .sm2NotSupported:
            "暂不支持SM2数字信封：本系统使用的OpenSSL 3.0不能生成或解开SM2信封。请使用RSA或ECC（P-256）加密证书，或联系代理机构。"
        case .unsupportedKey(let name): "不支持的密钥类型（\(name)）：仅支持RSA和ECC（P-256）加密证书。"
        case .notForEncryption: "该证书不是加密证书（密钥用途不含加密），不能用于加密投标文件；请使用供应商的加密证书。"
        case .malformed: "加密投标文件格式损坏，无法读取；请从政府采购云平台重新获取。"
        case .notAnEnvelope: "该文件不是加密投标文件（CMS数字信封）；请确认选择了正确的文件。"
        case .keyDoesNotMatchCertificate: "私钥与证书不匹配；请确认插入的是本单位的CA锁（USBKey）。"
        case .notARecipient: "该投标文件不是用此证书加密的；请使用投标时所用的加密证书（CA锁）解密。"
        case .keyUnwrapFailed: "无法用此密钥解开投标文件的会话密钥：文件可能已被篡改，或加密时使用了其他密钥。"
        case .contentAltered: "投标文件内容解密失败：文件已被篡改或损坏；请从政府采购云平台重新获取。"
        case .openssl: "加解密组件出错；请联系代理机构技术人员。"
        }
    }

    public var description: String {
        switch self {
        case .noRecipients: "no recipient certificate: nothing to seal for"
        case .sm2NotSupported:
            "SM2 envelopes are not supported: OpenSSL 3.0's CMS can neither make nor open them; use an RSA or P-256 encryption certificate"
        case .unsupportedKey(let name): "\(name) keys cannot seal or open bids; use RSA or EC P-256"
        case .notForEncryption(let subject, let usage, let needed):
            "the certificate \(subject) has keyUsage \(usage), without \(needed): it is not an encryption certificate; seal to the supplier's encryption certificate"
        case .malformed(let reason): "not a readable CMS structure (DER or PEM): \(reason)"
        case .notAnEnvelope(let type): "the CMS content is \(type), not EnvelopedData or AuthEnvelopedData"
        case .keyDoesNotMatchCertificate(let subject): "the private key does not belong to the certificate \(subject)"
        case .notARecipient(let subject): "the envelope has no recipient for the certificate \(subject); open it with the certificate it was sealed to"
        case .keyUnwrapFailed(let reason):
            "the content key could not be unwrapped with this key (the envelope was altered, or sealed to another key): \(reason)"
        case .contentAltered(let reason): "the content does not decrypt (the envelope was altered or is damaged): \(reason)"
        case .openssl(let reason): "OpenSSL failed: \(reason)"
        }
    }

    public var explanation: Explanation { Explanation(code: code, chinese: chinese, english: description) }
}
