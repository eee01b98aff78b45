#!/usr/bin/env bash
# Builds the test PKI for the signature-verification tests with the openssl
# command line (an implementation independent of roomd's own code):
#
#   make-test-pki.sh OUTDIR
#
# Per algorithm (rsa, ec, sm2): OUTDIR/<alg>/root.crt → int.crt → leaf.crt
# (+ .key), leaf subject CN=张三, serialNumber=11010519491231002X.
# Special leaves (see the bottom): expired, not yet valid, revoked (with CRLs
# signed by the ECDSA and by the SM2 intermediate), issued by another CA,
# encryption-only, RSA-1024, and GM/T 0015 ID-number variants.
# Dates: everything valid is valid from now-1 day for 10 years.
set -euo pipefail
OUT="$1"
mkdir -p "$OUT"
cd "$OUT"
SM2ID=1234567812345678
export CADIR=.  # ca.cnf reads it; each `openssl ca` call names its own CA folder
export PI_ID=000000000000000000  # ca.cnf reads it: the ID number of the pi_*_ext extensions

cat > ca.cnf <<'CNF'
oid_section = oids
[ oids ]
gmtIdNumber = 1.2.156.10260.4.1.1
piIdNumber = 1.3.6.1.4.1.59999.1.1
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $ENV::CADIR
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
certificate = $dir/ca.crt
private_key = $dir/ca.key
crlnumber = $dir/crlnumber
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
default_crl_days = 3650
default_md = default
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only
[ dn ]
CN = unused
[ root_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ int_ext ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ sign_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ nonrep_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ enc_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ gmt_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
1.2.156.10260.4.1.1 = ASN1:PRINTABLESTRING:440301199001011234
[ pi_gmt_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
1.2.156.10260.4.1.1 = ASN1:PRINTABLESTRING:$ENV::PI_ID
[ pi_oid_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
1.3.6.1.4.1.59999.1.1 = ASN1:UTF8String:$ENV::PI_ID
[ pi_oid_enc_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
1.3.6.1.4.1.59999.1.1 = ASN1:UTF8String:$ENV::PI_ID
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF

# Per-algorithm options: key generation, digest, signature options.
keygen() {  # alg file
    case "$1" in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
        rsa1024) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$2" 2>/dev/null ;;
        ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
        sm2) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$2" ;;
    esac
}
signopts() {  # alg of the signing CA
    case "$1" in
        sm2) echo "-md sm3 -sigopt distid:$SM2ID -vfyopt distid:$SM2ID" ;;
        *) echo "-md sha256" ;;
    esac
}

# newca NAME ALG SUBJECT [PARENT]: a CA folder NAME with its own database.
newca() {
    local name="$1" alg="$2" subject="$3" parent="${4:-}"
    mkdir -p "$name/issued"
    : > "$name/index.txt"
    echo 1000 > "$name/serial"
    echo 01 > "$name/crlnumber"
    echo "$alg" > "$name/alg"
    keygen "$alg" "$name/ca.key"
    if [[ -z "$parent" ]]; then
        # A root through `openssl ca -selfsign`, so it too starts a day ago.
        issue "$name" "$name/ca" "$subject" root_ext "" "" existing-key "" selfsign
    else
        issue "$parent" "$name/ca" "$subject" int_ext "" "" existing-key
    fi
}

