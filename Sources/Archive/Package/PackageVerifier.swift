public import Foundation
public import Identity
import Canonical

/// Checks a sealed package offline (docs/formats.md, "Sealed packages"): no
/// roomd, no database. What `roomctl package verify`, the platform simulator
/// and roomd itself (before a package is offered) run.
///
/// 1. the bag: bagit.txt, bag-info.txt (labels, Payload-Oxum), every file
///    under data/ listed in manifest-sha256.txt and none listed missing, every
///    hash; the tag manifest's hashes;
/// 2. the seal: the detached CMS over tagmanifest-sha256.txt verifies and its
///    certificate chains to the given anchors;
/// 3. the timestamp (RFC 3161) over the seal file, when present;
/// 4. the ledger export in data/ledger (signed checkpoint, every entry's
///    inclusion proof, signed manifest) by the seal's key, and every recording's
///    SHA-256 in a proven ledger entry (the hash taken when it was written);
/// 5. for an opening's package (`Roomd-Kind: opening`), its events, record and
///    supplier signatures (``OpeningPackageCheck``).
public enum PackageVerifier {
    public struct Finding: Sendable, CustomStringConvertible, Codable {
        public var ok: Bool
        public var file: String
        public var what: String
        public var description: String { (ok ? "OK    " : "FAIL  ") + "\(file): \(what)" }

        public init(ok: Bool, file: String, what: String) {
            self.ok = ok
            self.file = file
            self.what = what
        }
    }

    public struct Report: Sendable, Codable {
        public var findings: [Finding] = []
        public var notes: [String] = []
        public var session: String?
        public var room: String?
        public var signerFingerprint: String?
        public var timestamp: Date?
        public var passed: Bool { !findings.isEmpty && findings.allSatisfy(\.ok) }
        public var failures: [Finding] { findings.filter { !$0.ok } }
    }

    public struct Options: Sendable {
        /// Anchors the seal's certificate must chain to (the room CA or the agency's CA). Empty: the chain is not checked, and a FAIL says so.
        public var anchors: [Certificate]
        /// Anchors of the TSA; empty: a present timestamp is reported as unchecked.
        public var tsaAnchors: [Certificate]
        /// Hash every payload file (the recordings too). Off: sizes only — roomd's own post-seal check reads them through the tar instead.
        public var hashPayload: Bool

        public init(anchors: [Certificate], tsaAnchors: [Certificate] = [], hashPayload: Bool = true) {
            self.anchors = anchors
            self.tsaAnchors = tsaAnchors
            self.hashPayload = hashPayload
        }
    }

    /// Labels bag-info.txt must carry.
    public static let requiredInfo = ["Source-Organization", "External-Identifier", "Bagging-Date", "Payload-Oxum", "Roomd-Room", "Roomd-Session"]

