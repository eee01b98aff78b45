internal import COpenSSL

/// Who a signing certificate names: what the roster layer matches an expert
/// against. Trust in the certificate is the verifier's business, not this one's.
public struct SignerIdentity: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Where the ID number was found.
    public enum Source: String, Sendable, Hashable {
        /// The caller's OID, in the subject or as an extension.
        case configuredOID = "configured-oid"
        /// Subject serialNumber (2.5.4.5), where most Chinese CAs put it.
        case subjectSerialNumber = "subject-serialNumber"
        /// GM/T 0015 identity-card number (1.2.156.10260.4.1.1) in the subject.
        case gmt0015Subject = "gmt0015-subject"
        /// GM/T 0015 identity-card number as a certificate extension.
        case gmt0015Extension = "gmt0015-extension"
    }

    /// The subject's commonName (the expert's name, e.g. 张三).
    public var name: String?
    /// The ID number as written in the certificate (not validated here).
    public var idNumber: String?
    public var idNumberSource: Source?

    public init(name: String?, idNumber: String?, idNumberSource: Source?) {
        self.name = name
        self.idNumber = idNumber
        self.idNumberSource = idNumberSource
    }

    /// Never the whole ID number: a signer interpolated into a message, dumped
    /// or shown by a debugger shows its last four characters.
    public var description: String {
        "SignerIdentity(name: \(name ?? "-"), idNumber: \(idNumber.map(PersonalData.redacted) ?? "-"), source: \(idNumberSource?.rawValue ?? "-"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["name": name as Any, "idNumber": idNumber.map(PersonalData.redacted) as Any,
                                "idNumberSource": idNumberSource as Any])
    }

    /// GM/T 0015-2012's OID for the holder's identity-card number.
    public static let gmt0015IDNumberOID = "1.2.156.10260.4.1.1"

    /// Reads name and ID number from `certificate`. A configured OID wins; then
    /// subject serialNumber; then the GM/T 0015 OID as a subject attribute, then
    /// as an extension.
    public init(certificate: Certificate, idNumberOID: String? = nil) {
        name = Self.subjectAttribute(certificate, oid: "2.5.4.3")
        var candidates: [(String, Source, Bool)] = []
        if let idNumberOID {
            candidates.append((idNumberOID, .configuredOID, true))
            candidates.append((idNumberOID, .configuredOID, false))
        }
        candidates += [
            ("2.5.4.5", .subjectSerialNumber, true),
            (Self.gmt0015IDNumberOID, .gmt0015Subject, true),
            (Self.gmt0015IDNumberOID, .gmt0015Extension, false),
        ]
        for (oid, source, inSubject) in candidates {
            let value = inSubject ? Self.subjectAttribute(certificate, oid: oid) : Self.extensionString(certificate, oid: oid)
            if let value, !value.isEmpty {
                idNumber = value
                idNumberSource = source
                return
            }
        }
    }

    /// The first subject attribute with this OID, as UTF-8.
    static func subjectAttribute(_ certificate: Certificate, oid: String) -> String? {
        certificate.subjectName.value(of: oid)
    }

    /// An extension whose value is a DER string (PrintableString, UTF8String,
    /// IA5String); some CAs put the bare text in the OCTET STRING instead.
    static func extensionString(_ certificate: Certificate, oid: String) -> String? {
        guard let object = OBJ_txt2obj(oid, 1) else { ERR_clear_error(); return nil }
        defer { ASN1_OBJECT_free(object) }
        let index = X509_get_ext_by_OBJ(certificate.handle, object, -1)
        guard index >= 0, let ext = X509_get_ext(certificate.handle, index), let data = X509_EXTENSION_get_data(ext) else {
            return nil
        }
        let bytes = asn1Bytes(data)
        if let node = try? DER.Reader.single(bytes[...]),
           [DER.Tag.printableString, DER.Tag.utf8String, DER.Tag.ia5String].contains(node.tag) {
            return String(decoding: node.contents, as: UTF8.self)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) }) ? text : nil
    }
}

/// The organisation a supplier's certificate names: its name (O) and its 统一社会信用代码. CAs put
/// the code in different places; the lookup order is a configured OID (subject, then extension),
/// the subject serialNumber (2.5.4.5, most Chinese CAs), then the subject OU (2.5.4.11). The code
/// is returned as written; whether it is a valid code is the opening's business.
public struct OrganizationIdentity: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        case configuredOID = "configured-oid"
        case subjectSerialNumber = "subject-serialNumber"
        case subjectOU = "subject-OU"
    }

    public var organization: String?
    public var creditCode: String?
    public var creditCodeSource: Source?

    public init(certificate: Certificate, creditCodeOID: String? = nil) {
        organization = SignerIdentity.subjectAttribute(certificate, oid: "2.5.4.10")
        var candidates: [(String?, Source)] = []
        if let creditCodeOID {
            candidates.append((SignerIdentity.subjectAttribute(certificate, oid: creditCodeOID), .configuredOID))
            candidates.append((SignerIdentity.extensionString(certificate, oid: creditCodeOID), .configuredOID))
        }
        candidates.append((SignerIdentity.subjectAttribute(certificate, oid: "2.5.4.5"), .subjectSerialNumber))
        candidates.append((SignerIdentity.subjectAttribute(certificate, oid: "2.5.4.11"), .subjectOU))
        for case let (value?, source) in candidates where !value.isEmpty {
            creditCode = value.filter { !$0.isWhitespace }
            creditCodeSource = source
            return
        }
    }
}