# issue CA OUTBASE SUBJECT EXT [STARTDATE ENDDATE] [existing-key] [KEYALG] [selfsign]
issue() {
    local ca="$1" base="$2" subject="$3" ext="$4" start="${5:-}" end="${6:-}" existing="${7:-}" keyalg="${8:-}" selfsign="${9:-}"
    local alg; alg="$(cat "$ca/alg")"
    [[ -z "$keyalg" ]] && keyalg="$alg"
    [[ -n "$existing" ]] || keygen "$keyalg" "$base.key"
    local csropts=""
    [[ "$keyalg" == sm2 ]] && csropts="-sm3 -sigopt distid:$SM2ID"
    # shellcheck disable=SC2086
    openssl req -config ca.cnf -new -key "$base.key" -utf8 -subj "$subject" $csropts -out "$base.csr"
    local dates="-startdate $(date -u -d '1 day ago' +%Y%m%d%H%M%SZ) -days 3650"
    [[ -n "$start" ]] && dates="-startdate $start -enddate $end"
    local vfy=""
    [[ "$keyalg" == sm2 ]] && vfy="-vfyopt distid:$SM2ID"
    local signer="-cert $ca/ca.crt"
    [[ -n "$selfsign" ]] && signer="-selfsign"
    # shellcheck disable=SC2046,SC2086
    CADIR="$ca" openssl ca -config ca.cnf -batch -notext -utf8 -preserveDN $signer -keyfile "$ca/ca.key" \
        $(signopts "$alg") $vfy $dates -extensions "$ext" -in "$base.csr" -out "$base.crt" 2>/dev/null
    rm -f "$base.csr"
}

# crl CA FILE: the CA's current CRL (PEM), from its database.
crl() {
    local ca="$1" file="$2"
    # shellcheck disable=SC2046
    CADIR="$ca" openssl ca -config ca.cnf -gencrl -cert "$ca/ca.crt" -keyfile "$ca/ca.key" $(signopts "$(cat "$ca/alg")") \
        -crlexts crl_ext -out "$file" 2>/dev/null
}

EXPERT="/CN=张三/serialNumber=11010519491231002X/O=某某大学/C=CN"
for alg in rsa ec sm2; do
    newca "$alg/root" "$alg" "/C=CN/O=roomd test/CN=$alg cloud-sign root"
    newca "$alg/int" "$alg" "/C=CN/O=roomd test/CN=$alg cloud-sign intermediate" "$alg/root"
    issue "$alg/int" "$alg/leaf" "$EXPERT" sign_ext
    cp "$alg/root/ca.crt" "$alg/root.crt"
    cp "$alg/int/ca.crt" "$alg/int.crt"
done

# Expired and not-yet-valid leaves (RSA), revoked leaves (ECDSA, SM2).
issue rsa/int rsa/expired "/CN=李四/serialNumber=110105194912310037" sign_ext 20200101000000Z 20210101000000Z
issue rsa/int rsa/notyet "/CN=王五/serialNumber=110105194912310045" sign_ext 20990101000000Z 20991231000000Z
issue rsa/int rsa/enc "/CN=赵六/serialNumber=11010519491231002X" enc_ext
issue rsa/int rsa/weak "/CN=孙七/serialNumber=11010519491231002X" sign_ext "" "" "" rsa1024
issue rsa/int rsa/nonrep "/CN=周八/serialNumber=11010519491231002X" nonrep_ext
issue ec/int ec/revoked "/CN=钱九/serialNumber=11010519491231002X" sign_ext
issue sm2/int sm2/revoked "/CN=吴十/serialNumber=11010519491231002X" sign_ext
issue sm2/int sm2/gmt-ext "/CN=郑一" gmt_ext
issue sm2/int sm2/gmt-rdn "/CN=冯二/gmtIdNumber=440301199001011234" sign_ext

# CRLs before and after revoking (the "before" ones test that a reload is needed).
for alg in rsa ec sm2; do crl "$alg/int" "$alg/int-empty.crl"; done
CADIR=ec/int openssl ca -config ca.cnf -revoke ec/revoked.crt -crl_reason keyCompromise 2>/dev/null
CADIR=sm2/int openssl ca -config ca.cnf -revoke sm2/revoked.crt -crl_reason keyCompromise 2>/dev/null
crl ec/int ec/int.crl
crl sm2/int sm2/int.crl
openssl crl -in sm2/int.crl -outform DER -out sm2/int.crl.der
# An expired CRL (nextUpdate in the past) from the RSA intermediate.
# shellcheck disable=SC2046
CADIR=rsa/int openssl ca -config ca.cnf -gencrl -cert rsa/int/ca.crt -keyfile rsa/int/ca.key -md sha256 \
    -crl_lastupdate 20200101000000Z -crl_nextupdate 20210101000000Z -out rsa/int-expired.crl 2>/dev/null

