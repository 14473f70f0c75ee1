#!/usr/bin/env bash
# Cargo runner: runs an ELF on QEMU's mps2-an386 (Cortex-M4F), or the board that
# SCRATCHNET_QEMU_MACHINE and SCRATCHNET_QEMU_CPU name (cargo xtask's board table), and
# decodes its defmt output.
# -icount shift=0: one instruction is 1 ns of virtual time, so SysTick (25 MHz) ticks x 40
# count instructions deterministically. The firmware's exit code (semihosting) is QEMU's,
# and pipefail keeps it through the pipe.
#
# The decoder is the project's xtask (`cargo xtask decode ELF`): `cargo xtask` names itself in
# SCRATCHNET_DECODER; run directly (`cargo run` here), the script builds it first.
set -euo pipefail
elf="$1"
command -v qemu-system-arm >/dev/null || { echo "qemu-run.sh: qemu-system-arm is missing; run 'cargo xtask setup' at the project root" >&2; exit 127; }
decoder="${SCRATCHNET_DECODER:-}"
if [ -z "$decoder" ] || [ ! -x "$decoder" ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  (cd "$root" && cargo build --quiet --package xtask) >&2
  decoder="$root/target/debug/xtask"
fi
qemu-system-arm -machine "${SCRATCHNET_QEMU_MACHINE:-mps2-an386}" -cpu "${SCRATCHNET_QEMU_CPU:-cortex-m4}" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 \
  -kernel "$elf" | "$decoder" decode "$elf"
