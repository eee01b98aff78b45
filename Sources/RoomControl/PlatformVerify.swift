import Archive
import Foundation
import Identity

/// Why a received package is refused.
struct PackageRefused: Error, CustomStringConvertible {
    var description: String
}

/// Checks an unpacked package (the folder a received tar was extracted into,
/// or the bag folder itself) and returns a one-line summary of what was
/// checked; throws ``PackageRefused`` with the reason otherwise. Blocking.
///
// WIRE: PackageVerifier — this body is a stand-in until Sources/Archive/Package's
// PackageVerifier lands: it checks only that bagit.txt, manifest-sha256.txt and
// tagmanifest-sha256.txt exist and that every payload file manifest-sha256.txt
// lists has that SHA-256. Replace the body with the real verifier's call.
func verifyReceivedPackage(folder: String) throws -> String {
    let fm = FileManager.default
    // The tar may hold the bag at its root or in one top-level folder.
    var bag = folder
    if !fm.fileExists(atPath: bag + "/bagit.txt"),
       let entries = try? fm.contentsOfDirectory(atPath: folder), entries.count == 1 {
        bag = folder + "/" + entries[0]
    }
    for required in ["bagit.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"] where !fm.fileExists(atPath: bag + "/" + required) {
        throw PackageRefused(description: "\(required) is missing: not a BagIt bag with SHA-256 manifests")
    }
    guard let manifest = fm.contents(atPath: bag + "/manifest-sha256.txt").map({ String(decoding: $0, as: UTF8.self) }) else {
        throw PackageRefused(description: "manifest-sha256.txt is unreadable")
    }
    var checked = 0
    for line in manifest.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        // RFC 8493 §2.1.3: "<checksum> <filepath>", at least one space; %0A %0D %25 escape the path.
        guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            throw PackageRefused(description: "manifest-sha256.txt line \"\(line.prefix(80))\" has no file path")
        }
        let expected = line[..<space].lowercased()
        let path = String(line[space...].drop(while: { $0 == " " || $0 == "\t" }))
            .replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%0D", with: "\r")
            .replacingOccurrences(of: "%25", with: "%")
        let parts = path.split(separator: "/")
        guard !path.hasPrefix("/"), !parts.contains(".."), parts.first == "data" else {
            throw PackageRefused(description: "manifest-sha256.txt lists \(path), outside the payload folder data/")
        }
        let actual: String
        do {
            actual = try SHA256Hasher.file(bag + "/" + path)
        } catch {
            throw PackageRefused(description: "the payload file \(path) listed in manifest-sha256.txt is missing")
        }
        guard actual == expected else {
            throw PackageRefused(description: "the payload file \(path) has SHA-256 \(actual), the manifest says \(expected)")
        }
        checked += 1
    }
    return "BagIt manifests present; \(checked) payload file(s) match manifest-sha256.txt (stand-in check, not the full package verifier)"
}

/// Extracts `path` (a received tar) into `scratch` with the room's own tar
/// reader and verifies what it holds. Blocking.
func verifyPackageTar(path: String, scratch: String) throws -> String {
    try? FileManager.default.removeItem(atPath: scratch)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    do {
        try Tar.extract(archive: path, into: scratch)
    } catch {
        throw PackageRefused(description: "the tar cannot be read: \(error)")
    }
    return try verifyReceivedPackage(folder: scratch)
}
