#!/usr/bin/env bash
# Regenerates the example PKI used by the Secrets in examples/ingressroute/ and
# examples/invalid/, and prints the base64 that those Secrets embed.
#
# EXAMPLE CREDENTIALS ONLY: the private keys are committed on purpose. Never trust the
# CA below anywhere.
#
# File layout (always the same, all in this directory):
#
#   ca.key, ca.crt          the examples CA (EC P-256, self-signed, 36500 days)
#   <name>.key, <name>.crt  one leaf per entry of LEAVES below, signed by the CA
#                           (36500 days, serverAuth, subjectAltName = the listed DNS names)
#
# Key formats are chosen per leaf on purpose, so the examples exercise every PEM private
# key block a TLS Secret may hold:
#
#   rsa-pkcs8  RSA 2048, "-----BEGIN PRIVATE KEY-----"      (PKCS#8)
#   rsa-pkcs1  RSA 2048, "-----BEGIN RSA PRIVATE KEY-----"  (PKCS#1)
#   ec-pkcs8   EC P-256, "-----BEGIN PRIVATE KEY-----"      (PKCS#8)
#   ec-sec1    EC P-256, "-----BEGIN EC PRIVATE KEY-----"   (SEC1, no EC PARAMETERS block)
#
# Usage:
#   ./generate.sh                 regenerate every key and certificate, then print base64
#   ./generate.sh --keep          do not regenerate, only print base64 of the current PEMs
#   ./generate.sh --update-yaml   additionally rewrite the Secret data in the example YAML
#                                 files (combine with --keep to only re-sync the YAML)
#
# --update-yaml rewrites, in ../*.yaml and ../../invalid/*.yaml, every `tls.crt:`,
# `tls.key:` and `ca.crt:` line that follows a marker comment
#     # certs/generate.sh: <name>
# inside a Secret's `data:` with the base64 of <name>.crt / <name>.key (`ca.crt:` takes
# <name>.crt). Regenerating changes every certificate (new keys, new serials), so always
# run with --update-yaml, or paste the printed values into the YAML yourself.
#
# Requires bash, openssl (1.1.1 or 3.x) and awk.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

DAYS=36500
CA_SUBJECT="/O=ingressroute-rs examples/CN=ingressroute-rs examples CA"

# name|key type|comma-separated DNS subjectAltNames (the first one is also the CN)|used by
LEAVES=(
  "testsecret|rsa-pkcs8|foo2.bar.com|examples/ingressroute/tls.yaml (default/testsecret)"
  "testsecret-insecure|ec-pkcs8|foo3.bar.com|examples/ingressroute/tls-insecure-route.yaml (default/testsecret-insecure)"
  "permit-insecure|ec-sec1|insecure.bar.com|examples/ingressroute/permit-insecure.yaml (default/permit-insecure-tls)"
  "example-com-wildcard|rsa-pkcs1|*.example.com,example.com|examples/ingressroute/tls-certificate-delegation.yaml (www-admin/example-com-wildcard)"
  "roots|ec-pkcs8|team-a.bar.com,team-b.bar.com|examples/ingressroute/root-namespaces.yaml (roots/roots-tls)"
  "tcp-termination|rsa-pkcs8|tcp.example.com|examples/ingressroute/tcpproxy-tls-termination.yaml (default/tcp-secret)"
  "tcp-delegation|ec-pkcs8|tcp-delegation.example.com|examples/ingressroute/tcpproxy-delegation.yaml (default/tcp-delegation-tls)"
  "secure-backend|ec-pkcs8|backend.example.com,secure-backend.default.svc.cluster.local|examples/ingressroute/upstream-tls-validation.yaml (default/secure-backend-tls, served by the upstream itself)"
  "undelegated|ec-pkcs8|cert-delegation-denied.example.org|examples/invalid/certificate-delegation-not-permitted.yaml (cert-admin/undelegated-cert)"
)

regenerate=1
update_yaml=0
for arg in "$@"; do
  case "$arg" in
    --keep) regenerate=0 ;;
    --update-yaml) update_yaml=1 ;;
    -h|--help) sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# genkey <type> <out>
