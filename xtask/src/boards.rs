//! The emulated boards, as data: one firmware, built for each board by the target, the
//! memory, the kernel features and the runner's QEMU machine given here (passed to the
//! firmware's build script and runner as `SCRATCHNET_*` variables).
//!
//! No board sets `-C target-cpu`: measured, `cortex-m33` made the M33's f32 demo 70 564
//! instructions an inference instead of 55 471, and `cortex-m7` changed the M7's by +315
//! (f32) and +28 (int8); the DSP routine does not need it (it is assembled as Armv7E-M).

/// One QEMU board.
#[derive(Debug, Clone, Copy)]
pub struct Board {
    /// QEMU's `-machine` name, which `--board` takes.
    pub name: &'static str,
    /// The core, for tables.
    pub core: &'static str,
    /// QEMU's `-cpu`.
    pub cpu: &'static str,
    /// The Rust target.
    pub target: &'static str,
    /// Whether the int8 kernel uses the DSP instructions (`SMLAD` …).
    pub dsp: bool,
    /// FLASH origin and length, RAM origin and length (the linker's `MEMORY`).
    pub memory: &'static str,
    /// Instructions per SysTick tick under `-icount shift=0`: 10⁹ / the board's SysTick
    /// clock, as `N` or `N/D` (checked on the device by the on-target test
    /// `systick_counts_instructions`).
    pub tick: &'static str,
}

/// Every board, the default first.
pub const BOARDS: [Board; 5] = [
    Board {
        name: "mps2-an386",
        core: "Cortex-M4F",
        cpu: "cortex-m4",
        target: "thumbv7em-none-eabihf",
        dsp: true,
        memory: "0x00000000 4M 0x20000000 4M",
        tick: "40",
    },
    Board {
        name: "microbit",
        core: "Cortex-M0",
        cpu: "cortex-m0",
        target: "thumbv6m-none-eabi",
        dsp: false,
        memory: "0x00000000 256K 0x20000000 16K",
        tick: "125/2",
    },
    Board {
        name: "mps2-an385",
        core: "Cortex-M3",
        cpu: "cortex-m3",
        target: "thumbv7m-none-eabi",
        dsp: false,
        memory: "0x00000000 4M 0x20000000 4M",
        tick: "40",
    },
    Board {
        name: "mps2-an500",
        core: "Cortex-M7",
        cpu: "cortex-m7",
        target: "thumbv7em-none-eabihf",
        dsp: true,
        memory: "0x00000000 4M 0x20000000 4M",
        tick: "40",
    },
    Board {
        name: "mps2-an505",
        core: "Cortex-M33",
        cpu: "cortex-m33",
        target: "thumbv8m.main-none-eabihf",
        dsp: true,
        memory: "0x10000000 4M 0x38000000 2M",
        tick: "50",
    },
];

/// The board named `name`, or an error listing them.
pub fn board(name: &str) -> Result<Board, String> {
    BOARDS
        .iter()
        .find(|b| b.name == name)
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = BOARDS.iter().map(|b| b.name).collect();
            format!("no board '{name}': the boards are {}", names.join(", "))
        })
}

impl Board {
    /// The environment for cargo in `firmware/`: the build script's memory and tick, and
    /// the runner's machine and cpu.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SCRATCHNET_MEMORY".into(), self.memory.to_string()),
            ("SCRATCHNET_TICK_INSTRUCTIONS".into(), self.tick.to_string()),
            ("SCRATCHNET_QEMU_MACHINE".into(), self.name.to_string()),
            ("SCRATCHNET_QEMU_CPU".into(), self.cpu.to_string()),
        ]
    }

    /// `cargo run` of the firmware for this board with `features` (the kernel's added),
    /// `more` arguments and `env` on top of the board's own; returns its output.
    pub fn run_firmware(
        &self,
        features: &[&str],
        more: &[&str],
        env: &[(&str, &str)],
    ) -> Result<String, String> {
        crate::install_targets(&[self.target])?;
        let mut args = vec!["run".to_string()];
        args.extend(self.cargo_args(features));
        args.extend(more.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let board_env = self.env();
        let mut all: Vec<(&str, &str)> = env.to_vec();
        all.extend(board_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        crate::peers::capture(&crate::root().join("firmware"), &all, "cargo", &args, false)
    }

    /// Cargo's arguments after `run`/`test`/`build`: the target and the kernel's features
    /// (`extra` added to them).
    pub fn cargo_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "--release".to_string(),
            "--target".into(),
            self.target.into(),
        ];
        let mut features: Vec<&str> = extra.to_vec();
        if self.dsp {
            features.push("dsp");
        }
        args.push("--no-default-features".into());
        if !features.is_empty() {
            args.push("--features".into());
            args.push(features.join(","));
        }
        args
    }
}

/// `cargo xtask boards`: the book's demo on every board, f32 and int8 (all 10 000 test
/// images each: every run must give the host's accuracy and agreement, or it exits 1),
/// and one table of what each costs.
pub fn table() -> Result<(), String> {
    crate::setup(crate::Needs::DEMO)?;
    let mut rows = Vec::new();
    for board in &BOARDS {
        for (model, features) in [("f32", &[][..]), ("int8", &["int8"][..])] {
            let out = board.run_firmware(features, &[], &[])?;
            eprint!("{out}");
            let get = |key: &str| crate::peers::field(&out, key).unwrap_or_else(|| "?".into());
            let kernel = match (model, board.dsp, board.target) {
                ("f32", _, t) if t.ends_with("hf") => "FPU (vmla.f32)",
                ("f32", _, _) => "soft float",
                (_, true, _) => "SMLAD (asm)",
                // The firmware's int8 model in output pairs: Thumb-1 (`MULS`) or Thumb-2 (`MUL`).
                (_, false, t) if t.starts_with("thumbv6m") => "MULS, output pairs (asm)",
                _ => "MUL, output pairs (asm)",
            };
            rows.push(format!(
                "| {} | {} | {model} | {kernel} | {} | {} | {} | {} | {} | {} |",
                board.name,
                board.core,
                get("accuracy:"),
                get("agreement:"),
                get("instructions_per_inference"),
                get("flash_bytes"),
                get("static_ram_bytes"),
                get("stack_bytes"),
            ));
        }
    }
    out!(
        "\n| board | core | model | kernel | accuracy | agreement with numpy | instructions / inference | flash (B) | static RAM (B) | stack (B) |"
    );
    out!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        out!("{r}");
    }
    Ok(())
}
