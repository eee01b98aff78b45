public import Canonical
import Foundation

/// Why a signature was refused. The raw values go into the database and the
/// audit ledger: they are stable, never renamed or reused.
public enum SignatureRejectionCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// The certificate does not chain to a trust anchor of this purpose
    /// (another CA, unknown issuer, a broken or misused CA certificate).
    case untrustedChain = "untrusted-chain"
    case certificateExpired = "certificate-expired"
    case certificateNotYetValid = "certificate-not-yet-valid"
    /// A CRL of the chain lists the certificate (leaf or intermediate).
    case certificateRevoked = "certificate-revoked"
    /// The issuer's newest CRL is past its nextUpdate at the verification time.
    case crlExpired = "crl-expired"
    /// A configured CRL for the issuer does not verify with the issuer's key.
    case crlInvalid = "crl-invalid"
    /// No CRL for an issuer of the chain, and the policy requires one.
    case crlMissing = "crl-missing"
    /// keyUsage lacks digitalSignature and nonRepudiation (or is absent).
    case keyUsageNotForSigning = "key-usage-not-for-signing"
    /// RSA below 2048 bits, in the leaf or a CA of the chain.
    case weakKey = "weak-key"
    case unsupportedAlgorithm = "unsupported-algorithm"
    /// The signature does not verify: a changed document, a wrong key, or a
    /// different SM2 distinguishing ID.
    case signatureInvalid = "signature-invalid"
    case malformedSignature = "malformed-signature"
    case malformedCertificate = "malformed-certificate"
    /// CMS: the signed messageDigest is not the digest of the submitted content.
    case digestMismatch = "digest-mismatch"

    /// One English line per code, for logs and documentation.
    public var summary: String {
        switch self {
        case .untrustedChain: "certificate does not chain to a trusted CA"
        case .certificateExpired: "certificate expired"
        case .certificateNotYetValid: "certificate not yet valid"
        case .certificateRevoked: "certificate revoked"
        case .crlExpired: "CRL past its nextUpdate"
        case .crlInvalid: "CRL signature invalid"
        case .crlMissing: "no CRL for an issuer and the policy requires one"
        case .keyUsageNotForSigning: "certificate key usage does not allow signing"
        case .weakKey: "key too weak (RSA < 2048 bits)"
        case .unsupportedAlgorithm: "unsupported key or signature algorithm"
        case .signatureInvalid: "signature does not verify"
        case .malformedSignature: "signature data cannot be parsed"
        case .malformedCertificate: "certificate cannot be parsed"
        case .digestMismatch: "CMS message digest differs from the content"
        }
    }
}

/// A refused signature: a stable code, an English detail for logs naming the
/// certificate and the cause, and a message for the operator in Chinese that
/// says what happened and what to do.
public struct SignatureRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: SignatureRejectionCode
    public let detail: String
    public let chineseMessage: String

    /// Certificate subjects in `detail` and `chineseMessage` may carry ID
    /// numbers; they are redacted to their last four characters here, once.
    public init(code: SignatureRejectionCode, detail: String, chineseMessage: String) {
        self.code = code
        self.detail = ResidentID.redacting(detail)
        self.chineseMessage = ResidentID.redacting(chineseMessage)
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}

/// The rejections the verifier produces, each with its wording in one place.
extension SignatureRejection {
    // Codes whose operator message is the same whatever the case; the detail says which.
    static func untrusted(_ detail: String) -> Self { Self(code: .untrustedChain, detail: detail, chineseMessage: fixedMessage(.untrustedChain)) }
    static func unsupported(_ detail: String) -> Self { Self(code: .unsupportedAlgorithm, detail: detail, chineseMessage: fixedMessage(.unsupportedAlgorithm)) }
    static func signatureInvalid(_ detail: String) -> Self { Self(code: .signatureInvalid, detail: detail, chineseMessage: fixedMessage(.signatureInvalid)) }
    static func malformedSignature(_ detail: String) -> Self { Self(code: .malformedSignature, detail: detail, chineseMessage: fixedMessage(.malformedSignature)) }
    static func malformedCertificate(_ detail: String) -> Self { Self(code: .malformedCertificate, detail: detail, chineseMessage: fixedMessage(.malformedCertificate)) }
    static func digestMismatch(_ detail: String) -> Self { Self(code: .digestMismatch, detail: detail, chineseMessage: fixedMessage(.digestMismatch)) }

