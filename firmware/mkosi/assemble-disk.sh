#!/usr/bin/env bash
# Lays out the A/B disk: GPT with the ESP (GRUB and its grubenv), two root
# slots of the same size, and the data partition; fills slot A with the
# squashfs and the data partition with the first-boot directories. Writes
# partitions at their offsets with dd: no loop devices or mounts needed.
# Usage: assemble-disk.sh ROOT_TREE ROOTFS_SQUASHFS IMAGE
set -euo pipefail
root=${1:?usage: assemble-disk.sh ROOT_TREE ROOTFS_SQUASHFS IMAGE}
squash=${2:?}; img=${3:?}

# Sizes in MiB. A slot must hold the largest release to come: keep it at
# least twice the current squashfs.
ESP_MIB=${ESP_MIB:-64}
SLOT_MIB=${SLOT_MIB:-1024}
DATA_MIB=${DATA_MIB:-1024}

squash_mib=$(( ($(stat -c %s "$squash") + 1048575) / 1048576 ))
if [ "$squash_mib" -gt "$SLOT_MIB" ]; then
	echo "assemble-disk: the root file system ($squash_mib MiB) does not fit a $SLOT_MIB MiB slot" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ESP: the GRUB binary made inside the image, and the boot state.
truncate -s "${ESP_MIB}M" "$work/esp.img"
mkfs.vfat -F 32 -n ESP "$work/esp.img" >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$root/usr/lib/linesight/boot/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
# grubenv: slot A first and good, B empty. GRUB's environment block is
# 1024 bytes: a header, NAME=value lines, '#' padding.
env=$'# GRUB Environment Block\nORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n'
{ printf '%s' "$env"; printf '%*s' $(( 1024 - ${#env} )) '' | tr ' ' '#'; } > "$work/grubenv"
mcopy -i "$work/esp.img" "$work/grubenv" ::/EFI/BOOT/grubenv

# Data: the directories the first boot fills (tmpfiles.d copies defaults).
mkdir -p "$work/data/etc/linesight" "$work/data/linesight/models" "$work/data/log/journal" "$work/data/rauc"
truncate -s "${DATA_MIB}M" "$work/data.img"
mkfs.ext4 -q -L data -d "$work/data" "$work/data.img"

# GPT: 1 MiB alignment; partition labels are what fstab, GRUB and RAUC name.
total=$(( 1 + ESP_MIB + 2 * SLOT_MIB + DATA_MIB + 1 ))
rm -f "$img"
truncate -s "${total}M" "$img"
sfdisk --quiet "$img" <<SF
label: gpt
size=${ESP_MIB}MiB,  type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
size=${SLOT_MIB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs-a
size=${SLOT_MIB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs-b
size=${DATA_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
SF
put() { dd if="$1" of="$img" bs=1M seek="$2" conv=notrunc,fsync status=none; }
put "$work/esp.img" 1
put "$squash" $(( 1 + ESP_MIB ))
put "$work/data.img" $(( 1 + ESP_MIB + 2 * SLOT_MIB ))
sfdisk --dump "$img"
