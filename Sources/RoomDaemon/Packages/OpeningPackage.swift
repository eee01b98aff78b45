import Archive
import Canonical
import Foundation
import Identity
import Opening
import ReportPDF
import Store

/// An opening (开标) sealed like a session (docs/formats.md, "Sealed packages", "An opening's
/// package"): the same bag, seal, timestamp, ledger export and recordings (``PackageSealer``'s
/// shared part), with the opening's own files under `data/opening/` and its suppliers'
/// signatures under `data/signatures/`. The package key is `opening:<id>` (``PackageKey``).
extension PackageSealer {
    /// Seals `opening` (idempotent). `force`: before it is concluded (the record so far).
    func seal(opening id: String, actor: String, force: Bool) async throws -> RoomStore.PackageRow {
        try await gate.run { try await sealOpeningAlone(id, actor: actor, force: force) }
    }

    private func sealOpeningAlone(_ id: String, actor: String, force: Bool) async throws -> RoomStore.PackageRow {
        let key = PackageKey.opening(id)
        if let existing = try await store.package(session: key) { return existing }
        guard let live = try? await openings.entry(id), let evidence = try await store.openingEvidence(opening: id) else {
            throw Refused(description: "no opening \(id) in this room, or it cannot be replayed / 没有该开标项目")
        }
        let state = live.session.state
        return try await sealBag(key: key, actor: actor, force: force, phase: state.phase.rawValue,
                                 notEnded: "opening \(id) is not concluded (phase \(state.phase.rawValue)); conclude it first, or seal with --force / 开标尚未结束",
                                 labels: [("Roomd-Opening", id), ("Roomd-Project", state.definition.project.number)],
                                 description: "roomd sealed opening package: opening \(id) of room \(config.room.id) / 开标封包") { bag in
            try await openingPayload(state: state, evidence: evidence, bag: bag)
        }
    }

    /// `data/opening/…` and `data/signatures/…` of an opening.
    private func openingPayload(state: OpeningState, evidence: OpeningEvidence, bag: BagWriter) async throws {
        // The definition as received, with the platform's signature when it was pushed.
        try await bag.put("data/opening/definition.json", Array(evidence.definition))
        if let signature = evidence.definitionSignature { try await bag.put("data/opening/definition.json.p7s", Array(signature)) }
        // Every event, accepted or recorded as a rejection, with its ledger entry's seq.
        var lines: [UInt8] = []
        for event in evidence.events {
            var line: [String: CanonicalJSON] = [
                "sequence": .integer(event.sequence), "at_ms": .integer(event.atMs), "actor": .string(event.actor),
                "command": .string(event.command), "event": try CanonicalJSON(parsing: Array(event.event)),
                "ledger_seq": .integer(event.ledgerSeq),
            ]
            if let rejection = event.rejection { line["rejection"] = .string(rejection) }
            lines += try bag.json(.object(line))
        }
        try await bag.put("data/opening/events.jsonl", lines)
        // The record (once decryption closed): JSON, the read-out's exact bytes, the PDF, and the evaluation's part.
        if let record = state.record() {
            try await bag.put("data/opening/record.json", Array(try CanonicalJSON.encode(record)) + [0x0A])
            let room = config.room.name
            let pdf = try await runBlocking {
                try ReportPDF.render(OpeningRecordComposer.compose(record: record, room: room),
                                     createdAt: OpeningRecordComposer.creationInstant(of: record))
            }
            try await bag.put("data/opening/record.pdf", pdf)
            if let evaluation = EvaluationOpening(record: record) {
                try await bag.put("data/opening/evaluation-opening.json", Array(try CanonicalJSON.encode(evaluation)) + [0x0A])
            }
        }
        if let readout = state.readout() {
            try await bag.put("data/opening/readout.json", try CanonicalJSON.canonicalBytes(encoding: readout))
        }
        // The sealed bids as the platform delivered them: ciphertext to the supplier's own key, a few KB each
        // (the route takes at most 4 MiB), and the proof of what was delivered when.
        var bids: [CanonicalJSON] = []
        for bid in evidence.sealedBids {
            let file = "data/opening/sealed-bids/\(Self.fileSafe(bid.supplier))-\(bid.sequence).p7e"
            try await bag.put(file, Array(bid.bytes))
            bids.append(.object(["supplier": .string(bid.supplier), "sequence": .integer(bid.sequence), "sha256": .string(bid.sha256),
                                 "bytes": .integer(Int64(bid.bytes.count)), "file": .string(file)]))
        }
        try await bag.put("data/opening/sealed-bids.json", try bag.json(.array(bids)))
        // The CAs roomd verified the suppliers' and the platform's signatures against.
        if let trust = openings.supplierTrust {
            try await bag.put("data/opening/trust/supplier-anchors.pem", try trust.anchors.flatMap { try $0.pem() })
            if !trust.intermediates.isEmpty {
                try await bag.put("data/opening/trust/supplier-intermediates.pem", try trust.intermediates.flatMap { try $0.pem() })
            }
        }
        if let trust = openings.platformTrust {
            try await bag.put("data/opening/trust/platform-anchors.pem", try trust.anchors.flatMap { try $0.pem() })
        }
        // Every supplier signature that made an event: the bytes signed, the signature, the certificate.
        for signed in evidence.signatures {
            let s = signed.signature
            let base = "data/signatures/\(signed.sequence)-\(s.purpose.rawValue)"
            let document: CanonicalJSON = .object([
                "sequence": .integer(signed.sequence), "purpose": .string(s.purpose.rawValue), "supplier": .string(s.supplier),
                "signer_certificate_sha256": .string(s.signerFingerprint), "format": .string("cms"),
                "signed_bytes": .string("\(signed.sequence)-\(s.purpose.rawValue).signed"),
                "signature": .string("\(signed.sequence)-\(s.purpose.rawValue).p7s"),
                "certificate": .string("\(signed.sequence)-\(s.purpose.rawValue).crt.pem"),
            ])
            try await bag.put(base + ".json", try bag.json(document))
            try await bag.put(base + ".signed", s.signedBytes)
            try await bag.put(base + ".p7s", s.signature)
            try await bag.put(base + ".crt.pem", Array(s.certificatePEM.utf8))
        }
    }
}
