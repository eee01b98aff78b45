internal import COpenSSL

/// An X.509 name (subject or issuer) read attribute by attribute, and the one
/// way roomd turns a name into text for people, logs, events and the ledger.
///
/// Experts' certificates carry their resident ID number (公民身份号码) in the
/// subject: in serialNumber, in GM/T 0015's attribute 1.2.156.10260.4.1.1, or
/// under an OID a CA chose (`identity.id_number_oid`). OpenSSL's RFC 2253
/// printer writes attributes it has no name for as `#` and the hex of their
/// DER, where no pattern-based redaction sees a number. So names are never
/// printed by OpenSSL here: each attribute is decoded to text, and every
/// attribute not known to hold something other than personal identifiers is
/// shown only by its last four characters — before any string of the whole
/// name exists. The rendering follows RFC 4514 (most significant RDN last, the
/// order and short names of OpenSSL's RFC 2253 output).
public struct DistinguishedName: Sendable, Hashable, CustomStringConvertible {
    public struct Attribute: Sendable, Hashable {
        /// Dotted OID, e.g. "2.5.4.3".
        public var oid: String
        /// The value as text (UTF-8), or nil when it is not a string type.
        public var value: String?
        /// Index of the RDN it belongs to (attributes sharing one are joined by "+").
        var set: Int32
    }

    /// In DER order (most significant first).
    public let attributes: [Attribute]

    init(_ name: OpaquePointer?) {
        guard let name else {
            attributes = []
            return
        }
        var attributes: [Attribute] = []
        for index in 0..<X509_NAME_entry_count(name) {
            guard let entry = X509_NAME_get_entry(name, index) else { continue }
            let oid = Self.dotted(X509_NAME_ENTRY_get_object(entry))
            var value: String?
            if let data = X509_NAME_ENTRY_get_data(entry) {
                var utf8: UnsafeMutablePointer<UInt8>?
                let length = ASN1_STRING_to_UTF8(&utf8, data)
                if length >= 0, let utf8 {
                    value = String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
                    roomd_openssl_free(utf8)
                } else {
                    ERR_clear_error()
                }
            }
            attributes.append(Attribute(oid: oid, value: value, set: X509_NAME_ENTRY_set(entry)))
        }
        self.attributes = attributes
    }

    /// The first value of `oid` in the name, unredacted: for matching, never for printing.
    public func value(of oid: String) -> String? {
        attributes.first { $0.oid == oid }?.value
    }

    /// RFC 4514 text with personal identifiers cut to their last four characters,
    /// e.g. `C=CN,O=某某大学,serialNumber=…002X,CN=张三`.
    public var description: String {
        var rdns: [[Attribute]] = []
        for attribute in attributes {
            if let last = rdns.last?.last, last.set == attribute.set {
                rdns[rdns.count - 1].append(attribute)
            } else {
                rdns.append([attribute])
            }
        }
        return rdns.reversed().map { rdn in
            rdn.map { attribute in
                "\(Self.shortNames[attribute.oid] ?? attribute.oid)=\(Self.escaped(Self.shown(attribute)))"
            }.joined(separator: "+")
        }.joined(separator: ",")
    }

    /// Attributes that name organisations, places and people's names rather
    /// than identify a person by number. Anything else — serialNumber, GM/T
    /// 0015's ID number, a CA's own OIDs, UID — is personal until shown otherwise.
    static let shortNames: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "street",
        "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title", "2.5.4.4": "SN", "2.5.4.42": "GN",
        "2.5.4.97": "organizationIdentifier", "0.9.2342.19200300.100.1.25": "DC",
        "1.2.840.113549.1.9.1": "emailAddress",
        // Named, but shown redacted (see `shown`):
        "2.5.4.5": "serialNumber", "0.9.2342.19200300.100.1.1": "UID",
    ]

    /// OIDs whose values are shown whole (after a check for embedded ID numbers).
    static let nonPersonal: Set<String> = [
        "2.5.4.3", "2.5.4.6", "2.5.4.7", "2.5.4.8", "2.5.4.9", "2.5.4.10", "2.5.4.11", "2.5.4.12", "2.5.4.4",
        "2.5.4.42", "2.5.4.97", "0.9.2342.19200300.100.1.25", "1.2.840.113549.1.9.1",
    ]

    static func shown(_ attribute: Attribute) -> String {
        guard let value = attribute.value else { return "…(binary)" }
        guard nonPersonal.contains(attribute.oid) else { return PersonalData.redacted(value) }
        // A CA that writes the number into the common name ("张三 11010519491231002X").
        return ResidentID.redacting(value)
    }

    /// RFC 4514 section 2.4 escapes; UTF-8 beyond ASCII is kept as it is.
    public static func escaped(_ value: String) -> String {
        var out = ""
        let scalars = Array(value.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case ",", "+", "\"", "\\", "<", ">", ";":
                out += "\\" + String(scalar)
            case "#" where index == 0, " " where index == 0 || index == scalars.count - 1:
                out += "\\" + String(scalar)
            case "\0":
                out += "\\00"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func dotted(_ object: OpaquePointer?) -> String {
        guard let object else { return "?" }
        var buffer = [CChar](repeating: 0, count: 128)
        let length = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
        guard length > 0, Int(length) < buffer.count else { return "?" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// How personal identifiers look once redacted, wherever they are shown.
public enum PersonalData {
    /// "…" and the last four characters (the part of an ID number roomd may
    /// show and store); nothing of values of four characters or fewer.
    public static func redacted(_ value: String) -> String {
        let characters = Array(value)
        return characters.count > 4 ? "…" + String(characters.suffix(4)) : "…"
    }
}
