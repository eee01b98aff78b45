import Canonical
import Foundation
import Identity
import Opening

/// What ``PackageVerifier`` checks beyond the bag, seal and ledger in
/// an opening's package (bag-info `Roomd-Kind: opening`; docs/formats.md, "An opening's package"):
///
/// - the events replay under the opening's rules (`OpeningSession.replay`) over the definition as
///   received, and the platform's signature of that definition verifies;
/// - every event is the `opening.command` entry its `ledger_seq` names in the proven ledger export;
/// - `record.json`, `readout.json` and `evaluation-opening.json` are exactly what the replayed
///   events give;
/// - every sealed bid has the SHA-256 its `receiveSealedBid` event recorded;
/// - every supplier signature verifies over the stored bytes, by its certificate, chained to the
///   supplier CAs the room trusted (carried in the package, sealed with it), at the time of its
///   event; it is the signature the event holds, over the bytes the event means (the challenge of
///   this opening and room, the read-out, the objection's text); and every confirmation and
///   objection has its signature.
///
/// Each failure names its file. roomd's check before offering, `roomctl package verify` and the
/// platform simulator all run it.
enum OpeningPackageCheck {
    static func verify(folder: String, info: [String: String]) -> [PackageVerifier.Finding] {
        var findings: [PackageVerifier.Finding] = []
        func ok(_ file: String, _ what: String) { findings.append(.init(ok: true, file: file, what: what)) }
        func fail(_ file: String, _ what: String) { findings.append(.init(ok: false, file: file, what: what)) }
        func read(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: folder + "/" + path).map(Array.init) }
        func canonicalLine(_ value: some Encodable) -> [UInt8]? { (try? CanonicalJSON.canonicalBytes(encoding: value)).map { $0 + [0x0A] } }

        let base = "data/opening/"
        guard let definitionBytes = read(base + "definition.json") else {
            fail(base + "definition.json", "missing: an opening's package holds its definition")
            return findings
        }
        let definition: OpeningDefinition
        do {
            definition = try OpeningDefinition.decode(definitionBytes)
        } catch {
            fail(base + "definition.json", "not a valid opening definition: \(error.englishMessage)")
            return findings
        }

        // The events, replayed under the rules.
        struct Line { var sequence: Int; var atMs: Int64; var ledgerSeq: Int64; var event: OpeningEvent; var eventJSON: CanonicalJSON }
        var lines: [Line] = []
        for (number, raw) in (read(base + "events.jsonl") ?? []).split(separator: 0x0A).enumerated() {
            guard case .object(let fields)? = try? CanonicalJSON(parsing: Array(raw)), let eventJSON = fields["event"],
                  case .integer(let ledgerSeq)? = fields["ledger_seq"], case .integer(let atMs)? = fields["at_ms"],
                  let event = try? CanonicalJSON.decode(OpeningEvent.self, from: Data(try eventJSON.canonicalBytes())) else {
                fail(base + "events.jsonl", "line \(number + 1) is not an opening event")
                return findings
            }
            lines.append(Line(sequence: event.sequence, atMs: atMs, ledgerSeq: ledgerSeq, event: event, eventJSON: eventJSON))
        }
        let session: OpeningSession
        do {
            session = try OpeningSession.replay(definition: definition, events: lines.map(\.event))
            ok(base + "events.jsonl", "\(lines.count) events replay under the opening's rules (phase \(session.state.phase.rawValue))")
        } catch {
            fail(base + "events.jsonl", "the events do not replay: \(error.englishMessage)")
            return findings
        }
        let firstEvent = Date(timeIntervalSince1970: TimeInterval(lines.first?.atMs ?? 0) / 1000)

        // The platform's signature of the definition, against the platform CAs the room trusted.
        if let signature = read(base + "definition.json.p7s") {
            switch verifier(read(base + "trust/platform-anchors.pem"), nil)?.verify(.cms(signature), over: definitionBytes, at: firstEvent) {
            case .success(let verified)?: ok(base + "definition.json.p7s", "the platform's signature by \(verified.certificate.subject) verifies")
            case .failure(let rejection)?: fail(base + "definition.json.p7s", "the platform's signature does not verify: \(rejection)")
            case nil: fail(base + "trust/platform-anchors.pem", "missing or unreadable: the definition's signature cannot be checked")
            }
        }

