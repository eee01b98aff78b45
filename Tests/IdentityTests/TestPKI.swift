import Foundation
import Testing

@testable import Identity

/// Runs /usr/bin/openssl (the independent judge of the Identity tests);
/// returns the exit status and stdout+stderr.
@discardableResult
func openssl(_ arguments: [String], stdin: [UInt8]? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
    try input.fileHandleForWriting.close()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The test PKI of Fixtures/make-test-pki.sh, built once per test run into a
/// temporary folder (RSA, ECDSA and SM2 chains and the special leaves).
struct TestPKI: Sendable {
    let directory: String

    /// Built on first use; every test of the run shares it.
    static let shared: Result<TestPKI, TestPKIError> = {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/make-test-pki.sh").path
        let directory = NSTemporaryDirectory() + "roomd-test-pki-\(getpid())-\(UUID().uuidString.prefix(8))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, directory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return .failure(TestPKIError(description: "cannot run \(script): \(error)")) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(TestPKIError(description: "\(script) failed (\(process.terminationStatus)): \(output)"))
        }
        return .success(TestPKI(directory: directory))
    }()

    static func get() throws -> TestPKI { try shared.get() }

    func path(_ name: String) -> String { directory + "/" + name }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// "rsa/leaf" → rsa/leaf.crt
    func certificate(_ name: String) throws -> Certificate { try Certificate(pem: bytes(name + ".crt")) }
    func key(_ name: String) throws -> PrivateKey { try PrivateKey(pem: bytes(name + ".key")) }
    func crl(_ file: String) throws -> [CRL] { try CRL.all(pemOrDER: bytes(file)) }

    /// Root of `algorithm` as anchor, its intermediate in the store, and the named CRL files.
    func trust(_ algorithm: String, crls: [String] = []) throws -> TrustStore {
        try TrustStore(anchors: [certificate("\(algorithm)/root")],
                       intermediates: [certificate("\(algorithm)/int")],
                       crls: crls.flatMap { try crl($0) })
    }
}

struct TestPKIError: Error, CustomStringConvertible, Sendable {
    let description: String
}

extension Result where Success == VerifiedSignature, Failure == SignatureRejection {
    /// The rejection code, or nil when accepted (for #expect comparisons).
    var rejectionCode: SignatureRejectionCode? {
        if case .failure(let rejection) = self { return rejection.code }
        return nil
    }

    var accepted: VerifiedSignature? { try? get() }
}
