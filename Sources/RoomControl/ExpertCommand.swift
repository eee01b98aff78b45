import ArgumentParser
import Canonical
import Foundation
import Identity

/// `roomctl expert`: plays the expert's cloud-sign app for demos and tests, and
/// checks an expert signature offline against a trust-store folder.
struct ExpertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expert",
        abstract: "Expert cloud-certificate signatures (评审专家云签): make and check them offline.",
        subcommands: [Sign.self, Verify.self])

    enum Algorithm: String, ExpressibleByArgument, CaseIterable {
        case rsaPKCS1 = "rsa-pkcs1", rsaPSS = "rsa-pss", ecdsa, sm2

        var signatureAlgorithm: SignatureAlgorithm {
            switch self {
            case .rsaPKCS1: .rsaPKCS1SHA256
            case .rsaPSS: .rsaPSSSHA256
            case .ecdsa: .ecdsaP256SHA256
            case .sm2: .sm2SM3
            }
        }
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// The signature value alone (PKCS#1/PSS octets, DER ECDSA/SM2 value).
        case raw
        /// Detached CMS SignedData, DER.
        case cms
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return Array(data)
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a message or document as an expert's cloud-sign app would.",
            discussion: """
                roomctl expert sign --key expert.key --cert expert.crt --chain ca.crt \\
                    --algorithm sm2 --format cms --in report.pdf --out report.pdf.p7s
                Raw signatures sign the file's bytes themselves. CMS signatures are detached
                SignedData with contentType, messageDigest and signingTime; SM2 uses the
                GB/T 35275 OIDs unless --oids pkcs7.
                """)

        @Option(help: "The expert's private key (PEM: RSA, EC P-256 or SM2).")
        var key: String

        @Option(help: "The expert's certificate (PEM or DER).")
        var cert: String

        @Option(help: "Intermediate CA certificate(s) to include in a CMS signature (PEM bundle or DER). Repeatable.")
        var chain: [String] = []

        @Option(help: "Signature scheme: \(Algorithm.allCases.map(\.rawValue).joined(separator: "|")).")
        var algorithm: Algorithm

        @Option(help: "Output: raw (signature value) or cms (detached SignedData, DER).")
        var format: Format = .raw

        @Option(name: .customLong("in"), help: "The message or document to sign.")
        var input: String

        @Option(help: "Where to write the signature.")
        var out: String

        @Flag(help: "Write base64 text instead of binary.")
        var base64 = false

        @Option(help: "SM2 distinguishing ID.")
        var sm2Id = SM2.defaultID

        @Option(help: "CMS content-type OIDs: pkcs7 or gbt35275 (default: gbt35275 for SM2, pkcs7 otherwise).")
        var oids: String?

        func run() throws {
            let key = try PrivateKey(pem: try ExpertCommand.read(key))
            let certificate = try Certificate.all(pemOrDER: try ExpertCommand.read(cert))[0]
            let message = try ExpertCommand.read(input)
            let signature: [UInt8]
            switch format {
            case .raw:
                signature = try ExpertSigner.signRaw(message: message, key: key, algorithm: algorithm.signatureAlgorithm, sm2ID: sm2Id)
            case .cms:
                let types = try oids.map { name -> CMSContentTypes in
                    guard let types = CMSContentTypes(rawValue: name) else { throw ValidationError("--oids must be pkcs7 or gbt35275") }
                    return types
                }
                signature = try ExpertSigner.signCMS(
                    content: message, key: key, certificate: certificate,
                    chain: try chain.flatMap { try Certificate.all(pemOrDER: try ExpertCommand.read($0)) },
                    algorithm: algorithm.signatureAlgorithm, contentTypes: types, sm2ID: sm2Id)
            }
            let bytes = base64 ? Array((Data(signature).base64EncodedString() + "\n").utf8) : signature
            try Data(bytes).write(to: URL(fileURLWithPath: out))
            print("\(algorithm.signatureAlgorithm.rawValue) \(format.rawValue) signature, \(signature.count) bytes → \(out)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an expert signature against a trust-store folder (anchors/, intermediates/, crls/).",
            discussion: "Exit status 0: accepted; 1: rejected (the reason code and the operator's message are printed).")

        @Option(help: "Trust-store folder with anchors/ and optionally intermediates/ and crls/.")
        var trust: String

        @Option(help: "Signature file (raw value or CMS, binary or base64).")
        var signature: String

        @Option(help: "Signer certificate, for raw signatures.")
        var cert: String?

        @Option(name: .customLong("in"), help: "The signed message or document.")
        var input: String

        @Option(help: "SM2 distinguishing ID.")
        var sm2Id = SM2.defaultID

        @Option(help: "Verification time, ISO 8601 (default: now).")
        var at: String?

        func run() throws {
            var bytes = try ExpertCommand.read(signature)
            if let text = String(bytes: bytes, encoding: .utf8), !text.hasPrefix("-----"),
               let decoded = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                bytes = Array(decoded)
            }
            let submitted: SubmittedSignature
            if let cert {
                let certificates = try Certificate.all(pemOrDER: try ExpertCommand.read(cert))
                submitted = .raw(signature: bytes, certificate: certificates[0], intermediates: Array(certificates.dropFirst()))
            } else {
                submitted = .cms(bytes)
            }
            let time = try at.map { text -> Date in
                guard let time = CivilTime.parseRFC3339(text) else {
                    throw ValidationError("--at must be an RFC 3339 time, e.g. 2026-05-01T09:00:00Z or 2026-05-01T17:00:00+08:00")
                }
                return time.date
            } ?? Date()
            let verifier = SignatureVerifier(trust: try TrustStore.load(directory: trust), sm2ID: sm2Id)
            switch verifier.verify(submitted, over: try ExpertCommand.read(input), at: time) {
            case .success(let verified):
                let signer = verified.signer()
                print("OK \(verified.algorithm.rawValue) by \(signer.name ?? "?") (ID \(signer.idNumber.map(PersonalData.redacted) ?? "-")), sha256:\(verified.signerFingerprint)")
                print("chain: " + verified.chain.map(\.subject).joined(separator: " → "))
                if let signed = verified.signingTime { print("signingTime (claimed): \(signed)") }
            case .failure(let rejection):
                print("REJECTED \(rejection.code.rawValue): \(rejection.detail)")
                print(rejection.chineseMessage)
                throw ExitCode(1)
            }
        }
    }
}
