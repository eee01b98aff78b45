public import Foundation
internal import GRDB

/// A checkpoint's RFC 3161 timestamp, as stored.
public struct CheckpointTimestamp: Sendable, Hashable {
    public let checkpointID: Int64
    /// DER TimeStampToken over the SHA-256 of the checkpoint's note text.
    public let token: [UInt8]
    public let time: Date
    public let tsa: String

    public init(checkpointID: Int64, token: [UInt8], time: Date, tsa: String) {
        self.checkpointID = checkpointID
        self.token = token
        self.time = time
        self.tsa = tsa
    }
}

/// Timestamps and witness deliveries of checkpoints (migration
/// `ledger-v2-witness`). Both append-only; a checkpoint has at most one
/// timestamp, and one successful delivery per endpoint.
extension Ledger {
    /// Checkpoints without a timestamp, oldest first.
    public func checkpointsWithoutTimestamp(limit: Int = 100) throws -> [StoredCheckpoint] {
        try database.read { db in
            try Self.checkpoints(db, sql: """
                SELECT id, created_ns, note FROM ledger_checkpoint c
                WHERE NOT EXISTS (SELECT 1 FROM ledger_checkpoint_timestamp t WHERE t.checkpoint_id = c.id)
                ORDER BY id LIMIT ?
                """, arguments: [limit])
        }
    }

    public func storeTimestamp(_ timestamp: CheckpointTimestamp, receivedNs: Int64) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO ledger_checkpoint_timestamp (checkpoint_id, token, gen_time_ns, tsa, received_ns) VALUES (?, ?, ?, ?, ?)
                """, arguments: [timestamp.checkpointID, Data(timestamp.token),
                                 Int64(timestamp.time.timeIntervalSince1970 * 1e9), timestamp.tsa, receivedNs])
        }
    }

    public func timestamp(checkpointID: Int64) throws -> CheckpointTimestamp? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM ledger_checkpoint_timestamp WHERE checkpoint_id = ?", arguments: [checkpointID]).map {
                CheckpointTimestamp(checkpointID: $0["checkpoint_id"], token: Array($0["token"] as Data),
                                    time: Date(timeIntervalSince1970: TimeInterval($0["gen_time_ns"] as Int64) / 1e9), tsa: $0["tsa"])
            }
        }
    }

    /// Checkpoints `endpoint` has not acknowledged yet, oldest first.
    public func checkpointsNotDelivered(to endpoint: String, limit: Int = 100) throws -> [StoredCheckpoint] {
        try database.read { db in
            try Self.checkpoints(db, sql: """
                SELECT id, created_ns, note FROM ledger_checkpoint c
                WHERE NOT EXISTS (SELECT 1 FROM ledger_checkpoint_delivery d
                                  WHERE d.checkpoint_id = c.id AND d.endpoint = ? AND d.status BETWEEN 200 AND 299)
                ORDER BY id LIMIT ?
                """, arguments: [endpoint, limit])
        }
    }

    /// Records that `endpoint` answered `status` (with its body, e.g. a
    /// witness cosignature) to the delivery of a checkpoint.
    public func recordDelivery(checkpointID: Int64, endpoint: String, status: Int, response: String, deliveredNs: Int64) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO ledger_checkpoint_delivery (checkpoint_id, endpoint, delivered_ns, status, response) VALUES (?, ?, ?, ?, ?)
                """, arguments: [checkpointID, endpoint, deliveredNs, status, response])
        }
    }

    public func deliveries(checkpointID: Int64) throws -> [(endpoint: String, status: Int, response: String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT endpoint, status, response FROM ledger_checkpoint_delivery WHERE checkpoint_id = ? ORDER BY id",
                             arguments: [checkpointID]).map { ($0["endpoint"], $0["status"], $0["response"]) }
        }
    }
}
