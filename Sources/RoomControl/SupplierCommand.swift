import ArgumentParser
import Canonical
import Foundation
import Identity
import Opening

/// `roomctl supplier`: plays the supplier's side of the opening for demos, tests and the platform
/// simulator — sealing an opening summary into a bid (the bid tool's part) and opening it with a
/// key file (the USBKey's part).
struct SupplierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supplier",
        abstract: "Sealed bids (加密投标文件): seal an opening summary, open it with a key file.",
        subcommands: [Encrypt.self, Decrypt.self])

    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal a file (the opening summary) for the supplier's encryption certificate(s).",
            discussion: """
                roomctl supplier encrypt --cert supplier-enc.crt --in summary.json --out bid.p7e
                Writes CMS AuthEnvelopedData (AES-256-GCM; --cipher aes-256-cbc for EnvelopedData), DER.
                RSA certificates get RSAES-OAEP (SHA-256), P-256 certificates ECDH with the SHA-256 KDF.
                SM2 certificates are refused: OpenSSL 3.0 cannot make SM2 envelopes (docs/formats.md).
                Prints the SHA-256 of the summary and of the sealed bid: what the opening definition fixes.
                """)

        @Option(help: "A recipient's certificate (PEM or DER). Repeatable.")
        var cert: [String]

        @Option(name: .customLong("in"), help: "The plaintext: the opening summary (开标一览表).")
        var input: String

        @Option(help: "Where to write the sealed bid (DER).")
        var out: String

        @Option(help: "Content encryption: \(Envelope.ContentCipher.allCases.map(\.rawValue).joined(separator: "|")).")
        var cipher: String = Envelope.ContentCipher.aes256GCM.rawValue

        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() throws {
            try SupplierCommand.explaining(json: json) {
                guard let contentCipher = Envelope.ContentCipher(rawValue: cipher) else {
                    throw ValidationError("--cipher must be \(Envelope.ContentCipher.allCases.map(\.rawValue).joined(separator: " or "))")
                }
                guard !cert.isEmpty else { throw ValidationError("name at least one --cert / 请指定接收方加密证书") }
                let recipients = try cert.map { try SupplierCommand.certificate($0) }
                let plaintext = try SupplierCommand.read(input, what: ("明文文件", "plaintext"))
                let sealed = try Envelope.seal(plaintext, for: recipients, cipher: contentCipher)
                try SupplierCommand.write(sealed, to: out, mode: 0o644)
                let summary = try Envelope.inspect(sealed)
                var described: [CanonicalJSON] = []
                for (certificate, recipient) in zip(recipients, summary.recipients) {
                    described.append(.object([
                        "subject": .string(certificate.subject), "certificateSHA256": .string(try certificate.sha256Fingerprint()),
                        "kind": .string(recipient.kind.rawValue), "keyEncryption": .string(recipient.keyEncryption),
                    ]))
                }
                let answer: CanonicalJSON = .object([
                    "out": .string(out), "bytes": .integer(Int64(sealed.count)), "cipher": .string(contentCipher.rawValue),
                    "sealedBidSHA256": .string(Digest.sha256Hex(sealed)), "summarySHA256": .string(Digest.sha256Hex(plaintext)),
                    "recipients": .array(described),
                ])
                if json { return try SupplierCommand.printJSON(answer) }
                print("sealed \(plaintext.count) bytes for \(recipients.map(\.subject).joined(separator: "; ")) → \(out) (\(sealed.count) bytes, \(contentCipher.rawValue))")
                print("summarySHA256   \(Digest.sha256Hex(plaintext))")
                print("sealedBidSHA256 \(Digest.sha256Hex(sealed))")
            }
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a sealed bid with the supplier's key file (plays the USBKey's part).",
            discussion: """
                roomctl supplier decrypt --key supplier-enc.key --cert supplier-enc.crt --in bid.p7e --out summary.json \\
                    --expect-sha256 <summarySHA256 of the opening definition>
                Opens CMS EnvelopedData or AuthEnvelopedData (RSA key transport, P-256 key agreement), DER or PEM.
                The plaintext is written with mode 0600. When it is an opening summary, each lot's price is
                shown with the check of figures against words (87号令 第59条). Exit status 1 with the reason
                in Chinese and English when the bid cannot be opened or is not the one expected.
                """)

        @Option(help: "The private key (PEM) of the certificate the bid was sealed to.")
        var key: String

        @Option(help: "That certificate (PEM or DER).")
        var cert: String

        @Option(name: .customLong("in"), help: "The sealed bid.")
        var input: String

        @Option(help: "Where to write the plaintext (mode 0600).")
        var out: String

        @Option(help: "The SHA-256 the plaintext must have (the definition's summarySHA256).")
        var expectSha256: String?

        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() throws {
            try SupplierCommand.explaining(json: json) {
                let keyBytes = try SupplierCommand.read(key, what: ("私钥文件", "key file"))
                let privateKey: PrivateKey
                do {
                    privateKey = try PrivateKey(pem: keyBytes)
                } catch {
                    throw SupplierProblem("私钥文件 \(key) 不是PEM格式的私钥，请检查文件。",
                                          "\(key) is not a PEM private key: \(error)", code: "key-unreadable")
                }
                let certificate = try SupplierCommand.certificate(cert)
                let sealed = try SupplierCommand.read(input, what: ("加密投标文件", "sealed bid"))
                let plaintext = try Envelope.open(sealed, key: privateKey, certificate: certificate)
                let digest = Digest.sha256Hex(plaintext)
                if let expected = expectSha256?.lowercased(), expected != digest {
                    throw SupplierProblem("解密内容的摘要值与开标定义登记的不一致，不是投标时的开标一览表；请勿提交，联系代理机构。",
                                          "the plaintext hashes to \(digest), the definition expects \(expected)",
                                          code: "decryption-hash-mismatch")
                }
                try SupplierCommand.write(plaintext, to: out, mode: 0o600)
                var lots: [CanonicalJSON] = []
                var lines: [String] = []
                let summary = try? OpeningSummary.decode(plaintext)
                for line in summary?.lots ?? [] {
                    let check = PriceConsistency.check(figures: line.priceInFigures, words: line.priceInWords)
                    var entry: [String: CanonicalJSON] = [
                        "lot": .string(line.lot), "priceInFigures": .string(line.priceInFigures),
                        "priceInWords": .string(line.priceInWords), "consistent": .bool(!check.flagged),
                    ]
                    let note: String
                    switch check {
                    case .consistent: note = "figures and words agree / 大小写一致"
                    case .wordsDiffer(let figures, let words):
                        note = "FLAG: words \(words.decimalText) ≠ figures \(figures.decimalText) / 大写与小写金额不一致（87号令第59条）"
                        entry["wordsValue"] = .string(words.decimalText)
                    case .figuresUnreadable: note = "FLAG: figures are not a decimal amount / 小写金额无法识读"
                    case .wordsUnreadable(let code, let chinese, let english):
                        note = "FLAG: \(english) / \(chinese)"
                        entry["problem"] = .object(["error": .string(code), "message": .string(chinese), "detail": .string(english)])
                    }
                    lots.append(.object(entry))
                    lines.append("lot \(line.lot): \(line.priceInFigures) / \(line.priceInWords) — \(note)")
                }
                if json {
                    return try SupplierCommand.printJSON(.object([
                        "out": .string(out), "bytes": .integer(Int64(plaintext.count)), "summarySHA256": .string(digest),
                        "sealedBidSHA256": .string(Digest.sha256Hex(sealed)), "recipient": .string(certificate.subject),
                        "openingSummary": .bool(summary != nil), "lots": .array(lots),
                    ]))
                }
                print("opened \(input) with \(certificate.subject) → \(out) (\(plaintext.count) bytes)")
                print("summarySHA256 \(digest)" + (expectSha256 == nil ? "" : " (as the definition expects)"))
                if summary == nil { print("the plaintext is not an opening summary (docs/formats.md) / 解密内容不是开标一览表格式") }
                lines.forEach { print($0) }
            }
        }
    }

    // MARK: Shared

    static func read(_ path: String, what: (chinese: String, english: String)) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SupplierProblem("无法读取\(what.chinese) \(path)，请检查路径和权限。", "cannot read the \(what.english) \(path)",
                                  code: "file-unreadable")
        }
        return Array(data)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        do {
            try SecureFile.write(bytes, to: path, mode: mode)
        } catch {
            throw SupplierProblem("无法写入 \(path)，请检查目录是否存在及权限。", "\(error)", code: "file-unwritable")
        }
    }

    static func certificate(_ path: String) throws -> Certificate {
        let bytes = try read(path, what: ("证书文件", "certificate"))
        guard let first = try? Certificate.all(pemOrDER: bytes).first else {
            throw SupplierProblem("\(path) 不是证书文件（PEM或DER），请检查。", "\(path) is not a certificate (PEM or DER)",
                                  code: "certificate-unreadable")
        }
        return first
    }

    static func printJSON(_ value: CanonicalJSON) throws {
        FileHandle.standardOutput.write(Data(try value.canonicalBytes() + [0x0A]))
    }

    /// Runs `body`; a refusal is printed in both languages (stderr, or the API's error object on
    /// stdout with --json) and the command exits with status 1.
    static func explaining(json: Bool, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as any ExplainedRefusal {
            let e = error.explanation
            if json {
                try printJSON(.object(["error": .string(e.code), "message": .string(e.chinese), "detail": .string(e.english)]))
            } else {
                FileHandle.standardError.write(Data("\(e.chinese)\n\(e.english)\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

/// A refusal of `roomctl supplier` that is not the envelope's own.
struct SupplierProblem: Error, ExplainedRefusal {
    let explanation: Explanation

    init(_ chinese: String, _ english: String, code: String) {
        explanation = Explanation(code: code, chinese: chinese, english: english)
    }
}
