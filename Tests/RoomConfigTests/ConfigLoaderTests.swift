import Foundation
import Identity
import Testing

@testable import RoomConfig

/// Config parsing against files in a temporary folder (TLS files must exist).
struct ConfigLoaderTests {
    final class Fixture {
        let dir: String
        init() throws {
            dir = NSTemporaryDirectory() + "roomconfig-\(UUID().uuidString)"
            try DemoPKI(directory: dir + "/pki", roomID: "T").create()
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func parse(_ yaml: String) throws(ConfigError) -> RoomConfiguration {
            try ConfigLoader.parse(yaml, sourcePath: dir + "/roomd.yaml")
        }

        func problems(_ yaml: String) -> [ConfigProblem] {
            do {
                _ = try parse(yaml)
                return []
            } catch {
                return error.problems
            }
        }
    }

    static let valid = """
        room:
          id: R1
          name: 第一评标室
          agency: 代理机构
          kind: evaluation
        stations:
          - id: S01
            camera: /dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0
            format: { pixel_format: mjpeg, width: 1920, height: 1080, fps: 30 }
            microphone: "hw:CARD=S01,DEV=0"
          - { id: S02, camera: synthetic, microphone: synthetic }
        room_cameras:
          - { id: C01, camera: synthetic }
        storage:
          state_dir: state
          segment_seconds: 30
        api:
          listen: "[::]:9443"
        tls:
          certificate: pki/server.crt
          key: pki/server.key
          client_ca: [pki/room-ca.crt]
          roles:
            - { role: station, san_uri_prefix: "urn:roomd:station:" }
            - { role: supervisor, issuer_ca: pki/room-ca.crt }

        """

    @Test func packagesSealWithTheSealCertificateAndDeliverAsConfigured() throws {
        let fixture = try Fixture()
        // Defaults: sealed on close with the ledger's key; pulled when there is no platform.
        let plain = try fixture.parse(Self.valid)
        #expect(plain.packages.delivery == .pull && plain.packages.sealOnClose && plain.packages.signingCertificate == nil)
        let withPlatform = try fixture.parse(Self.valid + "platform: { endpoint: \"https://p.example/roomd/v1\" }\n")
        #expect(withPlatform.packages.delivery == .https)

        try "secret\n".write(toFile: fixture.dir + "/s3.secret", atomically: true, encoding: .utf8)
        let s3 = try fixture.parse(Self.valid + """
            packages:
              signing_certificate: pki/room-seal.crt
              delivery: s3
              part_size_mb: 8
              bandwidth_mbit: 20
              s3: { endpoint: "http://127.0.0.1:9000", bucket: archive, access_key_id: AK, secret_access_key_file: s3.secret, object_lock_days: 5475 }

            """)
        #expect(s3.packages.signingCertificate == fixture.dir + "/pki/room-seal.crt")
        #expect(s3.packages.delivery == .s3 && s3.packages.partSizeMB == 8 && s3.packages.bandwidthMbit == 20)
        #expect(s3.packages.s3?.region == "us-east-1" && s3.packages.s3?.pathStyle == true && s3.packages.s3?.objectLockDays == 5475)
        #expect(s3.packages.s3?.secretAccessKeyFile == fixture.dir + "/s3.secret")

        // Mistakes are named.
        let noBlock = fixture.problems(Self.valid + "packages: { delivery: s3 }\n").map(\.description).joined(separator: "\n")
        #expect(noBlock.contains("delivery: s3 needs an s3: block"), "\(noBlock)")
        let noPlatform = fixture.problems(Self.valid + "packages: { delivery: https }\n").map(\.description).joined(separator: "\n")
        #expect(noPlatform.contains("configure platform: first"), "\(noPlatform)")
        let wrong = fixture.problems(Self.valid + "packages: { delivery: ftp, part_size_mb: 1, colour: red }\n").map(\.description).joined(separator: "\n")
        #expect(wrong.contains("'ftp' must be pull, https or s3") && wrong.contains("part_size_mb") && wrong.contains("colour"), "\(wrong)")
        let keyAlone = fixture.problems(Self.valid + "packages: { signing_key: pki/server.key }\n").map(\.description).joined(separator: "\n")
        #expect(keyAlone.contains("signing_key needs its signing_certificate"), "\(keyAlone)")
    }

