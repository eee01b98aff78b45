#!/bin/bash
# Runs inside the VM under systemd as PID 1 (scripts/vm/run-in-vm --systemd), as root, for
# VMSystemdTests: installs the package with dpkg -i and drives the installed unit the way an
# installer and systemd would. Every step waits on a condition (never a fixed time) and leaves
# what it saw in $W/out/ for the host's checks; the host judges, this script only records.
#   $W/roomd.deb   the package under test
#   $W/out/facts   key=value lines (times are CLOCK_MONOTONIC seconds, like the journal's)
set -u
W="$VM_WORKDIR"
OUT="$W/out"
mkdir -p "$OUT"
fact() { printf '%s=%s\n' "$1" "$2" >>"$OUT/facts"; }
now() { local u _; read -r u _ </proc/uptime; echo "$u"; }
# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds; records a timeout as a fact.
wait_for() {
  local limit="$1" what="$2" start
  shift 2
  start="$(now)"
  until "$@" >/dev/null 2>&1; do
    if awk -v s="$start" -v n="$(now)" -v l="$limit" 'BEGIN{exit !(n-s>l)}'; then
      fact "timeout" "$what"
      return 1
    fi
    sleep 0.25
  done
}
show() { systemctl show roomd -p "$1" --value; }
journal_json() { journalctl -u roomd -o json --no-pager >"$OUT/$1.json"; }

systemctl is-system-running --wait >/dev/null
fact "boot_to_script" "$(now)"

# 1. Install: dpkg -i of the package (its dependencies are on the host's root already). man-db's
# trigger re-indexes every manual page of the host's root, which under emulation over 9p takes
# minutes (seconds on a server): switched off here as on build containers.
rm -f /var/lib/man-db/auto-update
# The host is a container image whose policy-rc.d forbids maintainer scripts to start or stop
# services; a room server has none.
rm -f /usr/sbin/policy-rc.d
T_INSTALL="$(now)"
dpkg -i "$W/roomd.deb" >"$OUT/dpkg.log" 2>&1
fact "dpkg_status" "$?"
fact "install_seconds" "$(awk -v a="$T_INSTALL" -v b="$(now)" 'BEGIN{print b-a}')"
fact "user_groups" "$(id -nG roomd 2>/dev/null | tr ' ' ',')"
for path in /etc/roomd /etc/roomd/roomd.yaml /etc/roomd/tls /var/lib/roomd /var/log/roomd /usr/libexec/roomd/roomd-capture /usr/sbin/roomd /usr/bin/roomctl; do
  fact "mode:$path" "$(stat -c '%a %U %G' "$path" 2>&1)"
done
fact "enabled" "$(systemctl is-enabled roomd 2>&1)"
fact "active_after_install" "$(systemctl is-active roomd 2>&1)"
fact "version" "$(/usr/sbin/roomd --version 2>&1)"

# 2. What an installer sees first: the cameras and microphones, through the packaged helper.
roomctl devices >"$OUT/devices.txt" 2>&1
roomctl devices --json >"$OUT/devices.json" 2>"$OUT/devices.err"

# 3. Configure the room: a test PKI, one camera + microphone, ten-second segments.
roomctl pki init --dir /etc/roomd/tls --room-id VM-ROOM >"$OUT/pki.log" 2>&1
roomctl pki experts --dir /etc/roomd/tls >>"$OUT/pki.log" 2>&1
chown -R root:roomd /etc/roomd/tls
chmod -R g+rX,o-rwx /etc/roomd/tls
cat >/etc/roomd/roomd.yaml <<'YAML'
room: { id: VM-ROOM, name: 虚拟机评标室, agency: 测试代理机构, kind: evaluation }
stations:
  - id: S01
    camera: /dev/v4l/by-path/platform-vivid.0-video-index0
    format: { pixel_format: yuyv, width: 320, height: 180, fps: 15 }
    microphone: "hw:Loopback,1,0"
storage: { state_dir: /var/lib/roomd, segment_seconds: 10, min_free_mb: 16 }
api: { listen: "127.0.0.1:8443", admin_socket: /run/roomd/admin.sock }
# Nobody connects over HTTPS in this test: one role is enough for the configuration to be valid.
tls: { certificate: tls/server.crt, key: tls/server.key, client_ca: [tls/room-ca.crt], roles: [{ role: operator, san_uri: "urn:roomd:role:operator" }] }
identity: { expert_trust_dir: tls/experts/trust }
YAML
# Sound into the loopback's playback side, captured from its other side by roomd.
speaker-test -D hw:Loopback,0,0 -c 1 -r 48000 -F S16_LE -t sine -f 1000 -l 0 >/dev/null 2>&1 &