# Another CA entirely (a leaf from it must be refused as untrusted).
newca other/root ec "/C=CN/O=elsewhere/CN=other root"
issue other/root other/leaf "$EXPERT" sign_ext

# Personal-data scanner (issue 19): experts whose ID numbers sit in every place
# roomd reads them from, for each algorithm. pi.txt lists "file name idnumber"
# for the test; 1.3.6.1.4.1.59999.1.1 is the OID the test configures
# (identity.id_number_oid). Every number here must stay out of everything
# roomd writes, except the stored certificates.
pi() {  # CA FILE NAME ID PLACEMENT [START END]
    local ca="$1" file="$2" name="$3" id="$4" place="$5" start="${6:-}" end="${7:-}"
    case "$place" in
        serial) issue "$ca" "$file" "/CN=$name/serialNumber=$id/O=某某大学/C=CN" sign_ext "$start" "$end" ;;
        gmt-rdn) issue "$ca" "$file" "/CN=$name/gmtIdNumber=$id/O=某某大学/C=CN" sign_ext "$start" "$end" ;;
        gmt-ext) PI_ID="$id" issue "$ca" "$file" "/CN=$name/O=某某大学/C=CN" pi_gmt_ext "$start" "$end" ;;
        oid-rdn) issue "$ca" "$file" "/CN=$name/piIdNumber=$id/O=某某大学/C=CN" sign_ext "$start" "$end" ;;
        oid-ext) PI_ID="$id" issue "$ca" "$file" "/CN=$name/O=某某大学/C=CN" pi_oid_ext "$start" "$end" ;;
        oid-enc) PI_ID="$id" issue "$ca" "$file" "/CN=$name/O=某某大学/C=CN" pi_oid_enc_ext "$start" "$end" ;;
    esac
    echo "$file $name $id $place" >> pi.txt
}
: > pi.txt
pi rsa/int rsa/pi-serial 甲一 440301197003151012 serial
pi rsa/int rsa/pi-gmt-rdn 甲二 310104198207041089 gmt-rdn
pi rsa/int rsa/pi-gmt-ext 甲三 330106196502111155 gmt-ext
pi rsa/int rsa/pi-oid-rdn 甲四 510107198811201225 oid-rdn
pi rsa/int rsa/pi-oid-ext 甲五 420106197506091290 oid-ext
pi ec/int ec/pi-serial 乙一 210102199101011365 serial
pi ec/int ec/pi-gmt-rdn 乙二 370202196812301437 gmt-rdn
pi ec/int ec/pi-gmt-ext 乙三 120101197905051509 gmt-ext
pi ec/int ec/pi-oid-rdn 乙四 500103198508171572 oid-rdn
pi ec/int ec/pi-oid-ext 乙五 44010619780115100X oid-ext
pi sm2/int sm2/pi-serial 丙一 610113197209251648 serial
pi sm2/int sm2/pi-gmt-rdn 丙二 350203198002291718 gmt-rdn
pi sm2/int sm2/pi-gmt-ext 丙三 530102199306141782 gmt-ext
pi sm2/int sm2/pi-oid-rdn 丙四 230103196207071856 oid-rdn
pi sm2/int sm2/pi-oid-ext 丙五 32010519861023118X oid-ext
# Refused ones, each carrying a number of its own: expired (GM/T 0015 in the
# subject), encryption-only (configured OID as an extension), a name on the
# roster with another number (GM/T 0015 extension), a person not on the roster
# (configured OID in the subject), a CA nobody trusts (GM/T 0015 in the subject).
pi rsa/int rsa/pi-expired 丁一 650102198704021922 gmt-rdn 20200101000000Z 20210101000000Z
pi ec/int ec/pi-enc 丁二 150102197603181991 oid-enc
pi sm2/int sm2/pi-mismatch 甲一 450103198909092061 gmt-ext
pi rsa/int rsa/pi-stranger 丁四 120101197905051584 oid-rdn
pi other/root other/pi-untrusted 丁五 370202196812301509 gmt-rdn
