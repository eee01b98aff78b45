#!/usr/bin/python3
"""Runs a command under the system-call filter a systemd unit file declares,
built the way systemd builds it, so a test can check what the service's
processes may do without booting systemd:

  unit_seccomp.py UNIT -- COMMAND [ARG...]

SystemCallFilter= lines are read in order: an allow list (a line without "~")
starts from nothing but systemd's always-permitted @default and adds; a "~"
line removes. Groups (@system-service, ...) are expanded by systemd's own
`systemd-analyze syscall-filter`, recursively. What is not allowed fails with
SystemCallErrorNumber= (default: the process is killed, as systemd does).
Needs Debian's python3-seccomp (libseccomp's own bindings), so run it with
/usr/bin/python3.
"""
import errno, os, subprocess, sys

import seccomp

def expand(name, seen):
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names |= expand(line, seen)
    return names

def main():
    split = sys.argv.index("--")
    unit, command = sys.argv[1], sys.argv[split + 1:]
    allowed, error_number = None, None
    answers = {}  # "~name:errno" entries: the call is refused with that errno (0: answered as done)
    for raw in open(unit):
        line = raw.strip()
        if line.startswith("SystemCallFilter="):
            value = line.split("=", 1)[1].strip()
            deny = value.startswith("~")
            names = set()
            for item in value.lstrip("~").split():
                item, _, answer = item.partition(":")
                if deny and answer:
                    answers[item] = int(answer) if answer.isdigit() else getattr(errno, answer)
                names |= expand(item, set())
            if deny:
                if allowed is not None:
                    allowed -= names
            else:
                allowed = (allowed if allowed is not None else expand("@default", set())) | names
        elif line.startswith("SystemCallErrorNumber="):
            error_number = getattr(errno, line.split("=", 1)[1].strip())
    if allowed is None:
        sys.exit("no SystemCallFilter= allow list in " + unit)
    default = seccomp.ERRNO(error_number) if error_number is not None else seccomp.KILL_PROCESS
    f = seccomp.SyscallFilter(defaction=default)
    unknown = 0
    for name in sorted(allowed):
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError):
            unknown += 1  # a name this kernel's libseccomp does not know on this architecture
    for name, answer in answers.items():
        if name not in allowed:
            f.add_rule(seccomp.ERRNO(answer), name)
    f.load()
    os.execv(command[0], command)

main()
