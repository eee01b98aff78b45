public import Foundation
internal import COpenSSL
import Synchronization

/// A certificate revocation list held by OpenSSL, released when the value dies.
public final class CRL: @unchecked Sendable {
    // Never mutated after construction, so sharing across threads is safe.
    let handle: OpaquePointer
    /// The DER encoding as read: the SM2 signature check needs the exact TBS bytes.
    public let derBytes: [UInt8]

    public init(der: [UInt8]) throws {
        var parsed: OpaquePointer?
        der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            parsed = d2i_X509_CRL(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw OpenSSLError.last("d2i_X509_CRL") }
        handle = parsed
        derBytes = der
    }

    deinit { X509_CRL_free(handle) }

    /// Every CRL in a file's bytes: PEM (one or more `X509 CRL` blocks) or one DER CRL.
    public static func all(pemOrDER bytes: [UInt8]) throws -> [CRL] {
        guard looksLikePEM(bytes) else { return [try CRL(der: bytes)] }
        let bio = try MemoryBIO(bytes: bytes)
        var out: [CRL] = []
        while let crl = PEM_read_bio_X509_CRL(bio.handle, nil, nil, nil) {
            defer { X509_CRL_free(crl) }
            var der: UnsafeMutablePointer<UInt8>?
            let length = i2d_X509_CRL(crl, &der)
            guard length > 0, let der else { throw OpenSSLError.last("i2d_X509_CRL") }
            defer { roomd_openssl_free(der) }
            out.append(try CRL(der: Array(UnsafeBufferPointer(start: der, count: Int(length)))))
        }
        ERR_clear_error()  // the loop ends on a "no start line" error
        guard !out.isEmpty else { throw OpenSSLError(operation: "PEM_read_bio_X509_CRL", reason: "no CRL in PEM data") }
        return out
    }

    /// Issuer as an RFC 2253 string.
    public var issuer: String { DistinguishedName(X509_CRL_get_issuer(handle)).description }
    public var thisUpdate: Date { asn1Date(X509_CRL_get0_lastUpdate(handle)) ?? Date(timeIntervalSince1970: 0) }
    /// nil when the CRL does not say when the next one is due.
    public var nextUpdate: Date? { asn1Date(X509_CRL_get0_nextUpdate(handle)) }

    func isIssued(by certificate: Certificate) -> Bool {
        X509_NAME_cmp(X509_CRL_get_issuer(handle), X509_get_subject_name(certificate.handle)) == 0
    }

    /// Whether `certificate` is listed, and since when.
    func revocation(of certificate: Certificate) -> (revoked: Bool, date: Date?) {
        var entry: OpaquePointer?
        // 1: listed; 2: listed as removeFromCRL (delta CRLs), which is not a revocation.
        guard X509_CRL_get0_by_serial(handle, &entry, X509_get0_serialNumber(certificate.handle)) == 1 else {
            return (false, nil)
        }
        return (true, entry.flatMap { asn1Date(X509_REVOKED_get0_revocationDate($0)) })
    }

    /// Checks the CRL's signature with `issuer`'s key. OpenSSL 3.0's
    /// X509_CRL_verify cannot take an SM2 ID, so SM2 CRLs are checked here: the
    /// exact TBS bytes, EVP_DigestVerify with the ID set. Others go to OpenSSL.
    func signatureIsValid(issuer: Certificate, sm2ID: [UInt8]) -> Bool {
        guard let key = X509_get0_pubkey(issuer.handle) else { return false }
        defer { ERR_clear_error() }
        guard X509_CRL_get_signature_nid(handle) == NID_SM2_with_SM3 else {
            return X509_CRL_verify(handle, key) == 1
        }
        guard PublicKeyAlgorithm(pkey: key) == .sm2,
              let parts = try? DER.Reader.single(derBytes[...]).children(), parts.count == 3,
              parts[2].tag == DER.Tag.bitString, parts[2].contents.first == 0
        else { return false }
        return DigestSignature.verify(
            key: key, algorithm: .sm2SM3, sm2ID: sm2ID,
            signature: Array(parts[2].contents.dropFirst()), message: parts[0].encoded)
    }
}