# 4. Start: `systemctl start` returns once the unit is active, i.e. after READY=1 (Type=notify).
# Started without blocking to watch the states in between.
T_START="$(now)"
systemctl start --no-block roomd
: >"$OUT/start-states"
while true; do
  state="$(show ActiveState)/$(show SubState)"
  pid="$(show MainPID)"
  alive=no
  [ "$pid" != 0 ] && [ -d "/proc/$pid" ] && alive=yes
  echo "$(now) $state pid=$pid alive=$alive" >>"$OUT/start-states"
  case "$state" in
    active/running|failed/*|inactive/*) break ;;
  esac
  awk -v s="$T_START" -v n="$(now)" 'BEGIN{exit !(n-s>120)}' && { fact timeout start; break; }
done
fact "start_to_active" "$(awk -v a="$T_START" -v b="$(now)" 'BEGIN{print b-a}')"
fact "active_enter_monotonic_us" "$(show ActiveEnterTimestampMonotonic)"
fact "main_start_monotonic_us" "$(show ExecMainStartTimestampMonotonic)"
fact "main_pid" "$(show MainPID)"
fact "status_text" "$(show StatusText)"

# 5. Recording under the unit's own sandbox: the first closed segment, and who wrote it.
closed_segment() {
  local f
  f="$(sqlite3 -readonly /var/lib/roomd/roomd.sqlite "select path from segments where state = 'closed' order by id limit 1" 2>/dev/null)"
  [ -n "$f" ] && echo "$f" >"$OUT/first-segment"
}
if wait_for 180 "first closed segment" closed_segment; then
  fact "install_to_closed_segment" "$(awk -v a="$T_INSTALL" -v b="$(now)" 'BEGIN{print b-a}')"
  seg="$(cat "$OUT/first-segment")"
  fact "segment_owner" "$(stat -c '%U %G %s' "$seg" 2>&1)"
  ffprobe -v error -show_entries stream=codec_type,codec_name -of csv=p=0 "$seg" >"$OUT/segment-streams.txt" 2>&1
fi
cgroup="$(show ControlGroup)"
for pid in $(cat "/sys/fs/cgroup$cgroup/cgroup.procs" 2>/dev/null); do
  ps -o user=,comm=,args= -p "$pid" 2>/dev/null
done >"$OUT/unit-processes.txt"
fact "main_rss_kib" "$(awk '/^VmRSS:/{print $2}' "/proc/$(show MainPID)/status" 2>/dev/null)"
roomctl status >"$OUT/roomctl-status.txt" 2>&1
fact "roomctl_status" "$?"

# 6. systemctl reload: SIGHUP re-reads the expert trust folder. A second expert CA is added
# between two reloads; the journal names each reload with the folder's identifier.
reloaded() { [ "$(journalctl -u roomd -o cat --no-pager | grep -c 'expert trust folder reloaded')" -ge "$1" ]; }
systemctl reload roomd
fact "reload1_status" "$?"
wait_for 60 "first reload" reloaded 1
roomctl pki experts --dir /tmp/second-ca >>"$OUT/pki.log" 2>&1
cp /tmp/second-ca/experts/trust/anchors/expert-ca.crt /etc/roomd/tls/experts/trust/anchors/second-expert-ca.crt
chmod 0640 /etc/roomd/tls/experts/trust/anchors/second-expert-ca.crt
chgrp roomd /etc/roomd/tls/experts/trust/anchors/second-expert-ca.crt
systemctl reload roomd
fact "reload2_status" "$?"
wait_for 60 "second reload" reloaded 2
fact "pid_after_reloads" "$(show MainPID)"

# 7. The watchdog: a stopped roomd sends no WATCHDOG=1; systemd kills and restarts it.
# A drop-in shortens WatchdogSec (the packaged 30 s works the same way, only slower).
mkdir -p /etc/systemd/system/roomd.service.d
printf '[Service]\nWatchdogSec=8s\n' >/etc/systemd/system/roomd.service.d/test-watchdog.conf
systemctl daemon-reload
systemctl restart roomd
fact "restart_status" "$?"
fact "watchdog_usec" "$(show WatchdogUSec)"
restarts_before="$(show NRestarts)"
stopped_pid="$(show MainPID)"
fact "stopped_pid" "$stopped_pid"
T_STOP="$(now)"
kill -STOP "$stopped_pid"
restarted() { [ "$(show NRestarts)" -gt "$restarts_before" ] && [ "$(show ActiveState)/$(show SubState)" = active/running ] && [ "$(show MainPID)" != "$stopped_pid" ]; }
wait_for 180 "watchdog restart" restarted && fact "stop_to_restarted" "$(awk -v a="$T_STOP" -v b="$(now)" 'BEGIN{print b-a}')"
fact "restarts" "$(( $(show NRestarts) - restarts_before ))"
fact "pid_after_watchdog" "$(show MainPID)"

# 8. An upgrade (here: the same package again) restarts a running roomd on the new files.
T_UPGRADE="$(now)"
dpkg -i "$W/roomd.deb" >>"$OUT/dpkg.log" 2>&1
fact "upgrade_status" "$?"
fact "upgrade_seconds" "$(awk -v a="$T_UPGRADE" -v b="$(now)" 'BEGIN{print b-a}')"
fact "state_after_upgrade" "$(show ActiveState)/$(show SubState)"
fact "pid_after_upgrade" "$(show MainPID)"

# 9. A broken configuration: ExecStartPre (roomd check-config) refuses it; once the start limit is
# reached (StartLimitBurst=) the unit stays failed, and the journal says why, as errors.
rm -f /etc/systemd/system/roomd.service.d/test-watchdog.conf
systemctl daemon-reload
sed -i 's/segment_seconds: 10/segment_seconds: 10, frobnicate: yes/' /etc/roomd/roomd.yaml
T_BROKEN="$(now)"
systemctl restart roomd
fact "broken_restart_status" "$?"
gave_up() { [ "$(show ActiveState)" = failed ]; }
wait_for 180 "failed after a broken configuration" gave_up &&
  fact "broken_to_failed" "$(awk -v a="$T_BROKEN" -v b="$(now)" 'BEGIN{print b-a}')"
fact "broken_state" "$(show ActiveState)/$(show SubState)/$(show Result)"
fact "broken_exec_start_pre" "$(show ExecStartPre | tr '\n' ' ')"
fact "broken_main_pid" "$(show MainPID)"
journal_json journal
fact "done" "yes"
