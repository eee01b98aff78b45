import ArgumentParser
import Foundation
import Identity

extension StationCommand {
    /// `roomctl station kiosk S03 --out DIR`: what an installer carries to the station PC.
    struct Kiosk: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write what a station PC needs: its certificate as PKCS#12, the room CA, the Chromium kiosk policy, a zh/en guide.",
            discussion: """
                roomctl station kiosk S03 --pki /etc/roomd/tls --server 10.20.1.10:8443 --out /media/usb/S03
                The station's certificate and key are read from PKI/clients/S03.crt and .key (as
                `roomctl station enroll S03 --pki PKI` issued them). The PKCS#12 password is random,
                printed here and written into the guide: carry the folder to the station PC only.
                """)

        @Argument(help: "Station id, e.g. S03.")
        var station: String

        @Option(help: "Folder holding room-ca.crt and clients/<station>.crt/.key.")
        var pki: String

        @Option(help: "The room server as the station reaches it: host:port (e.g. 10.20.1.10:8443).")
        var server: String

        @Option(help: "Folder to write (created).")
        var out: String

        func validate() throws {
            guard station.range(of: #"^S[0-9]{2}$"#, options: .regularExpression) != nil else {
                throw ValidationError("station ids are S01..S99")
            }
            guard server.range(of: #"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$"#, options: .regularExpression) != nil else {
                throw ValidationError("--server is host:port, e.g. 10.20.1.10:8443")
            }
        }

        func run() throws {
            let read = { (path: String) throws -> [UInt8] in
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read \(path); issue the station's certificate first: roomctl station enroll \(station) --pki \(pki)")
                }
                return Array(data)
            }
            let certificate = try Certificate(pem: try read("\(pki)/clients/\(station).crt"))
            let key = try PrivateKey(pem: try read("\(pki)/clients/\(station).key"))
            let caPEM = try read("\(pki)/room-ca.crt")
            let ca = try Certificate(pem: caPEM)
            let password = try Digest.randomHex(12)
            let p12 = try PKCS12.export(certificate: certificate, key: key, chain: [ca], name: "roomd \(station)", password: password)
            try FileManager.default.createDirectory(atPath: out + "/policies/managed", withIntermediateDirectories: true)
            try SecureFile.write(p12, to: "\(out)/\(station).p12", mode: 0o600)
            try SecureFile.write(caPEM, to: "\(out)/room-ca.crt", mode: 0o644)
            let policy = try Self.policy(server: server, issuerCN: ca.subjectName.value(of: "2.5.4.3") ?? "")
            try SecureFile.write(policy, to: "\(out)/policies/managed/roomd.json", mode: 0o644)
            try SecureFile.write(Array(Self.guide(station: station, server: server, password: password).utf8), to: "\(out)/GUIDE.txt", mode: 0o600)
            print("wrote \(out): \(station).p12 (password \(password)), room-ca.crt, policies/managed/roomd.json, GUIDE.txt")
            print("carry the folder to station \(station) only; follow GUIDE.txt / 请按 GUIDE.txt 安装")
        }

        /// Chromium's managed policy: the station's certificate chosen without asking (by the room
        /// CA as issuer), the station page at start, nothing but the room server reachable.
        static func policy(server: String, issuerCN: String) throws -> [UInt8] {
            let origin = "https://\(server)"
            let rule = try JSONSerialization.data(withJSONObject: ["pattern": origin, "filter": ["ISSUER": ["CN": issuerCN]]],
                                                  options: [.sortedKeys, .withoutEscapingSlashes])
            let policy: [String: Any] = [
                "AutoSelectCertificateForUrls": [String(decoding: rule, as: UTF8.self)],
                "RestoreOnStartup": 4,
                "RestoreOnStartupURLs": ["\(origin)/station"],
                "HomepageLocation": "\(origin)/station",
                "URLBlocklist": ["*"],
                "URLAllowlist": [origin],
                "PasswordManagerEnabled": false,
                "TranslateEnabled": false,
                "BrowserSignin": 0,
                "SyncDisabled": true,
                "DownloadRestrictions": 3,
                "DefaultNotificationsSetting": 2,
                "DeveloperToolsAvailability": 2,
                "IncognitoModeAvailability": 1,
            ]
            return Array(try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
        }

        static func guide(station: String, server: String, password: String) -> String {
            """
            评审终端 \(station) 安装说明 / Station \(station) set-up guide
            ==========================================================

            本文件夹含有本终端的客户端证书（\(station).p12，口令见下），只用于终端 \(station)。安装后请删除本文件夹。
            This folder holds station \(station)'s client certificate (\(station).p12, password below). Use it on \(station) only,
            and delete the folder once installed.

            PKCS#12 口令 / password: \(password)

            1. 安装浏览器与证书工具 / Install the browser and NSS tools (Debian, UOS, Kylin):
                 sudo apt-get install chromium libnss3-tools

            2. 以终端使用的账户导入证书 / As the account the kiosk runs under, import the certificates:
                 mkdir -p ~/.pki/nssdb && certutil -N -d sql:$HOME/.pki/nssdb --empty-password
                 pk12util -i \(station).p12 -d sql:$HOME/.pki/nssdb -W \(password)
                 certutil -A -d sql:$HOME/.pki/nssdb -n roomd-room-ca -t "C,," -i room-ca.crt

            3. 安装浏览器策略（自动选择本终端证书、只允许访问评标室服务器）
               Install the browser policy (chooses this station's certificate, allows only the room server):
                 sudo mkdir -p /etc/chromium/policies/managed
                 sudo cp policies/managed/roomd.json /etc/chromium/policies/managed/roomd.json

            4. 以全屏方式开机自动启动 / Start in kiosk mode at log-in:
                 chromium --kiosk --noerrdialogs --disable-session-crashed-bubble https://\(server)/station

            5. 检查 / Check: the page shows 政府采购评审终端 and, on the operator's console (https://\(server)/console),
               station \(station) turns 在线 (online) within 20 seconds.

            如页面提示“客户端证书未被本评标室接受”，请确认第2步导入的是 \(station).p12，且评标室已登记该证书
            （roomctl station enroll）。/ If the page says the client certificate is not accepted, check that step 2
            imported \(station).p12 and that the room enrolled it (roomctl station enroll).

            """
        }
    }
}
