public import GRDB

/// The ledger's tables, for the daemon's `DatabaseMigrator`. All migration
/// identifiers start with "ledger-" so they sort and read apart from others.
///
/// Invariants (docs/formats.md, "Audit ledger"):
/// - `ledger_entry` rows are gapless from seq 0 and never change: UPDATE and
///   DELETE abort, and an INSERT must use the next seq (which also defeats
///   `INSERT OR REPLACE`, whose implicit delete fires no trigger).
/// - `ledger_node` holds the hash of every complete, aligned subtree
///   (level L, index i covers leaves [i·2^L, (i+1)·2^L)), written in the same
///   transaction as the entries; rows never change and ids are never reused.
/// - `ledger_checkpoint` is append-only the same way.
/// Triggers stop mistakes and casual edits, not someone who can drop them: that
/// is what signed checkpoints held by others are for.
public enum LedgerSchema {
    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        registerCoreMigration(&migrator)
        registerWitnessMigration(&migrator)
    }

    static func registerCoreMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("ledger-v1") { db in
            try db.execute(sql: """
                CREATE TABLE ledger_entry (
                    seq     INTEGER PRIMARY KEY CHECK (seq >= 0),
                    time_ns INTEGER NOT NULL,
                    kind    TEXT NOT NULL,
                    actor   TEXT NOT NULL,
                    entry   BLOB NOT NULL
                );
                CREATE TABLE ledger_node (
                    id   INTEGER PRIMARY KEY,
                    hash BLOB NOT NULL CHECK (length(hash) = 32)
                );
                CREATE TABLE ledger_checkpoint (
                    id         INTEGER PRIMARY KEY,
                    tree_size  INTEGER NOT NULL CHECK (tree_size >= 0),
                    root_hash  BLOB NOT NULL CHECK (length(root_hash) = 32),
                    created_ns INTEGER NOT NULL,
                    note       TEXT NOT NULL
                );
                CREATE INDEX ledger_checkpoint_by_size ON ledger_checkpoint(tree_size);

                CREATE TRIGGER ledger_entry_gapless BEFORE INSERT ON ledger_entry
                WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), -1) + 1 FROM ledger_entry)
                BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: seq must be the next number'); END;
                CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry
                BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: UPDATE refused'); END;
                CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry
                BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: DELETE refused'); END;

                CREATE TRIGGER ledger_node_no_overwrite BEFORE INSERT ON ledger_node
                WHEN EXISTS (SELECT 1 FROM ledger_node WHERE id = NEW.id)
                BEGIN SELECT RAISE(ABORT, 'ledger_node is append-only: node exists'); END;
                CREATE TRIGGER ledger_node_no_update BEFORE UPDATE ON ledger_node
                BEGIN SELECT RAISE(ABORT, 'ledger_node is append-only: UPDATE refused'); END;
                CREATE TRIGGER ledger_node_no_delete BEFORE DELETE ON ledger_node
                BEGIN SELECT RAISE(ABORT, 'ledger_node is append-only: DELETE refused'); END;

                CREATE TRIGGER ledger_checkpoint_no_overwrite BEFORE INSERT ON ledger_checkpoint
                WHEN EXISTS (SELECT 1 FROM ledger_checkpoint WHERE id = NEW.id)
                BEGIN SELECT RAISE(ABORT, 'ledger_checkpoint is append-only: checkpoint exists'); END;
                CREATE TRIGGER ledger_checkpoint_no_update BEFORE UPDATE ON ledger_checkpoint
                BEGIN SELECT RAISE(ABORT, 'ledger_checkpoint is append-only: UPDATE refused'); END;
                CREATE TRIGGER ledger_checkpoint_no_delete BEFORE DELETE ON ledger_checkpoint
                BEGIN SELECT RAISE(ABORT, 'ledger_checkpoint is append-only: DELETE refused'); END;
                """)
        }
    }

    /// Witnessing of checkpoints: RFC 3161 timestamps and deliveries to the
    /// central platform. Separate tables so checkpoints themselves stay as signed.
    static func registerWitnessMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("ledger-v2-witness") { db in
            try db.execute(sql: """
                CREATE TABLE ledger_checkpoint_timestamp (
                    checkpoint_id INTEGER PRIMARY KEY REFERENCES ledger_checkpoint(id),
                    token        BLOB NOT NULL,
                    gen_time_ns  INTEGER NOT NULL,
                    tsa          TEXT NOT NULL,
                    received_ns  INTEGER NOT NULL
                );
                CREATE TABLE ledger_checkpoint_delivery (
                    id            INTEGER PRIMARY KEY AUTOINCREMENT,
                    checkpoint_id INTEGER NOT NULL REFERENCES ledger_checkpoint(id),
                    endpoint      TEXT NOT NULL,
                    delivered_ns  INTEGER NOT NULL,
                    status        INTEGER NOT NULL,
                    response      TEXT NOT NULL
                );
                CREATE INDEX ledger_checkpoint_delivery_by_checkpoint ON ledger_checkpoint_delivery(checkpoint_id, endpoint);
                """)
            for table in ["ledger_checkpoint_timestamp", "ledger_checkpoint_delivery"] {
                try db.execute(sql: """
                    CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) is append-only: UPDATE refused'); END;
                    CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) is append-only: DELETE refused'); END;
                    """)
            }
        }
    }

    /// A migrator with only the ledger's migrations, for tools and tests that
    /// open a ledger database on their own.
    public static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        registerMigrations(&migrator)
        return migrator
    }
}
