import Capture
import CaptureProtocol
import CProcess
import Glibc

/// What a recording helper may touch once it has its devices
/// (docs/architecture.md, "The helper sandbox"). A helper runs FFmpeg and
/// drivers on data from cameras and microphones; should any of that be
/// subverted, the kernel keeps it to recording:
///
/// - **Landlock** (filesystem): it may read the system's files (libraries,
///   ALSA's configuration, /proc, /sys), use device nodes, and create and
///   write files only beneath `<recordings>/<its device>/`. It cannot read
///   roomd's database, the room's keys or the configuration folder, write
///   anywhere else, delete or rename anything, or touch another device's
///   recordings. From Landlock ABI 4 it cannot bind or connect TCP.
/// - **seccomp**, for what Landlock does not cover: no sockets at all (no
///   network, not roomd's admin socket) on any kernel; no `truncate(2)` by
///   path (Landlock covers it only from ABI 3); no change of mode, owner,
///   times or extended attributes of any file (Landlock never does); no
///   signal to any process but itself.
/// - **no_new_privs**: nothing it could execute gains privileges.
///
/// A microphone named other than `hw:`/`plughw:` goes through an ALSA
/// plug-in (dsnoop, dmix, a sound server) that needs sockets, /tmp and
/// chmod: such a helper is not confined, and says why.
///
/// Applied by the helper to itself, on its only thread, before it starts any
/// other (Landlock binds the calling thread and what it creates). Recording
/// never waits on it: where the kernel lacks a part, the helper records with
/// what the kernel offers and says so to roomd.
struct HelperSandbox {
    /// Landlock's filesystem access rights (linux/landlock.h).
    struct Access: OptionSet {
        let rawValue: UInt64
        static let execute = Access(rawValue: 1 << 0)
        static let writeFile = Access(rawValue: 1 << 1)
        static let readFile = Access(rawValue: 1 << 2)
        static let readDir = Access(rawValue: 1 << 3)
        static let removeDir = Access(rawValue: 1 << 4)
        static let removeFile = Access(rawValue: 1 << 5)
        static let makeChar = Access(rawValue: 1 << 6)
        static let makeDir = Access(rawValue: 1 << 7)
        static let makeReg = Access(rawValue: 1 << 8)
        static let makeSock = Access(rawValue: 1 << 9)
        static let makeFifo = Access(rawValue: 1 << 10)
        static let makeBlock = Access(rawValue: 1 << 11)
        static let makeSym = Access(rawValue: 1 << 12)
        /// ABI 2: link or rename into another directory.
        static let refer = Access(rawValue: 1 << 13)
        /// ABI 3.
        static let truncate = Access(rawValue: 1 << 14)
        /// ABI 5: ioctl on a device node.
        static let ioctlDevice = Access(rawValue: 1 << 15)

        /// Every right the kernel's ABI knows: all of them are denied except
        /// where a rule allows them.
        static func handled(abi: Int) -> Access {
            var all = Access(rawValue: (1 << 13) - 1)
            if abi >= 2 { all.insert(.refer) }
            if abi >= 3 { all.insert(.truncate) }
            if abi >= 5 { all.insert(.ioctlDevice) }
            return all
        }

        static let read: Access = [.readFile, .readDir]
        static let system: Access = [.readFile, .readDir, .execute]
        /// Files (device nodes) that are opened, read, written and ioctl'd; no new nodes.
        static let devices: Access = [.readFile, .readDir, .writeFile, .ioctlDevice]
        /// A device's recordings: new folders and segments, written, fsync'd,
        /// cut back after a failed write; never removed, renamed or linked.
        static let recordings: Access = [.readFile, .readDir, .writeFile, .makeDir, .makeReg, .truncate]
        /// Files only: what a rule on a file (not a folder) may carry.
        static let fileRights: Access = [.execute, .writeFile, .readFile, .truncate, .ioctlDevice]
    }

    /// A path and what may be done beneath it.
    struct Rule {
        var path: String
        var access: Access
        /// A required rule that cannot be added fails the Landlock part; an
        /// optional one (a system folder this machine lacks) is skipped.
        var required: Bool
    }

    let rules: [Rule]
    /// Microphones behind an ALSA plug-in, which cannot work confined; none
    /// when every microphone is opened directly, as config/roomd.yaml names them.
    let plugInMicrophones: [String]

