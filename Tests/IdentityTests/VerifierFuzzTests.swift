import Foundation
import Identity
import Testing

/// Mutated signatures and certificates, seeded and bounded: the verifier
/// answers every one with a verdict — a refusal with its code, or (when the
/// mutation missed everything signed) the original signer — and never traps,
/// hangs or accepts someone else.
struct VerifierFuzzTests {
    static let iterations = 1500

    /// Byte-level mutations of DER: flips, overwrites, cuts, insertions, and
    /// lengths made huge or zero (where parsers go wrong).
    static func mutate(_ input: [UInt8], _ random: inout FuzzGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &random)))
            case 3: bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
            case 4: bytes = Array(bytes.prefix(at))
            case 5: bytes[at] = [0x80, 0x81, 0x82, 0x84, 0xFF, 0x00, 0x7F][Int.random(in: 0..<7, using: &random)]  // a length byte
            case 6: bytes.insert(contentsOf: [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], at: at)
            default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 32)], at: at)
            }
        }
        return bytes
    }

    @Test(arguments: ["ec", "rsa", "sm2"])
    func mutatedCMSAndCertificatesGetAVerdictAndNeverAnotherSigner(_ folder: String) throws {
        let pki = try TestPKI.get()
        let document = Array("评标报告 2026-12-04".utf8)
        let algorithm: SignatureAlgorithm = folder == "ec" ? .ecdsaP256SHA256 : folder == "sm2" ? .sm2SM3 : .rsaPSSSHA256
        let leaf = try pki.certificate("\(folder)/leaf")
        let signature = try ExpertSigner.signCMS(content: document, key: try pki.key("\(folder)/leaf"), certificate: leaf,
                                                 chain: [try pki.certificate("\(folder)/int")], algorithm: algorithm)
        let verifier = SignatureVerifier(trust: try pki.trust(folder))
        let signer = try leaf.sha256Fingerprint()
        #expect(verifier.verify(.cms(signature), over: document, at: Date()).accepted != nil)
        let leafDER = try leaf.derBytes()
        let raw = try ExpertSigner.signRaw(message: document, key: try pki.key("\(folder)/leaf"), algorithm: algorithm)

        var random = FuzzGenerator(seed: 0x5EED_0000 + UInt64(folder.utf8.reduce(0) { $0 &+ UInt32($1) }))
        let start = Date()
        var refused = 0
        for _ in 0..<Self.iterations {
            let mutated = Self.mutate(signature, &random)
            switch verifier.verify(.cms(mutated), over: document, at: Date()) {
            case .success(let verified): #expect(verified.signerFingerprint == signer)
            case .failure(let rejection):
                refused += 1
                #expect(!rejection.detail.isEmpty && !rejection.chineseMessage.isEmpty)
            }
            // A raw signature with a mutated certificate: unreadable, or refused,
            // or — when the mutation only touched bytes after the certificate,
            // which DER parsing ignores — still exactly that certificate.
            let certificateBytes = Self.mutate(leafDER, &random)
            if let certificate = try? Certificate(der: certificateBytes) {
                if case .success(let verified) = verifier.verify(.raw(signature: raw, certificate: certificate, intermediates: [], algorithm: algorithm),
                                                                 over: document, at: Date()) {
                    #expect(verified.signerFingerprint == signer && (try? certificate.derBytes()) == leafDER)
                }
            }
        }
        #expect(refused > Self.iterations / 2)
        #expect(Date().timeIntervalSince(start) < 120, "\(Self.iterations) verifications took \(Date().timeIntervalSince(start)) s")
    }
}

/// SplitMix64: the same sequence for the same seed on every run.
struct FuzzGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
