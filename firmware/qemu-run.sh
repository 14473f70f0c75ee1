#!/usr/bin/env bash
# Cargo runner: runs an ELF on QEMU's mps2-an386 (Cortex-M4F) and decodes its defmt output.
# -icount shift=0: one instruction is 1 ns of virtual time, so SysTick (25 MHz) ticks x 40
# count instructions deterministically. The firmware's exit code (semihosting) is QEMU's,
# and pipefail keeps it through the pipe.
set -euo pipefail
elf="$1"
for tool in qemu-system-arm defmt-print; do
  command -v "$tool" >/dev/null || { echo "qemu-run.sh: $tool is missing; run 'cargo xtask setup' at the project root" >&2; exit 127; }
done
qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 \
  -kernel "$elf" | defmt-print -e "$elf"