    @Test func validConfigurationResolvesPathsAndDefaults() throws {
        let fixture = try Fixture()
        let config = try fixture.parse(Self.valid)
        #expect(config.room.kind == .evaluation)
        #expect(config.stations.map(\.id) == ["S01", "S02"])
        #expect(config.stations[0].camera == .v4l2(path: "/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0"))
        #expect(config.stations[0].format == .init(pixelFormat: .mjpeg, width: 1920, height: 1080, fps: 30))
        #expect(config.stations[1].format == .default)
        #expect(config.stations[1].microphone == .synthetic)
        #expect(config.roomCameras.first?.name == "C01")
        #expect(config.storage.stateDirectory == fixture.dir + "/state")
        #expect(config.storage.recordingsDirectory == fixture.dir + "/state/recordings")
        #expect(config.storage.segmentSeconds == 30)
        #expect(config.storage.captureIsolation == .device && config.storage.captureSandbox)
        #expect(config.api.host == "::" && config.api.port == 9443)
        #expect(config.api.adminSocket == fixture.dir + "/state/admin.sock")
        #expect(config.tls.roles[1].match == .issuerCA(path: fixture.dir + "/pki/room-ca.crt"))
        #expect(config.retention.keepDeliveredDays == 90)
        #expect(config.platform == nil)
        #expect(config.logging.level == .info)
        #expect(config.ledger == .init(origin: "roomd/R1", signingKey: fixture.dir + "/pki/server.key",
                                       signingCertificate: fixture.dir + "/pki/server.crt", checkpointSeconds: 600,
                                       tsaURL: nil, tsaCertificates: nil))
    }

    @Test func ledgerSectionIsChecked() throws {
        let fixture = try Fixture()
        let custom = try fixture.parse(Self.valid + "ledger: { origin: example.gov.cn/room/R1, checkpoint_minutes: 5 }\n")
        #expect(custom.ledger.origin == "example.gov.cn/room/R1")
        #expect(custom.ledger.checkpointSeconds == 300)
        let problems = fixture.problems(Self.valid + """
            ledger:
              origin: "two words"
              signing_key: pki/server.key
              checkpoint_minutes: 0
              witness: yes

            """).map(\.description).joined(separator: "\n")
        #expect(problems.contains("ledger.origin"))
        #expect(problems.contains("signing_key and signing_certificate go together"))
        #expect(problems.contains("ledger.checkpoint_minutes"))
        #expect(problems.contains("unknown key 'witness'"))
        let tsa = fixture.problems(Self.valid + "ledger: { tsa_url: ftp://tsa.example }\n").map(\.description).joined(separator: "\n")
        #expect(tsa.contains("must be an http:// or https:// URL"))
        #expect(tsa.contains("tsa_url and tsa_certificate go together"))
    }

    @Test func identitySectionIsOptionalAndChecked() throws {
        let fixture = try Fixture()
        #expect(try fixture.parse(Self.valid).identity == nil)
        try FileManager.default.createDirectory(atPath: fixture.dir + "/experts", withIntermediateDirectories: true)
        let identity = try fixture.parse(Self.valid + "identity: { expert_trust_dir: experts, challenge_seconds: 90 }\n").identity
        #expect(identity == .init(expertTrustDirectory: fixture.dir + "/experts", roomSecret: fixture.dir + "/state/room-secret",
                                  idNumberOID: nil, challengeSeconds: 90, requireCRL: false))
        let problems = fixture.problems(Self.valid + """
            identity:
              expert_trust_dir: nowhere
              id_number_oid: serialNumber
              challenge_seconds: 5
              require_crl: maybe

            """).map(\.description).joined(separator: "\n")
        #expect(problems.contains("identity.expert_trust_dir"))
        #expect(problems.contains("is not a dotted OID"))
        #expect(problems.contains("identity.challenge_seconds"))
        #expect(problems.contains("must be true or false"))
    }

    @Test func everyProblemIsReportedAtOnceWithPathAndLine() throws {
        let fixture = try Fixture()
        let broken = Self.valid
            .replacingOccurrences(of: "kind: evaluation", with: "kind: auction")
            .replacingOccurrences(of: "fps: 30", with: "fps: 500")
            .replacingOccurrences(of: "segment_seconds: 30", with: "segment_seconds: 30\n  colour: blue")
            .replacingOccurrences(of: "listen: \"[::]:9443\"", with: "listen: nowhere")
        let problems = fixture.problems(broken)
        let byPath = Dictionary(problems.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byPath["room.kind"]?.message.contains("'auction' is not one of: opening | evaluation") == true)
        #expect(byPath["room.kind"]?.line == 5)
        #expect(byPath["stations[0].format.fps"]?.message.contains("between 1 and 120") == true)
        #expect(byPath["storage.colour"]?.message.contains("unknown key") == true)
        #expect(byPath["storage.colour"]?.line == 17)
        #expect(byPath["api.listen"]?.message.contains("HOST:PORT") == true)
        #expect(problems.count == 4)
    }

    /// The capture helpers' sandbox is on unless turned off in so many words.
    @Test func captureSandboxIsOnUnlessTurnedOff() throws {
        let fixture = try Fixture()
        let off = try fixture.parse(Self.valid.replacingOccurrences(of: "segment_seconds: 30", with: "segment_seconds: 30\n  capture_sandbox: false"))
        #expect(!off.storage.captureSandbox)
        let problems = fixture.problems(Self.valid.replacingOccurrences(of: "segment_seconds: 30", with: "segment_seconds: 30\n  capture_sandbox: maybe"))
        #expect(problems.map(\.path) == ["storage.capture_sandbox"] && problems.first?.message.contains("true or false") == true, "\(problems)")
    }

    @Test func devicesAndRolesAreChecked() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(Self.valid
            .replacingOccurrences(of: "camera: synthetic, microphone: synthetic", with: "camera: video0, microphone: \"bad mic!\"")
            .replacingOccurrences(of: "{ id: C01, camera: synthetic }", with: "{ id: C01, camera: /dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0 }")
            .replacingOccurrences(of: "{ role: supervisor, issuer_ca: pki/room-ca.crt }", with: "{ role: station, san_uri: \"urn:x\" }"))
        let text = problems.map(\.description).joined(separator: "\n")
        #expect(text.contains("stations[1].camera"))
        #expect(text.contains("must be a device path under /dev"))
        #expect(text.contains("stations[1].microphone"))
        #expect(text.contains("is used by both S01 and C01"))
        #expect(text.contains("a station rule must use san_uri_prefix"))
    }

    @Test func yamlSyntaxErrorsCarryTheLine() throws {
        let fixture = try Fixture()
        let problems = fixture.problems("room:\n  id: [unclosed\n")
        #expect(problems.count == 1)
        #expect(problems[0].message.hasPrefix("not valid YAML"))
        #expect(problems[0].line != nil)
    }

    @Test func duplicateYAMLKeysAreRefused() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(Self.valid + "room:\n  id: again\n")
        #expect(problems.first?.message.contains("duplicate key") == true)
    }

    @Test func adminSocketIsFoundWithoutFullValidation() throws {
        let fixture = try Fixture()
        let path = fixture.dir + "/roomd.yaml"
        try "storage: { state_dir: /var/lib/x }\napi: { listen: 1 }\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(ConfigLoader.adminSocketPath(configPath: path) == "/var/lib/x/admin.sock")
        try "api: { admin_socket: run/a.sock }\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(ConfigLoader.adminSocketPath(configPath: path) == fixture.dir + "/run/a.sock")
    }
}