    /// RFC 3339 time as bag-info writes it (with or without milliseconds).
    static func time(_ text: String) -> Date? {
        let precise = ISO8601DateFormatter()
        precise.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return precise.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// Verifies the bag in `folder` (blocking: reads every file when `hashPayload`).
    public static func verify(folder: String, options: Options) -> Report {
        var report = Report()
        func ok(_ file: String, _ what: String) { report.findings.append(Finding(ok: true, file: file, what: what)) }
        func fail(_ file: String, _ what: String) { report.findings.append(Finding(ok: false, file: file, what: what)) }
        func read(_ name: String) -> Data? { FileManager.default.contents(atPath: folder + "/" + name) }

        // 1. Declaration and bag-info.
        guard let declaration = read(Bag.declarationFile) else {
            fail(Bag.declarationFile, "missing: this is not a BagIt bag")
            return report
        }
        let declared = Dictionary(Bag.parseInfo(String(decoding: declaration, as: UTF8.self)), uniquingKeysWith: { a, _ in a })
        if declared["BagIt-Version"] == "1.0", declared["Tag-File-Character-Encoding"] == "UTF-8" {
            ok(Bag.declarationFile, "BagIt 1.0, UTF-8")
        } else {
            fail(Bag.declarationFile, "not 'BagIt-Version: 1.0' with 'Tag-File-Character-Encoding: UTF-8'")
        }
        let info = Bag.parseInfo(String(decoding: read(Bag.infoFile) ?? Data(), as: UTF8.self))
        let infoMap = Dictionary(info, uniquingKeysWith: { a, _ in a })
        report.session = infoMap["Roomd-Session"]
        report.room = infoMap["Roomd-Room"]
        let missingLabels = requiredInfo.filter { infoMap[$0] == nil }
        if read(Bag.infoFile) == nil {
            fail(Bag.infoFile, "missing")
        } else if missingLabels.isEmpty {
            ok(Bag.infoFile, "room \(infoMap["Roomd-Room"] ?? ""), session \(infoMap["Roomd-Session"] ?? ""), bagged \(infoMap["Bagging-Date"] ?? "")")
        } else {
            fail(Bag.infoFile, "lacks \(missingLabels.joined(separator: ", "))")
        }

        // 2. Payload: every file under data/ is listed, every listed file is there, sizes add up, hashes hold.
        var onDisk: [String: Int64] = [:]
        if let walker = FileManager.default.enumerator(atPath: folder + "/data") {
            while let relative = walker.nextObject() as? String {
                let type = walker.fileAttributes?[.type] as? FileAttributeType
                if type == .typeDirectory { continue }
                let size = (walker.fileAttributes?[.size] as? NSNumber)?.int64Value ?? 0
                if type != .typeRegular { fail("data/" + relative, "is not a regular file") }
                onDisk["data/" + relative] = size
            }
        } else {
            fail("data/", "missing: the bag has no payload folder")
        }
        var manifest: [String: String] = [:]
        if let text = read(Bag.manifestFile) {
            do {
                manifest = try Bag.parseManifest(String(decoding: text, as: UTF8.self), name: Bag.manifestFile)
            } catch {
                fail(Bag.manifestFile, "\(error)")
            }
        } else {
            fail(Bag.manifestFile, "missing")
        }
        for path in manifest.keys.sorted() where onDisk[path] == nil {
            fail(path, "listed in \(Bag.manifestFile) but missing from the package (removed?)")
        }
        for path in onDisk.keys.sorted() where manifest[path] == nil {
            fail(path, "in the package but not listed in \(Bag.manifestFile) (added?)")
        }
        let totalBytes = onDisk.values.reduce(0, +)
        if let oxum = infoMap["Payload-Oxum"] {
            if oxum == "\(totalBytes).\(onDisk.count)" {
                ok(Bag.infoFile, "Payload-Oxum \(oxum) matches the payload")
            } else {
                fail(Bag.infoFile, "Payload-Oxum says \(oxum), the payload is \(totalBytes) bytes in \(onDisk.count) files")
            }
        }
        var payloadFailures = 0
        if options.hashPayload {
            for (path, expected) in manifest.sorted(by: { $0.key < $1.key }) where onDisk[path] != nil {
                guard let actual = try? SHA256Hasher.file(folder + "/" + path) else {
                    fail(path, "cannot be read")
                    payloadFailures += 1
                    continue
                }
                if actual != expected {
                    fail(path, "SHA-256 is \(actual), the manifest says \(expected): the file was changed")
                    payloadFailures += 1
                }
            }
            if payloadFailures == 0, !manifest.isEmpty { ok(Bag.manifestFile, "all \(manifest.count) payload files have their SHA-256 (\(totalBytes) bytes)") }
        } else {
            report.notes.append("payload hashes not recomputed here (sizes and listing only)")
        }

        // 3. Tag manifest.
        let tagText = read(Bag.tagManifestFile)
        if let tagText {
            do {
                let tags = try Bag.parseManifest(String(decoding: tagText, as: UTF8.self), name: Bag.tagManifestFile)
                var tagFailures = 0
                for required in [Bag.declarationFile, Bag.infoFile, Bag.manifestFile] where tags[required] == nil {
                    fail(Bag.tagManifestFile, "does not list \(required)")
                    tagFailures += 1
                }
                for (path, expected) in tags.sorted(by: { $0.key < $1.key }) {
                    guard let bytes = read(path) else {
                        fail(path, "listed in \(Bag.tagManifestFile) but missing")
                        tagFailures += 1
                        continue
                    }
                    if Digest.sha256Hex(bytes) != expected {
                        fail(path, "SHA-256 differs from \(Bag.tagManifestFile): the file was changed after sealing")
                        tagFailures += 1
                    }
                }
                if tagFailures == 0 { ok(Bag.tagManifestFile, "\(tags.count) tag files have their SHA-256") }
            } catch {
                fail(Bag.tagManifestFile, "\(error)")
            }
        } else {
            fail(Bag.tagManifestFile, "missing")
        }

        // 4. The timestamp over the seal (first: it fixes the time the seal is judged at).
        if let response = read(Bag.timestampFile) {
            if options.tsaAnchors.isEmpty {
                fail(Bag.timestampFile, "present but not checked: give the TSA's CA certificate (--tsa-ca)")
            } else if let signature = read(Bag.signatureFile) {
                do {
                    let time = try StoredTimestamp.verify(response: Array(response), data: signature, trusting: options.tsaAnchors)
                    report.timestamp = time
                    ok(Bag.timestampFile, "RFC 3161 timestamp over the seal, \(ISO8601DateFormatter().string(from: time)), by a trusted TSA")
                } catch {
                    fail(Bag.timestampFile, "\(error)")
                }
            }
        } else {
            report.notes.append("no RFC 3161 timestamp in the package (no TSA was configured or reachable when it was sealed)")
        }

        // 5. The seal, judged at the time it was made: the timestamp's, else the sealing time bag-info
        //    states (signed through the tag manifest). A certificate that expired since does not undo a seal.
        let sealedAt = infoMap["Roomd-Sealed-At"].flatMap(Self.time)
        let judgedAt = report.timestamp ?? sealedAt ?? Date()
        if report.timestamp == nil, sealedAt != nil {
            report.notes.append("the seal's certificate was judged at the sealing time bag-info states (no checked timestamp)")
        }
        var sealKey: RoomVerificationKey?
        if read(Bag.signatureFile) != nil, options.anchors.isEmpty {
            fail(Bag.signatureFile, "no trust anchor given (--ca): whose seal this is cannot be established; give the room CA's certificate")
        } else if let signature = read(Bag.signatureFile), let tagText {
            let verifier: SignatureVerifier
            do {
                verifier = SignatureVerifier(trust: try TrustStore(anchors: options.anchors), revocation: RevocationPolicy(missingCRL: .accept))
            } catch {
                fail(Bag.signatureFile, "the trust anchors are unusable: \(error)")
                return report
            }
            switch verifier.verify(.cms(Array(signature)), over: Array(tagText), at: judgedAt) {
            case .success(let verified):
                report.signerFingerprint = verified.signerFingerprint
                sealKey = try? RoomVerificationKey(certificatePEM: Data(verified.certificate.pem()))
                ok(Bag.signatureFile, "seal by \(verified.certificate.subject) (certificate SHA-256 \(verified.signerFingerprint)) verifies over \(Bag.tagManifestFile) and chains to a trusted anchor")
            case .failure(let rejection):
                fail(Bag.signatureFile, "the seal does not verify: \(rejection)")
            }
        } else {
            fail(Bag.signatureFile, "missing: the package is not sealed")
        }

        // 6. The ledger: its export verifies with the seal's key, and every recording's hash is in a proven entry.
        let ledgerFolder = folder + "/data/ledger"
        if FileManager.default.fileExists(atPath: ledgerFolder + "/" + LedgerExportFile.checkpoint) {
            do {
                let ledger = try LedgerExportVerifier.verify(directory: URL(fileURLWithPath: ledgerFolder), trustedKey: sealKey)
                if ledger.isIntact {
                    ok("data/ledger/", "\(ledger.verifiedEntries) entries proven against the checkpoint of \(ledger.checkpoint.size) signed by the room key")
                } else {
                    for finding in ledger.findings { fail("data/ledger/", finding.description) }
                }
                // Hashes the ledger recorded for segments (segment.closed, or a repair's capture.error).
                var recorded = Set<String>()
                if let lines = read("data/ledger/" + LedgerExportFile.entries) {
                    for line in lines.split(separator: 0x0A) {
                        guard case .object(let entry)? = try? CanonicalJSON(parsing: Array(line)),
                              case .string(let kind)? = entry["kind"], kind == "segment.closed" || kind == "capture.error",
                              case .object(let payload)? = entry["payload"], case .object(let detail)? = payload["detail"],
                              case .string(let sha)? = detail["sha256"] else { continue }
                        recorded.insert(sha)
                    }
                }
                let recordings = manifest.filter { $0.key.hasPrefix("data/recordings/") && $0.key.hasSuffix(".mp4") }
                let unrecorded = recordings.filter { !recorded.contains($0.value) }.keys.sorted()
                for path in unrecorded { fail(path, "its SHA-256 is in no proven ledger entry: not a recording the room wrote") }
                if unrecorded.isEmpty, !recordings.isEmpty {
                    ok("data/recordings/", "all \(recordings.count) recordings' SHA-256 are in proven ledger entries")
                }
            } catch {
                fail("data/ledger/", "\(error)")
            }
        } else {
            fail("data/ledger/", "missing: the package has no ledger export")
        }

        // 7. An opening's own contents (docs/formats.md, "An opening's package").
        if infoMap["Roomd-Kind"] == "opening" {
            report.findings += OpeningPackageCheck.verify(folder: folder, info: infoMap)
        }
        return report
    }
}
