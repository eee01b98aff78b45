/// The opening room (开标室): the opening definition, the deterministic opening
/// (``OpeningSession``: sign-in, decryption within the window, the record, confirmations and
/// objections, the failure rule), the opening summary a sealed bid contains, and the readers it
/// needs — 统一社会信用代码 (``CreditCode``) and 人民币大写金额 (``ChineseAmount``).
///
/// Pure like Evaluation, on which it builds (exact ``Fraction``s, ``RuleViolation``): no I/O, no
/// clock, no cryptography. Identity decrypts and verifies; this module compares what it
/// established with the definition.
public enum OpeningModule {
    public static let schemaVersion = OpeningDefinition.currentVersion
}
