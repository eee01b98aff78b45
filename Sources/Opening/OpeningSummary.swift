import Canonical
import Foundation

/// The opening summary (开标一览表): the plaintext inside a supplier's sealed bid, canonical JSON
/// (docs/formats.md "Opening summary"). Its SHA-256 is fixed in the definition before the
/// deadline, so what is read out at the opening is what the supplier sealed.
public struct OpeningSummary: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    /// 项目编号
    public var project: String
    public var supplier: CreditCode
    public var lots: [SummaryLine]

    public init(version: Int = OpeningSummary.currentVersion, project: String, supplier: CreditCode, lots: [SummaryLine]) {
        self.version = version; self.project = project; self.supplier = supplier; self.lots = lots
    }

    /// Reads the decrypted plaintext: strict JSON, then the format.
    public static func decode(_ bytes: [UInt8]) throws(SummaryProblem) -> OpeningSummary {
        let summary: OpeningSummary
        do {
            _ = try CanonicalJSON(parsing: bytes, decimals: true)
            summary = try JSONDecoder().decode(OpeningSummary.self, from: Data(bytes))
        } catch {
            throw SummaryProblem(english: "the opening summary is not the format of docs/formats.md: \(error)")
        }
        guard summary.version == currentVersion else {
            throw SummaryProblem(english: "the opening summary has version \(summary.version); only \(currentVersion) exists")
        }
        return summary
    }

    /// The bytes a bid tool seals (canonical JSON), whose SHA-256 goes into the definition.
    public func canonicalBytes() throws -> [UInt8] { try CanonicalJSON.canonicalBytes(encoding: self) }
}

/// One lot's line of the summary, as the supplier wrote it: both prices are kept as text, so the
/// record shows exactly what was sealed.
public struct SummaryLine: Codable, Sendable, Equatable {
    public var lot: String
    /// 投标报价（小写）, plain decimal text in yuan: "1234567.89".
    public var priceInFigures: String
    /// 投标报价（大写）: "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分".
    public var priceInWords: String
    /// 交货期／服务期 and other columns the documents ask for, as written.
    public var deliveryPeriod: String?
    public var remarks: String?

    public init(lot: String, priceInFigures: String, priceInWords: String, deliveryPeriod: String? = nil, remarks: String? = nil) {
        self.lot = lot; self.priceInFigures = priceInFigures; self.priceInWords = priceInWords
        self.deliveryPeriod = deliveryPeriod; self.remarks = remarks
    }
}

/// Why decrypted plaintext is not an opening summary (English, for the record and logs; the
/// record's Chinese says the summary could not be read).
public struct SummaryProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var english: String
    public var description: String { english }
}
