public import Foundation

/// The outcome of one answer to a signing challenge.
public struct CheckInVerdict: Sendable {
    public let accepted: Bool
    /// `accepted`, a ``CheckInReason``, a ``SignatureRejectionCode`` raw value or a roster reason code.
    public let reason: String
    /// English, specific, for logs and the record.
    public let detail: String
    /// Chinese, for the person at the station and the operator.
    public let message: String
    public let verified: VerifiedSignature?
    public let signer: SignerIdentity?
    public let entry: RosterEntry?
}

/// Decides an answer to a ``SigningChallenge``: nonce unused, challenge not
/// expired at roomd's receive time, signature valid over exactly the bytes
/// issued (chain, validity, key usage, CRLs — ``SignatureVerifier``), and the
/// signer — by name and ID number from the certificate — the roster entry the
/// challenge was issued for. No I/O: the caller looks up the challenge, the
/// roster and whether the nonce was used, and records the verdict.
public struct CheckInVerifier: Sendable {
    public let verifier: SignatureVerifier
    public let secret: RoomSecret
    public let idNumberOID: String?

    public init(verifier: SignatureVerifier, secret: RoomSecret, idNumberOID: String? = nil) {
        self.verifier = verifier
        self.secret = secret
        self.idNumberOID = idNumberOID
    }

    public func evaluate(challenge: SigningChallenge, signedBytes: [UInt8], submission: SubmittedSignature,
                         roster: Roster?, alreadyAnswered: Bool, receivedAt: Date) -> CheckInVerdict {
        if alreadyAnswered {
            return reject(CheckInReason.nonceReplayed, "challenge \(challenge.request) was already answered; its nonce is used",
                          "该签名请求已提交过，不能重复使用，请在终端上重新获取二维码后再签名。")
        }
        if challenge.isExpired(at: receivedAt) {
            let seconds = (challenge.expiresMs - challenge.issuedMs) / 1000
            return reject(CheckInReason.challengeExpired,
                          "challenge \(challenge.request) expired at \(challenge.expiresMs) ms; received at \(Int64(receivedAt.timeIntervalSince1970 * 1000)) ms",
                          "签名请求已过期（有效期 \(seconds) 秒），请在终端上重新获取二维码后再签名。")
        }
        let verified: VerifiedSignature
        switch verifier.verify(submission, over: signedBytes, at: receivedAt) {
        case .failure(let rejection):
            return reject(rejection.code.rawValue, rejection.detail, rejection.chineseMessage)
        case .success(let result):
            verified = result
        }
        let signer = verified.signer(idNumberOID: idNumberOID)
        guard let roster else {
            return reject(CheckInReason.rosterMissing, "no roster was imported for session \(challenge.session)",
                          "本场评审尚未导入专家抽取名单，请联系代理机构操作员导入名单后再签到。", verified: verified, signer: signer)
        }
        let match = roster.match(name: signer.name, idNumber: signer.idNumber,
                                 certificateFingerprint: verified.signerFingerprint, secret: secret)
        guard case .matched(let entry) = match else {
            return reject(match.reasonCode, match.description, match.message, verified: verified, signer: signer)
        }
        guard entry.id == challenge.rosterEntry else {
            return reject(CheckInReason.wrongRosterEntry,
                          "the signer is roster entry \(entry.id), but the challenge was issued for \(challenge.rosterEntry)",
                          "签名人（名单编号 \(entry.id)）与本终端待签到人员（名单编号 \(challenge.rosterEntry)）不一致，请核对座位后重新签名。",
                          verified: verified, signer: signer, entry: entry)
        }
        return CheckInVerdict(accepted: true, reason: CheckInReason.accepted,
                              detail: "signed by \(ResidentID.redacting(verified.certificate.subject)) (\(verified.algorithm.rawValue)) as roster entry \(entry.id)",
                              message: "\(challenge.purpose.chinese)签名已验证通过。", verified: verified, signer: signer, entry: entry)
    }

    private func reject(_ reason: String, _ detail: String, _ message: String, verified: VerifiedSignature? = nil,
                        signer: SignerIdentity? = nil, entry: RosterEntry? = nil) -> CheckInVerdict {
        CheckInVerdict(accepted: false, reason: reason, detail: ResidentID.redacting(detail), message: ResidentID.redacting(message), verified: verified, signer: signer, entry: entry)
    }
}
