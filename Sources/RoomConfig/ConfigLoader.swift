import Foundation
internal import Yams
internal import Identity

/// Reads and validates a roomd configuration file.
///
/// Validation is complete, not fail-fast: every problem is reported with its
/// key path and line, so `roomd check-config` tells an installer everything
/// that is wrong in one run.
public enum ConfigLoader {
    public static let defaultPath = "/etc/roomd/roomd.yaml"

    public static func load(path: String) throws(ConfigError) -> RoomConfiguration {
        let absolute = absolutePath(path, relativeTo: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            let reason = FileManager.default.fileExists(atPath: absolute) ? "cannot be read (permissions?)" : "does not exist"
            throw ConfigError(file: absolute, problems: [ConfigProblem(path: "", line: nil, message: "file \(reason)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: absolute, problems: [ConfigProblem(path: "", line: nil, message: "file is not UTF-8 text")])
        }
        return try parse(text, sourcePath: absolute)
    }

    public static func parse(_ text: String, sourcePath: String) throws(ConfigError) -> RoomConfiguration {
        if let (line, message) = YAMLAnchors.problem(in: text) {
            throw ConfigError(file: sourcePath, problems: [ConfigProblem(path: "", line: line, message: message)])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(file: sourcePath, problems: [yamlProblem(error)])
        }
        let base = (sourcePath as NSString).deletingLastPathComponent
        let builder = Builder(base: base, sourcePath: sourcePath)
        let config = builder.build(root)
        if let config, builder.reader.problems.isEmpty { return config }
        throw ConfigError(file: sourcePath, problems: builder.reader.problems)
    }

    static func yamlProblem(_ error: any Error) -> ConfigProblem {
        guard let yaml = error as? YamlError else {
            return ConfigProblem(path: "", line: nil, message: "not valid YAML: \(error)")
        }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text))" } ?? ""
            return ConfigProblem(path: "", line: mark.line, message: "not valid YAML: \(problem)\(where_), column \(mark.column)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigProblem(path: "", line: context.mark.line,
                                 message: "duplicate key(s) \(duplicates.joined(separator: ", ")) in one mapping")
        default:
            return ConfigProblem(path: "", line: nil, message: "not valid YAML: \(yaml)")
        }
    }

    static func absolutePath(_ path: String, relativeTo base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        return (joined as NSString).standardizingPath
    }
}

private final class Builder {
    let reader = YAMLReader()
    /// Entries that parsed, even when a sibling did not: cross-checks see them all.
    var parsedStations: [RoomConfiguration.Station] = []
    var parsedCameras: [RoomConfiguration.RoomCamera] = []
    let base: String
    let sourcePath: String

    init(base: String, sourcePath: String) {
        self.base = base
        self.sourcePath = sourcePath
    }

    func path(_ text: String) -> String { ConfigLoader.absolutePath(text, relativeTo: base) }

    func build(_ root: Node?) -> RoomConfiguration? {
        guard let root else {
            reader.problem("", nil, "the file is empty")
            return nil
        }
        guard let top = reader.mapping(root, path: "") else { return nil }
        let room = buildRoom(top)
        let storage = buildStorage(top)
        let stations = buildStations(top)
        let roomCameras = buildRoomCameras(top)
        let retention = buildRetention(top)
        let api = buildAPI(top, storage: storage)
        let tls = buildTLS(top)
        let platform = buildPlatform(top)
        let logging = buildLogging(top)
        let ledger = buildLedger(top, room: room, tls: tls)
        let identity = buildIdentity(top, storage: storage)
        let sessions = buildSessions(top)
        let packages = buildPackages(top, platformConfigured: top.has("platform"))
        top.finish(allowed: ["room", "stations", "room_cameras", "storage", "retention", "api", "tls", "platform", "logging",
                             "ledger", "identity", "sessions", "packages"])
        checkDevicesUnique(stations: parsedStations, cameras: parsedCameras, top: top)

        guard let room, let stations, let roomCameras, let storage, let retention, let api, let tls, let logging, let ledger,
              let identity, let sessions, let packages
        else { return nil }
        return RoomConfiguration(room: room, stations: stations, roomCameras: roomCameras, storage: storage,
                                 retention: retention, api: api, tls: tls, platform: platform ?? nil,
                                 logging: logging, ledger: ledger, identity: identity, sessions: sessions, packages: packages,
                                 sourcePath: sourcePath)
    }

