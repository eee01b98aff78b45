public import Foundation

/// The demo/test public-key infrastructure of one room: a room CA, the room
/// server's certificate, one client certificate per station, and one each for
/// the operator, a supervisor and the central platform. All ECDSA P-256.
///
/// The roles are carried in subjectAltName URIs (see ``RoleURI``), which is
/// what the demo configuration's role mapping matches on.
public struct DemoPKI {
    public struct Layout: Sendable {
        public let directory: String
        public init(directory: String) { self.directory = directory }

        public var caCertificate: String { directory + "/room-ca.crt" }
        public var caKey: String { directory + "/room-ca.key" }
        public var serverCertificate: String { directory + "/server.crt" }
        public var serverKey: String { directory + "/server.key" }
        /// The room's seal certificate (same key as the server): signs sealed packages.
        public var sealCertificate: String { directory + "/room-seal.crt" }
        public func clientCertificate(_ name: String) -> String { directory + "/clients/\(name).crt" }
        public func clientKey(_ name: String) -> String { directory + "/clients/\(name).key" }
    }

    public struct Issued: Sendable {
        public let name: String
        public let certificatePath: String
        public let keyPath: String
        public let fingerprint: String
    }

    public let layout: Layout
    public let roomID: String

    public init(directory: String, roomID: String) {
        self.layout = Layout(directory: directory)
        self.roomID = roomID
    }

    public static let stationIDs = (1...8).map { "S0\($0)" }