struct TextTests {
    @Test func iso8601IsUTCWithMilliseconds() {
        #expect(Text.iso8601(nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Text.iso8601(nanoseconds: 1_795_715_890_744_999_999) == "2026-11-26T17:58:10.744Z")
    }

    @Test func identifiers() {
        #expect(Text.isDeviceID("S01", prefix: "S") && !Text.isDeviceID("S1", prefix: "S") && !Text.isDeviceID("C01", prefix: "S"))
        #expect(Text.isRoomID("NM-HHHT.EVAL_01") && !Text.isRoomID("-x") && !Text.isRoomID("a b") && !Text.isRoomID(""))
        #expect(Text.isALSAName("hw:CARD=S01,DEV=0") && Text.isALSAName("default") && Text.isALSAName("room_mic"))
        #expect(!Text.isALSAName("bad mic!") && !Text.isALSAName("hw:CARD=S01, DEV=0"))
    }
}

/// `check-config` checks that the TLS key is the certificate's (it used to
/// pass a mismatched pair, and roomd then refused to start).
struct KeyPairTests {
    @Test func aKeyThatIsNotTheCertificatesIsAProblemNamingBoth() throws {
        let fixture = try ConfigLoaderTests.Fixture()
        #expect(fixture.problems(ConfigLoaderTests.valid).isEmpty)
        let mismatched = ConfigLoaderTests.valid.replacingOccurrences(of: "key: pki/server.key", with: "key: pki/clients/S01.key")
        let problems = fixture.problems(mismatched)
        #expect(problems.count == 1 && problems.first?.path == "tls.key", "\(problems)")
        #expect(problems.first?.message.contains("is not the key of the certificate") == true)
        let notAKey = ConfigLoaderTests.valid.replacingOccurrences(of: "key: pki/server.key", with: "key: pki/room-ca.crt")
        #expect(fixture.problems(notAKey).first?.message.contains("holds no PEM private key") == true)
        // The ledger's own pair too.
        let ledger = ConfigLoaderTests.valid + "ledger: { signing_key: pki/clients/S01.key, signing_certificate: pki/server.crt }\n"
        #expect(fixture.problems(ledger).first?.path == "ledger.signing_key")
    }
}
