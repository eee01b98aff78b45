import Foundation
import Identity
import Logging

/// The check every definition the platform pushes passes (evaluation sessions and openings): a
/// detached CMS over the exact bytes, verified against `sessions.platform_trust_dir`.
enum PlatformSignature {
    /// The signer (fingerprint, name) of `signature` over `bytes`; a ``Refusal`` when there is no
    /// trust folder or the signature is refused. `document` names the definition in Chinese.
    static func verify(_ verifier: SignatureVerifier?, signature: Data, over bytes: Data, document: String, subject: String,
                       logger: Logger) async throws -> (fingerprint: String, name: String?) {
        guard let verifier else {
            throw Refusal(.serviceUnavailable, code: "platform-trust-not-configured",
                          chinese: "本评标室未配置政府采购云平台的签名证书信任目录，无法验证\(document)的签名；请联系代理机构管理员配置 sessions.platform_trust_dir。",
                          english: "sessions.platform_trust_dir is not configured: signed definitions cannot be verified")
        }
        let verdict = try await runBlocking { verifier.verify(.cms(Array(signature)), over: Array(bytes), at: Date()) }
        switch verdict {
        case .success(let verified):
            return (verified.signerFingerprint, verified.signer().name)
        case .failure(let rejection):
            logger.warning("definition signature refused", metadata: [
                "subject": .string(subject), "code": .string(rejection.code.rawValue), "detail": .string(rejection.detail),
            ])
            throw Refusal(.unprocessableContent, code: "definition-signature-invalid",
                          chinese: "\(document)的签名验证失败（\(rejection.chineseMessage)），已拒绝导入。",
                          english: "the definition's signature was refused: \(rejection.code.rawValue): \(rejection.detail)")
        }
    }
}
