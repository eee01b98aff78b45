public import Foundation
internal import COpenSSL
import Synchronization

/// A signature as an expert's cloud-sign app submits it.
public enum SubmittedSignature: Sendable {
    /// Signature bytes over the message itself, with the signer's certificate
    /// and any intermediates the app sent. `algorithm` may be nil: it follows
    /// from the key, except that an RSA signature is tried as PKCS#1 v1.5
    /// first and then as PSS.
    case raw(signature: [UInt8], certificate: Certificate, intermediates: [Certificate] = [], algorithm: SignatureAlgorithm? = nil)
    /// The same with the certificates as the app sent them (DER). Parsing a
    /// certificate costs OpenSSL 3.0 several signature checks; with this form a
    /// signer the verifier already knows is not parsed again.
    case rawDER(signature: [UInt8], certificate: [UInt8], intermediates: [[UInt8]] = [], algorithm: SignatureAlgorithm? = nil)
    /// A detached CMS/PKCS#7 SignedData, DER or PEM, one signer; the content is
    /// the message passed to ``SignatureVerifier/verify(_:over:at:)``.
    case cms([UInt8])
}

/// An accepted signature and what it was accepted on.
public struct VerifiedSignature: Sendable {
    /// The signer's certificate.
    public let certificate: Certificate
    /// Leaf first, trust anchor last.
    public let chain: [Certificate]
    public let algorithm: SignatureAlgorithm
    /// Lowercase hex SHA-256 of the signer certificate's DER.
    public let signerFingerprint: String
    /// CMS signingTime as the signer claims it (not trusted time), if present.
    public let signingTime: Date?

    /// Name and ID number from the certificate, for roster matching.
    public func signer(idNumberOID: String? = nil) -> SignerIdentity {
        SignerIdentity(certificate: certificate, idNumberOID: idNumberOID)
    }
}

/// What to do when revocation cannot be checked.
public struct RevocationPolicy: Sendable, Hashable {
    public enum MissingCRL: String, Sendable, Hashable {
        /// No CRL for an issuer: the certificate is taken as not revoked.
        case accept
        /// No CRL for an issuer: rejected (`crl_missing`).
        case reject
    }

    public var missingCRL: MissingCRL
    /// How long past its nextUpdate a CRL is still used (0: not at all; an
    /// expired CRL is then a rejection, `crl_expired`).
    public var expiredCRLGrace: TimeInterval

    public init(missingCRL: MissingCRL = .accept, expiredCRLGrace: TimeInterval = 0) {
        self.missingCRL = missingCRL
        self.expiredCRLGrace = expiredCRLGrace
    }

    /// A room may not have network access to fetch CRLs, so a missing one is
    /// tolerated; a stale one the operator loaded is not.
    public static let `default` = RevocationPolicy()
}

/// Verifies expert signatures against one trust store: chain to the anchors,
/// validity at the caller's time, keyUsage, CRLs, algorithm and key strength,
/// then the signature itself.
///
/// The chain verdict (chain, CRL lookups, key checks) of a signer certificate
/// is cached per (certificate fingerprint, trust store identifier): an expert
/// already checked in costs one signature verification plus date comparisons.
/// Dates are never cached as a verdict: every call compares its own time with
/// the notBefore/notAfter of each chain certificate and the CRLs' nextUpdate.
public final class SignatureVerifier: Sendable {
    private struct CacheKey: Hashable {
        let fingerprint: String
        let trust: String
    }

    /// Everything about a chain that does not depend on the time.
    struct ChainVerdict: Sendable {
        struct Validity: Sendable {
            let subject: String
            let notBefore: Date
            let notAfter: Date
        }

        let chain: [Certificate]
        let key: PublicKeyAlgorithm
        /// Leaf first.
        let validity: [Validity]
        /// The CRL relied on for each checked certificate: issuer and nextUpdate.
        let crls: [(issuer: String, nextUpdate: Date?)]
    }

    private struct State {
        var trust: TrustStore
        var cache: [CacheKey: ChainVerdict] = [:]
        var hits = 0
        var misses = 0
    }

    private let state: Mutex<State>
    private let sm2ID: [UInt8]
    public let revocation: RevocationPolicy
    private let cacheLimit: Int

    /// `sm2ID` is the distinguishing ID of the experts' signatures (GB/T 35276
    /// default); `cacheLimit` bounds the number of cached chain verdicts.
    public init(trust: TrustStore, sm2ID: String = SM2.defaultID, revocation: RevocationPolicy = .default,
                cacheLimit: Int = 10_000) {
        state = Mutex(State(trust: trust))
        self.sm2ID = Array(sm2ID.utf8)
        self.revocation = revocation
        self.cacheLimit = cacheLimit
    }

