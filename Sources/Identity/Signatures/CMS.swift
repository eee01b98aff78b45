import Foundation

/// Object identifiers of CMS (RFC 5652), its algorithms, and GB/T 35275.
enum OID {
    static let data = "1.2.840.113549.1.7.1"
    static let signedData = "1.2.840.113549.1.7.2"
    /// GB/T 35275-2017 (SM2 cryptographic message syntax) content types.
    static let gbtData = "1.2.156.10197.6.1.4.2.1"
    static let gbtSignedData = "1.2.156.10197.6.1.4.2.2"

    static let contentType = "1.2.840.113549.1.9.3"
    static let messageDigest = "1.2.840.113549.1.9.4"
    static let signingTime = "1.2.840.113549.1.9.5"
    /// id-aa-signingCertificateV2 (RFC 5035): binds the signer's certificate, what CAdES-BES requires.
    static let signingCertificateV2 = "1.2.840.113549.1.9.16.2.47"

    static let sha256 = "2.16.840.1.101.3.4.2.1"
    static let sm3 = "1.2.156.10197.1.401"

    static let rsaEncryption = "1.2.840.113549.1.1.1"
    static let sha256WithRSA = "1.2.840.113549.1.1.11"
    static let rsassaPSS = "1.2.840.113549.1.1.10"
    static let mgf1 = "1.2.840.113549.1.1.8"
    static let ecPublicKey = "1.2.840.10045.2.1"
    static let ecdsaWithSHA256 = "1.2.840.10045.4.3.2"
    /// SM2 as a key/curve, SM2-1 signature (GB/T 35275), SM2-with-SM3 (GM/T 0006).
    static let sm2 = "1.2.156.10197.1.301"
    static let sm2Sign = "1.2.156.10197.1.301.1"
    static let sm2WithSM3 = "1.2.156.10197.1.501"
}

/// Which content-type OIDs a CMS signature carries.
public enum CMSContentTypes: String, Sendable, Hashable, CaseIterable {
    /// RFC 5652 / PKCS#7: id-data, id-signedData.
    case pkcs7
    /// GB/T 35275: 1.2.156.10197.6.1.4.2.1 (data), .2 (signedData).
    case gbt35275
}

/// A detached CMS SignedData with one signer, as roomd reads it: every part
/// the verifier needs, nothing interpreted yet. OpenSSL 3.0 cannot verify CMS
/// with SM2 keys, so one parser serves all algorithms.
struct CMSSignedData {
    enum SignerID {
        case issuerAndSerial(issuer: ArraySlice<UInt8>, serial: ArraySlice<UInt8>)
        case keyIdentifier([UInt8])
    }

    struct SignedAttributes {
        /// The DER the signature covers: the attributes re-tagged as SET OF (RFC 5652 5.4).
        let signedBytes: [UInt8]
        let contentType: String
        let messageDigest: [UInt8]
        let signingTime: Date?
    }

    let eContentType: String
    /// The DER of each certificate, unparsed: parsing one costs OpenSSL 3.0 far
    /// more than a signature check (its key decoder), so the verifier parses
    /// them only when its cache does not already know the signer.
    let certificates: [ArraySlice<UInt8>]
    let signerID: SignerID
    let digestAlgorithm: String
    let signedAttributes: SignedAttributes?
    let signatureAlgorithm: String
    let signatureParameters: DER.Node?
    let signature: [UInt8]

    /// Parses DER (or BER) ContentInfo, or the same in PEM armour (PKCS7 / CMS).
    static func parse(_ input: [UInt8]) throws(SignatureRejection) -> CMSSignedData {
        var bytes = input
        if looksLikePEM(input) {
            let body = String(decoding: input, as: UTF8.self).split(whereSeparator: \.isNewline)
                .filter { !$0.hasPrefix("-----") }.joined()
            guard let decoded = Data(base64Encoded: body) else { throw .malformedSignature("CMS PEM armour is not valid base64") }
            bytes = Array(decoded)
        }
        do {
            return try parseDER(bytes)
        } catch let error as SignatureRejection {
            throw error
        } catch {
            throw .malformedSignature("CMS SignedData: \(error)")
        }
    }

