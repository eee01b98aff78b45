import Foundation
import Glibc
import Testing

/// A client certificate is checked on every use: a TLS 1.3 session resumed
/// after the certificate expired is cut off as a fresh handshake would be.
/// The client is OpenSSL's s_client (its own TLS stack, session saved to a
/// file and offered again).
@Suite(.serialized)
struct TLSResumptionTests {
    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }

    /// A station certificate from the room CA valid from a minute ago for `seconds`.
    static func shortLivedStationCertificate(_ room: DemoRoom, seconds: TimeInterval) throws -> (cert: String, key: String, notAfter: Date) {
        let dir = room.dir.path + "/short"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try room.dir.write("short/ca.cnf", """
            [ ca ]
            default_ca = CA_default
            [ CA_default ]
            database = \(dir)/index.txt
            new_certs_dir = \(dir)
            serial = \(dir)/serial
            policy = policy_any
            default_md = sha256
            copy_extensions = none
            unique_subject = no
            [ policy_any ]
            commonName = supplied
            [ station ]
            subjectAltName = URI:urn:roomd:station:S01
            extendedKeyUsage = clientAuth
            keyUsage = critical,digitalSignature
            """)
        _ = try room.dir.write("short/index.txt", "")
        _ = try room.dir.write("short/serial", "5000\n")
        #expect(try run("/usr/bin/openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", dir + "/s.key"]).status == 0)
        #expect(try run("/usr/bin/openssl", ["req", "-new", "-key", dir + "/s.key", "-subj", "/CN=S01 short-lived", "-out", dir + "/s.csr"]).status == 0)
        let notAfter = Date().addingTimeInterval(seconds)
        let issued = try run("/usr/bin/openssl", ["ca", "-config", dir + "/ca.cnf", "-batch", "-notext", "-cert", room.pki + "/room-ca.crt",
                                                  "-keyfile", room.pki + "/room-ca.key", "-startdate", stamp(Date().addingTimeInterval(-60)),
                                                  "-enddate", stamp(notAfter), "-extensions", "station", "-in", dir + "/s.csr", "-out", dir + "/s.crt"])
        #expect(issued.status == 0, "\(issued.stderr)")
        return (dir + "/s.crt", dir + "/s.key", notAfter)
    }

    /// One HTTP request over `openssl s_client`; its whole output.
    static func request(_ room: DemoRoom, cert: String, key: String, session: String, resume: Bool) throws -> String {
        let script = """
            printf 'GET /healthz HTTP/1.1\\r\\nHost: roomd\\r\\nConnection: close\\r\\n\\r\\n' | \
            timeout 20 openssl s_client -connect 127.0.0.1:\(room.port) -tls1_3 -CAfile '\(room.pki)/room-ca.crt' \
              -cert '\(cert)' -key '\(key)' \(resume ? "-sess_in" : "-sess_out") '\(session)' -ign_eof 2>&1
            """
        return try run("/bin/bash", ["-c", script]).stdout
    }

    @Test func anExpiredCertificateIsRefusedOnResumptionAsOnAFreshHandshake() throws {
        let room = try DemoRoom()
        let daemon = try room.start()
        defer { _ = daemon.terminate() }
        let short = try Self.shortLivedStationCertificate(room, seconds: 8)
        let session = room.dir.path + "/short/session.pem"

        let first = try Self.request(room, cert: short.cert, key: short.key, session: session, resume: false)
        #expect(first.contains("HTTP/1.1 200"), "\(first)")
        #expect(FileManager.default.fileExists(atPath: session))

        while Date() < short.notAfter.addingTimeInterval(1.5) { usleep(200_000) }
        let resumed = try Self.request(room, cert: short.cert, key: short.key, session: session, resume: true)
        #expect(resumed.contains("Reused, TLSv1.3"), "the session was not resumed, so this proves nothing:\n\(resumed)")
        #expect(!resumed.contains("HTTP/1.1 200"), "a resumed session outlived its certificate:\n\(resumed)")

        let fresh = try Self.request(room, cert: short.cert, key: short.key, session: room.dir.path + "/short/other.pem", resume: false)
        #expect(!fresh.contains("HTTP/1.1 200"), "\(fresh)")
        // Both refusals are on record, told apart.
        let events = try room.curl("/v1/events?limit=100", as: "operator").2
        #expect(events.contains("certificate-expired") && events.contains("tls-certificate-expired"), "\(events)")
    }
}
