import CaptureProtocol
import CProcess
import Foundation
import Glibc

/// `roomd-capture sandbox-check [--microphone ALSA_NAME] [--sealed SEGMENT]... RECORDINGS DEVICE [PATH...]`:
/// confines itself exactly as a helper recording DEVICE (with that microphone)
/// into RECORDINGS is confined, then tries what a recorder must be able to do
/// and what it must not, and prints a line for each ("ok" or "FAIL"). Exit 0
/// when every line is ok.
///
/// The checks run in a forked child, so the unconfined parent can remove the
/// probe folder they leave beneath RECORDINGS/DEVICE (a confined process may
/// not delete). PATHs are files or folders the helper must not read, such
/// as the room's private key or roomd's database; SEGMENTs are sealed (0440)
/// segments it may read but not change.
enum SandboxCheck {
    static func run(recordings: String, device: String, microphone: String?, sealed: [String], forbidden: [String]) -> Never {
        let recorder = RecorderConfiguration(device: device, video: nil, audio: microphone.map { .alsa(device: $0) },
                                             directory: recordings, segmentSeconds: 60)
        // Named after the unconfined parent, which removes them.
        let probeName = ".sandbox-check-\(getpid())"
        let probe = HelperSandbox.deviceFolder(recorder) + "/" + probeName
        let outside = recordings + "/.sandbox-check-outside-\(getpid())"
        // Single-threaded still: the child may confine itself.
        let child = roomd_fork()
        if child == 0 {
            exit(check(recorder: recorder, probe: probe, probeName: probeName, outside: outside, sealed: sealed, forbidden: forbidden) ? 0 : 1)
        }
        guard child > 0 else { fail("fork: \(String(cString: strerror(errno)))") }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        // What the checks made, and what they should not have been able to.
        for path in [probe, outside] + forbidden.map({ $0 + "/" + probeName }) {
            try? FileManager.default.removeItem(atPath: path)
        }
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 1
        exit(code)
    }

    private static func check(recorder: RecorderConfiguration, probe: String, probeName: String, outside: String,
                              sealed: [String], forbidden: [String]) -> Bool {
        let outcome = HelperSandbox(recorders: [recorder]).apply()
        print("sandbox: \(outcome.summary)")
        var allOK = outcome.complete
        func report(_ ok: Bool, _ what: String, _ detail: String = "") {
            print((ok ? "ok    " : "FAIL  ") + what + (detail.isEmpty ? "" : ": " + detail))
            if !ok { allOK = false }
        }
        func error() -> String { String(cString: strerror(errno)) }
        /// A denial is EACCES (Landlock, seccomp) — not some other failure that
        /// would hide a missing rule.
        func denied(_ rc: Int32, _ what: String) {
            if rc >= 0 {
                report(false, what, "it succeeded")
            } else {
                let reason = error()
                report(errno == EACCES || errno == EPERM, what, reason)
            }
        }

        // What a recorder does.
        let file = probe + "/segment.mp4"
        var made = mkdir(probe, 0o750) == 0
        report(made, "may create a folder beneath \(HelperSandbox.deviceFolder(recorder))", made ? "" : error())
        let fd = made ? open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640) : -1
        made = fd >= 0 && write(fd, "roomd", 5) == 5 && fdatasync(fd) == 0 && ftruncate(fd, 2) == 0
        report(made, "may create, write, fdatasync and cut back a segment there", made ? "" : error())
        if fd >= 0 { close(fd) }
        let folder = open(probe, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        report(folder >= 0 && fsync(folder) == 0, "may fsync its folder", folder >= 0 ? "" : error())
        if folder >= 0 { close(folder) }
        let library = open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC)
        report(library >= 0, "may read the dynamic loader's cache (/etc/ld.so.cache)", library >= 0 ? "" : error())
        if library >= 0 { close(library) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        var terminal = termios()
        // ENOTTY: the ioctl reached the driver (Landlock would say EACCES).
        let reached = null >= 0 && ioctl(null, UInt(TCGETS), &terminal) < 0 && errno == ENOTTY
        report(reached, "may open a device node and ioctl it (/dev/null)", reached ? "" : error())
        if null >= 0 { close(null) }
        let named = nameCurrentThread("roomd-sbx-check")
        report(named, "may name its threads")

        // What it must not.
        for path in forbidden {
            denied(open(path, O_RDONLY | O_CLOEXEC), "may not read \(path)")
            var info = stat()
            if stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR {
                denied(open(path + "/" + probeName, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640), "may not create files in \(path)")
            } else {
                denied(open(path, O_WRONLY | O_CLOEXEC), "may not write \(path)")
            }
        }
        denied(mkdir(outside, 0o750), "may not create anything beside its device's folder (\(outside))")
        denied(unlink(file), "may not delete a segment")
        denied(rename(file, probe + "/renamed.mp4"), "may not rename a segment")
        denied(open("/etc/ld.so.cache", O_WRONLY | O_CLOEXEC), "may not write system files (/etc/ld.so.cache)")
        denied(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0), "may not open a network socket")
        denied(socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0), "may not open a local socket (roomd's admin socket)")
        // Sealed segments (0440, what roomd makes a closed one): readable, never changed.
        for path in sealed {
            let readable = open(path, O_RDONLY | O_CLOEXEC)
            report(readable >= 0, "may read the sealed segment \(path)", readable >= 0 ? "" : error())
            denied(open(path, O_WRONLY | O_CLOEXEC), "may not write the sealed segment \(path)")
        }
        // Harmless even if allowed (a sandbox that failed, a kernel that
        // lacks a part): the same length, the same mode.
        for path in forbidden + sealed {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            denied(truncate(path, info.st_size), "may not truncate \(path) by path")
            denied(chmod(path, info.st_mode & 0o7777), "may not change the mode of \(path)")
        }
        denied(kill(getppid(), 0), "may not signal another process (its parent)")
        let signalled = kill(getpid(), 0) == 0
        report(signalled, "may signal itself (raise, abort)", signalled ? "" : error())
        return allOK
    }
}
