import Delivery
import Foundation
import Identity
import Testing

/// Our Signature V4 against botocore's S3SigV4Auth (the pinned venv), on a
/// frozen clock, for every request shape the uploader sends.
@Suite struct SigV4Tests {
    struct Case {
        var method: String
        var key: String
        var query: [(String, String)]
        var headers: [(String, String)]
        var body: [UInt8] = []
        var token: String?
    }

    static let checksum = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
    static let cases: [Case] = [
        Case(method: "PUT", key: "rooms/r1/s1.tar", query: [("partNumber", "3"), ("uploadId", "2~abc/DEF+ghi=")],
             headers: [("x-amz-checksum-sha256", checksum)], body: Array("part bytes".utf8)),
        Case(method: "POST", key: "rooms/r1/s1.tar", query: [("uploads", "")],
             headers: [("content-type", "application/x-tar"), ("x-amz-checksum-algorithm", "SHA256"),
                       ("x-amz-meta-roomd-sha256", String(repeating: "ab", count: 32)), ("x-amz-object-lock-mode", "COMPLIANCE"),
                       ("x-amz-object-lock-retain-until-date", "2036-01-13T09:30:00Z")]),
        Case(method: "POST", key: "rooms/r1/s1.tar", query: [("uploadId", "u-1")], headers: [("content-type", "application/xml")],
             body: Array("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>".utf8)),
        Case(method: "HEAD", key: "rooms/r1/s1.tar", query: [], headers: [("x-amz-checksum-mode", "ENABLED")]),
        Case(method: "GET", key: "rooms/r1/s1.tar", query: [("uploadId", "u-1"), ("part-number-marker", "1000")], headers: []),
        Case(method: "PUT", key: "房间/中文 会话.tar", query: [("partNumber", "1"), ("uploadId", "u")], headers: [("x-amz-checksum-sha256", checksum)],
             body: [0, 1, 2, 255]),
        Case(method: "HEAD", key: "a b+c~d=e&f/g%h;i,j$k@l(m)!*'.tar", query: [], headers: []),
        Case(method: "GET", key: "with  double  spaces/x.tar", query: [("uploadId", "a=b&c")], headers: [("x-amz-meta-note", "  padded   value ")],
             token: "FwoGZXIvYXdzEJr//////////wEaDH+token/with=chars"),
    ]

    @Test func authorizationMatchesBotocore() async throws {
        let date = Date(timeIntervalSince1970: 1_768_469_400)  // 2026-01-15T09:30:00Z
        let host = "127.0.0.1:9000", bucket = "roomd-bucket", region = "eu-central-1"
        let requests: [[String: Any]] = Self.cases.map { c in
            var request: [String: Any] = [
                "method": c.method, "host": host, "bucket": bucket, "key": c.key,
                "query": c.query.map { [$0.0, $0.1] }, "headers": c.headers.map { [$0.0, $0.1] },
                "body_hex": c.body.map { String(format: "%02x", $0) }.joined(), "amz_date": "20260115T093000Z",
                "region": region, "access_key_id": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ]
            if let token = c.token { request["session_token"] = token }
            return request
        }
        let output = try await S3Fixtures.python("sigv4_botocore.py", [], stdin: try JSONSerialization.data(withJSONObject: requests))
        let expected = try #require(output as? [[String: String]])
        #expect(expected.count == Self.cases.count)
        for (c, botocore) in zip(Self.cases, expected) {
            let signer = SigV4(credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                          sessionToken: c.token), region: region)
            let payload = Digest.sha256Hex(c.body)
            #expect(payload == botocore["content_sha256"])
            let signed = signer.sign(method: c.method, host: host, encodedPath: SigV4.encodePath("/\(bucket)/\(c.key)"), query: c.query,
                                     headers: c.headers, payloadSHA256: payload, date: date)
            #expect(signed.canonicalRequest == botocore["canonical_request"], "\(c.method) \(c.key)")
            #expect(signed.authorization == botocore["authorization"], "\(c.method) \(c.key)")
        }
    }

    @Test func pathEncodingKeepsSlashAndUnreservedAndEncodesUTF8Once() {
        #expect(SigV4.encodePath("/b/中 a+b~c=d.tar") == "/b/%E4%B8%AD%20a%2Bb~c%3Dd.tar")
        #expect(SigV4.encodePath("/b/%41") == "/b/%2541")
        #expect(SigV4.canonicalQuery([("uploadId", "x/y"), ("partNumber", "2")]) == "partNumber=2&uploadId=x%2Fy")
        #expect(SigV4.canonicalQuery([("uploads", "")]) == "uploads=")
    }

    @Test func hmacMatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Digest.hmacSHA256(key: [UInt8](), data: [UInt8]()).count == 32)
    }
}
