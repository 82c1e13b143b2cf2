#!/usr/bin/env bash
# Builds the linesight Debian package: the appliance alone (no test peer),
# with the ONNX Runtime library, the systemd units, the linesight user, a
# default configuration in /etc/linesight and the data directory.
#
#   build.sh BINARY VERSION OUTDIR
#
# BINARY is a linesight built with its version stamped; VERSION is what it
# prints (git describe); the package's version is derived from it. The
# Depends are the shared libraries BINARY and the ONNX Runtime library link
# against, as dpkg-shlibdeps finds them. Prints the .deb's path.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 BINARY VERSION OUTDIR" >&2
  exit 2
fi
bin=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ort=${LINESIGHT_ORT_LIB:-/usr/local/lib/linesight/libonnxruntime.so.1}
for f in "$bin" "$ort"; do
  [ -f "$f" ] || { echo "build.sh: $f: no such file (make build; make setup installs the ONNX Runtime library)" >&2; exit 1; }
done
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (make setup installs dpkg-dev)" >&2; exit 1; }
done

# A Debian version starts with a digit: v1.2.0-3-gabcdef becomes
# 1.2.0+3.gabcdef; an untagged tree gives 0~git.<commit>.
debversion() {
  local v=$1 dirty=""
  if [[ $v == *-dirty ]]; then v=${v%-dirty} dirty=+dirty; fi
  if [[ $v =~ ^v?([0-9]+\.[0-9][0-9A-Za-z.~]*)(-([0-9]+)-(g[0-9a-f]+))?$ ]]; then
    v=${BASH_REMATCH[1]}
    if [ -n "${BASH_REMATCH[3]}" ]; then v+="+${BASH_REMATCH[3]}.${BASH_REMATCH[4]}"; fi
  else
    v="0~git.${v//[^0-9A-Za-z.]/.}"
  fi
  echo "$v$dirty"
}
pkgversion=$(debversion "$version")
arch=$(dpkg --print-architecture)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -D -m 0755 "$bin" "$root/usr/bin/linesight"
install -D -m 0644 "$ort" "$root/usr/lib/linesight/libonnxruntime.so.1"
install -D -m 0644 -t "$root/usr/lib/systemd/system" "$repo/firmware/systemd/linesight.service" "$repo/firmware/systemd/linesight-firstboot.service"
install -D -m 0644 "$here/sysusers.conf" "$root/usr/lib/sysusers.d/linesight.conf"
install -D -m 0644 "$here/tmpfiles.conf" "$root/usr/lib/tmpfiles.d/linesight.conf"
install -D -m 0644 "$here/linesight.yaml" "$root/etc/linesight/linesight.yaml"
install -D -m 0644 "$repo/appliance/demo/classes.yaml" "$root/etc/linesight/classes.yaml"
install -D -m 0644 -t "$root/usr/share/doc/linesight" "$repo/docs/deploy.md"

# Depends: what the binary and the ONNX Runtime library link against.
mkdir -p "$stage/src/debian"
printf 'Source: linesight\n\nPackage: linesight\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e "$root/usr/bin/linesight" -e "$root/usr/lib/linesight/libonnxruntime.so.1" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: linesight
Version: $pkgversion
Architecture: $arch
Maintainer: LineSight <linesight@localhost>
Section: misc
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends, systemd
Suggests: mosquitto
Description: LineSight visual inspection appliance
 Inspects parts on a production line with CLIP through ONNX Runtime and
 publishes a verdict per part over MQTT for PLCs, with a journal and a
 dashboard. Runs as the linesight.service systemd unit.
CONTROL
printf '/etc/linesight/linesight.yaml\n/etc/linesight/classes.yaml\n' >"$root/DEBIAN/conffiles"
install -m 0755 -t "$root/DEBIAN" "$here/postinst" "$here/prerm" "$here/postrm"

mkdir -p "$out"
deb="$out/linesight_${pkgversion}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
