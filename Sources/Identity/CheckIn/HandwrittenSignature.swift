public import Canonical
public import Foundation

/// A signature handwritten on the station's canvas, as the station sends it:
/// `{"width":W,"height":H,"strokes":[[{"x":..,"y":..,"t":ms,"p":pressure?},...],...]}`.
/// Coordinates are canvas pixels, `t` milliseconds from the station's clock,
/// `p` the Pointer Events pressure (0…1) when the pen reports one.
/// Every way of making one validates it.
public struct HandwrittenSignature: Codable, Sendable, Hashable {
    public struct Point: Codable, Sendable, Hashable {
        public let x: Double
        public let y: Double
        public let t: Double
        public let p: Double?

        public init(x: Double, y: Double, t: Double, p: Double? = nil) {
            self.x = x
            self.y = y
            self.t = t
            self.p = p
        }
    }

    public static let maximumSide = 4096
    public static let maximumPoints = 20_000
    public static let maximumJSONBytes = 1 << 20
    /// How far outside the canvas a point may lie: a pen dragged past the edge
    /// keeps reporting (pointer capture), and those points are still the signature.
    public static let edgeTolerance = 16.0
    /// Times above 2^53 ms are no longer exact integers in a Double; no clock gives them.
    static let maximumTime = 9_007_199_254_740_992.0

    public let width: Int
    public let height: Int
    public let strokes: [[Point]]

    public init(width: Int, height: Int, strokes: [[Point]]) throws(HandwrittenSignatureError) {
        self.width = width
        self.height = height
        self.strokes = strokes
        try validate()
    }

    /// Parses and validates the JSON the station posted.
    public init(json: Data) throws(HandwrittenSignatureError) {
        guard json.count <= Self.maximumJSONBytes else {
            throw HandwrittenSignatureError(.tooLarge, detail: "\(json.count) bytes, at most \(Self.maximumJSONBytes)")
        }
        do {
            self = try JSONDecoder().decode(Self.self, from: json)
        } catch let error as HandwrittenSignatureError {
            throw error
        } catch {
            throw HandwrittenSignatureError(.malformedJSON, detail: "\(error)")
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        width = try container.decode(Int.self, forKey: .width)
        height = try container.decode(Int.self, forKey: .height)
        strokes = try container.decode([[Point]].self, forKey: .strokes)
        try validate()
    }

    private func validate() throws(HandwrittenSignatureError) {
        let sides = 1...Self.maximumSide
        guard sides.contains(width), sides.contains(height) else {
            throw HandwrittenSignatureError(.invalidCanvasSize, detail: "canvas \(width)×\(height), each side must be 1…\(Self.maximumSide)")
        }
        let total = strokes.reduce(0) { $0 + $1.count }
        guard total <= Self.maximumPoints else {
            throw HandwrittenSignatureError(.tooManyPoints, detail: "\(total) points, at most \(Self.maximumPoints)")
        }
        guard strokes.contains(where: { $0.count >= 2 }) else {
            throw HandwrittenSignatureError(.empty, detail: "no stroke with two or more points")
        }
        let xs = -Self.edgeTolerance...(Double(width) + Self.edgeTolerance)
        let ys = -Self.edgeTolerance...(Double(height) + Self.edgeTolerance)
        for (s, stroke) in strokes.enumerated() {
            guard !stroke.isEmpty else { throw HandwrittenSignatureError(.emptyStroke, detail: "stroke \(s) has no points") }
            for (i, point) in stroke.enumerated() {
                let place = "stroke \(s) point \(i)"
                guard xs.contains(point.x), ys.contains(point.y) else {
                    throw HandwrittenSignatureError(.pointOutsideCanvas, detail: "\(place) at (\(point.x), \(point.y)) on a \(width)×\(height) canvas")
                }
                guard (0...Self.maximumTime).contains(point.t) else {
                    throw HandwrittenSignatureError(.invalidTime, detail: "\(place) has time \(point.t)")
                }
                if i > 0, point.t < stroke[i - 1].t {
                    throw HandwrittenSignatureError(.timeWentBackwards, detail: "\(place): \(point.t) ms after \(stroke[i - 1].t) ms")
                }
                if let p = point.p, !(0...1).contains(p) {
                    throw HandwrittenSignatureError(.invalidPressure, detail: "\(place) has pressure \(p), not 0…1")
                }
            }
        }
    }

    // MARK: Canonical form

    /// The canonical JSON: keys sorted, no whitespace, `p` omitted when
    /// absent, integral numbers written as integers and the rest in the
    /// shortest form that reads back to the same Double (Swift's
    /// `description`, which is valid JSON). Fixed by construction, so the
    /// hash does not depend on how the station spelled its JSON.
    public func canonicalJSON() -> [UInt8] {
        let value: CanonicalJSON = [
            "height": .integer(Int64(height)), "width": .integer(Int64(width)),
            "strokes": .array(strokes.map { stroke in
                .array(stroke.map { point in
                    var members: [String: CanonicalJSON] = [
                        "t": Self.canonicalNumber(point.t), "x": Self.canonicalNumber(point.x), "y": Self.canonicalNumber(point.y),
                    ]
                    if let p = point.p { members["p"] = Self.canonicalNumber(p) }
                    return .object(members)
                })
            }),
        ]
        // Cannot fail: fixed keys, numbers written by canonicalNumber.
        return (try? value.canonicalBytes()) ?? []
    }

    /// SHA-256 of `canonicalJSON()`, lowercase hex: what a signed check-in
    /// record refers to.
    public var sha256: String { Digest.sha256Hex(canonicalJSON()) }

    /// Validated values are finite and below 2^53, where integers are exact;
    /// others are written as Swift's shortest round-trip decimal.
    static func canonicalNumber(_ value: Double) -> CanonicalJSON {
        if value == value.rounded(), abs(value) <= maximumTime { return .integer(Int64(value)) }
        return .decimal(value.description)
    }
}

/// Why a handwritten signature was refused: a code, a Chinese message for the
/// person at the station, English for logs.
public struct HandwrittenSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case tooLarge = "too-large"
        case malformedJSON = "malformed-json"
        case invalidCanvasSize = "invalid-canvas-size"
        case tooManyPoints = "too-many-points"
        case empty
        case emptyStroke = "empty-stroke"
        case pointOutsideCanvas = "point-outside-canvas"
        case invalidTime = "invalid-time"
        case timeWentBackwards = "time-went-backwards"
        case invalidPressure = "invalid-pressure"
    }

    public let reason: Reason
    public let detail: String

    init(_ reason: Reason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var message: String {
        switch reason {
        case .empty: "签名内容为空，请在签名框内手写签名后再提交。"
        case .tooLarge, .tooManyPoints: "签名笔画过多，请点击“重写”后简洁地重新签名。"
        case .pointOutsideCanvas: "签名超出签名框，请点击“重写”后在框内重新签名。"
        case .malformedJSON, .invalidCanvasSize, .emptyStroke, .invalidTime, .timeWentBackwards, .invalidPressure:
            "签名数据无法识别，请点击“重写”后重新签名；如仍失败，请联系现场工作人员检查签到终端。"
        }
    }

    public var description: String { "handwritten signature refused (\(reason.rawValue)): \(detail)" }
}

extension HandwrittenSignatureError: ExplainedRefusal {
    public var explanation: Explanation { Explanation(code: reason.rawValue, chinese: message, english: detail) }
}