/// Why a trust store could not be built: which file, and what is wrong with it.
public struct TrustStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The trust anchors, intermediates and CRLs of one purpose (the expert
/// cloud-sign CA, the platform CA, …). Immutable: when the files change, load a
/// new value and hand it to the verifier; the verifier's cache is keyed by
/// ``identifier``, so a store with other contents never reuses old verdicts.
public struct TrustStore: Sendable {
    public let anchors: [Certificate]
    public let intermediates: [Certificate]
    public let crls: [CRL]
    /// SHA-256 (hex) over the contents: equal identifiers, equal verdicts.
    public let identifier: String
    /// Increases with every store built in this process (for logs and metrics).
    public let generation: UInt64
    let storage: Storage

    /// Anchors are trusted as they are: a root, or an intermediate when a
    /// purpose must trust only one branch of a national root (partial chains
    /// are allowed). `certificateSM2ID` is the ID CAs sign certificates and
    /// CRLs with (GB/T 35276 default).
    public init(anchors: [Certificate], intermediates: [Certificate] = [], crls: [CRL] = [],
                certificateSM2ID: String = SM2.defaultID) throws {
        guard !anchors.isEmpty else { throw TrustStoreError("a trust store needs at least one anchor certificate") }
        self.anchors = anchors
        self.intermediates = intermediates
        self.crls = crls
        let sm2ID = Array(certificateSM2ID.utf8)
        storage = try Storage(anchors: anchors, intermediates: intermediates, sm2ID: sm2ID)
        var summary: [UInt8] = Array("roomd-trust-v1".utf8) + sm2ID
        let sections = [("anchor", try anchors.map { try $0.derBytes() }),
                        ("intermediate", try intermediates.map { try $0.derBytes() }),
                        ("crl", crls.map(\.derBytes))]
        for (label, items) in sections {
            for digest in items.map({ DigestAlgorithm.sha256.hash($0) }).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                summary += Array(label.utf8) + digest
            }
        }
        identifier = hex(DigestAlgorithm.sha256.hash(summary))
        generation = trustStoreGenerations.add(1, ordering: .relaxed).newValue
    }

    /// Loads `directory/anchors/*` (required), `directory/intermediates/*` and
    /// `directory/crls/*` (optional). Files are PEM (bundles allowed) or DER;
    /// hidden files are skipped. A file that cannot be read is an error naming it.
    public static func load(directory: String, certificateSM2ID: String = SM2.defaultID) throws -> TrustStore {
        let anchors = directory + "/anchors"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: anchors, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrustStoreError("\(anchors) is missing: a trust store folder needs anchors/ (and may have intermediates/ and crls/)")
        }
        return try load(anchorFiles: try files(in: anchors),
                        intermediateFiles: try files(in: directory + "/intermediates"),
                        crlFiles: try files(in: directory + "/crls"),
                        certificateSM2ID: certificateSM2ID)
    }

    /// Loads the named files (PEM or DER each).
    public static func load(anchorFiles: [String], intermediateFiles: [String] = [], crlFiles: [String] = [],
                            certificateSM2ID: String = SM2.defaultID) throws -> TrustStore {
        func read<T>(_ path: String, _ parse: ([UInt8]) throws -> [T]) throws -> [T] {
            guard let data = FileManager.default.contents(atPath: path) else { throw TrustStoreError("cannot read \(path)") }
            do { return try parse(Array(data)) } catch { throw TrustStoreError("\(path): \(error)") }
        }
        return try TrustStore(
            anchors: anchorFiles.flatMap { try read($0, Certificate.all(pemOrDER:)) },
            intermediates: intermediateFiles.flatMap { try read($0, Certificate.all(pemOrDER:)) },
            crls: crlFiles.flatMap { try read($0, CRL.all(pemOrDER:)) },
            certificateSM2ID: certificateSM2ID)
    }

    private static func files(in directory: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory + "/" + $0 }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    /// The OpenSSL side: an X509_STORE with the anchors, and the intermediates,
    /// both as private copies with the SM2 ID set where their signature needs it
    /// (setting it mutates the X509, and the caller's objects stay untouched).
    final class Storage: @unchecked Sendable {
        // X509_STORE locks internally; the copies are never mutated after init.
        let store: OpaquePointer
        let anchors: [Certificate]
        let intermediates: [Certificate]
        let sm2ID: [UInt8]

        init(anchors: [Certificate], intermediates: [Certificate], sm2ID: [UInt8]) throws {
            guard let store = X509_STORE_new() else { throw OpenSSLError.last("X509_STORE_new") }
            self.store = store
            self.sm2ID = sm2ID
            // Held here so each X509 outlives the call that hands it to OpenSSL.
            self.anchors = try anchors.map { try $0.prepared(sm2ID: sm2ID) }
            self.intermediates = try intermediates.map { try $0.prepared(sm2ID: sm2ID) }
            for anchor in self.anchors {
                guard X509_STORE_add_cert(store, anchor.handle) == 1 else {
                    throw OpenSSLError.last("X509_STORE_add_cert")
                }
            }
        }

        deinit { X509_STORE_free(store) }
    }
}

private let trustStoreGenerations = Atomic<UInt64>(0)

extension Certificate {
    /// A private copy with the SM2 distinguishing ID set when the certificate's
    /// own signature is SM2-with-SM3 (OpenSSL 3.0 must be told on every
    /// certificate of the chain); otherwise `self` (an ID on a non-SM2 check fails it).
    func prepared(sm2ID: [UInt8]) throws -> Certificate {
        guard X509_get_signature_nid(handle) == NID_SM2_with_SM3 else { return self }
        guard let copy = X509_dup(handle) else { throw OpenSSLError.last("X509_dup") }
        let result = Certificate(owning: copy)
        guard roomd_x509_set_sm2_id(copy, sm2ID, sm2ID.count) == 1 else { throw OpenSSLError.last("X509_set0_distinguishing_id") }
        return result
    }
}

func asn1Date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
    var seconds: Int64 = 0
    guard let time, roomd_asn1_time_to_unix(time, &seconds) == 1 else { return nil }
    return Date(timeIntervalSince1970: TimeInterval(seconds))
}
