import Archive
import Foundation
import Identity
import Testing

/// The offline package verifier on packages made here (`PackageSample`): the
/// tar layout reads back, and a seal is judged at the time it was made — a
/// room certificate that has expired since does not undo an archived package.
struct PackageVerifierTests {
    struct Room {
        let ca: Certificate
        let caKey: PrivateKey
        let key: PrivateKey

        init() throws {
            caKey = try PrivateKey.generateP256()
            ca = try CertificateIssuer.issue(CertificateRequest(subject: [("CN", "test room CA")], validity: 3650 * 86_400, isCA: true),
                                             publicKeyOf: caKey, now: Date().addingTimeInterval(-30 * 86_400))
            key = try PrivateKey.generateP256()
        }

        /// A seal certificate valid from `from` for `days`.
        func seal(from: Date, days: Double) throws -> Certificate {
            var request = CertificateRequest(subject: [("CN", "room seal")], validity: days * 86_400,
                                             keyUsage: "critical,digitalSignature,nonRepudiation")
            request.emailProtection = true
            return try CertificateIssuer.issue(request, publicKeyOf: key, issuer: (ca, caKey), now: from)
        }
    }

    func folder() -> String { NSTemporaryDirectory() + "package-\(UUID().uuidString)" }

    @Test func aSealIsJudgedAtTheTimeItWasMade() throws {
        let room = try Room()
        // Valid for five days, twenty days ago; the package was sealed within them.
        let certificate = try room.seal(from: Date().addingTimeInterval(-20 * 86_400), days: 5)
        let bag = folder()
        defer { try? FileManager.default.removeItem(atPath: bag) }
        try PackageSample.make(folder: bag, room: "R1", session: "S1", payload: [("a.bin", Array("evidence".utf8))],
                               key: room.key, certificate: certificate, now: Date().addingTimeInterval(-18 * 86_400))
        let report = PackageVerifier.verify(folder: bag, options: .init(anchors: [room.ca]))
        #expect(report.passed, "\(report.failures)")
        #expect(report.notes.contains { $0.contains("judged at the sealing time") })

        // A seal made after the certificate expired is refused.
        let late = folder()
        defer { try? FileManager.default.removeItem(atPath: late) }
        try PackageSample.make(folder: late, room: "R1", session: "S2", payload: [("a.bin", Array("evidence".utf8))],
                               key: room.key, certificate: certificate, now: Date().addingTimeInterval(-2 * 86_400))
        let refused = PackageVerifier.verify(folder: late, options: .init(anchors: [room.ca]))
        #expect(!refused.passed)
        #expect(refused.failures.contains { $0.file == Bag.signatureFile }, "\(refused.failures)")
    }

    @Test func theTarReadsBackByteForByteFromAnyOffset() throws {
        let room = try Room()
        let certificate = try room.seal(from: Date().addingTimeInterval(-86_400), days: 30)
        let bag = folder()
        defer { try? FileManager.default.removeItem(atPath: bag) }
        // A long UTF-8 name needs a pax header; a payload that is not a multiple of 512 needs padding.
        let long = "录像/" + String(repeating: "很长的文件名", count: 12) + ".bin"
        try PackageSample.make(folder: bag, room: "R1", session: "S1",
                               payload: [(long, (0..<70_001).map { UInt8($0 % 251) }), ("b.bin", [1, 2, 3])],
                               key: room.key, certificate: certificate)
        let tar = try PackageTar(folder: bag, name: "R1_S1", mtime: 1_700_000_000)
        let whole = try tar.read(offset: 0, count: Int(tar.size))
        #expect(whole.count == Int(tar.size) && tar.size % 512 == 0)
        for offset in [0, 1, 511, 512, 4_097, Int(tar.size) - 1_025] {
            let piece = try tar.read(offset: Int64(offset), count: 3_000)
            #expect(Array(whole[offset..<min(whole.count, offset + 3_000)]) == piece, "offset \(offset)")
        }
        // GNU-compatible: our own reader gets every file back, the tag files first.
        let file = folder() + ".tar"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(whole).write(to: URL(fileURLWithPath: file))
        let out = folder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let names = try Tar.extract(archive: file, into: out)
        #expect(names.first == "R1_S1/bagit.txt" && names.contains("R1_S1/data/" + long))
        #expect(PackageVerifier.verify(folder: out + "/R1_S1", options: .init(anchors: [room.ca])).passed)
    }
}