    public var trust: TrustStore { state.withLock { $0.trust } }

    /// Switches to a reloaded trust store (new CRLs, anchors). Cached verdicts
    /// are dropped unless the contents are identical.
    public func replaceTrust(_ trust: TrustStore) {
        state.withLock { state in
            if state.trust.identifier != trust.identifier { state.cache.removeAll() }
            state.trust = trust
        }
    }

    /// Cache hits and misses since creation (metrics, tests, benchmark).
    public var cacheStatistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// Forgets every cached chain verdict.
    public func clearCache() { state.withLock { $0.cache.removeAll() } }

    /// Verifies `submitted` over `message` at `time` (roomd's trusted receive
    /// time). Never throws: every failure is a rejection with its reason.
    public func verify(_ submitted: SubmittedSignature, over message: [UInt8], at time: Date) -> Result<VerifiedSignature, SignatureRejection> {
        do {
            return .success(try check(submitted, message: message, time: time))
        } catch {
            return .failure(error)
        }
    }

    private func check(_ submitted: SubmittedSignature, message: [UInt8], time: Date) throws(SignatureRejection) -> VerifiedSignature {
        // 1. What was signed, by which certificate, claiming which scheme.
        let trust = self.trust
        let leaf: Certificate
        var intermediates: [Certificate] = []
        let signature: [UInt8]
        let fingerprint: String
        var cms: CMSSignedData?
        var requested: SignatureAlgorithm?
        var cached: ChainVerdict?
        switch submitted {
        case .raw(let sig, let certificate, let extra, let algorithm):
            (signature, leaf, intermediates, requested) = (sig, certificate, extra, algorithm)
            guard let digest = try? leaf.sha256Fingerprint() else {
                ERR_clear_error()
                throw .malformedCertificate("the signer certificate \(leaf.subject) cannot be encoded")
            }
            fingerprint = digest
            cached = cachedVerdict(fingerprint, trust)
        case .rawDER(let sig, let certificate, let extra, let algorithm):
            (signature, requested) = (sig, algorithm)
            (leaf, intermediates, fingerprint, cached) = try resolve([certificate[...]] + extra.map { $0[...] }, signer: 0, trust)
        case .cms(let bytes):
            let parsed = try CMSSignedData.parse(bytes)
            guard let index = parsed.signerIndex() else {
                throw .malformedSignature("the CMS SignedData does not include the signer's certificate")
            }
            (signature, cms) = (parsed.signature, parsed)
            (leaf, intermediates, fingerprint, cached) = try resolve(parsed.certificates, signer: index, trust)
        }
        guard let key = X509_get0_pubkey(leaf.handle) else {
            ERR_clear_error()
            throw .malformedCertificate("the signer certificate \(leaf.subject) has no readable public key")
        }

        // 2. The certificate itself: key kind and strength, keyUsage (cached once good).
        let keyKind: PublicKeyAlgorithm
        if let cached { keyKind = cached.key } else { keyKind = try checkSigningCertificate(leaf) }

        // 3. Which scheme, and the bytes the signature covers.
        var candidates: [SignatureAlgorithm]
        var pssSalt = DigestSignature.pssSaltAuto
        var signed = message[...]
        var signingTime: Date?
        if let cms {
            let (algorithm, salt) = try cms.scheme(for: keyKind)
            (candidates, pssSalt) = ([algorithm], salt)
            if let attributes = cms.signedAttributes {
                guard attributes.contentType == cms.eContentType else {
                    throw .malformedSignature("signed contentType \(attributes.contentType) differs from eContentType \(cms.eContentType)")
                }
                let digest = algorithm.digest.hash(message)
                guard attributes.messageDigest == digest else {
                    throw .digestMismatch("CMS messageDigest \(hex(attributes.messageDigest)) is not the \(algorithm.digest) digest of the \(message.count)-byte content (\(hex(digest)))")
                }
                signed = attributes.signedBytes[...]
                signingTime = attributes.signingTime
            }
        } else if let requested {
            guard keyKind.algorithms.contains(requested) else {
                throw .unsupported("\(requested.rawValue) cannot be made with the signer's \(keyKind) key")
            }
            candidates = [requested]
        } else {
            candidates = keyKind.algorithms
        }

        // 4. The signature.
        guard let algorithm = candidates.first(where: {
            DigestSignature.verify(key: key, algorithm: $0, sm2ID: sm2ID, pssSaltLength: pssSalt, signature: signature, message: signed)
        }) else {
            throw .signatureInvalid("the \(candidates.map(\.rawValue).joined(separator: "/")) signature by \(leaf.subject) does not verify over the \(cms == nil ? "message" : "CMS signed attributes")")
        }

        // 5. The chain, from the cache or built now.
        let verdict: ChainVerdict
        if let cached {
            verdict = cached
        } else {
            verdict = try buildChain(leaf: leaf, intermediates: intermediates, key: keyKind, trust: trust)
            state.withLock { state in
                guard state.trust.identifier == trust.identifier else { return }  // reloaded meanwhile
                if state.cache.count >= cacheLimit { state.cache.removeAll() }
                state.cache[CacheKey(fingerprint: fingerprint, trust: trust.identifier)] = verdict
            }
        }

        // 6. Time: every certificate of the chain, then the CRLs relied on.
        for (index, validity) in verdict.validity.enumerated() {
            if time < validity.notBefore {
                throw .notYetValid(subject: validity.subject, isLeaf: index == 0, notBefore: validity.notBefore)
            }
            if time > validity.notAfter {
                throw .expired(subject: validity.subject, isLeaf: index == 0, notAfter: validity.notAfter)
            }
        }
        for crl in verdict.crls {
            if let next = crl.nextUpdate, time > next.addingTimeInterval(revocation.expiredCRLGrace) {
                throw .crlExpired(issuer: crl.issuer, nextUpdate: next)
            }
        }
        return VerifiedSignature(certificate: leaf, chain: verdict.chain, algorithm: algorithm,
                                 signerFingerprint: fingerprint, signingTime: signingTime)
    }