    func buildRoom(_ top: YAMLReader.Mapping) -> RoomConfiguration.Room? {
        guard let map = reader.mapping(top.value("room"), path: "room") else { return nil }
        let id = reader.string(map, "id")
        if let id, !Text.isRoomID(id) {
            reader.problem(map.child("id"), map.value("id"), "'\(id)' must be 1-64 letters, digits, '.', '_' or '-' (it names folders and certificates)")
        }
        let name = reader.string(map, "name")
        let agency = reader.string(map, "agency")
        let kind: RoomConfiguration.RoomKind? = reader.choice(map, "kind")
        map.finish(allowed: ["id", "name", "agency", "kind"])
        guard let id, let name, let agency, let kind else { return nil }
        return .init(id: id, name: name, agency: agency, kind: kind)
    }

    func buildVideo(_ map: YAMLReader.Mapping, _ key: String) -> RoomConfiguration.VideoSource?? {
        guard let text = reader.string(map, key, required: false) else { return .some(nil) }
        if text == "synthetic" { return .some(.synthetic) }
        guard text.hasPrefix("/dev/") else {
            reader.problem(map.child(key), map.value(key), "'\(text)' must be a device path under /dev (prefer /dev/v4l/by-path/..., which survives re-plugging) or 'synthetic'")
            return nil
        }
        return .some(.v4l2(path: text))
    }

    func buildAudio(_ map: YAMLReader.Mapping, _ key: String) -> RoomConfiguration.AudioSource?? {
        guard let text = reader.string(map, key, required: false) else { return .some(nil) }
        if text == "synthetic" { return .some(.synthetic) }
        guard Text.isALSAName(text) else {
            reader.problem(map.child(key), map.value(key), "'\(text)' is not an ALSA PCM name (e.g. hw:CARD=S01,DEV=0) or 'synthetic'")
            return nil
        }
        return .some(.alsa(device: text))
    }

    func buildFormat(_ parent: YAMLReader.Mapping) -> RoomConfiguration.CaptureFormat? {
        guard parent.has("format") else {
            _ = parent.value("format")
            return .default
        }
        guard let map = reader.mapping(parent.value("format"), path: parent.child("format")) else { return nil }
        let d = RoomConfiguration.CaptureFormat.default
        let pixel: RoomConfiguration.CaptureFormat.PixelFormat? = reader.choice(map, "pixel_format", default: d.pixelFormat)
        let width = reader.int(map, "width", default: d.width, range: 160...7680)
        let height = reader.int(map, "height", default: d.height, range: 120...4320)
        let fps = reader.int(map, "fps", default: d.fps, range: 1...120)
        map.finish(allowed: ["pixel_format", "width", "height", "fps"])
        guard let pixel, let width, let height, let fps else { return nil }
        return .init(pixelFormat: pixel, width: width, height: height, fps: fps)
    }

    func buildStations(_ top: YAMLReader.Mapping) -> [RoomConfiguration.Station]? {
        guard let nodes = reader.sequence(top.value("stations"), path: "stations") else {
            if !top.has("stations") { reader.problem("stations", top.node, "is required (list the room's evaluation PCs S01..S08)") }
            return nil
        }
        var out: [RoomConfiguration.Station] = []
        var seen: [String: Int] = [:]
        var ok = true
        for (index, node) in nodes.enumerated() {
            let path = "stations[\(index)]"
            guard let map = reader.mapping(node, path: path) else { ok = false; continue }
            let id = reader.string(map, "id")
            if let id {
                if !Text.isDeviceID(id, prefix: "S") {
                    reader.problem(map.child("id"), map.value("id"), "'\(id)' must look like S01..S99")
                    ok = false
                } else if let first = seen[id] {
                    reader.problem(map.child("id"), map.value("id"), "duplicate station id '\(id)' (already used by stations[\(first)])")
                    ok = false
                } else {
                    seen[id] = index
                }
            }
            let host = reader.string(map, "host", required: false)
            let camera = buildVideo(map, "camera")
            let format = buildFormat(map)
            let microphone = buildAudio(map, "microphone")
            map.finish(allowed: ["id", "host", "camera", "format", "microphone"])
            guard let id, let camera, let format, let microphone else { ok = false; continue }
            out.append(.init(id: id, host: host, camera: camera, format: format, microphone: microphone))
        }
        parsedStations = out
        return ok ? out : nil
    }

