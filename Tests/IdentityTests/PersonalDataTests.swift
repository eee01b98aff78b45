import Foundation
import Identity
import Testing

/// Names are printed from their parsed attributes, with every personal
/// identifier cut to its last four characters before the text exists; and the
/// scanner that finds numbers an older roomd wrote sees them in every encoding.
struct PersonalDataRenderingTests {
    @Test func subjectsRenderLikeOpenSSLButWithIDNumbersRedactedWhereverTheySit() throws {
        let pki = try TestPKI.get()
        // Ordinary names print as OpenSSL's RFC 2253 printer would.
        let root = try pki.certificate("rsa/root")
        #expect(root.subject == "CN=rsa cloud-sign root,O=roomd test,C=CN")
        #expect(try pki.certificate("rsa/int").issuer == root.subject)
        // serialNumber, GM/T 0015 in the subject, and an OID nobody named: "…" and the last four.
        #expect(try pki.certificate("rsa/leaf").subject == "C=CN,O=某某大学,serialNumber=…002X,CN=张三")
        #expect(try pki.certificate("sm2/gmt-rdn").subject == "1.2.156.10260.4.1.1=…1234,CN=冯二")
        let configured = try pki.certificate("ec/pi-oid-rdn")
        #expect(configured.subject == "C=CN,O=某某大学,1.3.6.1.4.1.59999.1.1=…1572,CN=乙四")
        // The parsed attribute is there for matching, whole.
        #expect(configured.subjectName.value(of: "1.3.6.1.4.1.59999.1.1") == "500103198508171572")
        // No form of the number in the text: not plain, not OpenSSL's "#0C12…" hex.
        for (file, number) in [("rsa/leaf", "11010519491231002X"), ("sm2/gmt-rdn", "440301199001011234"),
                               ("ec/pi-oid-rdn", "500103198508171572")] {
            let subject = try pki.certificate(file).subject
            #expect(!subject.contains(number) && !subject.contains("#"), "\(subject)")
            #expect(ResidentIDScan.occurrences(in: subject).isEmpty)
        }
        // The reader still finds the numbers where check-in needs them.
        #expect(SignerIdentity(certificate: configured, idNumberOID: "1.3.6.1.4.1.59999.1.1").idNumber == "500103198508171572")
        #expect(SignerIdentity(certificate: try pki.certificate("sm2/pi-gmt-ext")).idNumber == "530102199306141782")
    }

    @Test func aSignerNeverPrintsItsWholeIDNumber() throws {
        let signer = SignerIdentity(name: "张三", idNumber: "11010519491231002X", idNumberSource: .subjectSerialNumber)
        for text in ["\(signer)", String(reflecting: signer), { var s = ""; dump(signer, to: &s); return s }()] {
            #expect(!text.contains("11010519491231002X") && text.contains("…002X"), "\(text)")
        }
    }

    @Test func specialCharactersAreEscapedAsRFC4514Says() {
        #expect(DistinguishedName.escaped("a,b+c\"d\\e<f>g;h") == #"a\,b\+c\"d\\e\<f\>g\;h"#)
        #expect(DistinguishedName.escaped("#x") == ##"\#x"##)
        #expect(DistinguishedName.escaped(" lead and trail ") == #"\ lead and trail\ "#)
        #expect(DistinguishedName.escaped("某某大学") == "某某大学")
    }

    @Test func theScannerFindsIDNumbersAsTextHexAndBase64AndNothingElse() {
        let number = "11010519491231002X"
        let der: [UInt8] = [0x0C, 18] + Array(number.utf8) + [0x31, 0x0B]  // the next RDN's SET tag follows
        let hexDER = der.map { String(format: "%02X", $0) }.joined()
        let cases: [(String, ResidentIDScan.Occurrence.Encoding)] = [
            ("certificate CN=张三,serialNumber=\(number),O=x expired", .text),
            ("serialNumber=\(number.lowercased())", .text),
            ("1.2.156.10260.4.1.1=#\(hexDER),CN=张三", .hex),
            ("cert \(Data([0x30, 0x82, 0x01]  + der + [0x30]).base64EncodedString()) end", .base64),
            ("pem x" + Data(Array("abc".utf8) + der).base64EncodedString(), .base64),
        ]
        for (text, encoding) in cases {
            let found = ResidentIDScan.occurrences(in: text)
            #expect(found.contains(.init(encoding: encoding, redacted: "…002X")), "\(text): \(found)")
        }
        // Neither a wrong check digit, nor a nanosecond timestamp, nor a hash.
        for text in ["110105194912310021", "time 1733301234567890123 ns", "sha256 " + String(repeating: "ab12", count: 16),
                     "1101051949123100211", "x11010519491231002X"] {
            #expect(ResidentIDScan.occurrences(in: text).isEmpty, "\(text)")
        }
    }
}
