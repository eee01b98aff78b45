public import Canonical
/// What a producer hands the ledger. The sequence number is assigned by the
/// ledger inside the append transaction, so producers cannot collide.
public struct LedgerDraft: Sendable, Hashable {
    /// Wall-clock time of the fact in nanoseconds since the Unix epoch, from the
    /// daemon's clock. Not required to be monotonic: the order of the ledger is
    /// `seq`, and a clock step backwards is itself visible evidence.
    public var time: Int64
    /// What happened, dotted lowercase, e.g. "session.checkin", "recording.segment.closed".
    public var kind: String
    /// Who did it: a certificate subject, "operator:<name>", "system", ...
    public var actor: String
    public var payload: CanonicalJSON

    public init(time: Int64, kind: String, actor: String, payload: CanonicalJSON) {
        self.time = time
        self.kind = kind
        self.actor = actor
        self.payload = payload
    }
}

/// One ledger entry. Its canonical JSON bytes are what the Merkle leaf hashes:
/// `{"actor":…,"kind":…,"payload":…,"seq":…,"time":…}`. `seq` is the 0-based
/// leaf index, so an entry asserts its own position and a reordered export
/// cannot verify.
public struct LedgerEntry: Sendable, Hashable {
    public let seq: Int
    public let time: Int64
    public let kind: String
    public let actor: String
    public let payload: CanonicalJSON

    public init(seq: Int, draft: LedgerDraft) {
        self.seq = seq
        time = draft.time
        kind = draft.kind
        actor = draft.actor
        payload = draft.payload
    }

    public var json: CanonicalJSON {
        .object([
            "actor": .string(actor), "kind": .string(kind), "payload": payload,
            "seq": .integer(Int64(seq)), "time": .integer(time),
        ])
    }

    /// The exact bytes that are hashed and exported (one line of entries.jsonl).
    /// Equal to `json.canonicalBytes()` (a test holds it to that); written
    /// directly because the five keys are fixed and already in byte order, and
    /// this is the append path's hottest code.
    public func canonicalBytes() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"actor":"#.utf8)
        CanonicalJSON.encodeString(CanonicalJSON.nfc(actor), into: &out)
        out.append(contentsOf: #","kind":"#.utf8)
        CanonicalJSON.encodeString(CanonicalJSON.nfc(kind), into: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        try payload.encode(into: &out, depth: 1, decimals: false)
        out.append(contentsOf: #","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","time":"#.utf8)
        out.append(contentsOf: String(time).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }

    public func leafHash() throws -> MerkleHash { .leaf(try canonicalBytes()) }

    /// Reads an entry back from its stored or exported bytes. Fails unless the
    /// bytes are exactly the canonical encoding of a well-formed entry: a
    /// verifier must hash what it was given, never a re-encoding of it.
    public init(canonical bytes: some Collection<UInt8>) throws {
        let given = Array(bytes)
        let value = try CanonicalJSON(parsing: given)
        guard case .object(let members) = value, members.count == 5,
            let actor = members["actor"]?.stringValue, let kind = members["kind"]?.stringValue,
            let payload = members["payload"], let seq = members["seq"]?.integerValue, seq >= 0,
            let time = members["time"]?.integerValue
        else { throw LedgerError.malformedEntry("expected an object with exactly actor, kind, payload, seq, time") }
        self.seq = Int(seq)
        self.time = time
        self.kind = kind
        self.actor = actor
        self.payload = payload
        guard try value.canonicalBytes() == given else {
            throw LedgerError.malformedEntry("entry bytes are not in canonical form")
        }
    }
}