        // Every event is its ledger entry (the ledger export itself is proven by PackageVerifier).
        var ledger: [Int64: CanonicalJSON] = [:]
        var withheld = Set<Int64>()
        for raw in (read("data/ledger/entries.jsonl") ?? []).split(separator: 0x0A) {
            guard case .object(let entry)? = try? CanonicalJSON(parsing: Array(raw)), case .integer(let seq)? = entry["seq"] else { continue }
            if entry["withheld"] != nil { withheld.insert(seq) } else { ledger[seq] = .object(entry) }
        }
        var unledgered: [Int] = []
        for line in lines where !withheld.contains(line.ledgerSeq) {
            guard case .object(let entry)? = ledger[line.ledgerSeq], entry["kind"] == .string("opening.command"),
                  case .object(let payload)? = entry["payload"], payload["event"] == line.eventJSON,
                  payload["sequence"] == .integer(Int64(line.sequence)) else {
                unledgered.append(line.sequence)
                continue
            }
        }
        if unledgered.isEmpty {
            ok(base + "events.jsonl", "every event is the opening.command entry its ledger_seq names in data/ledger")
        } else {
            fail(base + "events.jsonl", "event(s) \(unledgered.map(String.init).joined(separator: ", ")) are not in the ledger as stored: edited, or not the room's")
        }

        // Record, read-out and the evaluation's part: exactly what the events give.
        let record = session.state.record()
        for (file, expected) in [("record.json", record.flatMap { canonicalLine($0) }),
                                 ("readout.json", session.state.readout().flatMap { try? CanonicalJSON.canonicalBytes(encoding: $0) }),
                                 ("evaluation-opening.json", record.flatMap(EvaluationOpening.init(record:)).flatMap { canonicalLine($0) })] {
            let stored = read(base + file)
            switch (stored, expected) {
            case (nil, nil): continue
            case (let stored?, let expected?) where stored == expected: ok(base + file, "exactly what the replayed events give")
            case (nil, _?): fail(base + file, "missing, though the events give it")
            case (_?, nil): fail(base + file, "present, though the events give no such record")
            default: fail(base + file, "differs from what the replayed events give")
            }
        }

        // Sealed bids: each file's SHA-256 is the one its receiveSealedBid event recorded.
        let received = Dictionary(lines.compactMap { line -> (Int, String)? in
            if case .receiveSealedBid(_, let sha) = line.event.command { return (line.sequence, sha) }
            return nil
        }, uniquingKeysWith: { a, _ in a })
        var bidCount = 0
        if case .array(let bids)? = read(base + "sealed-bids.json").flatMap({ try? CanonicalJSON(parsing: $0) }) {
            for case .object(let bid) in bids {
                guard case .string(let file)? = bid["file"], case .integer(let sequence)? = bid["sequence"] else { continue }
                bidCount += 1
                guard let bytes = read(file) else { fail(file, "listed in sealed-bids.json but missing"); continue }
                if received[Int(sequence)] != Digest.sha256Hex(bytes) {
                    fail(file, "its SHA-256 is not the one event \(sequence) recorded on receipt")
                }
            }
        }
        if bidCount != received.count {
            fail(base + "sealed-bids.json", "lists \(bidCount) sealed bids, the events received \(received.count)")
        } else if !findings.contains(where: { !$0.ok && $0.file.hasPrefix(base + "sealed-bids") }) {
            ok(base + "sealed-bids/", "\(bidCount) sealed bids have the SHA-256 recorded when they arrived")
        }

