import ArgumentParser
import Foundation
import RoomConfig
import Identity

/// `roomctl station enroll|revoke`: the station's client certificate.
struct StationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Enroll or revoke a station's client certificate, and prepare its kiosk browser (评审终端证书与终端浏览器).",
        subcommands: [Enroll.self, Revoke.self, Kiosk.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue (or import) a station's client certificate and record its fingerprint in roomd.",
            discussion: """
                Issue:  roomctl station enroll S03 --pki /etc/roomd/tls --room-id R-301
                        writes clients/S03.crt and clients/S03.key (0600) signed by the room CA in --pki.
                Import: roomctl station enroll S03 --import S03.crt
                Once a station has an enrolled certificate, roomd accepts only enrolled certificates for it.
                """)

        @Argument(help: "Station id, e.g. S03.")
        var station: String

        @Option(help: "Folder of the room CA (room-ca.crt, room-ca.key) to issue from.")
        var pki: String?

        @Option(help: "Room id written into an issued certificate.")
        var roomId = "DEMO-ROOM"

        @Option(name: .customLong("import"), help: "Enroll this existing certificate (PEM) instead of issuing one.")
        var importPath: String?

        @OptionGroup var socket: AdminSocketOptions

        func validate() throws {
            if (pki == nil) == (importPath == nil) { throw ValidationError("give either --pki DIR (issue) or --import CERT.pem") }
        }

        func run() async throws {
            let certificatePath: String
            if let pki {
                let issued = try DemoPKI(directory: pki, roomID: roomId)
                    .issueClient(name: station, uri: RoleURI.station(station))
                print("issued \(issued.certificatePath) (key \(issued.keyPath), mode 0600)")
                certificatePath = issued.certificatePath
            } else {
                certificatePath = importPath!
            }
            let pem = try Array(Data(contentsOf: URL(fileURLWithPath: certificatePath)))
            let answer = try await AdminClient(socketPath: try socket.resolve())
                .post("/v1/stations/\(station)/enroll", body: pem, as: StationEnrolled.self)
            print("enrolled \(station): sha256 \(answer.fingerprint), valid until \(answer.notAfter) / 已登记")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a station's certificates; its next connection fails at once.",
            discussion: """
                Without --fingerprint every certificate of the station is revoked, and the station is
                accepted again only with a certificate enrolled afterwards. Revocation is permanent.
                """)

        @Argument(help: "Station id, e.g. S03.")
        var station: String

        @Option(help: "Revoke only this certificate (SHA-256 fingerprint, hex).")
        var fingerprint: String?

        @Option(help: "Why (recorded in the audit ledger).")
        var reason = "revoked by the operator"

        @OptionGroup var socket: AdminSocketOptions

        func run() async throws {
            var query = "reason=\(reason.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            if let fingerprint { query += "&fingerprint=\(fingerprint.replacingOccurrences(of: ":", with: ""))" }
            _ = try await AdminClient(socketPath: try socket.resolve()).post("/v1/stations/\(station)/revoke?\(query)", as: StationRevoked.self)
            print("revoked \(fingerprint.map { "certificate \($0) of " } ?? "every certificate of ")\(station) / 已吊销")
        }
    }
}
