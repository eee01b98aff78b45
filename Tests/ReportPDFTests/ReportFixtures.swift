import Evaluation
import Foundation
import ReportPDF

/// A whole evaluation driven through the engine the way the daemon drives it: 7 members, 20
/// bidders, with price corrections, a refused correction, a failed qualification, a failed
/// compliance, an abnormally low price, clarifications, same-brand bids, an objective
/// disagreement and two 畸高畸低 flags (one kept, one corrected), a tie drawn by lot, signatures, a
/// dissent, a member deemed to agree and the leader's confirmation.
enum ReportFixtures {
    static func f(_ text: String) -> Fraction { Fraction(decimalText: text)! }

    static let companyNames = [
        "北京华信科技有限公司", "上海博远信息技术有限公司", "广州中科智能设备有限公司", "深圳市腾跃电子有限公司",
        "杭州恒通教育装备有限公司", "南京金陵仪器设备有限公司", "武汉光谷创新科技有限公司", "成都天府数码有限公司",
        "西安秦川电气股份有限公司", "重庆山城信息产业有限公司", "天津滨海教学设备有限公司", "苏州工业园区精工科技有限公司",
        "长沙湘江智造有限公司", "郑州中原电子科技有限公司", "济南泉城软件有限公司", "沈阳北方仪器有限公司",
        "呼和浩特草原科技有限公司", "昆明彩云数码设备有限公司", "合肥新站智能科技有限公司", "福州闽江电子有限公司",
    ]

    static let criteria = [
        Criterion(id: "T1", name: "技术方案", group: .technical, maximum: f("20"), kind: .subjective),
        Criterion(id: "T2", name: "技术参数响应", group: .technical, maximum: f("10"), kind: .objective,
                  allowedValues: [f("0"), f("5"), f("10")]),
        Criterion(id: "T3", name: "实施方案", group: .technical, maximum: f("10"), kind: .subjective),
        Criterion(id: "T4", name: "培训方案", group: .technical, maximum: f("5"), kind: .subjective),
        Criterion(id: "C1", name: "类似项目业绩", group: .commercial, maximum: f("10"), kind: .objective,
                  allowedValues: [f("0"), f("5"), f("10")]),
        Criterion(id: "C2", name: "售后服务", group: .commercial, maximum: f("10"), kind: .subjective),
        Criterion(id: "C3", name: "质量保证", group: .commercial, maximum: f("5"), kind: .objective, allowedValues: [f("0"), f("5")]),
        Criterion(id: "P", name: "价格", group: .price, maximum: f("30"), kind: .price),
    ]

    static func bidderID(_ i: Int) -> String { i < 9 ? "B0\(i + 1)" : "B\(i + 1)" }

    static func definition() -> SessionDefinition {
        let bidders = (0..<20).map { i -> Bidder in
            let id = bidderID(i)
            var price = 9_000_000 + (i * 37_000) % 600_000
            var words: Fraction?
            var brand: String?
            var sme: SMEClass = [.large, .small, .micro, .medium][i % 4]
            switch id {
            case "B03": words = f("\(price + 10_000)")               // 大写 over 小写, confirmed
            case "B05": words = f("\(price + 50_000)")               // refused → invalid
            case "B11", "B12": price = 9_250_000; sme = .large      // identical: tie for the lottery
            case "B15": brand = "华为"
            case "B16": brand = " 华为 "
            case "B20": price = 4_000_000                           // abnormally low
            default: break
            }
            return Bidder(id: id, name: companyNames[i], opening: OpeningRecord(totalInFigures: Fraction(price), totalInWords: words),
                          smeClass: sme, smeSharePercent: id == "B08" ? f("40") : nil, coreProductBrand: brand)
        }
        let lot = Lot(id: "L1", name: "第1包 教学实验设备", budget: f("12000000"), evaluationMethod: .comprehensiveScoring,
                      criteria: criteria, priceWeightPercent: f("30"),
                      deductions: Deductions(smallFirmPercent: f("10"), consortiumSharePercent: f("4"), stacking: .multiplicative),
                      candidateCount: 3, tieBreak: .lottery,
                      qualificationItems: [ReviewItem(id: "Q1", name: "营业执照"), ReviewItem(id: "Q2", name: "信用记录")],
                      complianceItems: [ReviewItem(id: "K1", name: "投标有效期"), ReviewItem(id: "K2", name: "实质性要求")],
                      bidders: bidders)
        let names = ["王建国", "李明华", "张晓燕", "刘德军", "陈静", "杨帆"]
        let committee = names.enumerated().map { i, n in
            Member(id: "e\(i + 1)", name: n, role: .expert, affiliation: ["内蒙古大学", "内蒙古工业大学", "呼和浩特市第一中学",
                                                                          "内蒙古师范大学", "包头市教育装备中心", "内蒙古科技大学"][i])
        } + [Member(id: "r1", name: "赵采购", role: .purchaserRepresentative, affiliation: "某市教育局")]
        let project = Project(number: "NMG-2026-001", name: "某市中小学教学实验设备采购项目", purchaser: "某市教育局",
                              agency: "某招标代理有限公司", budget: f("12000000"), maximumPrice: f("11000000"), category: .goods,
                              method: .publicTender,
                              announcement: Announcement(media: ["中国政府采购网", "内蒙古自治区政府采购网"], publishedOn: "2026-10-01",
                                                         openingOn: "2026-10-22", evaluationOn: "2026-10-22"))
        return SessionDefinition(project: project, committee: committee, lots: [lot])
    }

