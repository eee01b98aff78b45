import Foundation
import Identity
import Testing

/// A sealed package's timestamp is checked again years later, offline: the
/// TSA's certificate has expired by then, and the token must still prove
/// when it was made. The chain is checked as of the token's genTime, as
/// `openssl ts -verify -attime` does — never as of today.
struct StoredTimestampTests {
    static let tsaConfig = """
        [ req ]
        distinguished_name = dn
        prompt = no
        [ dn ]
        CN = unused
        [ tsa_ext ]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = critical,timeStamping
        [ ca ]
        default_ca = issuer
        [ issuer ]
        database = ./index.txt
        new_certs_dir = .
        serial = ./ca-serial
        default_md = sha256
        policy = anything
        [ anything ]
        commonName = supplied
        [ tsa ]
        default_tsa = tsa_config
        [ tsa_config ]
        dir = .
        serial = ./tsa-serial
        signer_cert = ./tsa.crt
        signer_key = ./tsa.key
        certs = ./tsa.crt
        signer_digest = sha256
        default_policy = 1.2.3.4.1
        digests = sha256
        accuracy = secs:1
        ordering = yes
        ess_cert_id_chain = no
        ess_cert_id_alg = sha256
        """

    func openssl(_ dir: String, _ arguments: [String]) throws {
        let result = try ExternalTool.run("/usr/bin/openssl", arguments, in: dir)
        try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.errors)")
    }

    @Test func aTokenOutlivesItsTSACertificate() throws {
        let dir = NSTemporaryDirectory() + "stored-timestamp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.tsaConfig.write(toFile: dir + "/tsa.cnf", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: dir + "/tsa-serial", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: dir + "/ca-serial", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/index.txt", atomically: true, encoding: .utf8)
        try openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                          "-out", "ca.crt", "-subj", "/CN=Test TSA Root", "-days", "30"])
        try openssl(dir, ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key",
                          "-out", "tsa.csr", "-subj", "/CN=Short-lived TSA", "-config", "tsa.cnf"])
        // The TSA's certificate ends a few seconds from now.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        let expiry = Date().addingTimeInterval(4)
        try openssl(dir, ["ca", "-batch", "-config", "tsa.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "tsa.csr", "-out", "tsa.crt",
                          "-startdate", formatter.string(from: Date().addingTimeInterval(-3600)), "-enddate", formatter.string(from: expiry),
                          "-extfile", "tsa.cnf", "-extensions", "tsa_ext", "-notext"])
        let data = Data("a sealed package's signature".utf8)
        try data.write(to: URL(fileURLWithPath: dir + "/data.bin"))
        try openssl(dir, ["ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-no_nonce", "-out", "query.tsq"])
        try openssl(dir, ["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq", "-out", "reply.tsr"])
        let response = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/reply.tsr")))
        let anchors = try Certificate.all(pem: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/ca.crt"))))
        let stamped = try StoredTimestamp.verify(response: response, data: data, trusting: anchors)
        #expect(abs(stamped.timeIntervalSinceNow) < 60)

        // The certificate expires: wait for that moment (not for a guess).
        while Date() < expiry.addingTimeInterval(1.5) { usleep(100_000) }
        let today = try ExternalTool.run("/usr/bin/openssl", ["ts", "-verify", "-data", "data.bin", "-in", "reply.tsr", "-CAfile", "ca.crt"],
                                         in: dir)
        #expect(today.status != 0, "openssl, checking as of today, should refuse the expired TSA certificate")
        #expect(try StoredTimestamp.verify(response: response, data: data, trusting: anchors) == stamped,
                "the token made while the TSA's certificate was valid must still verify")
        // Its time is believed only with its signature: other data, or another anchor, still fails.
        #expect(throws: TimestampToken.Refused.self) {
            _ = try StoredTimestamp.verify(response: response, data: Data("other".utf8), trusting: anchors)
        }
        try openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other.key",
                          "-out", "other.crt", "-subj", "/CN=Other Root", "-days", "30"])
        let other = try Certificate.all(pem: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/other.crt"))))
        #expect(throws: TimestampToken.Refused.self) {
            _ = try StoredTimestamp.verify(response: response, data: data, trusting: other)
        }
    }
}