    private static func parseDER(_ bytes: [UInt8]) throws -> CMSSignedData {
        let contentInfo = try DER.Reader.single(bytes[...]).expect(DER.Tag.sequence, "ContentInfo").children()
        guard contentInfo.count == 2 else { throw DER.Error("ContentInfo must have two fields") }
        let outerType = try contentInfo[0].oid()
        guard outerType == OID.signedData || outerType == OID.gbtSignedData else {
            throw DER.Error("content type \(outerType) is not signedData")
        }
        let explicit = try contentInfo[1].expect(DER.Tag.context(0), "ContentInfo.content").children()
        guard explicit.count == 1 else { throw DER.Error("ContentInfo.content must hold one SignedData") }
        var fields = try explicit[0].expect(DER.Tag.sequence, "SignedData").children()[...]

        func take(_ what: String) throws -> DER.Node {
            guard let node = fields.popFirst() else { throw DER.Error("SignedData ends before \(what)") }
            return node
        }
        try checkVersion(try take("version"), "SignedData")
        let digestAlgorithms = try take("digestAlgorithms").expect(DER.Tag.set, "SignedData.digestAlgorithms").children()
            .map { try algorithmIdentifier($0).oid }
        let encap = try take("encapContentInfo").expect(DER.Tag.sequence, "encapContentInfo").children()
        guard let first = encap.first else { throw DER.Error("empty encapContentInfo") }
        let eContentType = try first.oid()
        guard encap.count == 1 else {
            throw DER.Error("the signature carries its content; roomd accepts detached signatures only")
        }
        var certificates: [ArraySlice<UInt8>] = []
        if fields.first?.tag == DER.Tag.context(0) {
            certificates = try take("certificates").children().filter { $0.tag == DER.Tag.sequence }.map(\.encoded)
        }
        if fields.first?.tag == DER.Tag.context(1) { _ = try take("crls") }
        let signerInfos = try take("signerInfos").expect(DER.Tag.set, "signerInfos").children()
        guard signerInfos.count == 1 else {
            throw DER.Error("expected exactly one SignerInfo, found \(signerInfos.count)")
        }
        var info = try signerInfos[0].expect(DER.Tag.sequence, "SignerInfo").children()[...]
        func next(_ what: String) throws -> DER.Node {
            guard let node = info.popFirst() else { throw DER.Error("SignerInfo ends before \(what)") }
            return node
        }
        try checkVersion(try next("version"), "SignerInfo")
        let sidNode = try next("sid")
        let signerID: SignerID
        switch sidNode.tag {
        case DER.Tag.sequence:
            let parts = try sidNode.children()
            guard parts.count == 2, parts[0].tag == DER.Tag.sequence, parts[1].tag == DER.Tag.integer else {
                throw DER.Error("bad IssuerAndSerialNumber")
            }
            signerID = .issuerAndSerial(issuer: parts[0].encoded, serial: parts[1].encoded)
        case DER.Tag.contextPrimitive(0):
            signerID = .keyIdentifier(Array(sidNode.contents))
        default:
            throw DER.Error("unknown SignerIdentifier")
        }
        let digestAlgorithm = try algorithmIdentifier(try next("digestAlgorithm")).oid
        // Unsigned fields, but a SignedData that contradicts itself is not accepted.
        guard digestAlgorithms.contains(digestAlgorithm) else {
            throw DER.Error("the signer's digest algorithm \(digestAlgorithm) is not among the SignedData's digestAlgorithms")
        }
        var signedAttributes: SignedAttributes?
        if info.first?.tag == DER.Tag.context(0) {
            signedAttributes = try parseSignedAttributes(try next("signedAttrs"))
        }
        let signatureAlgorithm = try algorithmIdentifier(try next("signatureAlgorithm"))
        let signature = try next("signature").expect(DER.Tag.octetString, "SignerInfo.signature")
        return CMSSignedData(
            eContentType: eContentType, certificates: certificates, signerID: signerID,
            digestAlgorithm: digestAlgorithm, signedAttributes: signedAttributes,
            signatureAlgorithm: signatureAlgorithm.oid, signatureParameters: signatureAlgorithm.parameters,
            signature: Array(signature.contents))
    }

    /// CMSVersion 1 (issuerAndSerialNumber, PKCS#7, GB/T 35275) or 3 (subjectKeyIdentifier).
    private static func checkVersion(_ node: DER.Node, _ what: String) throws {
        let version = try node.expect(DER.Tag.integer, "\(what).version").contents
        guard version.elementsEqual([1]) || version.elementsEqual([3]) else {
            throw DER.Error("\(what) version \(Array(version)) is not 1 or 3")
        }
    }

    static func algorithmIdentifier(_ node: DER.Node) throws -> (oid: String, parameters: DER.Node?) {
        let parts = try node.expect(DER.Tag.sequence, "AlgorithmIdentifier").children()
        guard let first = parts.first, parts.count <= 2 else { throw DER.Error("bad AlgorithmIdentifier") }
        let parameters = parts.count == 2 && parts[1].tag != DER.Tag.null ? parts[1] : nil
        return (try first.oid(), parameters)
    }

