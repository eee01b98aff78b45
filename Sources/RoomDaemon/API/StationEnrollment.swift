import Foundation
import Hummingbird
import Identity
import Logging
import RoomConfig
import Store

/// `roomctl station enroll|revoke` on the admin socket. roomctl issues the
/// certificate (it holds the room CA's key, roomd does not need it) and hands
/// roomd the PEM; roomd checks that it names the station and records it.
struct StationEnrollment: Sendable {
    let store: RoomStore
    let gate: CertificateGate
    let stationIDs: Set<String>
    let logger: Logger

    func register(on router: AdminRouteTable) {
        router.post("/v1/stations/:id/enroll", roles: [], purpose: "enroll a station's client certificate") { request, context in
            let id = try context.parameters.require("id")
            guard stationIDs.contains(id) else { throw Self.unknownStation(id) }
            let body = Array(buffer: try await request.body.collect(upTo: 64 * 1024))
            let certificate: Certificate
            do {
                certificate = try Certificate(pem: body)
            } catch {
                throw Refusal(.badRequest, code: "bad-certificate", chinese: "证书文件无法读取，请提供PEM格式的证书。",
                                english: "the body is not a PEM certificate: \(error)")
            }
            switch gate.mapper.identify(certificate) {
            case .success(let peer) where peer.stationID == id:
                break
            case .success(let peer):
                throw Refusal(.badRequest, code: "certificate-names-other-station",
                                chinese: "证书不属于终端 \(id)，请核对后重新登记。",
                                english: "certificate \(certificate.subject) maps to \(peer), not station \(id)")
            case .failure(let denial):
                throw Refusal(.badRequest, code: "certificate-not-mapped", chinese: "证书不属于任何评审终端，请核对后重新登记。",
                                english: denial.description)
            }
            let fingerprint = try certificate.sha256Fingerprint()
            do {
                let enrollment = try await store.enroll(
                    station: id, fingerprint: fingerprint, subject: certificate.subject,
                    notAfter: Int64(certificate.notAfter.timeIntervalSince1970) * 1_000_000_000,
                    pem: String(decoding: try certificate.pem(), as: UTF8.self), actor: "roomctl")
                gate.certificates.add(enrollment)
            } catch let error as RoomStore.EnrollmentError {
                throw Refusal(.conflict, code: "enrollment-refused", chinese: "证书登记被拒绝：该证书已登记或已被吊销。",
                                english: error.description)
            }
            logger.notice("station certificate enrolled", metadata: ["station": .string(id), "fingerprint": .string(fingerprint)])
            return try Response.json(StationEnrolled(station: id, fingerprint: fingerprint, subject: certificate.subject,
                                              notAfter: Text.iso8601(nanoseconds: Int64(certificate.notAfter.timeIntervalSince1970) * 1_000_000_000)))
        }
        router.post("/v1/stations/:id/revoke", roles: [], purpose: "revoke a station's certificate(s)") { request, context in
            let id = try context.parameters.require("id")
            guard stationIDs.contains(id) else { throw Self.unknownStation(id) }
            let fingerprint = request.uri.queryParameters.get("fingerprint").map { $0.lowercased() }
            if let fingerprint, fingerprint.count != 64 || !fingerprint.allSatisfy(\.isHexDigit) {
                throw Refusal(.badRequest, code: "bad-fingerprint", chinese: "证书指纹格式错误（应为64位十六进制SHA-256）。",
                                english: "fingerprint must be 64 hex digits (SHA-256 of the DER certificate)")
            }
            let reason = request.uri.queryParameters.get("reason") ?? "revoked by the operator"
            let revocation = try await store.revoke(station: id, fingerprint: fingerprint, reason: reason, actor: "roomctl")
            gate.certificates.add(revocation)
            logger.warning("station certificate revoked", metadata: [
                "station": .string(id), "fingerprint": .string(fingerprint ?? "all"), "reason": .string(reason),
            ])
            return try Response.json(StationRevoked(station: id, fingerprint: fingerprint,
                                             revokedAt: Text.iso8601(nanoseconds: revocation.revokedNanoseconds)))
        }
    }

    static func unknownStation(_ id: String) -> Refusal {
        Refusal(.notFound, code: "station-unknown", chinese: "本评标室没有终端 \(id)，请检查配置中的终端编号。",
                 english: "station \(id) is not in the configuration")
    }
}
