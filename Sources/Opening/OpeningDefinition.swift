import Canonical
public import Evaluation
import Foundation

/// The opening definition (开标定义): what the platform fixes before the bid deadline, pushed as
/// JSON with a detached CMS signature over the exact bytes (like the session definition,
/// docs/formats.md "Opening definition"), or imported by the operator. Read with
/// ``decode(_:)``, which refuses what is not strict JSON or breaks ``violations()``.
public struct OpeningDefinition: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var project: OpeningProject
    public var lots: [OpeningLot]
    /// 投标截止时间, RFC 3339 with an offset ("2026-12-10T09:30:00+08:00"). Sign-in after it is late.
    public var bidDeadline: String
    /// Minutes each supplier has to decrypt once the opening starts (e.g. 30).
    public var decryptionWindowMinutes: Int
    public var suppliers: [OpeningSupplier]

    public init(version: Int = OpeningDefinition.currentVersion, project: OpeningProject, lots: [OpeningLot],
                bidDeadline: String, decryptionWindowMinutes: Int, suppliers: [OpeningSupplier]) {
        self.version = version; self.project = project; self.lots = lots; self.bidDeadline = bidDeadline
        self.decryptionWindowMinutes = decryptionWindowMinutes; self.suppliers = suppliers
    }

    /// The bid deadline as an instant (milliseconds), nil when `bidDeadline` is not RFC 3339.
    public var deadline: Instant? { CivilTime.parseRFC3339(bidDeadline)?.milliseconds }

    public func lot(_ id: String) -> OpeningLot? { lots.first { $0.id == id } }
    public func supplier(_ code: CreditCode) -> OpeningSupplier? { suppliers.first { $0.creditCode == code } }

    /// Longest decryption window accepted: half a working day.
    public static let longestWindowMinutes = 240

    /// Strict JSON (the parser that reads evidence: no trailing commas, duplicate keys, NaN), then
    /// the format, then ``violations()``.
    public static func decode(_ bytes: [UInt8]) throws(OpeningDefinitionError) -> OpeningDefinition {
        do {
            _ = try CanonicalJSON(parsing: bytes, decimals: true)
        } catch {
            throw .unreadable("not strict JSON: \(error)")
        }
        let definition: OpeningDefinition
        do {
            definition = try JSONDecoder().decode(OpeningDefinition.self, from: Data(bytes))
        } catch let DecodingError.dataCorrupted(context) {
            throw .unreadable("\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch {
            throw .unreadable("\(error)")
        }
        if let first = definition.violations().first { throw first }
        return definition
    }

    /// Everything wrong with the definition, in order; empty when it may open.
    public func violations() -> [OpeningDefinitionError] {
        var out: [OpeningDefinitionError] = []
        if version != Self.currentVersion { out.append(.version(version)) }
        if project.number.allSatisfy(\.isWhitespace) { out.append(.missing("project.number")) }
        if project.name.allSatisfy(\.isWhitespace) { out.append(.missing("project.name")) }
        if lots.isEmpty { out.append(.missing("lots")) }
        var lotIDs: Set<String> = []
        for lot in lots {
            if lot.id.isEmpty || !lotIDs.insert(lot.id).inserted { out.append(.duplicateOrEmptyLot(lot.id)) }
            if lot.twoBidderRoute == true,
               project.method != .competitiveConsultation && project.method != .competitiveNegotiation {
                out.append(.twoBidderRouteNotAllowed(lot: lot.id))
            }
        }
        if deadline == nil { out.append(.deadline(bidDeadline)) }
        if !(1...Self.longestWindowMinutes).contains(decryptionWindowMinutes) { out.append(.window(decryptionWindowMinutes)) }
        if suppliers.isEmpty { out.append(.missing("suppliers")) }
        var codes: Set<CreditCode> = []
        for s in suppliers {
            if !codes.insert(s.creditCode).inserted { out.append(.duplicateSupplier(s.creditCode)) }
            if s.name.allSatisfy(\.isWhitespace) { out.append(.missing("suppliers[\(s.creditCode)].name")) }
            if s.lots.isEmpty { out.append(.missing("suppliers[\(s.creditCode)].lots")) }
            for lot in s.lots where !lotIDs.contains(lot) { out.append(.unknownLot(supplier: s.creditCode, lot: lot)) }
            for (field, value) in [("encryptionCertificateSHA256", s.encryptionCertificateSHA256),
                                   ("sealedBidSHA256", s.sealedBidSHA256), ("summarySHA256", s.summarySHA256)]
            where !Self.isSHA256Hex(value) {
                out.append(.hash(supplier: s.creditCode, field: field, value: value))
            }
        }
        return out
    }

    /// 64 lowercase hex digits: the form roomd writes every SHA-256.
    public static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

public struct OpeningProject: Codable, Sendable, Equatable {
    /// 项目编号
    public var number: String
    public var name: String
    public var purchaser: String
    public var agency: String?
    public var method: ProcurementMethod

    public init(number: String, name: String, purchaser: String, agency: String? = nil, method: ProcurementMethod) {
        self.number = number; self.name = name; self.purchaser = purchaser; self.agency = agency; self.method = method
    }
}

public struct OpeningLot: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// 磋商 第三条第四项 / 政府购买服务, 谈判 第27条: two bids are enough.
    public var twoBidderRoute: Bool?

    public init(id: String, name: String, twoBidderRoute: Bool? = nil) {
        self.id = id; self.name = name; self.twoBidderRoute = twoBidderRoute
    }
}

