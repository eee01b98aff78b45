/// Stored evidence: the segment index, the audit ledger, sealed packages.
public enum ArchiveModule {
    public static let formatVersion = 1
}