    private static func fixedMessage(_ code: SignatureRejectionCode) -> String {
        switch code {
        case .untrustedChain:
            "签名证书不是由本评审室信任的云签CA签发，无法确认签名人身份。请使用项目认可的云签证书重新签名；如确认证书无误，请联系管理员核对信任的CA配置。"
        case .unsupportedAlgorithm:
            "签名使用了本系统不支持的算法。请使用 SM2、RSA（2048 位及以上）或 ECDSA P-256 证书重新签名。"
        case .signatureInvalid:
            "签名验证失败：签名与提交的文件不符（文件可能被修改，或签名参数如 SM2 用户标识不一致）。请对当前文件重新签名。"
        case .malformedSignature:
            "签名数据格式错误，无法解析。请在云签 App 中重新签名；如反复出现，请联系云签服务商。"
        case .malformedCertificate:
            "签名附带的证书格式错误，无法解析。请在云签 App 中重新签名；如反复出现，请联系云签服务商。"
        case .digestMismatch:
            "签名中的文件摘要与提交的文件不一致，签名针对的不是当前文件（文件可能已被修改）。请对当前文件重新签名。"
        default:
            code.summary
        }
    }

    static func expired(subject: String, isLeaf: Bool, notAfter: Date) -> Self {
        let day = chinaDate(notAfter)
        return isLeaf
            ? Self(code: .certificateExpired, detail: "certificate \(subject) expired at \(isoDate(notAfter))",
                   chineseMessage: "签名证书已过期（有效期至 \(day)），请在云签 App 中更新证书后重新签名。")
            : Self(code: .certificateExpired, detail: "CA certificate \(subject) of the chain expired at \(isoDate(notAfter))",
                   chineseMessage: "签名证书的上级CA证书已过期（有效期至 \(day)），请联系云签服务商或管理员。")
    }

    static func notYetValid(subject: String, isLeaf: Bool, notBefore: Date) -> Self {
        let day = chinaDate(notBefore)
        return Self(code: .certificateNotYetValid,
                    detail: "\(isLeaf ? "certificate" : "CA certificate") \(subject) is valid only from \(isoDate(notBefore))",
                    chineseMessage: isLeaf
                        ? "签名证书尚未生效（生效时间 \(day)），请核对手机时间，或在证书生效后重新签名。"
                        : "签名证书的上级CA证书尚未生效（生效时间 \(day)），请联系云签服务商或管理员。")
    }

    static func revoked(subject: String, serial: String, at date: Date?) -> Self {
        let when = date.map { "（吊销时间 \(chinaDate($0))）" } ?? ""
        return Self(code: .certificateRevoked,
                    detail: "certificate \(subject) serial \(serial) is revoked" + (date.map { " since \(isoDate($0))" } ?? ""),
                    chineseMessage: "签名证书已被吊销\(when)，该证书不能再用于签名。请联系云签服务商重新办理证书后再签名。")
    }

    static func crlExpired(issuer: String, nextUpdate: Date) -> Self {
        Self(code: .crlExpired, detail: "the CRL of \(issuer) expired at \(isoDate(nextUpdate)) (nextUpdate)",
             chineseMessage: "证书吊销列表（CRL）已过期（应于 \(chinaDate(nextUpdate)) 前更新），暂时无法确认证书是否被吊销。请管理员更新吊销列表后重试。")
    }

    static func crlInvalid(issuer: String, reason: String) -> Self {
        Self(code: .crlInvalid, detail: "the CRL of \(issuer) is invalid: \(reason)",
             chineseMessage: "证书吊销列表（CRL）校验失败，暂时无法确认证书是否被吊销。请管理员重新下载并导入正确的吊销列表。")
    }

    static func crlMissing(issuer: String) -> Self {
        Self(code: .crlMissing, detail: "no CRL of \(issuer) is configured and the policy requires one",
             chineseMessage: "缺少签发CA的证书吊销列表（CRL），暂时无法确认证书是否被吊销。请管理员导入吊销列表后重试。")
    }

    static func keyUsage(subject: String, usage: KeyUsage?) -> Self {
        let what = usage.map { "keyUsage is \($0.names.joined(separator: ",").ifEmpty("empty"))" } ?? "no keyUsage extension"
        return Self(code: .keyUsageNotForSigning,
                    detail: "certificate \(subject) is not for signing: \(what); digitalSignature or nonRepudiation is required",
                    chineseMessage: "该证书不能用于签名（可能是加密证书）。请在云签 App 中选择签名证书后重新签名。")
    }

    static func weakKey(subject: String, bits: Int) -> Self {
        Self(code: .weakKey, detail: "certificate \(subject) has an RSA key of \(bits) bits; at least 2048 are required",
             chineseMessage: "证书密钥强度不足（RSA \(bits) 位，至少需要 2048 位），请更换符合要求的云签证书后重新签名。")
    }

}

private extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

/// UTC, ISO 8601, for English details.
func isoDate(_ date: Date) -> String { CivilTime.iso8601(seconds: Int64(date.timeIntervalSince1970.rounded(.down))) }

/// Beijing time (UTC+8, no daylight saving) as yyyy-MM-dd HH:mm, for operators.
func chinaDate(_ date: Date) -> String { CivilTime.beijing(seconds: Int64(date.timeIntervalSince1970.rounded(.down))) }

extension SignatureRejection: ExplainedRefusal {
    public var explanation: Explanation { Explanation(code: code.rawValue, chinese: chineseMessage, english: detail) }
}