    func buildRoomCameras(_ top: YAMLReader.Mapping) -> [RoomConfiguration.RoomCamera]? {
        guard let nodes = reader.sequence(top.value("room_cameras"), path: "room_cameras") else {
            return top.has("room_cameras") ? nil : []
        }
        var out: [RoomConfiguration.RoomCamera] = []
        var seen: Set<String> = []
        var ok = true
        for (index, node) in nodes.enumerated() {
            let path = "room_cameras[\(index)]"
            guard let map = reader.mapping(node, path: path) else { ok = false; continue }
            let id = reader.string(map, "id")
            if let id {
                if !Text.isDeviceID(id, prefix: "C") {
                    reader.problem(map.child("id"), map.value("id"), "'\(id)' must look like C01..C99")
                    ok = false
                } else if !seen.insert(id).inserted {
                    reader.problem(map.child("id"), map.value("id"), "duplicate room camera id '\(id)'")
                    ok = false
                }
            }
            let name = reader.string(map, "name", required: false)
            let camera = buildVideo(map, "camera")
            if case .some(.none) = camera { reader.problem(map.child("camera"), map.node, "is required") }
            let format = buildFormat(map)
            let microphone = buildAudio(map, "microphone")
            map.finish(allowed: ["id", "name", "camera", "format", "microphone"])
            guard let id, let camera = camera ?? nil, let format, let microphone else { ok = false; continue }
            out.append(.init(id: id, name: name ?? id, camera: camera, format: format, microphone: microphone))
        }
        parsedCameras = out
        return ok ? out : nil
    }

    func checkDevicesUnique(stations: [RoomConfiguration.Station], cameras: [RoomConfiguration.RoomCamera],
                            top: YAMLReader.Mapping) {
        var owners: [String: String] = [:]
        let videos = stations.map { ($0.id, $0.camera) } + cameras.map { ($0.id, Optional($0.camera)) }
        for (owner, source) in videos {
            guard case .v4l2(let path) = source else { continue }
            if let first = owners[path] {
                reader.problem(owner.hasPrefix("S") ? "stations" : "room_cameras", nil,
                               "camera \(path) is used by both \(first) and \(owner); a V4L2 device can be streamed by one reader only")
            }
            owners[path] = owner
        }
    }

    func buildStorage(_ top: YAMLReader.Mapping) -> RoomConfiguration.Storage? {
        guard let map = reader.mapping(top.value("storage"), path: "storage") else { return nil }
        let state = reader.string(map, "state_dir").map(path)
        let recordings = reader.string(map, "recordings_dir", required: false).map(path)
        let packages = reader.string(map, "packages_dir", required: false).map(path)
        let segment = reader.int(map, "segment_seconds", default: 60, range: 2...3600)
        let minFreeMB = reader.int(map, "min_free_mb", default: 2048, range: 16...10_000_000)
        let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
        var preset: String? = reader.string(map, "x264_preset", required: false) ?? "veryfast"
        if let chosen = preset, !presets.contains(chosen) {
            reader.problem(map.child("x264_preset"), map.value("x264_preset"), "'\(chosen)' is not one of: \(presets.joined(separator: " | "))")
            preset = nil
        }
        let isolationName = reader.string(map, "capture_isolation", required: false) ?? RoomConfiguration.CaptureIsolation.device.rawValue
        let isolation = RoomConfiguration.CaptureIsolation(rawValue: isolationName)
        if isolation == nil {
            reader.problem(map.child("capture_isolation"), map.value("capture_isolation"),
                           "'\(isolationName)' is not one of: device | shared")
        }
        let sandbox = reader.bool(map, "capture_sandbox", default: true)
        let helper = reader.string(map, "capture_helper", required: false).map(path)
        map.finish(allowed: ["state_dir", "recordings_dir", "packages_dir", "segment_seconds", "min_free_mb", "x264_preset",
                             "capture_isolation", "capture_sandbox", "capture_helper"])
        guard let state, let segment, let minFreeMB, let preset, let isolation, let sandbox else { return nil }
        return .init(stateDirectory: state, recordingsDirectory: recordings ?? state + "/recordings",
                     packagesDirectory: packages ?? state + "/packages", segmentSeconds: segment, x264Preset: preset,
                     minimumFreeBytes: Int64(minFreeMB) * 1_048_576, captureIsolation: isolation, captureSandbox: sandbox,
                     captureHelper: helper)
    }

    func buildRetention(_ top: YAMLReader.Mapping) -> RoomConfiguration.Retention? {
        guard top.has("retention") else {
            _ = top.value("retention")
            return .init(keepDeliveredDays: 90, keepUnassignedDays: 30)
        }
        guard let map = reader.mapping(top.value("retention"), path: "retention") else { return nil }
        let delivered = reader.int(map, "keep_delivered_days", default: 90, range: 1...36_500)
        let unassigned = reader.int(map, "keep_unassigned_days", default: 30, range: 1...36_500)
        let free = reader.int(map, "free_space_mb", default: 4096, range: 0...100_000_000)
        let minimum = reader.int(map, "unassigned_minimum_hours", default: 24, range: 0...876_000)
        let margin = reader.int(map, "session_margin_minutes", default: 10, range: 0...1440)
        let interval = reader.int(map, "interval_seconds", default: 300, range: 1...86_400)
        map.finish(allowed: ["keep_delivered_days", "keep_unassigned_days", "free_space_mb", "unassigned_minimum_hours",
                             "session_margin_minutes", "interval_seconds"])
        guard let delivered, let unassigned, let free, let minimum, let margin, let interval else { return nil }
        var retention = RoomConfiguration.Retention(keepDeliveredDays: delivered, keepUnassignedDays: unassigned)
        retention.freeSpaceMB = free
        retention.unassignedMinimumHours = minimum
        retention.sessionMarginMinutes = margin
        retention.intervalSeconds = interval
        return retention
    }