    private static func parseSignedAttributes(_ node: DER.Node) throws -> SignedAttributes {
        var contentType: String?
        var messageDigest: [UInt8]?
        var signingTime: Date?
        for attribute in try node.children() {
            let parts = try attribute.expect(DER.Tag.sequence, "Attribute").children()
            guard parts.count == 2 else { throw DER.Error("bad Attribute") }
            let type = try parts[0].oid()
            let values = try parts[1].expect(DER.Tag.set, "Attribute.values").children()
            // RFC 5652 11: these three attributes are single-valued and appear once.
            switch type {
            case OID.contentType, OID.messageDigest, OID.signingTime:
                guard values.count == 1 else { throw DER.Error("attribute \(type) must have exactly one value") }
                let value = values[0]
                if type == OID.contentType {
                    guard contentType == nil else { throw DER.Error("contentType appears twice") }
                    contentType = try value.oid()
                } else if type == OID.messageDigest {
                    guard messageDigest == nil else { throw DER.Error("messageDigest appears twice") }
                    messageDigest = Array(try value.expect(DER.Tag.octetString, "messageDigest").contents)
                } else {
                    guard signingTime == nil else { throw DER.Error("signingTime appears twice") }
                    signingTime = try value.time()
                }
            default:
                continue  // other attributes (e.g. CAdES signingCertificateV2) are signed over but not interpreted
            }
        }
        guard let contentType, let messageDigest else {
            throw DER.Error("signed attributes lack contentType or messageDigest")
        }
        return SignedAttributes(signedBytes: [DER.Tag.set] + node.encoded.dropFirst(),
                                contentType: contentType, messageDigest: messageDigest, signingTime: signingTime)
    }

    /// The index of the certificate the SignerInfo names. IssuerAndSerialNumber
    /// is matched on the DER alone; a subjectKeyIdentifier needs parsing.
    func signerIndex() -> Int? {
        switch signerID {
        case .issuerAndSerial(let issuer, let serial):
            return certificates.firstIndex { der in
                guard let own = try? Certificate.issuerAndSerial(der: der) else { return false }
                return own.issuer.elementsEqual(issuer) && own.serial.elementsEqual(serial)
            }
        case .keyIdentifier(let keyID):
            return certificates.firstIndex { (try? Certificate(der: Array($0)))?.subjectKeyIdentifier == keyID }
        }
    }

    // MARK: - Writing

    /// A detached SignedData (DER) with signed attributes contentType,
    /// messageDigest and signingTime, signed by `sign` over their DER.
    static func build(
        content: [UInt8], certificate: Certificate, chain: [Certificate], algorithm: SignatureAlgorithm,
        contentTypes: CMSContentTypes, signingTime: Date, bindCertificate: Bool = false, sign: ([UInt8]) throws -> [UInt8]
    ) throws -> [UInt8] {
        let dataOID = contentTypes == .gbt35275 ? OID.gbtData : OID.data
        let signedDataOID = contentTypes == .gbt35275 ? OID.gbtSignedData : OID.signedData
        let digest = algorithm.digest
        let digestAlgorithm = DER.sequence([DER.oid(digest == .sm3 ? OID.sm3 : OID.sha256)])
        var attributeList = [
            DER.sequence([DER.oid(OID.contentType), DER.set([DER.oid(dataOID)])]),
            DER.sequence([DER.oid(OID.signingTime), DER.set([DER.time(signingTime)])]),
            DER.sequence([DER.oid(OID.messageDigest), DER.set([DER.octetString(digest.hash(content))])]),
        ]
        if bindCertificate {
            // SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 { certHash (SHA-256, the default algorithm) } }
            let certificateHash = Digest.sha256(try certificate.derBytes())
            attributeList.append(DER.sequence([DER.oid(OID.signingCertificateV2), DER.set([
                DER.sequence([DER.sequence([DER.sequence([DER.octetString(certificateHash)])])]),
            ])]))
        }
        let attributes = DER.set(attributeList)
        let signature = try sign(attributes)
        let (issuer, serial) = try Certificate.issuerAndSerial(der: try certificate.derBytes()[...])
        let signerInfo = DER.sequence([
            DER.integer(1),
            DER.sequence([Array(issuer), Array(serial)]),
            digestAlgorithm,
            [DER.Tag.context(0)] + attributes.dropFirst(),  // [0] IMPLICIT SET OF Attribute
            signatureAlgorithmIdentifier(algorithm, contentTypes: contentTypes),
            DER.octetString(signature),
        ])
        let certificates = try ([certificate] + chain).flatMap { try $0.derBytes() }
        let signedData = DER.sequence([
            DER.integer(1),
            DER.set([digestAlgorithm]),
            DER.sequence([DER.oid(dataOID)]),  // detached: no eContent
            DER.encode(DER.Tag.context(0), certificates),
            DER.set([signerInfo]),
        ])
        return DER.sequence([DER.oid(signedDataOID), DER.encode(DER.Tag.context(0), signedData)])
    }

