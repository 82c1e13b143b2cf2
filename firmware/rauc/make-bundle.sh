#!/usr/bin/env bash
# Makes a signed RAUC bundle (verity format) of a release's root file
# system. Usage:
#   make-bundle.sh ROOTFS_SQUASHFS VERSION CERT KEY OUT.raucb [INTERMEDIATE_CERT]
# CERT/KEY sign the bundle; KEY may be a PKCS#11 URI (pkcs11:...) for a key
# on a token, with RAUC_PKCS11_MODULE and RAUC_PKCS11_PIN set. COMPATIBLE
# (default linesight-amd64) must match the box's system.conf. FORMAT
# (default verity, the only one the box accepts) is for tests on kernels
# without device-mapper, where RAUC cannot mount verity bundles.
set -euo pipefail
rootfs=${1:?usage: make-bundle.sh ROOTFS_SQUASHFS VERSION CERT KEY OUT.raucb [INTERMEDIATE_CERT]}
version=${2:?}; cert=${3:?}; key=${4:?}; out=${5:?}; intermediate=${6:-}
compatible=${COMPATIBLE:-linesight-amd64}
format=${FORMAT:-verity}
command -v rauc >/dev/null || { echo "make-bundle: rauc is not installed (firmware/install-deps.sh installs it)" >&2; exit 1; }
[ -f "$rootfs" ] || { echo "make-bundle: $rootfs is missing (make image builds it)" >&2; exit 1; }
case "$version" in
	*[!A-Za-z0-9.+~_-]*|"") echo "make-bundle: version '$version' must be letters, digits and . + ~ _ -" >&2; exit 1;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/content"
# A hard link when on the same file system: the squashfs can be large.
ln "$rootfs" "$work/content/rootfs.img" 2>/dev/null || cp "$rootfs" "$work/content/rootfs.img"
cat > "$work/content/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$version
build=$(date -u +%Y%m%dT%H%M%SZ)

[bundle]
format=$format

[image.rootfs]
filename=rootfs.img
MANIFEST
args=(--cert="$cert" --key="$key")
[ -z "$intermediate" ] || args+=(--intermediate="$intermediate")
rm -f "$out"
rauc bundle "${args[@]}" "$work/content" "$out" >/dev/null
echo "bundle $out: version $version, $(stat -c %s "$out") bytes"
