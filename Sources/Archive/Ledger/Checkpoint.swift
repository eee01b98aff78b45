public import Foundation
public import Identity

/// One signature line of a signed note: "— <name> <base64(keyID || signature)>".
public struct NoteSignature: Sendable, Hashable {
    public let name: String
    /// First 4 bytes of SHA-256(DER SubjectPublicKeyInfo) of the signing key.
    public let keyID: Data
    public let signature: Data

    var line: String {
        "\u{2014} \(name) \((keyID + signature).base64EncodedString())\n"
    }
}

public enum CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let why): "not a valid checkpoint note: \(why)"
        }
    }
}

/// A checkpoint in the C2SP tlog-checkpoint style: a signed note whose body is
///
///     <origin>\n<tree size, decimal>\n<root hash, base64>\n
///
/// followed by a blank line and one or more signature lines. Signatures cover
/// the body bytes exactly (UTF-8, through the last "\n" before the blank line).
public struct SignedCheckpoint: Sendable, Hashable {
    public let origin: String
    public let size: Int
    public let root: MerkleHash
    public let signatures: [NoteSignature]

    public var treeHead: TreeHead { TreeHead(size: size, root: root) }

    /// The signed body.
    public var body: String { "\(origin)\n\(size)\n\(root.base64)\n" }

    /// The whole note as stored and exported.
    public var text: String { body + "\n" + signatures.map(\.line).joined() }

    /// The key ID that names `key` in signature lines.
    public static func keyID(for key: RoomVerificationKey) -> Data {
        Data(ledgerSHA256(key.subjectPublicKeyInfo).prefix(4))
    }

    /// Signs the tree head with the room key.
    public static func sign(
        origin: String, treeHead: TreeHead, keyName: String, key: RoomSigningKey
    ) throws -> SignedCheckpoint {
        try validate(origin: origin, keyName: keyName)
        let unsigned = SignedCheckpoint(origin: origin, size: treeHead.size, root: treeHead.root, signatures: [])
        let signature = try key.sign(Data(unsigned.body.utf8))
        return SignedCheckpoint(
            origin: origin, size: treeHead.size, root: treeHead.root,
            signatures: [NoteSignature(name: keyName, keyID: keyID(for: key.publicKey), signature: signature)])
    }

    static func validate(origin: String, keyName: String) throws {
        guard !origin.isEmpty, !origin.contains("\n"), !origin.contains("\r") else {
            throw CheckpointError.malformed("origin must be one non-empty line")
        }
        guard !keyName.isEmpty, !keyName.contains(where: { $0.isWhitespace || $0 == "+" }) else {
            throw CheckpointError.malformed("key name must be non-empty without spaces or '+'")
        }
    }

    init(origin: String, size: Int, root: MerkleHash, signatures: [NoteSignature]) {
        self.origin = origin
        self.size = size
        self.root = root
        self.signatures = signatures
    }

    /// Parses a note strictly: any deviation from the format is an error, so two
    /// different texts never parse to the same checkpoint.
    public init(parsing text: String) throws {
        guard let split = text.range(of: "\n\n") else { throw CheckpointError.malformed("no blank line before the signatures") }
        let bodyText = String(text[..<split.lowerBound]) + "\n"
        let sigText = String(text[split.upperBound...])
        guard !bodyText.contains("\r"), !sigText.contains("\r") else { throw CheckpointError.malformed("carriage return in note") }
        let lines = bodyText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        // Extension lines after the third are allowed by tlog-checkpoint; roomd writes none.
        guard lines.count >= 3 else { throw CheckpointError.malformed("body needs origin, size and root lines") }
        let sizeText = String(lines[lines.startIndex + 1])
        guard let size = Int(sizeText), size >= 0, String(size) == sizeText else {
            throw CheckpointError.malformed("tree size \"\(sizeText)\" is not a canonical decimal")
        }
        let rootText = String(lines[lines.startIndex + 2])
        guard let root = MerkleHash(base64: rootText), root.base64 == rootText else {
            throw CheckpointError.malformed("root hash is not 32 bytes of base64")
        }
        guard lines.count == 3 else { throw CheckpointError.malformed("unexpected extension lines") }
        guard sigText.hasSuffix("\n") else { throw CheckpointError.malformed("signature lines must end with a newline") }
        var signatures: [NoteSignature] = []
        for line in sigText.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", let blob = Data(base64Encoded: String(parts[2])), blob.count > 4
            else { throw CheckpointError.malformed("bad signature line \"\(line)\"") }
            signatures.append(NoteSignature(name: String(parts[1]), keyID: Data(blob.prefix(4)), signature: Data(blob.dropFirst(4))))
        }
        guard !signatures.isEmpty else { throw CheckpointError.malformed("no signature lines") }
        self.init(origin: String(lines[lines.startIndex]), size: size, root: root, signatures: signatures)
        guard self.text == text else { throw CheckpointError.malformed("note is not in canonical form") }
    }

    /// True when a signature by `key` (and named `keyName`, if given) verifies over the body.
    public func isSigned(by key: RoomVerificationKey, keyName: String? = nil) -> Bool {
        let id = Self.keyID(for: key)
        let body = Data(body.utf8)
        return signatures.contains { sig in
            sig.keyID == id && (keyName == nil || sig.name == keyName)
                && key.verify(signature: sig.signature, for: body)
        }
    }
}

/// A tree size and its root hash.
public struct TreeHead: Sendable, Hashable {
    public let size: Int
    public let root: MerkleHash

    public init(size: Int, root: MerkleHash) {
        self.size = size
        self.root = root
    }
}
