import Foundation
import Glibc
import Testing

/// The Debian package scripts/package built (scripts/test builds it before these suites run).
enum DebianPackage {
    /// ROOMD_VERSION when the build was given one, else the VERSION file: what scripts/package stamps.
    static var version: String {
        if let stamped = ProcessInfo.processInfo.environment["ROOMD_VERSION"], !stamped.isEmpty { return stamped }
        let file = VMRecordingTests.repository + "/VERSION"
        return ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var path: String { VMRecordingTests.repository + "/.build-deb/out/roomd_\(version)_amd64.deb" }

    /// The package's path, or a failed expectation saying how to build it.
    static func built() -> String? {
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("no package at \(path): run scripts/package (scripts/test does, before these tests)")
            return nil
        }
        return path
    }
}

/// The .deb itself, checked on the host: where it puts things, what it depends on, that its
/// programs carry their Swift runtime inside, and lintian's verdict. VMSystemdTests installs it.
@Suite(.serialized)
struct DebianPackageTests {
    static func field(_ name: String, of deb: String) throws -> String {
        try run("/usr/bin/dpkg-deb", ["--field", deb, name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theDebPutsDaemonHelperUnitUserAndConfigurationWhereTheSystemLooks() throws {
        guard let deb = DebianPackage.built() else { return }
        let listing = try run("/usr/bin/dpkg-deb", ["--contents", deb])
        #expect(listing.status == 0, "\(listing.stderr)")
        // "-rwxr-xr-x root/root 123 2026-12-04 23:30 ./usr/sbin/roomd" → path: mode
        var files: [String: String] = [:]
        for line in listing.stdout.split(separator: "\n") {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 6 else { continue }
            files[String(columns[5].dropFirst())] = String(columns[0])
        }
        #expect(files["/usr/sbin/roomd"] == "-rwxr-xr-x")
        #expect(files["/usr/bin/roomctl"] == "-rwxr-xr-x")
        // roomd finds its helper here when it is not beside roomd (CaptureProcess.installedHelperPath).
        #expect(files["/usr/libexec/roomd/roomd-capture"] == "-rwxr-xr-x")
        #expect(files["/lib/systemd/system/roomd.service"] == "-rw-r--r--")
        #expect(files["/usr/lib/sysusers.d/roomd.conf"] == "-rw-r--r--")
        #expect(files["/usr/lib/tmpfiles.d/roomd.conf"] == "-rw-r--r--")
        #expect(files["/etc/roomd/roomd.yaml"] != nil)
        #expect(files["/usr/share/doc/roomd/operations.md"] != nil, "the unit's Documentation= points there")

        let control = try run("/usr/bin/dpkg-deb", ["--info", deb, "conffiles"])
        #expect(control.stdout.split(separator: "\n").contains("/etc/roomd/roomd.yaml"), "\(control.stdout)")
        #expect(try Self.field("Version", of: deb) == DebianPackage.version)
        #expect(try Self.field("Architecture", of: deb) == "amd64")

        // Depends: the libraries dpkg-shlibdeps found in the binaries, and the report's fonts.
        let depends = try Self.field("Depends", of: deb).split(separator: ",").map {
            String($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        for library in ["libavformat59", "libavcodec59", "libssl3", "libsqlite3-0", "libasound2", "libpangocairo-1.0-0", "libqrencode4", "fonts-noto-cjk"] {
            #expect(depends.contains(library), "Depends: \(depends)")
        }
        #expect(!depends.contains { $0.hasPrefix("swift") || $0.hasPrefix("libswift") }, "Depends: \(depends)")

        let unit = try run("/usr/bin/env", ["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -xOf - ./lib/systemd/system/roomd.service", "sh", deb])
        let repositoryUnit = try String(contentsOfFile: VMRecordingTests.repository + "/systemd/roomd.service", encoding: .utf8)
        #expect(unit.stdout == repositoryUnit, "the packaged unit is systemd/roomd.service, whose exposure UnitSyscallFilterTests measures")
    }

    /// `--static-swift-stdlib`: no libswift*.so or Foundation library is needed at run time (no Debian
    /// package provides one, so dpkg-shlibdeps could not have named it), and the stamped version shows.
    @Test func theProgramsCarryTheirSwiftRuntimeAndTheirVersion() throws {
        guard let deb = DebianPackage.built() else { return }
        let root = try TemporaryDirectory("roomd-deb")
        #expect(try run("/usr/bin/dpkg-deb", ["-x", deb, root.path]).status == 0)
        for program in ["usr/sbin/roomd", "usr/bin/roomctl", "usr/libexec/roomd/roomd-capture"] {
            let dynamic = try run("/usr/bin/readelf", ["--dynamic", "\(root.path)/\(program)"])
            let needed = dynamic.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            #expect(!needed.isEmpty, "\(program) is linked dynamically against Debian's libraries")
            #expect(!needed.contains { $0.contains("libswift") || $0.contains("Foundation") || $0.contains("libdispatch") || $0.contains("libBlocksRuntime") },
                    "\(program) needs: \(needed)")
            let resolved = try run("/usr/bin/ldd", ["\(root.path)/\(program)"])
            #expect(!resolved.stdout.contains("not found"), "\(program): \(resolved.stdout)")
        }
        let roomd = try run("\(root.path)/usr/sbin/roomd", ["--version"])
        #expect(roomd.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == DebianPackage.version, "\(roomd.stdout) \(roomd.stderr)")
        let roomctl = try run("\(root.path)/usr/bin/roomctl", ["--version"])
        #expect(roomctl.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == DebianPackage.version, "\(roomctl.stdout) \(roomctl.stderr)")
    }

    /// lintian finds no error and no warning; the tags overridden are justified in
    /// debian/roomd.lintian-overrides and docs/install.md.
    @Test func lintianFindsNoErrorsOrWarnings() throws {
        guard let deb = DebianPackage.built() else { return }
        let lintian = try run("/usr/bin/lintian", ["--fail-on", "error,warning", deb])
        let findings = (lintian.stdout + lintian.stderr).split(separator: "\n").filter { $0.hasPrefix("E:") || $0.hasPrefix("W:") }
        #expect(lintian.status == 0 && findings.isEmpty, "\(lintian.stdout)\(lintian.stderr)")
    }
}