    /// The scores member `m` (index in id order) gives bidder `i`.
    static func sheet(member m: Int, memberID: String, bidder i: Int) -> [String: Fraction] {
        let id = bidderID(i)
        let base = i == 10 || i == 11 ? 5 : i      // B11 and B12 score alike
        var t1 = 11 + base % 8 + (m % 2)           // 11…19
        var t3 = 5 + base % 4                      // 5…8
        var c1 = [0, 5, 10][base % 3]
        if id == "B04", memberID == "e3" { t1 = 2 }            // 畸低: kept with a reason
        if id == "B06", memberID == "e5" { t3 = 0 }            // 畸低: corrected
        if id == "B08", memberID == "e2" { c1 = c1 == 10 ? 5 : 10 }  // objective disagreement
        if id == "B11" || id == "B12" { t1 = 15 }
        return [
            "T1": Fraction(t1), "T2": Fraction([5, 10][base % 2]), "T3": Fraction(t3), "T4": f(base % 2 == 0 ? "4.5" : "3"),
            "C1": Fraction(c1), "C2": Fraction(6 + base % 4), "C3": Fraction([0, 5][(base / 2) % 2]),
        ]
    }

    struct Driver {
        var session: EvaluationSession
        var now: Int64 = 1_792_629_000_000   // 2026-10-22 08:30 Beijing time

        mutating func run(_ command: Command) throws {
            now += 1000
            try session.handle(command, at: now)
        }
    }

    enum Stop { case beforeLottery, closed }

    /// The session up to `until`: by default closed, report version 1 signed and confirmed;
    /// `.beforeLottery` stops in RANKING with the tie undrawn.
    static func closedSession(until stop: Stop = .closed) throws -> (SessionDefinition, EvaluationSession) {
        let def = definition()
        var r = Driver(session: try EvaluationSession(definition: def, lot: "L1"))
        let members = r.session.state.members
        let memberIDs = members.map(\.id)
        try r.run(.openSession)
        for m in members {
            try r.run(.checkIn(member: m.id, certificateSubject: "CN=\(m.name)", rosterMatched: true,
                               authorizationLetter: m.role == .purchaserRepresentative ? "授权函〔2026〕18号" : nil))
        }
        for m in memberIDs { try r.run(.signCommitment(member: m, disciplineRead: true, commitmentSigned: true, noConflictDeclared: true)) }
        for m in memberIDs { try r.run(.castLeaderVote(voter: m, candidate: "e1")) }
        for b in r.session.state.bidders.map(\.id) {
            for item in ["Q1", "Q2"] {
                let fail = b == "B09" && item == "Q2"
                try r.run(.recordQualification(bidder: b, item: item, member: nil, passed: !fail,
                                               reason: fail ? "信用中国查询显示被列入失信被执行人名单" : nil, evidence: ["信用中国截图-\(b)"]))
            }
        }
        try r.run(.concludeQualification)
        for b in r.session.state.bidders.map(\.id) {
            for item in ["K1", "K2"] {
                for m in memberIDs {
                    let fail = b == "B07" && item == "K2" && ["e1", "e2", "e3", "e4"].contains(m)
                    try r.run(.markCompliance(member: m, bidder: b, item: item, passed: !fail,
                                              reason: fail ? "交货期不满足招标文件★条款（要求30日，响应45日）" : nil))
                }
            }
        }
        try r.run(.requestClarification(id: "CL-1", bidder: "B02", purpose: .general, question: "请澄清投标文件第35页所列设备型号与技术参数表不一致之处",
                                        deadline: r.now + 3_600_000))
        try r.run(.answerClarification(id: "CL-1", answer: "以技术参数表所列型号XH-3000为准，第35页为笔误", signedBy: "上海博远信息技术有限公司授权代表"))
        try r.run(.requestClarification(id: "CL-2", bidder: "B20", purpose: .abnormallyLowPrice,
                                        question: "贵公司报价明显低于其他有效报价，请书面说明报价合理性并提供成本构成", deadline: r.now + 3_600_000))
        try r.run(.answerClarification(id: "CL-2", answer: "部分设备为库存清仓，报价包含全部费用", signedBy: "福州闽江电子有限公司法定代表人"))
        try r.run(.decideAbnormallyLowPrice(bidder: "B20", accepted: false, reason: "未能提供成本证明，不能证明报价合理性"))
        try r.run(.confirmPriceCorrection(bidder: "B03", confirmed: true))
        try r.run(.confirmPriceCorrection(bidder: "B05", confirmed: false))
        try r.run(.concludeCompliance)

        let scoring = r.session.state.bidders.map(\.id)
        for (mi, m) in memberIDs.enumerated() {
            for b in scoring {
                let i = Int(b.dropFirst())! - 1
                try r.run(.enterScoreSheet(member: m, bidder: b, scores: sheet(member: mi, memberID: m, bidder: i)))
            }
            try r.run(.submitScores(member: m))
        }
        let c1 = r.session.state.sheet(member: "e1", bidder: "B08")!["C1"]!
        try r.run(.reviseScore(member: "e2", bidder: "B08", criterion: "C1", value: c1, reason: .objectiveDisagreement,
                               panelDecision: "经核对投标文件业绩证明材料，统一为\(c1)分"))
        let t3 = r.session.state.sheet(member: "e1", bidder: "B06")!["T3"]!
        try r.run(.reviseScore(member: "e5", bidder: "B06", criterion: "T3", value: t3, reason: .abnormalScore,
                               panelDecision: "经评审委员会认定评分畸低，该成员更正"))
        for flag in r.session.state.scoreSummary()!.unresolvedFlags {
            try r.run(.keepAbnormalScore(flag: flag.id, reason: "该成员认为技术方案缺少关键模块，理由已当场说明，评审委员会同意保留"))
        }
        try r.run(.concludeReview)
        if stop == .beforeLottery { return (def, r.session) }
        try r.run(.drawLottery(seed: 20_261_022, witness: "公证员 孙某"))
        try r.run(.confirmRanking)
        try r.run(.startSigning)
        for m in ["e1", "e2", "e3", "e4", "e5"] { try r.run(.sign(member: m, signature: "SIG-\(m)")) }
        try r.run(.dissent(member: "e6", reasons: "对第一候选人的售后服务评分有不同意见：其服务网点证明材料不完整，不同意推荐其为第一中标候选人。"))
        try r.run(.leaderConfirm(member: "e1"))
        return (def, r.session)
    }

