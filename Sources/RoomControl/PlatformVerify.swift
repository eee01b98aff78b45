import Archive
import Foundation
import Identity

/// Why a received package is refused.
struct PackageRefused: Error, CustomStringConvertible {
    var description: String
}

/// Whom a received package's seal and timestamp must chain to: the room
/// CA(s) and, when given, the TSA's CA.
struct PackageTrust: Sendable {
    var anchors: [Certificate]
    var tsaAnchors: [Certificate]

    init(anchorFiles: [String], tsaFiles: [String]) throws {
        anchors = try anchorFiles.flatMap { try Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: $0)))) }
        tsaAnchors = try tsaFiles.flatMap { try Certificate.all(pem: Array(try Data(contentsOf: URL(fileURLWithPath: $0)))) }
    }
}

/// Checks an unpacked package (the folder a received tar was extracted into,
/// or the bag folder itself) with ``PackageVerifier`` — bag, every hash, the
/// seal and its chain, the timestamp, the ledger proofs — and returns a
/// one-line summary; throws ``PackageRefused`` naming what failed. Blocking.
func verifyReceivedPackage(folder: String, trust: PackageTrust) throws -> String {
    let fm = FileManager.default
    // The tar holds the bag in one top-level folder (<room>_<session>/).
    var bag = folder
    if !fm.fileExists(atPath: bag + "/bagit.txt"),
       let entries = try? fm.contentsOfDirectory(atPath: folder), entries.count == 1 {
        bag = folder + "/" + entries[0]
    }
    let report = PackageVerifier.verify(folder: bag, options: .init(anchors: trust.anchors, tsaAnchors: trust.tsaAnchors))
    guard report.passed else {
        throw PackageRefused(description: report.failures.prefix(5).map(\.description).joined(separator: "; "))
    }
    return "package verified: \(report.findings.count) checks passed" + (report.timestamp != nil ? ", timestamp checked" : "")
}

/// Extracts `path` (a received tar) into `scratch` with the room's own tar
/// reader and verifies what it holds. Blocking.
func verifyPackageTar(path: String, scratch: String, trust: PackageTrust) throws -> String {
    try? FileManager.default.removeItem(atPath: scratch)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    do {
        try Tar.extract(archive: path, into: scratch)
    } catch {
        throw PackageRefused(description: "the tar cannot be read: \(error)")
    }
    return try verifyReceivedPackage(folder: scratch, trust: trust)
}