    /// Signer and intermediates from DER: a signer with a cached verdict is
    /// taken from the cache (same fingerprint, same certificate) unparsed.
    private func resolve(_ certificates: [ArraySlice<UInt8>], signer index: Int, _ trust: TrustStore) throws(SignatureRejection)
        -> (leaf: Certificate, intermediates: [Certificate], fingerprint: String, cached: ChainVerdict?)
    {
        let fingerprint = hex(DigestAlgorithm.sha256.hash(Array(certificates[index])))
        if let cached = cachedVerdict(fingerprint, trust) {
            return (cached.chain[0], [], fingerprint, cached)
        }
        var parsed: [Certificate] = []
        for der in certificates {
            do {
                parsed.append(try Certificate(der: Array(der)))
            } catch {
                throw .malformedCertificate("a submitted certificate does not parse: \(error)")
            }
        }
        return (parsed[index], parsed.enumerated().filter { $0.offset != index }.map(\.element), fingerprint, nil)
    }

    private func cachedVerdict(_ fingerprint: String, _ trust: TrustStore) -> ChainVerdict? {
        state.withLock { state in
            let verdict = state.cache[CacheKey(fingerprint: fingerprint, trust: trust.identifier)]
            if verdict == nil { state.misses += 1 } else { state.hits += 1 }
            return verdict
        }
    }

    /// Key algorithm and size, and keyUsage, of the signer's certificate.
    private func checkSigningCertificate(_ leaf: Certificate) throws(SignatureRejection) -> PublicKeyAlgorithm {
        let kind = leaf.publicKeyAlgorithm
        guard !kind.algorithms.isEmpty else {
            throw .unsupported("certificate \(leaf.subject) has a \(kind) key; RSA, ECDSA P-256 and SM2 are supported")
        }
        if kind == .rsa, leaf.publicKeyBits < 2048 { throw .weakKey(subject: leaf.subject, bits: leaf.publicKeyBits) }
        // Strict on purpose: evidence signatures need a certificate that says it is for signing.
        let usage = leaf.keyUsage
        guard let usage, !usage.isDisjoint(with: [.digitalSignature, .nonRepudiation]) else {
            throw .keyUsage(subject: leaf.subject, usage: usage)
        }
        return kind
    }

