#!/usr/bin/env bash
# Makes the "legacy room" fixture: the state an earlier roomd left behind, for
# the tests that check today's code still reads (and verifies) it. Run it with
# the binaries of that earlier roomd:
#
#   make-legacy-room.sh BINDIR OUT
#
# BINDIR holds roomd, roomctl and roomd-capture built from the commit named in
# OUT/COMMIT. The room: one session whose experts check in with cloud
# signatures (ECDSA in CMS, SM2 raw, RSA-PSS raw; one with a GM/T 0015 ID
# number in the subject), refusals (expired certificate, wrong roster entry),
# a handwritten signature, a station enrolled; then a ledger export. Written
# into OUT: roomd.sql (`sqlite3 .dump` of the database, text so it diffs),
# user_version, ledger-export/ (as `roomctl ledger export` wrote it), the
# room's pki/ (test keys: a later roomd signs with the same room key) and the
# expert trust folder. The experts' PKI comes from make-test-pki.sh.
set -euo pipefail
BIN="$(cd "$1" && pwd)"; OUT="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"; trap 'kill %1 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
"$BIN/roomctl" pki init --dir pki --room-id LEGACY-ROOM >/dev/null
bash "$HERE/../../../IdentityTests/Fixtures/make-test-pki.sh" experts >/dev/null
mkdir -p trust/anchors trust/intermediates trust/crls
for alg in rsa ec sm2; do cp "experts/$alg/root.crt" "trust/anchors/$alg.crt"; cp "experts/$alg/int.crt" "trust/intermediates/$alg.crt"; done
PORT=$((20000 + RANDOM % 20000))
cat > roomd.yaml <<YAML
room: { id: LEGACY-ROOM, name: 旧版评标室, agency: 测试代理机构, kind: evaluation }
stations:
  - { id: S01, host: 127.0.0.1 }
  - { id: S02, host: 127.0.0.1 }
storage:
  state_dir: state
api:
  listen: 127.0.0.1:$PORT
tls:
  certificate: pki/server.crt
  key: pki/server.key
  client_ca: [pki/room-ca.crt]
  roles:
    - { role: station, san_uri_prefix: "urn:roomd:station:" }
    - { role: operator, san_uri: "urn:roomd:role:operator" }
    - { role: supervisor, san_uri: "urn:roomd:role:supervisor" }
    - { role: platform, san_uri: "urn:roomd:role:platform" }
identity: { expert_trust_dir: trust }
YAML
"$BIN/roomd" --config roomd.yaml > roomd.log 2>&1 &
for _ in $(seq 100); do [ -S state/admin.sock ] && curl -s -o /dev/null --cacert pki/room-ca.crt --cert pki/clients/S01.crt --key pki/clients/S01.key "https://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
SOCK=state/admin.sock
cat > roster.json <<'JSON'
[{"id":"E01","name":"张三","idNumber":"11010519491231002X","role":"expert"},
 {"id":"E02","name":"冯二","idNumber":"440301199001011234","role":"expert"},
 {"id":"E03","name":"丁一","idNumber":"650102198704021922","role":"expert"}]
JSON
"$BIN/roomctl" roster import --session LEGACY-1 roster.json --socket "$SOCK" >/dev/null
station() { curl -s --cacert pki/room-ca.crt --cert "pki/clients/$1.crt" --key "pki/clients/$1.key" "${@:2}"; }
challenge() {  # station entry -> "request signed-text-file"
  station "$1" -X POST -H 'Content-Type: application/json' --data "{\"session\":\"LEGACY-1\",\"rosterEntry\":\"$2\"}" \
    "https://127.0.0.1:$PORT/v1/checkin/challenges" > challenge.json
  python3 -c 'import json,sys; c=json.load(open("challenge.json")); open("signed.txt","w").write(c["signed"]); print(c["request"])'
}
answer() {  # station request leaf algorithm format
  local chain="experts/${3%%/*}/int.crt"
  "$BIN/roomctl" expert sign --key "experts/$3.key" --cert "experts/$3.crt" --chain "$chain" --algorithm "$4" --format "$5" \
    --in signed.txt --out sig.b64 --base64 >/dev/null
  python3 - "$5" "experts/$3.crt" > answer.json <<'PY'
import json, sys
body = {"format": sys.argv[1], "signature": open("sig.b64").read().strip()}
if sys.argv[1] == "raw": body["certificate"] = open(sys.argv[2]).read()
print(json.dumps(body))
PY
  station "$1" -X POST -H 'Content-Type: application/json' --data @answer.json \
    "https://127.0.0.1:$PORT/v1/checkin/challenges/$2/answer"
  echo
}
R=$(challenge S01 E01); answer S01 "$R" ec/leaf ecdsa cms > accepted.json
SIG=$(python3 -c 'import json; print(json.load(open("accepted.json"))["signature"])')
station S01 -X POST -H 'Content-Type: application/json' \
  --data '{"width":300,"height":120,"strokes":[[{"x":20,"y":60,"t":0},{"x":80,"y":30,"t":40},{"x":140,"y":90,"t":80}]]}' \
  "https://127.0.0.1:$PORT/v1/checkin/signatures/$SIG/handwriting" >/dev/null
R=$(challenge S02 E02); answer S02 "$R" sm2/gmt-rdn sm2 raw >/dev/null
R=$(challenge S02 E03); answer S02 "$R" rsa/pi-expired rsa-pss raw >/dev/null
R=$(challenge S02 E03); answer S02 "$R" rsa/leaf rsa-pss raw >/dev/null
"$BIN/roomctl" station enroll S02 --import pki/clients/S02.crt --socket "$SOCK" >/dev/null
rm -rf "$OUT/ledger-export"; mkdir -p "$OUT"
"$BIN/roomctl" ledger export --out "$OUT/ledger-export" --socket "$SOCK" >/dev/null
kill -TERM %1; wait %1 || true
sqlite3 state/roomd.sqlite .dump > "$OUT/roomd.sql"
sqlite3 state/roomd.sqlite 'PRAGMA user_version' > "$OUT/user_version"
rm -rf "$OUT/pki" "$OUT/trust"; mkdir -p "$OUT/pki/clients"; cp -r trust "$OUT/"
cp pki/server.crt pki/server.key pki/room-ca.crt "$OUT/pki/"
for c in S01 S02 operator supervisor; do cp "pki/clients/$c.crt" "pki/clients/$c.key" "$OUT/pki/clients/"; done
grep -c "" "$OUT/roomd.sql" >/dev/null