    func buildAPI(_ top: YAMLReader.Mapping, storage: RoomConfiguration.Storage?) -> RoomConfiguration.API? {
        guard let map = reader.mapping(top.value("api"), path: "api") else { return nil }
        let listen = reader.string(map, "listen") ?? ""
        let socket = reader.string(map, "admin_socket", required: false).map(path)
        var limits = RoomConfiguration.ConnectionLimits()
        limits.maxConnections = reader.int(map, "max_connections", default: limits.maxConnections, range: 16...10_000) ?? limits.maxConnections
        limits.maxConnectionsPerAddress = reader.int(map, "max_connections_per_address", default: limits.maxConnectionsPerAddress,
                                                     range: 4...1000) ?? limits.maxConnectionsPerAddress
        limits.handshakeSeconds = reader.int(map, "handshake_timeout_seconds", default: limits.handshakeSeconds, range: 1...120) ?? limits.handshakeSeconds
        limits.headerSeconds = reader.int(map, "header_timeout_seconds", default: limits.headerSeconds, range: 1...120) ?? limits.headerSeconds
        limits.bodySeconds = reader.int(map, "body_timeout_seconds", default: limits.bodySeconds, range: 1...600) ?? limits.bodySeconds
        limits.idleSeconds = reader.int(map, "idle_timeout_seconds", default: limits.idleSeconds, range: 5...3600) ?? limits.idleSeconds
        if limits.maxConnectionsPerAddress > limits.maxConnections {
            reader.problem(map.child("max_connections_per_address"), map.value("max_connections_per_address"),
                           "must not exceed max_connections (\(limits.maxConnections))")
        }
        map.finish(allowed: ["listen", "admin_socket", "max_connections", "max_connections_per_address", "handshake_timeout_seconds",
                             "header_timeout_seconds", "body_timeout_seconds", "idle_timeout_seconds"])
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port)
        else {
            if !listen.isEmpty {
                reader.problem(map.child("listen"), map.value("listen"), "'\(listen)' must be HOST:PORT, e.g. 0.0.0.0:8443 or [::]:8443")
            }
            return nil
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard let socket = socket ?? storage.map({ $0.stateDirectory + "/admin.sock" }) else { return nil }
        if socket.utf8.count > 107 {
            reader.problem(map.child("admin_socket"), map.value("admin_socket"), "path is longer than a Unix socket allows (107 bytes)")
            return nil
        }
        return .init(host: host, port: port, adminSocket: socket, limits: limits)
    }

    func readableFile(_ map: YAMLReader.Mapping, _ key: String, path text: String, node: Node?, certificate: Bool) -> Bool {
        let full = path(text)
        guard let bytes = FileManager.default.contents(atPath: full) else {
            let why = FileManager.default.fileExists(atPath: full) ? "cannot be read by this user" : "does not exist"
            reader.problem(key, node, "file \(full) \(why)")
            return false
        }
        if certificate {
            do { _ = try Certificate.all(pem: Array(bytes)) } catch {
                reader.problem(key, node, "file \(full) holds no PEM certificate (\(error))")
                return false
            }
        }
        return true
    }

    /// The key file holds a private key, and it is the one of the certificate
    /// (its first certificate, the leaf): otherwise roomd would pass the check
    /// and then refuse to start (exit 78) — or, for the ledger key, sign
    /// checkpoints nobody can verify against the certificate.
    func keyPairMatches(_ map: YAMLReader.Mapping, certificate: String, key: String, keyName: String, certificateName: String) -> Bool {
        let keyPath = path(key), certificatePath = path(certificate)
        guard let keyBytes = FileManager.default.contents(atPath: keyPath),
              let certificateBytes = FileManager.default.contents(atPath: certificatePath),
              let leaf = try? Certificate.all(pem: Array(certificateBytes)).first else { return false }
        guard let privateKey = try? PrivateKey(pem: Array(keyBytes)) else {
            reader.problem(map.child(keyName), map.value(keyName), "file \(keyPath) holds no PEM private key (or an encrypted one)")
            return false
        }
        guard privateKey.matches(leaf) else {
            reader.problem(map.child(keyName), map.value(keyName),
                           "the key in \(keyPath) is not the key of the certificate \(certificatePath) (\(map.child(certificateName))); give the key that was issued with it")
            return false
        }
        return true
    }