        // Supplier signatures.
        let suppliers = verifier(read(base + "trust/supplier-anchors.pem"), read(base + "trust/supplier-intermediates.pem"))
        let byEvent = Dictionary(lines.map { ($0.sequence, $0) }, uniquingKeysWith: { a, _ in a })
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/data/signatures")) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        var signedEvents = Set<Int>()
        var verifiedCount = 0
        for name in names {
            let file = "data/signatures/" + name
            guard case .object(let doc)? = read(file).flatMap({ try? CanonicalJSON(parsing: $0) }),
                  case .integer(let sequence)? = doc["sequence"], case .string(let purpose)? = doc["purpose"],
                  case .string(let signedName)? = doc["signed_bytes"], case .string(let signatureName)? = doc["signature"],
                  case .string(let fingerprint)? = doc["signer_certificate_sha256"] else {
                fail(file, "not a signature record")
                continue
            }
            let signedFile = "data/signatures/" + signedName, signatureFile = "data/signatures/" + signatureName
            guard let signed = read(signedFile), let signature = read(signatureFile) else {
                fail(file, "its signed bytes or signature file is missing")
                continue
            }
            guard let line = byEvent[Int(sequence)] else {
                fail(file, "names event \(sequence), which the opening does not have")
                continue
            }
            signedEvents.insert(Int(sequence))
            // What the event says was signed, and with which signature.
            var meaning: String?
            switch (purpose, line.event.command) {
            case ("sign-in", .signIn(_, _, let certificate)):
                if certificate != fingerprint { meaning = "the sign-in event names certificate \(certificate), the signature is by \(fingerprint)" }
                if case .object(let challenge)? = try? CanonicalJSON(parsing: signed),
                   challenge["format"] == .string("roomd-opening-sign-in/1"), challenge["opening"] == info["Roomd-Opening"].map(CanonicalJSON.string),
                   challenge["room"] == info["Roomd-Room"].map(CanonicalJSON.string) {
                } else {
                    meaning = "the signed bytes are not a sign-in challenge of this opening and room"
                }
            case ("confirmation", .confirmRecord(_, let base64)):
                if Data(base64Encoded: base64).map(Array.init) != signature { meaning = "the signature is not the one event \(sequence) holds" }
                if signed != read(base + "readout.json") { meaning = "the signed bytes are not the read-out (data/opening/readout.json)" }
            case ("objection", .raiseObjection(_, let text, let base64)):
                if Data(base64Encoded: base64).map(Array.init) != signature { meaning = "the signature is not the one event \(sequence) holds" }
                if signed != Array(text.utf8) { meaning = "the signed bytes are not the objection's text" }
            default:
                meaning = "event \(sequence) is not a \(purpose)"
            }
            if let meaning {
                fail(signedFile, meaning)
                continue
            }
            guard let suppliers else {
                fail(base + "trust/supplier-anchors.pem", "missing or unreadable: supplier signatures cannot be checked")
                break
            }
            switch suppliers.verify(.cms(signature), over: signed, at: Date(timeIntervalSince1970: TimeInterval(line.atMs) / 1000)) {
            case .success(let verified) where verified.signerFingerprint == fingerprint:
                verifiedCount += 1
            case .success(let verified):
                fail(signatureFile, "verifies, but by certificate \(verified.signerFingerprint), not \(fingerprint)")
            case .failure(let rejection):
                fail(signatureFile, "does not verify over \(signedName): \(rejection)")
            }
        }
        let needing = lines.filter {
            switch $0.event.command {
            case .confirmRecord, .raiseObjection: true
            default: false
            }
        }.map(\.sequence).filter { !signedEvents.contains($0) }
        if !needing.isEmpty {
            fail("data/signatures/", "no signature for the confirmation/objection event(s) \(needing.map(String.init).joined(separator: ", "))")
        }
        if verifiedCount > 0, verifiedCount == names.count {
            ok("data/signatures/", "all \(verifiedCount) supplier signatures verify over their stored bytes, chained to the supplier CAs the room trusted")
        }
        return findings
    }

    /// A verifier over the PEM anchors (and intermediates) the package carries; nil without anchors.
    static func verifier(_ anchors: [UInt8]?, _ intermediates: [UInt8]?) -> SignatureVerifier? {
        guard let anchors, let roots = try? Certificate.all(pemOrDER: anchors), !roots.isEmpty,
              let trust = try? TrustStore(anchors: roots, intermediates: (intermediates.flatMap { try? Certificate.all(pemOrDER: $0) }) ?? [])
        else { return nil }
        return SignatureVerifier(trust: trust, revocation: RevocationPolicy(missingCRL: .accept))
    }
}
