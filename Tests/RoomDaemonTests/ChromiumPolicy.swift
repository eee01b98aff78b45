import Foundation

extension DemoRoom {
    /// Chromium's client-certificate rule for this room, as machine policy: the kiosk's
    /// `AutoSelectCertificateForUrls` alone (the room CA as issuer, for this room's origin), from
    /// what `roomctl station kiosk` writes. The policy is machine state: the caller removes the
    /// returned file afterwards.
    func installChromiumCertificatePolicy() throws -> String {
        let kiosk = try run(Binaries.roomctl, ["station", "kiosk", "S01", "--pki", pki, "--server", "127.0.0.1:\(port)",
                                               "--out", dir.path + "/kiosk/S01"])
        guard kiosk.status == 0 else { throw TestFailure("roomctl station kiosk: \(kiosk.stderr)") }
        let kioskPolicy = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/kiosk/S01/policies/managed/roomd.json"))) as? [String: Any] ?? [:]
        guard let rule = kioskPolicy["AutoSelectCertificateForUrls"] as? [String] else {
            throw TestFailure("the kiosk policy has no AutoSelectCertificateForUrls: \(kioskPolicy)")
        }
        let policies = "/etc/chromium/policies/managed"
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        let policy = "\(policies)/roomd-test-\(port).json"
        try JSONSerialization.data(withJSONObject: ["AutoSelectCertificateForUrls": rule]).write(to: URL(fileURLWithPath: policy))
        return policy
    }
}