    func buildTLS(_ top: YAMLReader.Mapping) -> RoomConfiguration.TLS? {
        guard let map = reader.mapping(top.value("tls"), path: "tls") else { return nil }
        var ok = true
        let cert = reader.string(map, "certificate")
        if let cert { ok = readableFile(map, map.child("certificate"), path: cert, node: map.value("certificate"), certificate: true) && ok }
        let key = reader.string(map, "key")
        if let key { ok = readableFile(map, map.child("key"), path: key, node: map.value("key"), certificate: false) && ok }
        if ok, let cert, let key { ok = keyPairMatches(map, certificate: cert, key: key, keyName: "key", certificateName: "certificate") }
        var clientCAs: [String] = []
        if let nodes = reader.sequence(map.value("client_ca"), path: map.child("client_ca")) {
            for (index, node) in nodes.enumerated() {
                guard let text = node.string, !text.isEmpty else {
                    reader.problem(map.child("client_ca") + "[\(index)]", node, "must be a file path")
                    ok = false
                    continue
                }
                ok = readableFile(map, map.child("client_ca") + "[\(index)]", path: text, node: node, certificate: true) && ok
                clientCAs.append(path(text))
            }
        } else if !map.has("client_ca") {
            reader.problem(map.child("client_ca"), map.node, "is required: the CA(s) that issue station, operator, supervisor and platform certificates")
            ok = false
        } else {
            ok = false
        }
        var rules: [RoomConfiguration.RoleRule] = []
        if let nodes = reader.sequence(map.value("roles"), path: map.child("roles")) {
            for (index, node) in nodes.enumerated() {
                let rulePath = map.child("roles") + "[\(index)]"
                guard let rule = reader.mapping(node, path: rulePath) else { ok = false; continue }
                let role: RoomConfiguration.Role? = reader.choice(rule, "role")
                let uri = reader.string(rule, "san_uri", required: false)
                let prefix = reader.string(rule, "san_uri_prefix", required: false)
                let issuer = reader.string(rule, "issuer_ca", required: false)
                rule.finish(allowed: ["role", "san_uri", "san_uri_prefix", "issuer_ca"])
                let matches = [uri, prefix, issuer].compactMap { $0 }
                guard matches.count == 1 else {
                    reader.problem(rulePath, node, "needs exactly one of san_uri, san_uri_prefix, issuer_ca")
                    ok = false
                    continue
                }
                guard let role else { ok = false; continue }
                if role == .station, prefix == nil {
                    reader.problem(rulePath, node, "a station rule must use san_uri_prefix: the rest of the URI is the station id")
                    ok = false
                    continue
                }
                let match: RoomConfiguration.RoleRule.Match
                if let uri { match = .sanURI(uri) }
                else if let prefix { match = .sanURIPrefix(prefix) }
                else {
                    let file = issuer!
                    guard readableFile(rule, rule.child("issuer_ca"), path: file, node: rule.value("issuer_ca"), certificate: true) else {
                        ok = false
                        continue
                    }
                    match = .issuerCA(path: path(file))
                }
                rules.append(.init(role: role, match: match))
            }
            if rules.isEmpty && ok {
                reader.problem(map.child("roles"), map.value("roles"), "must map at least one certificate to a role")
                ok = false
            }
        } else {
            if !map.has("roles") { reader.problem(map.child("roles"), map.node, "is required: how client certificates map to roles") }
            ok = false
        }
        map.finish(allowed: ["certificate", "key", "client_ca", "roles"])
        guard ok, let cert, let key else { return nil }
        return .init(certificate: path(cert), key: path(key), clientCAs: clientCAs, roles: rules)
    }

    func buildPlatform(_ top: YAMLReader.Mapping) -> RoomConfiguration.Platform?? {
        guard top.has("platform") else {
            _ = top.value("platform")
            return .some(nil)
        }
        guard let map = reader.mapping(top.value("platform"), path: "platform") else { return nil }
        let endpoint = reader.string(map, "endpoint")
        if let endpoint, !endpoint.hasPrefix("https://") {
            reader.problem(map.child("endpoint"), map.value("endpoint"), "'\(endpoint)' must be an https:// URL: evidence never travels in clear text")
        }
        let ca = reader.string(map, "ca_certificate", required: false)
        var caOK = true
        if let ca { caOK = readableFile(map, map.child("ca_certificate"), path: ca, node: map.value("ca_certificate"), certificate: true) }
        map.finish(allowed: ["endpoint", "ca_certificate"])
        guard let endpoint, endpoint.hasPrefix("https://"), caOK else { return nil }
        return .some(.init(endpoint: endpoint, caCertificate: ca.map(path)))
    }