    /// Builds and checks the chain with OpenSSL (signatures, CA constraints,
    /// path length; not time), then key sizes and CRLs.
    private func buildChain(leaf: Certificate, intermediates: [Certificate], key: PublicKeyAlgorithm,
                            trust: TrustStore) throws(SignatureRejection) -> ChainVerdict {
        let chain: [Certificate]
        do {
            chain = try Self.opensslChain(leaf: leaf, intermediates: intermediates, storage: trust.storage)
        } catch let rejection as SignatureRejection {
            throw rejection
        } catch {
            throw .untrusted("cannot verify the chain of \(leaf.subject): \(error)")
        }
        for certificate in chain.dropFirst() where certificate.publicKeyAlgorithm == .rsa && certificate.publicKeyBits < 2048 {
            throw .weakKey(subject: certificate.subject, bits: certificate.publicKeyBits)
        }
        var crls: [(issuer: String, nextUpdate: Date?)] = []
        // Every certificate below the anchor is checked against its issuer's CRL.
        for (certificate, issuer) in zip(chain, chain.dropFirst()) {
            let candidates = trust.crls.filter { $0.isIssued(by: issuer) }
            guard !candidates.isEmpty else {
                if revocation.missingCRL == .reject { throw .crlMissing(issuer: issuer.subject) }
                continue
            }
            for crl in candidates where !crl.signatureIsValid(issuer: issuer, sm2ID: trust.storage.sm2ID) {
                throw .crlInvalid(issuer: issuer.subject, reason: "its signature does not verify with the issuer's key")
            }
            for crl in candidates {
                let (revoked, date) = crl.revocation(of: certificate)
                if revoked { throw .revoked(subject: certificate.subject, serial: certificate.serialNumberHex, at: date) }
            }
            let newest = candidates.max { $0.thisUpdate < $1.thisUpdate }!
            crls.append((issuer.subject, newest.nextUpdate))
        }
        return ChainVerdict(
            chain: chain, key: key,
            validity: chain.map { .init(subject: $0.subject, notBefore: $0.notBefore, notAfter: $0.notAfter) },
            crls: crls)
    }

    /// X509_verify_cert with the store's anchors, its intermediates and the
    /// submitted ones; time is not checked here (the verdict is cached and
    /// dates are compared on every call), partial chains are allowed.
    private static func opensslChain(leaf: Certificate, intermediates: [Certificate],
                                     storage: TrustStore.Storage) throws -> [Certificate] {
        let target = try leaf.prepared(sm2ID: storage.sm2ID)
        let extra = try intermediates.map { try $0.prepared(sm2ID: storage.sm2ID) }
        // OpenSSL borrows these X509s without taking a reference: as arguments
        // they stay alive until runChain has freed the context.
        return try runChain(target: target, untrustedCertificates: storage.intermediates + extra, storage: storage, leaf: leaf)
    }

    private static func runChain(target: Certificate, untrustedCertificates: [Certificate],
                                 storage: TrustStore.Storage, leaf: Certificate) throws -> [Certificate] {
        guard let untrusted = roomd_x509_stack_new() else { throw OpenSSLError.last("sk_X509_new_null") }
        defer { roomd_x509_stack_free(untrusted) }
        for certificate in untrustedCertificates {
            guard roomd_x509_stack_push(untrusted, certificate.handle) == 1 else { throw OpenSSLError.last("sk_X509_push") }
        }
        guard let ctx = X509_STORE_CTX_new() else { throw OpenSSLError.last("X509_STORE_CTX_new") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, storage.store, target.handle, untrusted) == 1 else {
            throw OpenSSLError.last("X509_STORE_CTX_init")
        }
        X509_STORE_CTX_set_flags(ctx, roomd_X509_V_FLAG_NO_CHECK_TIME | roomd_X509_V_FLAG_PARTIAL_CHAIN)
        let result = X509_verify_cert(ctx)
        guard result == 1 else {
            let code = X509_STORE_CTX_get_error(ctx)
            let reason = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
            let culprit = X509_STORE_CTX_get_current_cert(ctx).map { DistinguishedName(X509_get_subject_name($0)).description } ?? leaf.subject
            ERR_clear_error()
            if code == X509_V_ERR_EE_KEY_TOO_SMALL || code == X509_V_ERR_CA_KEY_TOO_SMALL {
                throw SignatureRejection.weakKey(subject: culprit, bits: leaf.publicKeyBits)
            }
            throw SignatureRejection.untrusted(
                "certificate \(leaf.subject) issued by \(leaf.issuer): \(reason) (at \(culprit), depth \(X509_STORE_CTX_get_error_depth(ctx)))")
        }
        guard let stack = X509_STORE_CTX_get1_chain(ctx) else { throw OpenSSLError.last("X509_STORE_CTX_get1_chain") }
        defer { roomd_x509_stack_free(stack) }  // the certificates' references move to the wrappers
        return (0..<roomd_x509_stack_count(stack)).compactMap { index in
            roomd_x509_stack_value(stack, index).map { Certificate(owning: $0) }
        }
    }
}
