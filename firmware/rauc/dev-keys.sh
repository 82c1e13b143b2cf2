#!/usr/bin/env bash
# Makes a DEVELOPMENT signing chain for RAUC bundles in DIR: a CA
# (ca.cert.pem is the keyring) and a code-signing certificate it issued
# (signing.cert.pem, signing.key.pem). For tests and lab boxes only: the
# keys are unencrypted and made on this machine. The production keys are
# made and kept offline, see docs/firmware.md. Usage: dev-keys.sh DIR [NAME]
set -euo pipefail
dir=${1:?usage: dev-keys.sh DIR [NAME]}
name=${2:-LineSight development}
mkdir -p "$dir"
cd "$dir"
if [ -f ca.cert.pem ] && [ -f signing.cert.pem ] && [ -f signing.key.pem ]; then
	exit 0
fi
cat > openssl.cnf <<CNF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = $name CA
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_signing ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-config openssl.cnf -extensions v3_ca -keyout ca.key.pem -out ca.cert.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-config openssl.cnf -subj "/CN=$name signing" -keyout signing.key.pem -out signing.csr.pem 2>/dev/null
openssl x509 -req -in signing.csr.pem -CA ca.cert.pem -CAkey ca.key.pem -CAcreateserial \
	-days 3650 -extfile openssl.cnf -extensions v3_signing -out signing.cert.pem 2>/dev/null
rm -f signing.csr.pem
chmod 0600 ca.key.pem signing.key.pem
echo "development keys in $dir (not for production: see docs/firmware.md)"
