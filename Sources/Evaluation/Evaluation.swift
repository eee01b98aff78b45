/// The procurement evaluation rules (see docs/formats.md and the shared RULES.md).
///
/// Pure: no I/O, no clock, no randomness it is not given. Entry points: `SessionDefinition`
/// (validated with `violations(lot:)`), `EvaluationSession` (`handle` commands, `replay` events),
/// `SessionState` (`scoreSummary()`, `ranking()`, `result()`, `notice(for:)`), `CanonicalJSON`,
/// `OCDSExport`.
public enum EvaluationModule {
    public static let schemaVersion = SessionDefinition.currentVersion
}
