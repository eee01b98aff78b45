/// One member's line on the report's signature page: how the member signed the report body,
/// as the daemon verified it (评审专家云签), with the handwritten signature drawn at the station.
public struct SignaturePageEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Signed the report (agrees).
        case signed
        /// Wrote a dissent with reasons (87号令 61) and signed that.
        case dissented
        /// Neither signed nor dissented: recorded as agreeing (87号令 61).
        case deemedAgreed
    }

    /// The committee member id (as in the session definition).
    public var member: String
    public var name: String
    public var kind: Kind
    /// Whether the cloud signature verified (chain, validity, revocation, signature value); nil when
    /// there is no cloud signature (deemed agreed).
    public var verified: Bool?
    /// The signer as the certificate names it (subject CN).
    public var signerName: String?
    /// `sha256:` fingerprint of the signing certificate.
    public var certificateFingerprint: String?
    /// The signature algorithm, e.g. `sm2-sm3`, `rsa-pss-sha256`.
    public var algorithm: String?
    /// SHA-256 (hex) of the report body the member signed: the PDF rendered without this page.
    public var signedDocumentSHA256: String?
    /// The handwritten signature as a PNG (`HandwrittenSignature.png`).
    public var handwritingPNG: [UInt8]?
    /// The dissent and its reasons.
    public var dissent: String?
    /// When the signature was accepted (milliseconds since the epoch).
    public var at: Int64?

    public init(member: String, name: String, kind: Kind, verified: Bool? = nil, signerName: String? = nil,
                certificateFingerprint: String? = nil, algorithm: String? = nil, signedDocumentSHA256: String? = nil,
                handwritingPNG: [UInt8]? = nil, dissent: String? = nil, at: Int64? = nil) {
        self.member = member
        self.name = name
        self.kind = kind
        self.verified = verified
        self.signerName = signerName
        self.certificateFingerprint = certificateFingerprint
        self.algorithm = algorithm
        self.signedDocumentSHA256 = signedDocumentSHA256
        self.handwritingPNG = handwritingPNG
        self.dissent = dissent
        self.at = at
    }
}