    /// `packages:` is optional: by default packages are sealed when a session
    /// ends, with the ledger's key, and pushed over HTTPS when `platform:` is
    /// configured (else only offered for pulling).
    func buildPackages(_ top: YAMLReader.Mapping, platformConfigured: Bool) -> RoomConfiguration.Packages? {
        var packages = RoomConfiguration.Packages.default
        if platformConfigured { packages.delivery = .https }
        guard top.has("packages") else {
            _ = top.value("packages")
            return packages
        }
        guard let map = reader.mapping(top.value("packages"), path: "packages") else { return nil }
        var ok = true
        let key = reader.string(map, "signing_key", required: false)
        let cert = reader.string(map, "signing_certificate", required: false)
        if let key { ok = readableFile(map, map.child("signing_key"), path: key, node: map.value("signing_key"), certificate: false) && ok }
        if let cert { ok = readableFile(map, map.child("signing_certificate"), path: cert, node: map.value("signing_certificate"), certificate: true) && ok }
        if let cert, key == nil, ok {
            // The seal certificate alone: it must be for the ledger's key (checked when roomd loads it).
            packages.signingCertificate = path(cert)
        } else if key != nil, cert == nil {
            reader.problem(map.child("signing_key"), map.node, "signing_key needs its signing_certificate")
            ok = false
        } else if ok, let key, let cert {
            ok = keyPairMatches(map, certificate: cert, key: key, keyName: "signing_key", certificateName: "signing_certificate")
            packages.signingKey = path(key)
            packages.signingCertificate = path(cert)
        }
        let seal = reader.bool(map, "seal_on_close", default: true)
        var delivery: RoomConfiguration.Packages.Delivery? = packages.delivery
        if let text = reader.string(map, "delivery", required: false) {
            delivery = RoomConfiguration.Packages.Delivery(rawValue: text)
            if delivery == nil {
                reader.problem(map.child("delivery"), map.value("delivery"), "'\(text)' must be pull, https or s3")
            } else if delivery == .https, !platformConfigured {
                reader.problem(map.child("delivery"), map.value("delivery"), "https delivery uploads to platform.endpoint: configure platform: first")
                ok = false
            }
        }
        let part = reader.int(map, "part_size_mb", default: 16, range: 5...5120)
        let bandwidth = reader.int(map, "bandwidth_mbit", default: 0, range: 0...100_000)
        let retryInitial = reader.int(map, "retry_initial_seconds", default: 10, range: 1...86_400)
        let retryMaximum = reader.int(map, "retry_max_seconds", default: 1800, range: 1...604_800)
        var s3: RoomConfiguration.Packages.S3?
        if map.has("s3") {
            if let s3map = reader.mapping(map.value("s3"), path: "packages.s3") {
                let endpoint = reader.string(s3map, "endpoint")
                if let endpoint, !(endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://")) {
                    reader.problem(s3map.child("endpoint"), s3map.value("endpoint"), "'\(endpoint)' must be an https:// (or, on a closed network, http://) URL")
                }
                let region = reader.string(s3map, "region", required: false) ?? "us-east-1"
                let bucket = reader.string(s3map, "bucket")
                let prefix = reader.string(s3map, "prefix", required: false) ?? ""
                let access = reader.string(s3map, "access_key_id")
                let secret = reader.string(s3map, "secret_access_key_file")
                var secretOK = true
                if let secret { secretOK = readableFile(s3map, s3map.child("secret_access_key_file"), path: secret, node: s3map.value("secret_access_key_file"), certificate: false) }
                let pathStyle = reader.bool(s3map, "path_style", default: true)
                var lock: Int?
                if s3map.has("object_lock_days") { lock = reader.int(s3map, "object_lock_days", range: 1...36_500) }
                let ca = reader.string(s3map, "ca_certificate", required: false)
                var caOK = true
                if let ca { caOK = readableFile(s3map, s3map.child("ca_certificate"), path: ca, node: s3map.value("ca_certificate"), certificate: true) }
                s3map.finish(allowed: ["endpoint", "region", "bucket", "prefix", "access_key_id", "secret_access_key_file", "path_style",
                                       "object_lock_days", "ca_certificate"])
                if let endpoint, endpoint.hasPrefix("http"), let bucket, let access, let secret, secretOK, caOK, let pathStyle {
                    s3 = .init(endpoint: endpoint, region: region, bucket: bucket, prefix: prefix, accessKeyID: access,
                               secretAccessKeyFile: path(secret), pathStyle: pathStyle, objectLockDays: lock, caCertificate: ca.map(path))
                } else {
                    ok = false
                }
            } else {
                ok = false
            }
        }
        if delivery == .s3, s3 == nil, ok {
            reader.problem(map.child("s3"), map.node, "delivery: s3 needs an s3: block (endpoint, bucket, access_key_id, secret_access_key_file)")
            ok = false
        }
        map.finish(allowed: ["signing_key", "signing_certificate", "seal_on_close", "delivery", "part_size_mb", "bandwidth_mbit",
                             "retry_initial_seconds", "retry_max_seconds", "s3"])
        guard ok, let seal, let delivery, let part, let bandwidth, let retryInitial, let retryMaximum else { return nil }
        packages.sealOnClose = seal
        packages.delivery = delivery
        packages.s3 = s3
        packages.partSizeMB = part
        packages.bandwidthMbit = bandwidth
        packages.retryInitialSeconds = retryInitial
        packages.retryMaximumSeconds = max(retryMaximum, retryInitial)
        return packages
    }

