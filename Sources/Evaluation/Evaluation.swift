/// The procurement evaluation rules (see docs/formats.md and the shared RULES.md).
///
/// Pure: no I/O, no clock, no randomness it is not given.
public enum EvaluationModule {
    public static let schemaVersion = 1
}