    /// The signature page entries as the daemon would make them from its verified signatures.
    static func signatureEntries(_ result: EvaluationResult, bodySHA256: String) -> [SignaturePageEntry] {
        let report = result.current
        let names = Dictionary(uniqueKeysWithValues: report.panel.map { ($0.id, $0.name) })
        return report.signatures.map { s in
            let name = names[s.member] ?? s.member
            let kind: SignaturePageEntry.Kind = s.kind == .signed ? .signed : s.kind == .dissented ? .dissented : .deemedAgreed
            guard kind != .deemedAgreed else {
                return SignaturePageEntry(member: s.member, name: name, kind: kind)
            }
            return SignaturePageEntry(member: s.member, name: name, kind: kind, verified: true, signerName: name,
                                      certificateFingerprint: "sha256:" + String(repeating: "3fa9c1", count: 10) + "d2e4",
                                      algorithm: "sm2-sm3", signedDocumentSHA256: bodySHA256,
                                      handwritingPNG: handwriting(seed: s.member.unicodeScalars.reduce(0) { $0 + Int($1.value) }),
                                      dissent: kind == .dissented ? s.text : nil, at: s.at)
        }
    }

    /// A small grayscale PNG of a pen stroke (stored deflate blocks: no zlib needed).
    static func handwriting(seed: Int) -> [UInt8] {
        let w = 300, h = 100
        var pixels = [UInt8](repeating: 255, count: w * h)
        for x in 10..<290 {
            let phase = Double(x + seed) / 17.0
            let y = 50 + Int(28 * sin(phase) * cos(Double(x) / 53.0))
            for dy in -2...2 where (0..<h).contains(y + dy) { pixels[(y + dy) * w + x] = 0 }
        }
        var raw: [UInt8] = []
        for row in 0..<h { raw.append(0); raw += pixels[row * w..<(row + 1) * w] }
        return png(width: w, height: h, raw: raw)
    }

    static func png(width: Int, height: Int, raw: [UInt8]) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func crc(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return ~c
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(crc(body))
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, raw.count - offset)
            let final: UInt8 = offset + n == raw.count ? 1 : 0
            zlib += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            zlib += raw[offset..<offset + n]
            offset += n
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for x in raw { a = (a + UInt32(x)) % 65_521; b = (b + a) % 65_521 }
        zlib += be32(b << 16 | a)
        let ihdr = be32(UInt32(width)) + be32(UInt32(height)) + [8, 0, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
    }

    /// SHA-256 (FIPS 180-4) in hex: the hash of the report body the members sign.
    static func sha256Hex(_ message: [UInt8]) -> String {
        let k: [UInt32] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ]
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var data = message
        let bits = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        var w = [UInt32](repeating: 0, count: 64)
        for block in stride(from: 0, to: data.count, by: 64) {
            for t in 0..<16 {
                let j = block + 4 * t
                w[t] = UInt32(data[j]) << 24 | UInt32(data[j + 1]) << 16 | UInt32(data[j + 2]) << 8 | UInt32(data[j + 3])
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for t in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        let hex = Array("0123456789abcdef")
        return String(h.flatMap { v in (0..<8).reversed().map { hex[Int(v >> (UInt32($0) * 4) & 0xF)] } })
    }
}