    /// `ledger:` is optional: by default checkpoints are signed every 10 minutes
    /// with the room's TLS key, under the origin `roomd/<room id>`.
    func buildLedger(_ top: YAMLReader.Mapping, room: RoomConfiguration.Room?, tls: RoomConfiguration.TLS?) -> RoomConfiguration.Ledger? {
        let defaultOrigin = room.map { "roomd/\($0.id)" }
        guard top.has("ledger") else {
            _ = top.value("ledger")
            guard let defaultOrigin, let tls else { return nil }
            return .init(origin: defaultOrigin, signingKey: tls.key, signingCertificate: tls.certificate, checkpointSeconds: 600,
                         tsaURL: nil, tsaCertificates: nil)
        }
        guard let map = reader.mapping(top.value("ledger"), path: "ledger") else { return nil }
        let origin = reader.string(map, "origin", required: false)
        if let origin, origin.isEmpty || origin.contains(where: { $0.isWhitespace || $0.isNewline }) {
            reader.problem(map.child("origin"), map.value("origin"), "'\(origin)' must be one word without spaces, e.g. roomd/R-301 (it is the first line of every checkpoint)")
        }
        var keyOK = true
        let key = reader.string(map, "signing_key", required: false)
        if let key { keyOK = readableFile(map, map.child("signing_key"), path: key, node: map.value("signing_key"), certificate: false) }
        let cert = reader.string(map, "signing_certificate", required: false)
        if let cert {
            keyOK = readableFile(map, map.child("signing_certificate"), path: cert, node: map.value("signing_certificate"), certificate: true) && keyOK
        }
        if (key == nil) != (cert == nil) {
            reader.problem(map.child(key == nil ? "signing_key" : "signing_certificate"), map.node,
                           "signing_key and signing_certificate go together: give both or neither (then the TLS key signs)")
            keyOK = false
        }
        if keyOK, let key, let cert {
            keyOK = keyPairMatches(map, certificate: cert, key: key, keyName: "signing_key", certificateName: "signing_certificate")
        }
        let minutes = reader.int(map, "checkpoint_minutes", default: 10, range: 1...1440)
        let tsa = reader.string(map, "tsa_url", required: false)
        if let tsa, !(tsa.hasPrefix("http://") || tsa.hasPrefix("https://")) {
            reader.problem(map.child("tsa_url"), map.value("tsa_url"), "'\(tsa)' must be an http:// or https:// URL of an RFC 3161 time-stamping authority")
            keyOK = false
        }
        let tsaCerts = reader.string(map, "tsa_certificate", required: false)
        if let tsaCerts {
            keyOK = readableFile(map, map.child("tsa_certificate"), path: tsaCerts, node: map.value("tsa_certificate"), certificate: true) && keyOK
        }
        if (tsa == nil) != (tsaCerts == nil) {
            reader.problem(map.child(tsa == nil ? "tsa_url" : "tsa_certificate"), map.node,
                           "tsa_url and tsa_certificate go together: the TSA's answers are checked against that certificate")
            keyOK = false
        }
        map.finish(allowed: ["origin", "signing_key", "signing_certificate", "checkpoint_minutes", "tsa_url", "tsa_certificate"])
        guard keyOK, let minutes, let tls, let finalOrigin = origin ?? defaultOrigin,
              !finalOrigin.isEmpty, !finalOrigin.contains(where: { $0.isWhitespace || $0.isNewline })
        else { return nil }
        return .init(origin: finalOrigin, signingKey: key.map(path) ?? tls.key,
                     signingCertificate: cert.map(path) ?? tls.certificate, checkpointSeconds: minutes * 60,
                     tsaURL: tsa, tsaCertificates: tsaCerts.map(path))
    }