    private static func signatureAlgorithmIdentifier(_ algorithm: SignatureAlgorithm, contentTypes: CMSContentTypes) -> [UInt8] {
        let sha256 = DER.sequence([DER.oid(OID.sha256)])
        switch algorithm {
        case .rsaPKCS1SHA256:
            return DER.sequence([DER.oid(OID.rsaEncryption), DER.null])  // what OpenSSL writes, read by everyone
        case .rsaPSSSHA256:
            // RSASSA-PSS-params: SHA-256, MGF1 with SHA-256, 32-byte salt (RFC 4055).
            return DER.sequence([DER.oid(OID.rsassaPSS), DER.sequence([
                DER.encode(DER.Tag.context(0), sha256),
                DER.encode(DER.Tag.context(1), DER.sequence([DER.oid(OID.mgf1), sha256])),
                DER.encode(DER.Tag.context(2), DER.encode(DER.Tag.integer, [32])),
            ])])
        case .ecdsaP256SHA256:
            return DER.sequence([DER.oid(OID.ecdsaWithSHA256)])
        case .sm2SM3:
            return DER.sequence([DER.oid(contentTypes == .gbt35275 ? OID.sm2Sign : OID.sm2WithSM3)])
        }
    }

    /// The scheme a SignerInfo names, given the signer's key, with the PSS salt
    /// length it declares. nil when the combination is not one roomd accepts.
    func scheme(for key: PublicKeyAlgorithm) throws(SignatureRejection) -> (SignatureAlgorithm, pssSaltLength: Int32) {
        let describe = "signature algorithm \(signatureAlgorithm) with digest \(digestAlgorithm) and a \(key) key"
        switch (key, signatureAlgorithm) {
        case (.rsa, OID.rsaEncryption), (.rsa, OID.sha256WithRSA):
            guard digestAlgorithm == OID.sha256 else { throw .unsupported(describe) }
            return (.rsaPKCS1SHA256, DigestSignature.pssSaltAuto)
        case (.rsa, OID.rsassaPSS):
            guard digestAlgorithm == OID.sha256, let salt = pssSaltLength() else { throw .unsupported(describe + " (PSS must use SHA-256 and MGF1-SHA-256)") }
            return (.rsaPSSSHA256, salt)
        case (.ecP256, OID.ecdsaWithSHA256), (.ecP256, OID.ecPublicKey):
            guard digestAlgorithm == OID.sha256 else { throw .unsupported(describe) }
            return (.ecdsaP256SHA256, DigestSignature.pssSaltAuto)
        case (.sm2, OID.sm2Sign), (.sm2, OID.sm2WithSM3), (.sm2, OID.sm2):
            guard digestAlgorithm == OID.sm3 else { throw .unsupported(describe) }
            return (.sm2SM3, DigestSignature.pssSaltAuto)
        default:
            throw .unsupported(describe)
        }
    }

    /// The salt length of RSASSA-PSS-params when hash and MGF are SHA-256.
    private func pssSaltLength() -> Int32? {
        guard let parameters = signatureParameters, let fields = try? parameters.children() else { return nil }
        var hashOK = false, mgfOK = false
        var salt: Int32 = 20  // the ASN.1 default
        for field in fields {
            guard let inner = try? field.children(), inner.count == 1 else { return nil }
            switch field.tag {
            case DER.Tag.context(0):
                hashOK = (try? Self.algorithmIdentifier(inner[0]).oid) == OID.sha256
            case DER.Tag.context(1):
                guard let mgf = try? Self.algorithmIdentifier(inner[0]), mgf.oid == OID.mgf1, let hash = mgf.parameters else { return nil }
                mgfOK = (try? Self.algorithmIdentifier(hash).oid) == OID.sha256
            case DER.Tag.context(2):
                guard inner[0].tag == DER.Tag.integer, (1...2).contains(inner[0].contents.count) else { return nil }
                salt = inner[0].contents.reduce(0) { $0 << 8 | Int32($1) }
            case DER.Tag.context(3):
                guard inner[0].contents.elementsEqual([1]) else { return nil }  // trailerFieldBC only
            default:
                return nil
            }
        }
        return hashOK && mgfOK ? salt : nil
    }
}
