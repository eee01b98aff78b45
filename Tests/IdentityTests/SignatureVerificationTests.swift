import Foundation
import Testing

@testable import Identity

/// Expert signature verification against the openssl-made test PKI: every
/// accepted case, and every rejection with its reason code.
struct SignatureVerificationTests {
    let pki: TestPKI
    let document = Array("评标报告 第3包 综合评分汇总表 v2\n".utf8)
    let now: Date

    init() throws {
        pki = try TestPKI.get()
        now = Date()
    }

    static func folder(_ algorithm: SignatureAlgorithm) -> String {
        switch algorithm {
        case .rsaPKCS1SHA256, .rsaPSSSHA256: "rsa"
        case .ecdsaP256SHA256: "ec"
        case .sm2SM3: "sm2"
        }
    }

    func verifier(_ folder: String, crls: [String] = [], revocation: RevocationPolicy = .default) throws -> SignatureVerifier {
        SignatureVerifier(trust: try pki.trust(folder, crls: crls), revocation: revocation)
    }

    func raw(_ leaf: String, _ algorithm: SignatureAlgorithm, message: [UInt8]? = nil, sm2ID: String = SM2.defaultID,
             declare: Bool = false) throws -> SubmittedSignature {
        let signature = try ExpertSigner.signRaw(message: message ?? document, key: pki.key(leaf), algorithm: algorithm, sm2ID: sm2ID)
        return .raw(signature: signature, certificate: try pki.certificate(leaf), algorithm: declare ? algorithm : nil)
    }

    func cms(_ leaf: String, _ algorithm: SignatureAlgorithm, content: [UInt8]? = nil, chain: [String] = [],
             contentTypes: CMSContentTypes? = nil, sm2ID: String = SM2.defaultID, signingTime: Date? = nil) throws -> SubmittedSignature {
        .cms(try ExpertSigner.signCMS(
            content: content ?? document, key: pki.key(leaf), certificate: pki.certificate(leaf),
            chain: try chain.map { try pki.certificate($0) }, algorithm: algorithm,
            signingTime: signingTime ?? now, contentTypes: contentTypes, sm2ID: sm2ID))
    }

    // MARK: accepted