public struct OpeningSupplier: Codable, Sendable, Equatable {
    public var name: String
    /// 统一社会信用代码; must match the certificate the representative signs in with.
    public var creditCode: CreditCode
    /// The lots bid for.
    public var lots: [String]
    /// SHA-256 (DER) of the certificate the bid was encrypted to (the supplier's encryption certificate).
    public var encryptionCertificateSHA256: String
    /// SHA-256 of the sealed bid (CMS EnvelopedData, DER) as the platform received it.
    public var sealedBidSHA256: String
    /// SHA-256 of the plaintext it contains: the opening summary (开标一览表, ``OpeningSummary``).
    public var summarySHA256: String

    public init(name: String, creditCode: CreditCode, lots: [String], encryptionCertificateSHA256: String,
                sealedBidSHA256: String, summarySHA256: String) {
        self.name = name; self.creditCode = creditCode; self.lots = lots
        self.encryptionCertificateSHA256 = encryptionCertificateSHA256
        self.sealedBidSHA256 = sealedBidSHA256; self.summarySHA256 = summarySHA256
    }
}

extension OpeningDefinition {
    /// Valid bids a lot needs to be opened: 3 (政府采购法 36, 87号令 43); 2 on the two-bidder
    /// route of 磋商 and 谈判; 1 for 单一来源.
    public func minimumValidBids(lot: OpeningLot) -> Int {
        if project.method == .singleSource { return 1 }
        return lot.twoBidderRoute == true ? 2 : 3
    }
}

public enum OpeningDefinitionError: RuleViolation, Equatable {
    case unreadable(String)
    case version(Int)
    case missing(String)
    case duplicateOrEmptyLot(String)
    case twoBidderRouteNotAllowed(lot: String)
    case deadline(String)
    case window(Int)
    case duplicateSupplier(CreditCode)
    case unknownLot(supplier: CreditCode, lot: String)
    case hash(supplier: CreditCode, field: String, value: String)

    public var code: String {
        switch self {
        case .unreadable: "opening-definition-unreadable"
        case .version: "opening-definition-version"
        case .missing: "opening-definition-missing"
        case .duplicateOrEmptyLot: "opening-definition-lot-id"
        case .twoBidderRouteNotAllowed: "opening-definition-two-bidder-route"
        case .deadline: "opening-definition-deadline"
        case .window: "opening-definition-window"
        case .duplicateSupplier: "opening-definition-duplicate-supplier"
        case .unknownLot: "opening-definition-unknown-lot"
        case .hash: "opening-definition-hash"
        }
    }

    public var chineseMessage: String {
        let what: String = switch self {
        case .unreadable: "无法读取（不是规定格式的JSON）"
        case .version(let v): "版本号\(v)不受支持（应为\(OpeningDefinition.currentVersion)）"
        case .missing(let field): "缺少\(field)"
        case .duplicateOrEmptyLot(let id): "采购包编号“\(id)”为空或重复"
        case .twoBidderRouteNotAllowed(let lot): "采购包\(lot)：只有竞争性磋商和竞争性谈判可适用两家供应商的情形"
        case .deadline(let text): "投标截止时间“\(text)”不是带时区的RFC 3339时间（如2026-12-10T09:30:00+08:00）"
        case .window(let m): "解密时限\(m)分钟不在1至\(OpeningDefinition.longestWindowMinutes)分钟之间"
        case .duplicateSupplier(let c): "供应商\(c)重复"
        case .unknownLot(let s, let lot): "供应商\(s)投标的采购包\(lot)不存在"
        case .hash(let s, let field, _): "供应商\(s)的\(field)不是64位小写十六进制SHA-256值"
        }
        return "开标定义\(what)。请向政府采购云平台核实后重新推送或导入。"
    }

    public var englishMessage: String {
        let what: String = switch self {
        case .unreadable(let why): "cannot be read: \(why)"
        case .version(let v): "has version \(v); only \(OpeningDefinition.currentVersion) exists"
        case .missing(let field): "lacks \(field)"
        case .duplicateOrEmptyLot(let id): "has an empty or repeated lot id \"\(id)\""
        case .twoBidderRouteNotAllowed(let lot): "lot \(lot): only competitive consultation and negotiation have a two-bidder route"
        case .deadline(let text): "bidDeadline \"\(text)\" is not an RFC 3339 time with an offset (2026-12-10T09:30:00+08:00)"
        case .window(let m): "decryptionWindowMinutes \(m) is not within 1...\(OpeningDefinition.longestWindowMinutes)"
        case .duplicateSupplier(let c): "lists supplier \(c) twice"
        case .unknownLot(let s, let lot): "supplier \(s) bids for lot \(lot), which the definition does not have"
        case .hash(let s, let field, let value): "supplier \(s): \(field) \"\(value)\" is not 64 lowercase hex digits"
        }
        return "the opening definition \(what); check it with the platform and push or import it again"
    }
}