    /// `identity:` is optional; without it the room takes no expert signatures.
    func buildIdentity(_ top: YAMLReader.Mapping, storage: RoomConfiguration.Storage?) -> RoomConfiguration.Identity?? {
        guard top.has("identity") else {
            _ = top.value("identity")
            return .some(nil)
        }
        guard let map = reader.mapping(top.value("identity"), path: "identity") else { return nil }
        var ok = true
        let trust = reader.string(map, "expert_trust_dir").map(path)
        if let trust {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: trust, isDirectory: &isDirectory) || !isDirectory.boolValue {
                reader.problem(map.child("expert_trust_dir"), map.value("expert_trust_dir"),
                               "folder \(trust) does not exist: it must hold the expert cloud-sign CA certificates (and their CRLs)")
                ok = false
            }
        }
        let secret = reader.string(map, "room_secret", required: false).map(path)
        let oid = reader.string(map, "id_number_oid", required: false)
        if let oid, !Text.isDottedOID(oid) {
            reader.problem(map.child("id_number_oid"), map.value("id_number_oid"), "'\(oid)' is not a dotted OID such as 1.2.156.10260.4.1.1")
            ok = false
        }
        let seconds = reader.int(map, "challenge_seconds", default: 120, range: 30...3600)
        let requireCRL = reader.bool(map, "require_crl", default: false)
        map.finish(allowed: ["expert_trust_dir", "room_secret", "id_number_oid", "challenge_seconds", "require_crl"])
        guard ok, let trust, let seconds, let requireCRL, let secretPath = secret ?? storage.map({ $0.stateDirectory + "/room-secret" })
        else { return nil }
        return .some(.init(expertTrustDirectory: trust, roomSecret: secretPath, idNumberOID: oid, challengeSeconds: seconds,
                           requireCRL: requireCRL))
    }

    /// `sessions:` is optional.
    func buildSessions(_ top: YAMLReader.Mapping) -> RoomConfiguration.Sessions? {
        guard top.has("sessions") else {
            _ = top.value("sessions")
            return .default
        }
        guard let map = reader.mapping(top.value("sessions"), path: "sessions") else { return nil }
        var ok = true
        let trust = reader.string(map, "platform_trust_dir", required: false).map(path)
        if let trust {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: trust, isDirectory: &isDirectory) || !isDirectory.boolValue {
                reader.problem(map.child("platform_trust_dir"), map.value("platform_trust_dir"),
                               "folder \(trust) does not exist: it must hold the CA certificates of the platform's signing certificates")
                ok = false
            }
        }
        let suppliers = reader.string(map, "supplier_trust_dir", required: false).map(path)
        if let suppliers {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: suppliers, isDirectory: &isDirectory) || !isDirectory.boolValue {
                reader.problem(map.child("supplier_trust_dir"), map.value("supplier_trust_dir"),
                               "folder \(suppliers) does not exist: it must hold the CA certificates of the suppliers' certificates")
                ok = false
            }
        }
        let creditCodeOID = reader.string(map, "credit_code_oid", required: false)
        if let creditCodeOID, !creditCodeOID.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            reader.problem(map.child("credit_code_oid"), map.value("credit_code_oid"), "must be a dotted OID such as 1.2.156.10260.4.1.4")
            ok = false
        }
        let discipline = reader.int(map, "discipline_minimum_seconds", default: 120, range: 0...3600)
        map.finish(allowed: ["platform_trust_dir", "discipline_minimum_seconds", "supplier_trust_dir", "credit_code_oid"])
        guard ok, let discipline else { return nil }
        return .init(platformTrustDirectory: trust, disciplineMinimumSeconds: discipline, supplierTrustDirectory: suppliers,
                     creditCodeOID: creditCodeOID)
    }

    func buildLogging(_ top: YAMLReader.Mapping) -> RoomConfiguration.Logging? {
        guard top.has("logging") else {
            _ = top.value("logging")
            return .init(level: .info)
        }
        guard let map = reader.mapping(top.value("logging"), path: "logging") else { return nil }
        let level: RoomConfiguration.Logging.Level? = reader.choice(map, "level", default: .info)
        map.finish(allowed: ["level"])
        return level.map { .init(level: $0) }
    }
}

extension ConfigLoader {
    /// The admin socket a config names, read leniently (no file checks): the
    /// operator running `roomctl` may not be allowed to read the TLS keys that
    /// full validation opens.
    public static func adminSocketPath(configPath: String) -> String? {
        let absolute = absolutePath(configPath, relativeTo: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: absolute), let text = String(data: data, encoding: .utf8),
              YAMLAnchors.problem(in: text) == nil, let root = try? Yams.compose(yaml: text), case .mapping(let top) = root
        else { return nil }
        let base = (absolute as NSString).deletingLastPathComponent
        if case .mapping(let api)? = top["api"], let socket = api["admin_socket"]?.string {
            return absolutePath(socket, relativeTo: base)
        }
        if case .mapping(let storage)? = top["storage"], let state = storage["state_dir"]?.string {
            return absolutePath(state, relativeTo: base) + "/admin.sock"
        }
        return nil
    }
}