    /// Creates the whole set. Refuses to replace an existing CA unless `force`:
    /// a new CA silently invalidates every certificate the room has issued.
    @discardableResult
    public func create(
        serverNames: [String] = ["localhost"],
        serverIPs: [String] = ["127.0.0.1", "::1"],
        validityDays: Int = 825,
        force: Bool = false
    ) throws -> [Issued] {
        let fm = FileManager.default
        if fm.fileExists(atPath: layout.caCertificate), !force {
            throw DemoPKIError.caExists(layout.caCertificate)
        }
        try fm.createDirectory(atPath: layout.directory + "/clients", withIntermediateDirectories: true,
                               attributes: [.posixPermissions: 0o750])
        let validity = TimeInterval(validityDays) * 86_400

        let caKey = try PrivateKey.generateP256()
        let ca = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "roomd"), ("OU", roomID), ("CN", "roomd room CA \(roomID)")],
                               validity: validity * 2, isCA: true),
            publicKeyOf: caKey)
        try write(ca, caKey, layout.caCertificate, layout.caKey)
        var issued = [Issued(name: "room-ca", certificatePath: layout.caCertificate, keyPath: layout.caKey,
                             fingerprint: try ca.sha256Fingerprint())]

        // The server certificate is also the room's client certificate toward
        // the central platform (checkpoint witnessing, package delivery).
        let serverKey = try PrivateKey.generateP256()
        let server = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "roomd"), ("OU", roomID), ("CN", serverNames.first ?? "roomd")],
                               validity: validity, serverDNSNames: serverNames, serverIPAddresses: serverIPs,
                               uris: [RoleURI.room(roomID)], clientAuth: true, serverAuth: true),
            publicKeyOf: serverKey, issuer: (ca, caKey))
        try write(server, serverKey, layout.serverCertificate, layout.serverKey)
        issued.append(Issued(name: "server", certificatePath: layout.serverCertificate, keyPath: layout.serverKey,
                             fingerprint: try server.sha256Fingerprint()))

        issued.append(try issueSealCertificate(validity: validity))

        let clients: [(String, String)] = Self.stationIDs.map { ($0, RoleURI.station($0)) }
            + [("operator", RoleURI.operator), ("supervisor", RoleURI.supervisor), ("platform", RoleURI.platform)]
        for (name, uri) in clients {
            issued.append(try issueClient(name: name, uri: uri, ca: (ca, caKey), validity: validity))
        }
        return issued
    }

    /// The room's seal certificate (`room-seal.crt`): the server key again, for
    /// signing documents (sealed packages). `openssl cms -verify` wants a signer
    /// certificate fit for S/MIME: extendedKeyUsage emailProtection, non-repudiation.
    /// Issued by the room CA from the files in the folder (`roomctl pki seal`).
    public func issueSealCertificate(validity: TimeInterval = 825 * 86_400) throws -> Issued {
        let ca = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: layout.caCertificate))))
        let caKey = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: layout.caKey))))
        let serverKey = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: layout.serverKey))))
        var request = CertificateRequest(subject: [("O", "roomd"), ("OU", roomID), ("CN", "roomd room seal \(roomID)")],
                                         validity: validity, uris: [RoleURI.room(roomID)],
                                         keyUsage: "critical,digitalSignature,nonRepudiation")
        request.emailProtection = true
        let seal = try CertificateIssuer.issue(request, publicKeyOf: serverKey, issuer: (ca, caKey))
        try SecureFile.write(try seal.pem(), to: layout.sealCertificate, mode: 0o644)
        return Issued(name: "room-seal", certificatePath: layout.sealCertificate, keyPath: layout.serverKey,
                      fingerprint: try seal.sha256Fingerprint())
    }

    /// Issues (or re-issues) one client certificate signed by the room CA.
    public func issueClient(name: String, uri: String, validity: TimeInterval = 825 * 86_400) throws -> Issued {
        let ca = try Certificate(pem: Array(try Data(contentsOf: URL(fileURLWithPath: layout.caCertificate))))
        let caKey = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: layout.caKey))))
        try FileManager.default.createDirectory(atPath: layout.directory + "/clients", withIntermediateDirectories: true)
        return try issueClient(name: name, uri: uri, ca: (ca, caKey), validity: validity)
    }

    private func issueClient(name: String, uri: String, ca: (Certificate, PrivateKey),
                             validity: TimeInterval) throws -> Issued {
        let key = try PrivateKey.generateP256()
        let cert = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "roomd"), ("OU", roomID), ("CN", name)],
                               validity: validity, uris: [uri], clientAuth: true),
            publicKeyOf: key, issuer: (certificate: ca.0, key: ca.1))
        try write(cert, key, layout.clientCertificate(name), layout.clientKey(name))
        return Issued(name: name, certificatePath: layout.clientCertificate(name), keyPath: layout.clientKey(name),
                      fingerprint: try cert.sha256Fingerprint())
    }

    /// Demo experts with their cloud-sign certificates, as a drawing system's
    /// roster would list them. The ID numbers are valid GB 11643 test values.
    public static let demoExperts: [(id: String, name: String, idNumber: String)] = [
        ("E01", "张三", "11010519491231002X"),
        ("E02", "李四", "110101198003071239"),
        ("E03", "王五", "320102197510104569"),
        ("E04", "赵六", "150102197805061234"),
        ("E05", "钱七", "150203198209142341"),
        ("E06", "孙八", "150105197503223452"),
        ("E07", "周九", "150402198801174566"),
        ("E08", "吴十", "150602197906285672"),
        ("E09", "郑一", "150702198304156785"),
    ]

    /// A demo expert cloud-sign CA (`experts/trust/anchors/expert-ca.crt`,
    /// the folder `identity.expert_trust_dir` names) and one signing
    /// certificate per demo expert (`experts/E01.crt/.key`: CN = name,
    /// serialNumber = ID number, keyUsage digitalSignature+nonRepudiation), plus
    /// `experts/roster.json` for `roomctl roster import`. ECDSA P-256; the test
    /// suite covers RSA and SM2 with an openssl-made PKI.
    @discardableResult
    public func createExperts(validityDays: Int = 825) throws -> [Issued] {
        let base = layout.directory + "/experts"
        let validity = TimeInterval(validityDays) * 86_400
        let (ca, caKey, caIssued) = try trustFolderCA(base: base, name: "expert-ca", validity: validity,
                                                      subject: [("O", "roomd demo cloud-sign"), ("CN", "roomd demo expert CA")])
        var issued = [caIssued]
        var roster: [[String: String]] = []
        for expert in Self.demoExperts {
            let key = try PrivateKey.generateP256()
            let cert = try CertificateIssuer.issue(
                CertificateRequest(subject: [("O", "roomd demo cloud-sign"), ("CN", expert.name), ("serialNumber", expert.idNumber)],
                                   validity: validity, keyUsage: "critical,digitalSignature,nonRepudiation"),
                publicKeyOf: key, issuer: (ca, caKey))
            try write(cert, key, "\(base)/\(expert.id).crt", "\(base)/\(expert.id).key")
            issued.append(Issued(name: expert.id, certificatePath: "\(base)/\(expert.id).crt", keyPath: "\(base)/\(expert.id).key",
                                 fingerprint: try cert.sha256Fingerprint()))
            roster.append(["id": expert.id, "name": expert.name, "idNumber": expert.idNumber, "role": "expert"])
        }
        let json = try JSONSerialization.data(withJSONObject: roster, options: [.prettyPrinted, .sortedKeys])
        try SecureFile.write(Array(json), to: base + "/roster.json", mode: 0o600)
        return issued
    }

    /// A demo central-platform signing CA (`platform/trust/anchors/platform-ca.crt`, the folder
    /// `sessions.platform_trust_dir` names) and the platform's signing certificate
    /// (`platform/signer.crt/.key`), with which the demo and the tests sign session definitions
    /// (`roomctl expert sign --format cms` makes the detached CMS). ECDSA P-256.
    @discardableResult
    public func createPlatformSigner(validityDays: Int = 825) throws -> [Issued] {
        let base = layout.directory + "/platform"
        let validity = TimeInterval(validityDays) * 86_400
        let (ca, caKey, caIssued) = try trustFolderCA(base: base, name: "platform-ca", validity: validity,
                                                      subject: [("O", "roomd demo procurement platform"), ("CN", "roomd demo platform CA")])
        let key = try PrivateKey.generateP256()
        let cert = try CertificateIssuer.issue(
            CertificateRequest(subject: [("O", "roomd demo procurement platform"), ("CN", "政府采购云平台 演示签名")],
                               validity: validity, keyUsage: "critical,digitalSignature,nonRepudiation"),
            publicKeyOf: key, issuer: (ca, caKey))
        try write(cert, key, base + "/signer.crt", base + "/signer.key")
        return [caIssued,
                Issued(name: "platform-signer", certificatePath: base + "/signer.crt", keyPath: base + "/signer.key",
                       fingerprint: try cert.sha256Fingerprint())]
    }

    /// A trust folder as `TrustStore.load` reads it (`BASE/trust/{anchors,intermediates,crls}`) with a
    /// new CA in `anchors/NAME.crt` (its key beside the folder, `BASE/NAME.key`).
    private func trustFolderCA(base: String, name: String, validity: TimeInterval,
                               subject: [(String, String)]) throws -> (Certificate, PrivateKey, Issued) {
        for folder in ["trust/anchors", "trust/intermediates", "trust/crls"] {
            try FileManager.default.createDirectory(atPath: base + "/" + folder, withIntermediateDirectories: true)
        }
        let key = try PrivateKey.generateP256()
        let ca = try CertificateIssuer.issue(CertificateRequest(subject: subject, validity: validity * 2, isCA: true), publicKeyOf: key)
        let certificatePath = "\(base)/trust/anchors/\(name).crt", keyPath = "\(base)/\(name).key"
        try write(ca, key, certificatePath, keyPath)
        return (ca, key, Issued(name: name, certificatePath: certificatePath, keyPath: keyPath, fingerprint: try ca.sha256Fingerprint()))
    }

    private func write(_ cert: Certificate, _ key: PrivateKey, _ certPath: String, _ keyPath: String) throws {
        try SecureFile.write(try key.pkcs8PEM(), to: keyPath, mode: 0o600)
        try SecureFile.write(try cert.pem(), to: certPath, mode: 0o644)
    }
}

public enum DemoPKIError: Error, CustomStringConvertible {
    case caExists(String)

    public var description: String {
        switch self {
        case .caExists(let path):
            return "a room CA already exists at \(path); pass --force to replace it (every certificate it issued stops working) / 房间CA已存在，如需替换请加 --force"
        }
    }
}

/// The subjectAltName URIs roomd's demo PKI puts in certificates.
public enum RoleURI {
    public static func room(_ id: String) -> String { "urn:roomd:room:\(id)" }
    public static func station(_ id: String) -> String { "urn:roomd:station:\(id)" }
    public static let stationPrefix = "urn:roomd:station:"
    public static let `operator` = "urn:roomd:role:operator"
    public static let supervisor = "urn:roomd:role:supervisor"
    public static let platform = "urn:roomd:role:platform"
}
