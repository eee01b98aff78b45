import Canonical
public import Foundation
import Identity

/// Checks a complaint dossier (docs/formats.md, "Complaint dossier") with
/// nothing but its files: no roomd, no database. Every finding names the
/// file it is about, so "what fails" is a list a person can act on.
public enum DossierVerifier {
    public struct Finding: Sendable, CustomStringConvertible {
        public var ok: Bool
        public var file: String
        public var what: String
        public var description: String { (ok ? "OK    " : "FAIL  ") + "\(file): \(what)" }
    }

    public struct Report: Sendable {
        public var findings: [Finding] = []
        public var roomKeyFingerprint: String?
        public var framesChecked: Bool = false
        public var passed: Bool { !findings.isEmpty && findings.allSatisfy(\.ok) }
        public var failures: [Finding] { findings.filter { !$0.ok } }
    }

    /// `framesOf`: the packet hashes (in order) of a file's video stream, when
    /// a tool for that is at hand (roomctl uses ffmpeg's framemd5); nil skips
    /// the frame check and says so.
    public static func verify(directory: String, pinnedRoomKey: Data? = nil,
                              framesOf: ((String) throws -> [String])? = nil) -> Report {
        var report = Report()
        func ok(_ file: String, _ what: String) { report.findings.append(Finding(ok: true, file: file, what: what)) }
        func fail(_ file: String, _ what: String) { report.findings.append(Finding(ok: false, file: file, what: what)) }
        func path(_ name: String) -> String { directory + "/" + name }
        func read(_ name: String) -> Data? { FileManager.default.contents(atPath: path(name)) }

        // 1. The index.
        guard let indexBytes = read("dossier.json"), case .object(let index)? = try? CanonicalJSON(parsing: Array(indexBytes)) else {
            fail("dossier.json", "missing or not JSON: this is not a roomd dossier")
            return report
        }
        let indexSHA = Digest.sha256Hex(indexBytes)

        // 2. The checkpoint and the key that signed it.
        guard let certificate = read("ledger/room-certificate.pem"), let key = try? RoomVerificationKey(certificatePEM: certificate) else {
            fail("ledger/room-certificate.pem", "missing or not a certificate with an ECDSA P-256 or SM2 key")
            return report
        }
        report.roomKeyFingerprint = Digest.sha256Hex(key.subjectPublicKeyInfo)
        if let pinned = pinnedRoomKey, pinned != key.subjectPublicKeyInfo {
            fail("ledger/room-certificate.pem", "its key is not the room key you gave (--room-key)")
        }
        guard let checkpointText = read("ledger/checkpoint.txt").map({ String(decoding: $0, as: UTF8.self) }),
              let checkpoint = try? SignedCheckpoint(parsing: checkpointText) else {
            fail("ledger/checkpoint.txt", "missing or not a signed checkpoint note")
            return report
        }
        if checkpoint.isSigned(by: key) {
            ok("ledger/checkpoint.txt", "signed by the room key (SHA-256 of its SubjectPublicKeyInfo \(report.roomKeyFingerprint!)); tree of \(checkpoint.size) entries")
        } else {
            fail("ledger/checkpoint.txt", "the signature does not verify with the key of ledger/room-certificate.pem")
            return report
        }

        // 3. Every proof: its entry hashes to its leaf, and the leaf is in the checkpoint's tree.
        var entries: [Int: [String: CanonicalJSON]] = [:]
        let proofNames = ((try? FileManager.default.contentsOfDirectory(atPath: path("ledger/proofs"))) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        for name in proofNames {
            let file = "ledger/proofs/" + name
            guard let bytes = read(file), case .object(let proof)? = try? CanonicalJSON(parsing: Array(bytes)),
                  case .integer(let index)? = proof["leaf_index"], case .integer(let size)? = proof["tree_size"],
                  case .string(let leafText)? = proof["leaf_hash"], let leaf = MerkleHash(base64: leafText),
                  case .array(let pathItems)? = proof["path"], case .string(let entryText)? = proof["entry"] else {
                fail(file, "not an inclusion proof with its entry")
                continue
            }
            let path = pathItems.compactMap { item -> MerkleHash? in if case .string(let t) = item { return MerkleHash(base64: t) }; return nil }
            guard MerkleHash.leaf(Array(entryText.utf8)) == leaf else {
                fail(file, "the entry does not hash to the proof's leaf (the entry was changed)")
                continue
            }
            guard Int(size) == checkpoint.size, path.count == pathItems.count,
                  RFC9162.verifyInclusion(leafHash: leaf, index: Int(index), size: Int(size), path: path, root: checkpoint.root) else {
                fail(file, "the inclusion proof does not lead to the checkpoint's root")
                continue
            }
            guard case .object(let entry)? = try? CanonicalJSON(parsing: entryText) else {
                fail(file, "the entry is not JSON")
                continue
            }
            entries[Int(index)] = entry
        }
        if !proofNames.isEmpty { ok("ledger/proofs/", "\(entries.count) of \(proofNames.count) entries proven against the checkpoint") }
        /// An event entry's `payload.detail`.
        func entryDetail(_ entry: [String: CanonicalJSON]) -> [String: CanonicalJSON]? {
            guard case .object(let payload)? = entry["payload"], case .object(let detail)? = payload["detail"] else { return nil }
            return detail
        }
        func detail(_ seq: Int?) -> [String: CanonicalJSON]? { seq.flatMap { entries[$0] }.flatMap(entryDetail) }
        func string(_ value: CanonicalJSON?) -> String? { if case .string(let s)? = value { return s }; return nil }
        func integer(_ value: CanonicalJSON?) -> Int? { if case .integer(let i)? = value { return Int(i) }; return nil }

        // 4. The index itself is the one the room recorded.
        let dossierID = string(index["dossier"]) ?? ""
        let recordedIndex = entries.values.contains { entry in
            guard string(entry["kind"]) == "recording.dossier", let d = entryDetail(entry) else { return false }
            return string(d["dossier"]) == dossierID && string(d["dossier_sha256"]) == indexSHA
        }
        if recordedIndex {
            ok("dossier.json", "its SHA-256 is the one the ledger recorded for dossier \(dossierID)")
        } else {
            fail("dossier.json", "no proven ledger entry records this index (SHA-256 \(indexSHA)): it was changed or is not from this room")
        }

        // 5. Every listed file has its hash.
        var hashes: [String: String] = [:]
        if case .array(let files)? = index["files"] {
            for case .object(let file) in files {
                guard let name = string(file["path"]), let sha = string(file["sha256"]) else { continue }
                hashes[name] = sha
                guard !name.hasPrefix("/"), !name.split(separator: "/").contains(".."), let actual = try? SHA256Hasher.file(path(name)) else {
                    fail(name, "missing")
                    continue
                }
                if actual == sha { ok(name, "SHA-256 matches") } else { fail(name, "SHA-256 is \(actual), the dossier says \(sha): the file was changed") }
            }
        }

        // 6. Per device: segments against their ledger entries, clips against their manifests.
        if case .array(let devices)? = index["devices"] {
            for case .object(let device) in devices {
                let deviceName = string(device["device"]) ?? "?"
                var sourceFiles: [String] = []
                if case .array(let segments)? = device["segments"] {
                    for case .object(let segment) in segments {
                        guard let file = string(segment["file"]), let sha = string(segment["sha256"]), let id = integer(segment["segment"]) else { continue }
                        sourceFiles.append(file)
                        guard let recorded = detail(integer(segment["entry"])) else {
                            fail(file, "no proven ledger entry carries segment \(id)'s hash")
                            continue
                        }
                        let entryID = string(recorded["id"]) ?? string(recorded["segment"])
                        if entryID == String(id), string(recorded["sha256"]) == sha, hashes[file] == sha {
                            ok(file, "segment \(id): the hash the ledger recorded when it was written")
                        } else {
                            fail(file, "segment \(id): the ledger recorded \(string(recorded["sha256"]) ?? "no hash") for it")
                        }
                    }
                }
                guard let clip = string(device["clip"]) else { continue }
                let manifestFile = string(device["manifest"]) ?? ""
                guard let manifestBytes = read(manifestFile), case .object(let manifest)? = try? CanonicalJSON(parsing: Array(manifestBytes)) else {
                    fail(manifestFile, "the manifest of \(clip) is missing")
                    continue
                }
                let recorded = detail(integer(device["export_entry"]))
                if let recorded, string(recorded["manifest"]) == String(decoding: manifestBytes, as: UTF8.self) {
                    ok(manifestFile, "the manifest the ledger recorded for export \(string(recorded["export"]) ?? "?")")
                } else {
                    fail(manifestFile, "no proven ledger entry records this manifest: it was changed or is not from this room")
                }
                if case .object(let clipDoc)? = manifest["clip"], let sha = string(clipDoc["sha256"]), hashes[clip] == sha {
                    ok(clip, "the clip its manifest names (SHA-256 \(sha))")
                } else {
                    fail(clip, "its SHA-256 is not the one in its manifest")
                }
                if case .array(let sources)? = manifest["sources"] {
                    let listed = Set(sources.compactMap { if case .object(let s) = $0 { return string(s["sha256"]) }; return nil })
                    let here = Set(sourceFiles.compactMap { hashes[$0] })
                    if listed == here { ok(manifestFile, "its \(listed.count) source segment(s) are the dossier's") }
                    else { fail(manifestFile, "its source segments are not the ones in the dossier") }
                }
                // 7. The clip's frames are the segments' frames, byte for byte.
                if let framesOf {
                    do {
                        let clipFrames = try framesOf(path(clip))
                        var sourceFrames: [String] = []
                        for file in sourceFiles { sourceFrames += try framesOf(path(file)) }
                        report.framesChecked = true
                        if !clipFrames.isEmpty, let start = sourceFrames.firstIndex(of: clipFrames[0]),
                           sourceFrames.count - start >= clipFrames.count,
                           Array(sourceFrames[start..<(start + clipFrames.count)]) == clipFrames {
                            ok(clip, "\(deviceName): its \(clipFrames.count) video frames are the segments' frames, byte for byte, in order")
                        } else {
                            fail(clip, "its frames are not a run of the segments' frames")
                        }
                    } catch {
                        fail(clip, "frames could not be read: \(error)")
                    }
                }
            }
        }

        // 8. Session events: each line is the event its proven entry carries.
        if let lines = read("session/events.jsonl") {
            var count = 0, bad = 0
            for line in lines.split(separator: 0x0A) {
                guard case .object(let event)? = try? CanonicalJSON(parsing: Array(line)), let seq = integer(event["ledger_seq"]),
                      let entry = entries[seq], case .object(let payload)? = entry["payload"],
                      payload["event"] == event["event"], payload["sequence"] == event["sequence"] else {
                    bad += 1
                    continue
                }
                count += 1
            }
            if bad == 0 { ok("session/events.jsonl", "\(count) session event(s), each proven in the ledger") }
            else { fail("session/events.jsonl", "\(bad) line(s) are not the events their ledger entries carry") }
        }
        return report
    }
}