genkey() {
  case "$1" in
    rsa-pkcs8) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
    rsa-pkcs1)
      # OpenSSL 3 writes PKCS#8 by default; -traditional asks for PKCS#1. 1.1.1 has no
      # -traditional and already writes PKCS#1.
      openssl genrsa -traditional -out "$2" 2048 2>/dev/null || openssl genrsa -out "$2" 2048 2>/dev/null ;;
    ec-pkcs8) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
    ec-sec1) openssl ecparam -name prime256v1 -genkey -noout -out "$2" ;;
    *) echo "unknown key type $1" >&2; exit 1 ;;
  esac
}

# random_serial: 16 random bytes as hex, top bit cleared so the serial stays positive
random_serial() {
  local hex
  hex="$(openssl rand -hex 16)"
  printf '0x%x%s' $(( 0x${hex:0:1} & 7 )) "${hex:1}"
}

generate_ca() {
  genkey ec-pkcs8 ca.key
  cat >"$tmp/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
  openssl req -config "$tmp/ca.cnf" -x509 -new -key ca.key -sha256 -days "$DAYS" \
    -subj "$CA_SUBJECT" -extensions v3_ca -set_serial "$(random_serial)" -out ca.crt
}

# generate_leaf <name> <key type> <sans>
generate_leaf() {
  local name="$1" type="$2" sans="$3" san_ext="" cn usage
  cn="${sans%%,*}"
  IFS=',' read -r -a names <<<"$sans"
  for n in "${names[@]}"; do san_ext+="${san_ext:+, }DNS:$n"; done
  case "$type" in
    rsa-*) usage="digitalSignature, keyEncipherment" ;;
    *) usage="digitalSignature" ;;
  esac
  genkey "$type" "$name.key"
  cat >"$tmp/$name.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, $usage
extendedKeyUsage = serverAuth
subjectAltName = $san_ext
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
  openssl req -new -key "$name.key" -subj "/O=ingressroute-rs examples/CN=$cn" -out "$tmp/$name.csr"
  openssl x509 -req -in "$tmp/$name.csr" -CA ca.crt -CAkey ca.key -set_serial "$(random_serial)" \
    -sha256 -days "$DAYS" -extfile "$tmp/$name.ext" -out "$name.crt" 2>/dev/null
  openssl verify -CAfile ca.crt "$name.crt" >/dev/null
}

b64() { openssl base64 -A <"$1"; }

if [[ $regenerate == 1 ]]; then
  generate_ca
  for leaf in "${LEAVES[@]}"; do
    IFS='|' read -r name type sans _ <<<"$leaf"
    generate_leaf "$name" "$type" "$sans"
  done
fi

if [[ $update_yaml == 1 ]]; then
  shopt -s nullglob
  for f in ../*.yaml ../../invalid/*.yaml; do
    awk -v dir="$PWD" '
      function b64(file,   cmd, out) {
        cmd = "openssl base64 -A < \"" dir "/" file "\""
        out = ""
        cmd | getline out
        close(cmd)
        if (out == "") { print "generate.sh: cannot read " file > "/dev/stderr"; exit 1 }
        return out
      }
      /^[[:space:]]*# certs\/generate\.sh: / { name = $NF; print; next }
      name != "" && /^[[:space:]]+(tls\.crt|tls\.key|ca\.crt):/ {
        match($0, /^[[:space:]]+/); indent = substr($0, 1, RLENGTH)
        key = $1; sub(/:$/, "", key)
        file = (key == "tls.key") ? name ".key" : name ".crt"
        print indent key ": " b64(file)
        next
      }
      !/^[[:space:]]/ || /^---/ { name = "" }
      { print }
    ' "$f" >"$tmp/out.yaml"
    if ! cmp -s "$tmp/out.yaml" "$f"; then
      cat "$tmp/out.yaml" >"$f"
      echo "updated $f" >&2
    fi
  done
fi

echo "# base64 of the PEM files in $(pwd)"
echo "# ca (Opaque CA secrets: ca.crt)"
echo "ca.crt: $(b64 ca.crt)"
for leaf in "${LEAVES[@]}"; do
  IFS='|' read -r name type sans used <<<"$leaf"
  echo
  echo "# $name ($type; DNS: $sans) -> $used"
  echo "tls.crt: $(b64 "$name.crt")"
  echo "tls.key: $(b64 "$name.key")"
done