    /// The sandbox of a helper recording these devices.
    init(recorders: [RecorderConfiguration], executable: String = Self.executablePath()) {
        var rules = Self.systemRules(executable: executable)
        // Cameras and microphones, whatever node they reappear as after a
        // re-plug; which devices exist at all is the service's device policy
        // (systemd's DeviceAllow).
        rules.append(Rule(path: "/dev", access: .devices, required: true))
        var plugIns: [String] = []
        for recorder in recorders {
            rules.append(Rule(path: Self.deviceFolder(recorder), access: .recordings, required: true))
            if case .replay(let path, _, _)? = recorder.video {
                rules.append(Rule(path: path, access: .readFile, required: true))
            }
            if case .alsa(let device)? = recorder.audio, !device.hasPrefix("hw:"), !device.hasPrefix("plughw:") {
                plugIns.append(device)
            }
        }
        self.rules = rules
        plugInMicrophones = plugIns
    }

    /// What every confined helper reads.
    static func systemRules(executable: String) -> [Rule] {
        var rules: [Rule] = []
        // The system, read-only: libraries (a plug-in ALSA may load), ALSA's
        // configuration, time zones, and Swift's backtracer should a helper crash.
        for path in ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/opt"] {
            rules.append(Rule(path: path, access: .system, required: false))
        }
        // Of /etc only what libraries read while recording — not /etc/roomd,
        // which holds the room's keys.
        for path in ["/etc/ld.so.cache", "/etc/asound.conf", "/etc/alsa", "/etc/localtime"] {
            rules.append(Rule(path: path, access: .read, required: false))
        }
        // Its own binary, wherever it is installed: what Swift's backtracer
        // (run in the sandbox should the helper crash) reads for symbols. The
        // file only, not its folder, which might hold other things.
        if !executable.isEmpty {
            rules.append(Rule(path: executable, access: [.readFile, .execute], required: false))
        }
        // Read only: threads are named by prctl, not through /proc/thread-self/comm.
        rules.append(Rule(path: "/proc", access: .read, required: true))
        rules.append(Rule(path: "/sys", access: .read, required: false))
        return rules
    }

    /// The sandbox of `roomd-capture repair PATH`: the system, read-only, and
    /// the one segment it cuts back and rehashes.
    init(repairing path: String, executable: String = Self.executablePath()) {
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        // The file, and its folder opened to fsync it once the file is cut back.
        rules = Self.systemRules(executable: executable)
            + [Rule(path: path, access: [.readFile, .writeFile, .truncate], required: true),
               Rule(path: folder.isEmpty ? "/" : folder, access: .readDir, required: true)]
        plugInMicrophones = []
    }

    /// The sandbox of `roomd-capture export` and `rendition`: the system,
    /// read-only, and these files (the segments) read-only — no folder, no
    /// write anywhere. What they write goes to descriptors opened before
    /// confinement (export: stdout, a pipe; rendition: OUT, created first),
    /// which Landlock does not check again.
    init(reading paths: [String], executable: String = Self.executablePath()) {
        rules = Self.systemRules(executable: executable)
            + paths.map { Rule(path: $0, access: .readFile, required: true) }
        plugInMicrophones = []
    }

    /// Where a recorder's segments go (SegmentWriter.path): the only place it writes.
    static func deviceFolder(_ recorder: RecorderConfiguration) -> String {
        recorder.directory + "/" + recorder.device
    }

    // Plain libc here, not Foundation: a forked helper that first touches
    // Foundation's file APIs pays for private copies of the pages they set up.
    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        guard count > 0 else { return "" }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What was applied, in words for the log and `roomctl status`.
    struct Outcome: Equatable {
        var landlockABI: Int?
        var seccomp: Bool
        /// Why a part is missing; empty when everything is in place.
        var problems: [String]

        var complete: Bool { landlockABI != nil && seccomp && problems.isEmpty }

        var summary: String {
            var parts: [String] = []
            if let abi = landlockABI { parts.append("Landlock ABI \(abi)") }
            if seccomp { parts.append("seccomp (no sockets, no chmod, no signals out)") }
            let applied = parts.isEmpty ? "none" : parts.joined(separator: " + ")
            return problems.isEmpty ? applied : applied + "; " + problems.joined(separator: "; ")
        }
    }

    /// Confines the calling process. Its folders are made first (a confined
    /// helper may create only beneath them). Must run while the process has
    /// a single thread: threads already running would stay unconfined.
    func apply() -> Outcome {
        var outcome = Outcome(landlockABI: nil, seccomp: false, problems: [])
        guard plugInMicrophones.isEmpty else {
            let names = plugInMicrophones.map { "'\($0)'" }.joined(separator: ", ")
            outcome.problems.append("not applied: microphone \(names) goes through an ALSA plug-in (dsnoop, dmix, a sound server) "
                                    + "that needs sockets and /tmp; name it hw:CARD=…,DEV=… or plughw:… to record confined")
            return outcome
        }
        let threads = Self.threadCount()
        guard threads == 1 else {
            outcome.problems.append("not applied: \(threads) threads already running would stay outside it")
            return outcome
        }
        for rule in rules where rule.access.contains(.makeReg) {
            do {
                try RecordingFolder.make(rule.path)
            } catch {
                outcome.problems.append("cannot create \(rule.path): \(error)")
            }
        }
        applyLandlock(&outcome)
        if roomd_seccomp_confine() == 0 {
            outcome.seccomp = true
        } else {
            outcome.problems.append("seccomp failed: \(String(cString: strerror(errno)))")
        }
        return outcome
    }

    private func applyLandlock(_ outcome: inout Outcome) {
        let abi = Int(roomd_landlock_abi())
        guard abi > 0 else {
            let reason = errno == ENOSYS ? "kernel built without Landlock"
                : errno == EOPNOTSUPP ? "Landlock not enabled at boot (add landlock to the kernel's lsm= list)"
                : String(cString: strerror(errno))
            outcome.problems.append("no Landlock: \(reason)")
            return
        }
        // 9p (a VM's shared folder) makes a new inode for each lookup of the
        // same file on older kernels, so Landlock's rules, which name inodes,
        // would not match later lookups and every write would be refused.
        // Recording matters more than this layer: skip it there.
        for rule in rules where rule.required && !rule.access.isDisjoint(with: [.writeFile, .makeReg]) {
            if roomd_filesystem_type(rule.path) == Self.v9fsMagic {
                outcome.problems.append("no Landlock: \(rule.path) is on a 9p file system, where Landlock cannot recognise files")
                return
            }
        }
        let handled = Access.handled(abi: abi)
        // No TCP at all (ABI 4), no signals or abstract sockets beyond the
        // sandbox (ABI 6): nothing in a helper uses them.
        let net: UInt64 = abi >= 4 ? 0b11 : 0
        let scoped: UInt64 = abi >= 6 ? 0b11 : 0
        let ruleset = roomd_landlock_create_ruleset(handled.rawValue, net, scoped)
        guard ruleset >= 0 else {
            outcome.problems.append("landlock_create_ruleset: \(String(cString: strerror(errno)))")
            return
        }
        defer { close(ruleset) }
        for rule in rules {
            var access = rule.access.intersection(handled)
            var info = stat()
            guard stat(rule.path, &info) == 0 else {
                if rule.required { outcome.problems.append("Landlock not applied: \(rule.path): \(String(cString: strerror(errno)))") ; return }
                continue
            }
            if info.st_mode & S_IFMT != S_IFDIR { access.formIntersection(.fileRights) }
            if roomd_landlock_allow_beneath(ruleset, rule.path, access.rawValue) != 0 {
                if rule.required || errno != ENOENT {
                    outcome.problems.append("Landlock not applied: rule for \(rule.path): \(String(cString: strerror(errno)))")
                    return
                }
            }
        }
        guard roomd_landlock_restrict_self(ruleset) == 0 else {
            outcome.problems.append("landlock_restrict_self: \(String(cString: strerror(errno)))")
            return
        }
        outcome.landlockABI = abi
    }

    /// statfs(2)'s f_type of 9p (linux/magic.h V9FS_MAGIC).
    static let v9fsMagic = 0x0102_1997

    static func threadCount() -> Int {
        guard let tasks = opendir("/proc/self/task") else { return 0 }
        defer { closedir(tasks) }
        var count = 0
        while let entry = readdir(tasks) {
            if entry.pointee.d_name.0 != 0x2E { count += 1 }   // not "." or ".."
        }
        return count
    }
}
