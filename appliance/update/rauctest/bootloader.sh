#!/bin/sh
# Stands for the box's bootloader in the update tests, as RAUC's "custom"
# backend. Its state is files beside it: primary (the slot tried first),
# attempts.<slot> (boots left before falling back), state.<slot> (good or
# bad). RAUC calls get-primary, set-primary SLOT, get-state SLOT,
# set-state SLOT good|bad. The tests call "boot", which does what the
# bootloader does at power-on, and prints the slot it boots. While a file
# named hold is beside it, set-primary waits: a test kills the installer
# then, knowing the install cannot have completed.
set -eu
dir=$(dirname "$0")
attempts=3
other() { if [ "$1" = A ]; then echo B; else echo A; fi; }
get() { cat "$dir/$1" 2>/dev/null || echo "$2"; }
case "${1:-}" in
get-primary)
	get primary A ;;
set-primary)
	while [ -e "$dir/hold" ]; do sleep 0.1; done
	echo "$2" > "$dir/primary"
	echo "$attempts" > "$dir/attempts.$2" ;;
get-state)
	get "state.$2" bad ;;
set-state)
	echo "$3" > "$dir/state.$2"
	if [ "$3" = good ]; then echo "$attempts" > "$dir/attempts.$2"; else echo 0 > "$dir/attempts.$2"; fi ;;
boot)
	p=$(get primary A)
	left=$(get "attempts.$p" 0)
	if [ "$left" -le 0 ]; then
		# The primary's attempts ran out: fall back to the other slot.
		p=$(other "$p")
		echo "$p" > "$dir/primary"
		left=$(get "attempts.$p" 0)
	fi
	# A slot that is not yet marked good spends an attempt at each boot.
	if [ "$(get "state.$p" bad)" != good ] && [ "$left" -gt 0 ]; then
		echo $((left - 1)) > "$dir/attempts.$p"
	fi
	echo "$p" > "$dir/booted"
	echo "$p" ;;
*)
	echo "bootloader.sh: unknown command '${1:-}'" >&2
	exit 1 ;;
esac
