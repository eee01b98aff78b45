// identity-bench: expert signature verification rates for scripts/bench-identity.
//
//   IdentityBench --pki DIR [--seconds S] [--message-bytes N]
//
// DIR is made by Tests/IdentityTests/Fixtures/make-test-pki.sh. Per algorithm,
// in one process, single-threaded (as `openssl speed` is):
//   cached  raw signature of an expert already checked in: the chain verdict is
//           cached, so the cost is the signature, the fingerprint and date checks
//   cold    first-time verification: chain building, CRL signature and lookup,
//           key checks and the signature (the cache is cleared before each call)
//   der     the same with the certificate as DER bytes, as the app sends it
//           (fingerprint of the bytes finds the known signer; no parsing)
//   parse   the same when the caller parses the certificate itself each time
//           (Certificate(der:): OpenSSL 3.0's d2i_X509 with its key decoder)
//   cms     a detached CMS signature, chain cached (parse + digest + signature)
// One JSON object per line.
import Foundation
import Identity

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count { return args[i + 1] }
    return fallback
}

let pkiDirectory = option("pki", "")
guard !pkiDirectory.isEmpty else {
    FileHandle.standardError.write(Data("usage: IdentityBench --pki DIR [--seconds S] [--message-bytes N]\n".utf8))
    exit(2)
}
let seconds = Double(option("seconds", "3")) ?? 3
let message = Array((0..<(Int(option("message-bytes", "256")) ?? 256)).map { UInt8(truncatingIfNeeded: $0 &* 31) })

func bytes(_ name: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: pkiDirectory + "/" + name) else {
        throw NSError(domain: "IdentityBench", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot read \(name)"])
    }
    return Array(data)
}

/// Calls `body` repeatedly for `seconds`; returns calls per second.
func rate(_ body: () -> Bool) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    let budget = Duration.milliseconds(Int(seconds * 1000))
    var count = 0
    var elapsed = Duration.zero
    while elapsed < budget {
        for _ in 0..<16 {
            guard body() else {
                FileHandle.standardError.write(Data("verification failed during the benchmark\n".utf8))
                exit(1)
            }
        }
        count += 16
        elapsed = clock.now - start
    }
    let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double(count) / total
}

let cases: [(SignatureAlgorithm, String)] = [
    (.rsaPKCS1SHA256, "rsa"), (.rsaPSSSHA256, "rsa"), (.ecdsaP256SHA256, "ec"), (.sm2SM3, "sm2"),
]
do {
    for (algorithm, folder) in cases {
        let key = try PrivateKey(pem: try bytes("\(folder)/leaf.key"))
        let leaf = try Certificate(pem: try bytes("\(folder)/leaf.crt"))
        let intermediate = try Certificate(pem: try bytes("\(folder)/int.crt"))
        // A current CRL of the intermediate, so the cold path includes a CRL check.
        let trust = try TrustStore(anchors: [try Certificate(pem: try bytes("\(folder)/root.crt"))],
                                   intermediates: [intermediate],
                                   crls: try CRL.all(pemOrDER: try bytes("\(folder)/int-empty.crl")))
        let verifier = SignatureVerifier(trust: trust)
        let now = Date()
        let raw = SubmittedSignature.raw(
            signature: try ExpertSigner.signRaw(message: message, key: key, algorithm: algorithm),
            certificate: leaf, algorithm: algorithm)
        let leafDER = try leaf.derBytes()
        let rawDER = SubmittedSignature.rawDER(signature: try ExpertSigner.signRaw(message: message, key: key, algorithm: algorithm),
                                               certificate: leafDER, algorithm: algorithm)
        let cms = SubmittedSignature.cms(try ExpertSigner.signCMS(
            content: message, key: key, certificate: leaf, algorithm: algorithm))
        func accepted(_ submitted: SubmittedSignature) -> Bool {
            if case .success = verifier.verify(submitted, over: message, at: now) { return true }
            return false
        }
        guard accepted(raw), accepted(cms) else {
            FileHandle.standardError.write(Data("\(algorithm.rawValue): the benchmark signatures do not verify\n".utf8))
            exit(1)
        }
        let cached = rate { accepted(raw) }
        let derCached = rate { accepted(rawDER) }
        let parsedEachTime = rate {
            guard let certificate = try? Certificate(der: leafDER), case .raw(let signature, _, _, _) = raw else { return false }
            return accepted(.raw(signature: signature, certificate: certificate, algorithm: algorithm))
        }
        let cmsCached = rate { accepted(cms) }
        let cold = rate {
            verifier.clearCache()
            return accepted(raw)
        }
        let line = """
            {"algorithm":"\(algorithm.rawValue)","message_bytes":\(message.count),"cached_per_second":\(Int(cached)),\
            "der_cached_per_second":\(Int(derCached)),"parse_cached_per_second":\(Int(parsedEachTime)),\
            "cold_per_second":\(Int(cold)),"cms_cached_per_second":\(Int(cmsCached))}
            """
        print(line)
    }
} catch {
    FileHandle.standardError.write(Data("IdentityBench: \(error)\n".utf8))
    exit(1)
}
