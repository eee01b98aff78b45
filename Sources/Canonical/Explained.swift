/// How every refusal in roomd is explained, whichever module refuses: a
/// stable code for programs, a Chinese message for the person at the station
/// or console, English for logs. The HTTPS API answers with exactly these
/// three (`{"error", "message", "detail"}`, docs/formats.md), so a module
/// that refuses something — a signature, an ID number, a rule of the
/// procurement law, a certificate — says it once, in this shape.
public struct Explanation: Sendable, Hashable {
    public var code: String
    public var chinese: String
    public var english: String

    public init(code: String, chinese: String, english: String) {
        self.code = code
        self.chinese = chinese
        self.english = english
    }
}

/// An error that explains itself as an ``Explanation``.
public protocol ExplainedRefusal: Error {
    var explanation: Explanation { get }
}