    @Test(arguments: SignatureAlgorithm.allCases)
    func acceptsARawSignatureOfEachAlgorithmWithTheSignersName(_ algorithm: SignatureAlgorithm) throws {
        let folder = Self.folder(algorithm)
        let verifier = try verifier(folder)
        // Undeclared: the verifier finds PKCS#1 or PSS from the signature itself.
        let result = verifier.verify(try raw("\(folder)/leaf", algorithm), over: document, at: now)
        let verified = try result.get()
        #expect(verified.algorithm == algorithm)
        #expect(verified.chain.count == 3)
        #expect(verified.chain.last?.subject == (try pki.certificate("\(folder)/root")).subject)
        #expect(verified.signerFingerprint == (try pki.certificate("\(folder)/leaf").sha256Fingerprint()))
        #expect(verified.signingTime == nil)
        #expect(verified.signer() == SignerIdentity(name: "张三", idNumber: "11010519491231002X", idNumberSource: .subjectSerialNumber))
        // Declared algorithm: the same verdict.
        #expect(verifier.verify(try raw("\(folder)/leaf", algorithm, declare: true), over: document, at: now).accepted?.algorithm == algorithm)
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func acceptsOurDetachedCMSOfEachAlgorithmWithItsSigningTime(_ algorithm: SignatureAlgorithm) throws {
        let folder = Self.folder(algorithm)
        let signedAt = Date(timeIntervalSince1970: floor(now.timeIntervalSince1970) - 30)
        let submitted = try cms("\(folder)/leaf", algorithm, chain: ["\(folder)/int"], signingTime: signedAt)
        // The trust store holds only the root: the intermediate comes inside the CMS.
        let verifier = SignatureVerifier(trust: try TrustStore(anchors: [pki.certificate("\(folder)/root")]))
        let verified = try verifier.verify(submitted, over: document, at: now).get()
        #expect(verified.algorithm == algorithm)
        #expect(verified.signingTime == signedAt)
        #expect(verified.chain.count == 3)
        #expect(verified.certificate.subject.contains("CN=张三"))
    }

    @Test(arguments: CMSContentTypes.allCases)
    func acceptsSM2CMSWithPKCS7AndGBT35275Identifiers(_ types: CMSContentTypes) throws {
        let signature = try ExpertSigner.signCMS(content: document, key: pki.key("sm2/leaf"), certificate: pki.certificate("sm2/leaf"),
                                                 algorithm: .sm2SM3, contentTypes: types)
        let expectedOID = types == .gbt35275 ? "1.2.156.10197.6.1.4.2.2" : "1.2.840.113549.1.7.2"
        #expect(try DER.Reader.single(signature[...]).children()[0].oid() == expectedOID)
        #expect(try verifier("sm2").verify(.cms(signature), over: document, at: now).get().algorithm == .sm2SM3)
    }

    @Test func acceptsPEMArmouredCMS() throws {
        guard case .cms(let der) = try cms("ec/leaf", .ecdsaP256SHA256) else { return }
        let pem = "-----BEGIN PKCS7-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters) + "\n-----END PKCS7-----\n"
        #expect(try verifier("ec").verify(.cms(Array(pem.utf8)), over: document, at: now).get().algorithm == .ecdsaP256SHA256)
    }

    @Test func acceptsANonRepudiationOnlyCertificate() throws {
        #expect(try verifier("rsa").verify(raw("rsa/nonrep", .rsaPKCS1SHA256), over: document, at: now).accepted != nil)
    }

    @Test func acceptsIntermediatesSentWithARawSignatureAndAnIntermediateAsTheAnchor() throws {
        let signature = try ExpertSigner.signRaw(message: document, key: pki.key("ec/leaf"), algorithm: .ecdsaP256SHA256)
        let submitted = SubmittedSignature.raw(signature: signature, certificate: try pki.certificate("ec/leaf"),
                                               intermediates: [try pki.certificate("ec/int")])
        let rootOnly = SignatureVerifier(trust: try TrustStore(anchors: [pki.certificate("ec/root")]))
        #expect(rootOnly.verify(submitted, over: document, at: now).accepted?.chain.count == 3)
        // Trusting only the intermediate (one branch of a root) is enough: partial chain.
        let branchOnly = SignatureVerifier(trust: try TrustStore(anchors: [pki.certificate("ec/int")]))
        #expect(branchOnly.verify(submitted, over: document, at: now).accepted?.chain.count == 2)
        // Without the intermediate anywhere, the chain cannot be built…
        let bare = SubmittedSignature.raw(signature: signature, certificate: try pki.certificate("ec/leaf"))
        let fresh = SignatureVerifier(trust: try TrustStore(anchors: [pki.certificate("ec/root")]))
        #expect(fresh.verify(bare, over: document, at: now).rejectionCode == .untrustedChain)
        // …unless the verifier has already proven this certificate's chain (cached verdict).
        #expect(rootOnly.verify(bare, over: document, at: now).accepted?.chain.count == 3)
    }

    @Test func acceptsARawSignatureWithDERCertificatesAndReusesTheKnownSignerUnparsed() throws {
        let verifier = try verifier("sm2")
        let signature = try ExpertSigner.signRaw(message: document, key: pki.key("sm2/leaf"), algorithm: .sm2SM3)
        let leaf = try pki.certificate("sm2/leaf").derBytes()
        let submitted = SubmittedSignature.rawDER(signature: signature, certificate: leaf,
                                                  intermediates: [try pki.certificate("sm2/int").derBytes()])
        let first = try verifier.verify(submitted, over: document, at: now).get()
        #expect(first.signerFingerprint == (try pki.certificate("sm2/leaf").sha256Fingerprint()))
        let again = try verifier.verify(submitted, over: document, at: now).get()
        #expect(try again.certificate.derBytes() == leaf)
        #expect(verifier.cacheStatistics == (hits: 1, misses: 1))
        let truncated = SubmittedSignature.rawDER(signature: signature, certificate: Array(leaf.prefix(100)))
        #expect(verifier.verify(truncated, over: document, at: now).rejectionCode == .malformedCertificate)
    }

    // MARK: certificate problems

    @Test func rejectsAnExpiredCertificateAndJudgesEveryChainCertificateAtTheCallersTime() throws {
        let verifier = try verifier("rsa")
        let submitted = try raw("rsa/expired", .rsaPKCS1SHA256)
        let result = verifier.verify(submitted, over: document, at: now)
        #expect(result.rejectionCode == .certificateExpired)
        if case .failure(let rejection) = result {
            #expect(rejection.chineseMessage.contains("签名证书已过期（有效期至 2021-01-01"))
            #expect(rejection.chineseMessage.contains("云签 App"))
            #expect(rejection.detail.contains("2021-01-01T00:00:00Z"))
        }
        // Validity is judged at the time the caller passes (roomd's receive time), for
        // every certificate: in mid-2020 the leaf was valid but its CAs did not exist yet.
        let inside = Date(timeIntervalSince1970: 1_593_561_600)  // 2020-07-01
        let early = verifier.verify(submitted, over: document, at: inside)
        #expect(early.rejectionCode == .certificateNotYetValid)
        if case .failure(let rejection) = early { #expect(rejection.detail.hasPrefix("CA certificate")) }
        // The good leaf, eleven years from now, is expired.
        let late = Date(timeIntervalSinceNow: 11 * 365 * 86_400)
        #expect(verifier.verify(try raw("rsa/leaf", .rsaPKCS1SHA256), over: document, at: late).rejectionCode == .certificateExpired)
    }

    @Test func rejectsACertificateNotYetValid() throws {
        let result = try verifier("rsa").verify(raw("rsa/notyet", .rsaPKCS1SHA256), over: document, at: now)
        #expect(result.rejectionCode == .certificateNotYetValid)
    }

    @Test func rejectsACertificateRevokedByAnECDSACRL() throws {
        let verifier = try verifier("ec", crls: ["ec/int.crl"])
        let result = verifier.verify(try raw("ec/revoked", .ecdsaP256SHA256), over: document, at: now)
        #expect(result.rejectionCode == .certificateRevoked)
        if case .failure(let rejection) = result { #expect(rejection.chineseMessage.contains("已被吊销")) }
        // The CRL does not list the other leaf.
        #expect(verifier.verify(try raw("ec/leaf", .ecdsaP256SHA256), over: document, at: now).accepted != nil)
    }

    @Test(arguments: ["sm2/int.crl", "sm2/int.crl.der"])
    func rejectsACertificateRevokedByAnSM2CRLInPEMOrDER(_ crl: String) throws {
        let verifier = try verifier("sm2", crls: [crl])
        #expect(verifier.verify(try cms("sm2/revoked", .sm2SM3), over: document, at: now).rejectionCode == .certificateRevoked)
        #expect(verifier.verify(try raw("sm2/revoked", .sm2SM3), over: document, at: now).rejectionCode == .certificateRevoked)
        #expect(verifier.verify(try raw("sm2/leaf", .sm2SM3), over: document, at: now).accepted != nil)
    }

    @Test(arguments: [("ec", "ec/int.crl", SignatureAlgorithm.ecdsaP256SHA256), ("sm2", "sm2/int.crl.der", .sm2SM3)])
    func rejectsACRLWhoseSignatureDoesNotVerify(_ folder: String, _ file: String, _ algorithm: SignatureAlgorithm) throws {
        // Flip a bit of the last byte of the signature value (still parses as a CRL).
        var der = try CRL.all(pemOrDER: pki.bytes(file))[0].derBytes
        der[der.count - 1] ^= 0x01
        let trust = try TrustStore(anchors: [pki.certificate("\(folder)/root")], intermediates: [pki.certificate("\(folder)/int")],
                                   crls: [CRL(der: der)])
        let result = SignatureVerifier(trust: trust).verify(try raw("\(folder)/leaf", algorithm), over: document, at: now)
        #expect(result.rejectionCode == .crlInvalid)
    }

    @Test func rejectsWhenTheIssuersCRLIsExpiredUnlessThePolicyGivesGrace() throws {
        let expired = try verifier("rsa", crls: ["rsa/int-expired.crl"])
        let result = expired.verify(try raw("rsa/leaf", .rsaPKCS1SHA256), over: document, at: now)
        #expect(result.rejectionCode == .crlExpired)
        if case .failure(let rejection) = result { #expect(rejection.chineseMessage.contains("吊销列表")) }
        let lenient = try verifier("rsa", crls: ["rsa/int-expired.crl"], revocation: RevocationPolicy(expiredCRLGrace: 20 * 365 * 86_400))
        #expect(lenient.verify(try raw("rsa/leaf", .rsaPKCS1SHA256), over: document, at: now).accepted != nil)
    }

    @Test func aMissingCRLIsAcceptedByDefaultAndRejectedWhenThePolicyRequiresOne() throws {
        #expect(try verifier("rsa").verify(raw("rsa/leaf", .rsaPKCS1SHA256), over: document, at: now).accepted != nil)
        let strict = try verifier("rsa", revocation: RevocationPolicy(missingCRL: .reject))
        #expect(strict.verify(try raw("rsa/leaf", .rsaPKCS1SHA256), over: document, at: now).rejectionCode == .crlMissing)
        // The root's CRL is missing too when only the intermediate's is present.
        let half = try verifier("rsa", crls: ["rsa/int-empty.crl"], revocation: RevocationPolicy(missingCRL: .reject))
        #expect(half.verify(try raw("rsa/leaf", .rsaPKCS1SHA256), over: document, at: now).rejectionCode == .crlMissing)
    }

    @Test func rejectsACertificateFromAnotherCA() throws {
        let result = try verifier("ec").verify(raw("other/leaf", .ecdsaP256SHA256), over: document, at: now)
        #expect(result.rejectionCode == .untrustedChain)
        if case .failure(let rejection) = result { #expect(rejection.detail.contains("other root")) }
        // An SM2 leaf against an RSA trust store: same verdict.
        #expect(try verifier("rsa").verify(cms("sm2/leaf", .sm2SM3), over: document, at: now).rejectionCode == .untrustedChain)
    }

    @Test func rejectsAnEncryptionOnlyCertificate() throws {
        let result = try verifier("rsa").verify(raw("rsa/enc", .rsaPKCS1SHA256), over: document, at: now)
        #expect(result.rejectionCode == .keyUsageNotForSigning)
        if case .failure(let rejection) = result { #expect(rejection.detail.contains("keyEncipherment")) }
    }

    @Test func rejectsAnRSA1024Certificate() throws {
        let result = try verifier("rsa").verify(raw("rsa/weak", .rsaPKCS1SHA256), over: document, at: now)
        #expect(result.rejectionCode == .weakKey)
        if case .failure(let rejection) = result { #expect(rejection.chineseMessage.contains("1024")) }
    }

    // MARK: signature problems

    @Test(arguments: SignatureAlgorithm.allCases)
    func rejectsATamperedDocumentSignedRawOrInCMS(_ algorithm: SignatureAlgorithm) throws {
        let folder = Self.folder(algorithm)
        let verifier = try verifier(folder)
        var tampered = document
        tampered[3] ^= 0x20
        #expect(verifier.verify(try raw("\(folder)/leaf", algorithm), over: tampered, at: now).rejectionCode == .signatureInvalid)
        #expect(verifier.verify(try cms("\(folder)/leaf", algorithm), over: tampered, at: now).rejectionCode == .digestMismatch)
    }

    @Test func rejectsATamperedCMSSignatureValue() throws {
        guard case .cms(var der) = try cms("sm2/leaf", .sm2SM3) else { return }
        der[der.count - 1] ^= 0x01  // last byte of the SM2 signature's s
        #expect(try verifier("sm2").verify(.cms(der), over: document, at: now).rejectionCode == .signatureInvalid)
    }

    @Test func rejectsAnSM2SignatureMadeWithAnotherDistinguishingID() throws {
        let verifier = try verifier("sm2")
        let wrongID = "1234567812345679"
        #expect(verifier.verify(try raw("sm2/leaf", .sm2SM3, sm2ID: wrongID), over: document, at: now).rejectionCode == .signatureInvalid)
        #expect(verifier.verify(try cms("sm2/leaf", .sm2SM3, sm2ID: wrongID), over: document, at: now).rejectionCode == .signatureInvalid)
        // A verifier configured for that ID accepts it.
        let other = SignatureVerifier(trust: try pki.trust("sm2"), sm2ID: wrongID)
        #expect(other.verify(try raw("sm2/leaf", .sm2SM3, sm2ID: wrongID), over: document, at: now).accepted != nil)
    }

    @Test func rejectsADeclaredAlgorithmTheKeyCannotMake() throws {
        let signature = try ExpertSigner.signRaw(message: document, key: pki.key("ec/leaf"), algorithm: .ecdsaP256SHA256)
        let submitted = SubmittedSignature.raw(signature: signature, certificate: try pki.certificate("ec/leaf"), algorithm: .sm2SM3)
        #expect(try verifier("ec").verify(submitted, over: document, at: now).rejectionCode == .unsupportedAlgorithm)
        // A PSS signature declared as PKCS#1 is not re-tried as PSS.
        let pss = try ExpertSigner.signRaw(message: document, key: pki.key("rsa/leaf"), algorithm: .rsaPSSSHA256)
        let declared = SubmittedSignature.raw(signature: pss, certificate: try pki.certificate("rsa/leaf"), algorithm: .rsaPKCS1SHA256)
        #expect(try verifier("rsa").verify(declared, over: document, at: now).rejectionCode == .signatureInvalid)
    }

    @Test func rejectsMalformedCMSWithoutCrashing() throws {
        let verifier = try verifier("ec")
        guard case .cms(let good) = try cms("ec/leaf", .ecdsaP256SHA256) else { return }
        let cases: [[UInt8]] = [
            [], [0x30], [0x30, 0x84, 0xff, 0xff, 0xff, 0xff], Array("not a signature".utf8),
            Array(good.prefix(good.count / 2)), good + [0x00],
            Array("-----BEGIN PKCS7-----\n!!!\n-----END PKCS7-----\n".utf8),
            // 40 nested indefinite-length sequences
            Array(repeating: [0x30, 0x80], count: 40).flatMap { $0 } + Array(repeating: 0, count: 80),
        ]
        for bytes in cases {
            #expect(verifier.verify(.cms(bytes), over: document, at: now).rejectionCode == .malformedSignature, "\(bytes.prefix(8))")
        }
        // Every single-byte truncation or corruption is rejected, never accepted.
        for index in stride(from: 0, to: good.count, by: 7) {
            var corrupt = good
            corrupt[index] ^= 0x55
            #expect(verifier.verify(.cms(corrupt), over: document, at: now).accepted == nil, "byte \(index)")
        }
    }

    @Test func rejectsARawSignatureWithMalformedBytes() throws {
        let submitted = SubmittedSignature.raw(signature: [0x30, 0x02, 0x01], certificate: try pki.certificate("sm2/leaf"))
        #expect(try verifier("sm2").verify(submitted, over: document, at: now).rejectionCode == .signatureInvalid)
    }

    // MARK: independent implementations

    /// openssl cms -sign (RSA PKCS#1, RSA-PSS, ECDSA) read by our verifier.
    @Test(arguments: [("rsa", [String](), SignatureAlgorithm.rsaPKCS1SHA256),
                      ("rsa", ["-keyopt", "rsa_padding_mode:pss"], .rsaPSSSHA256),
                      ("ec", [], .ecdsaP256SHA256)])
    func acceptsCMSMadeByOpenSSLCmsSign(_ folder: String, _ options: [String], _ algorithm: SignatureAlgorithm) throws {
        let work = NSTemporaryDirectory() + "cms-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Data(document).write(to: URL(fileURLWithPath: work + "/doc"))
        let verifier = try verifier(folder)
        for form in ["DER", "PEM"] {
            let out = work + "/sig.\(form)"
            let (status, output) = try openssl(["cms", "-sign", "-binary", "-in", work + "/doc", "-signer", pki.path("\(folder)/leaf.crt"),
                                                "-inkey", pki.path("\(folder)/leaf.key"), "-certfile", pki.path("\(folder)/int.crt"),
                                                "-outform", form, "-out", out] + options)
            #expect(status == 0, "\(output)")
            let signature = try Array(Data(contentsOf: URL(fileURLWithPath: out)))
            let verified = try verifier.verify(.cms(signature), over: document, at: now).get()
            #expect(verified.algorithm == algorithm)
            #expect(verified.signingTime != nil)
            var other = document
            other.append(0x0a)
            #expect(verifier.verify(.cms(signature), over: other, at: now).rejectionCode == .digestMismatch)
        }
    }

    /// Our CMS (RSA, PSS, ECDSA) checked by openssl cms -verify.
    @Test(arguments: [SignatureAlgorithm.rsaPKCS1SHA256, .rsaPSSSHA256, .ecdsaP256SHA256])
    func ourCMSIsVerifiedByOpenSSLCmsVerify(_ algorithm: SignatureAlgorithm) throws {
        let folder = Self.folder(algorithm)
        let work = NSTemporaryDirectory() + "cms-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        guard case .cms(let der) = try cms("\(folder)/leaf", algorithm, chain: ["\(folder)/int"]) else { return }
        try Data(der).write(to: URL(fileURLWithPath: work + "/sig.der"))
        try Data(document).write(to: URL(fileURLWithPath: work + "/doc"))
        let verify = ["cms", "-verify", "-binary", "-inform", "DER", "-in", work + "/sig.der", "-content", work + "/doc",
                      "-CAfile", pki.path("\(folder)/root.crt"), "-purpose", "any", "-out", "/dev/null"]
        let (status, output) = try openssl(verify)
        #expect(status == 0, "\(output)")
        #expect(output.contains("Verification successful"))
        try Data(document + [0x20]).write(to: URL(fileURLWithPath: work + "/doc"))
        #expect(try openssl(verify).status != 0)
    }

    /// SM2 raw signatures from openssl pkeyutl and openssl dgst (distid set).
    @Test func acceptsSM2RawSignaturesFromTheOpenSSLCommandLine() throws {
        let work = NSTemporaryDirectory() + "sm2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Data(document).write(to: URL(fileURLWithPath: work + "/doc"))
        let key = pki.path("sm2/leaf.key")
        let commands = [
            ["pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", key, "-pkeyopt", "distid:\(SM2.defaultID)",
             "-in", work + "/doc", "-out", work + "/sig"],
            ["dgst", "-sm3", "-sign", key, "-sigopt", "distid:\(SM2.defaultID)", "-out", work + "/sig", work + "/doc"],
        ]
        let verifier = try verifier("sm2", crls: ["sm2/int.crl"])
        for command in commands {
            let (status, output) = try openssl(command)
            #expect(status == 0, "\(output)")
            let signature = try Array(Data(contentsOf: URL(fileURLWithPath: work + "/sig")))
            let submitted = SubmittedSignature.raw(signature: signature, certificate: try pki.certificate("sm2/leaf"))
            #expect(verifier.verify(submitted, over: document, at: now).accepted?.algorithm == .sm2SM3, "\(command[0])")
        }
        // And our SM2 raw signature verifies with openssl dgst.
        try Data(try ExpertSigner.signRaw(message: document, key: pki.key("sm2/leaf"), algorithm: .sm2SM3))
            .write(to: URL(fileURLWithPath: work + "/ours"))
        let (_, publicKey) = try openssl(["x509", "-in", pki.path("sm2/leaf.crt"), "-pubkey", "-noout"])
        try publicKey.write(toFile: work + "/pub.pem", atomically: true, encoding: .utf8)
        let (status, output) = try openssl(["dgst", "-sm3", "-verify", work + "/pub.pem", "-sigopt", "distid:\(SM2.defaultID)",
                                            "-signature", work + "/ours", work + "/doc"])
        #expect(status == 0 && output.contains("Verified OK"), "\(output)")
    }

    // MARK: cache

    @Test func theCacheGivesTheSameVerdictAndANewTrustStoreWithANewCRLRevokes() throws {
        let verifier = try verifier("ec", crls: ["ec/int-empty.crl"])
        let submitted = try raw("ec/revoked", .ecdsaP256SHA256)
        let first = try verifier.verify(submitted, over: document, at: now).get()
        let second = try verifier.verify(submitted, over: document, at: now).get()
        #expect(first.signerFingerprint == second.signerFingerprint)
        #expect(first.chain.map(\.subject) == second.chain.map(\.subject))
        #expect(verifier.cacheStatistics == (hits: 1, misses: 1))

        // Time is still checked on a cache hit.
        let later = Date(timeIntervalSinceNow: 20 * 365 * 86_400)
        #expect(verifier.verify(submitted, over: document, at: later).rejectionCode == .certificateExpired)
        // A tampered document is still caught on a cache hit.
        #expect(verifier.verify(submitted, over: document + [1], at: now).rejectionCode == .signatureInvalid)

        // Reloading identical files keeps the cache; a new CRL revokes at once.
        let same = try pki.trust("ec", crls: ["ec/int-empty.crl"])
        #expect(same.identifier == verifier.trust.identifier && same.generation != verifier.trust.generation)
        verifier.replaceTrust(same)
        #expect(verifier.verify(submitted, over: document, at: now).accepted != nil)
        #expect(verifier.cacheStatistics.hits == 4)
        verifier.replaceTrust(try pki.trust("ec", crls: ["ec/int.crl"]))
        #expect(verifier.verify(submitted, over: document, at: now).rejectionCode == .certificateRevoked)
        // Rejections are not cached: the verdict is recomputed each time.
        #expect(verifier.verify(submitted, over: document, at: now).rejectionCode == .certificateRevoked)
        #expect(verifier.cacheStatistics.misses == 3)
    }

    @Test func verifiesConcurrentlyFromManyTasks() async throws {
        let verifier = try verifier("sm2", crls: ["sm2/int.crl"])
        let good = try cms("sm2/leaf", .sm2SM3)
        let revoked = try raw("sm2/revoked", .sm2SM3)
        let (document, now) = (self.document, self.now)
        let codes = await withTaskGroup(of: (Bool, SignatureRejectionCode?).self) { group in
            for index in 0..<40 {
                group.addTask {
                    let isGood = index % 2 == 0
                    return (isGood, verifier.verify(isGood ? good : revoked, over: document, at: now).rejectionCode)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes.count == 40)
        for (isGood, code) in codes { #expect(code == (isGood ? nil : .certificateRevoked)) }
    }
}
