#!/usr/bin/env bash
# Installs what LineSight needs on a Debian 12 box: the C libraries GoCV links
# against, the test peers, and the ONNX Runtime library. Idempotent: run it again
# after an upgrade. Needs root (uses sudo when not root).
set -euo pipefail

ORT_VERSION=1.30.0
ORT_DIR=${LINESIGHT_ORT_DIR:-/usr/local/lib/linesight}
# sha256 of bin/napi-v6/linux/x64/libonnxruntime.so.1 in onnxruntime-node@1.30.0
ORT_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

step() { printf '\n==> %s\n' "$*"; }

APT_PACKAGES=(
  build-essential pkg-config ca-certificates
  libopencv-dev          # OpenCV 4.6 for GoCV (capture, colour, JPEG)
  nodejs npm             # to fetch the ONNX Runtime library from the npm registry
  python3-pil            # Pillow: the reference the preprocessing tests compare against
  python3-regex          # Unicode regex for the reference tokenizer the tokenizer tests compare against
  python3-torch python3-numpy  # PyTorch: the independent CLIP the fidelity tests compare against
  mosquitto              # MQTT broker the PLC-link tests start on a loopback port
  chromium               # headless browser for the dashboard tests
  openssl                # test certificates for MQTT and HTTPS over TLS
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may already have Node.js from elsewhere; then Debian's is not needed.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  step "apt: all packages present"
fi

lib="$ORT_DIR/libonnxruntime.so.1"
if [ -f "$lib" ] && echo "$ORT_SHA256  $lib" | sha256sum -c --status; then
  step "ONNX Runtime $ORT_VERSION already at $lib"
else
  step "ONNX Runtime $ORT_VERSION: fetching onnxruntime-node@$ORT_VERSION from the npm registry"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tar -xzf "$tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  got=$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)
  if [ "$got" != "$ORT_SHA256" ]; then
    echo "libonnxruntime.so.1 checksum mismatch: got $got, want $ORT_SHA256" >&2
    exit 1
  fi
  $SUDO install -D -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib"
  step "installed $lib"
fi

step "Go modules"
go mod download
echo "setup complete"

# --- Firmware: image build (mkosi) and signed A/B updates (RAUC) ---------
# The RAUC tests run the real rauc service on a private D-Bus.
FW_PACKAGES=(rauc mkosi squashfs-tools dbus mtools)
fw_missing=()
for p in "${FW_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || fw_missing+=("$p")
done
if [ ${#fw_missing[@]} -gt 0 ]; then
  step "apt: installing ${fw_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${fw_missing[@]}"
fi
