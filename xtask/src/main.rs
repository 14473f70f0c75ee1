//! `cargo xtask`: the project's host and cross tasks, with no dependencies of its own.
//!
//! - `cargo xtask test`  — every check: fmt, clippy, host tests, the no_std cross builds,
//!   and (when `firmware/` exists) the firmware's on-target tests in QEMU.
//! - `cargo xtask demo`  — the main job: the firmware demo on the emulated Cortex-M4F;
//!   `--int8` for the int8 model, `--model M.scnt --inputs X.npy --labels Y.npy` for yours.
//! - `cargo xtask setup` — installs what a bare machine lacks, saying what it does.
//! - `cargo xtask audit` — `cargo deny check advisories`, where the network allows.
//! - `cargo xtask bench` — the host benchmarks, then numpy's side and the ratios when
//!   python3 with numpy is available.
//! - `cargo xtask peers` — the same models with the peers' kernels (CMSIS-NN, CMSIS-DSP,
//!   emlearn) on the same emulated board, side by side (`peers.rs`).
//! - `cargo xtask dense` — issue #12's dense benchmark, every layer's cost (`dense.rs`).
//! - `cargo xtask boards` — the demo on every emulated board (M0, M3, M4F, M7, M33), both
//!   models, and one table (`boards.rs`). `demo --board NAME` runs one of them.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// `println!` that returns an error from the task instead of panicking when stdout is
/// closed (`cargo xtask boards | head -1`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($t)*)
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }};
}

mod boards;
mod decode;
mod dense;
mod peers;

use boards::{BOARDS, Board};

/// Cross targets the core must build for.
const CORE_TARGETS: [&str; 4] = [
    "thumbv7em-none-eabihf",
    "thumbv7m-none-eabi",
    "thumbv6m-none-eabi",
    "thumbv8m.main-none-eabihf",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

type Result<T = ()> = std::result::Result<T, String>;

/// Runs a command in `dir`, echoing it; an error names the command.
fn run(dir: &Path, program: &str, args: &[&str]) -> Result {
    run_env(dir, &[], program, args)
}

/// A command whose environment names this program as the defmt decoder
/// (`SCRATCHNET_DECODER`), which the QEMU runner (`firmware/qemu-run.sh`) pipes the
/// firmware's output through.
fn command(program: &str) -> Command {
    let mut c = Command::new(program);
    if let Ok(me) = std::env::current_exe() {
        c.env("SCRATCHNET_DECODER", me);
    }
    c
}

/// [`run`] with extra environment variables.
fn run_env(dir: &Path, env: &[(&str, &str)], program: &str, args: &[&str]) -> Result {
    let shown: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    eprintln!("xtask: $ {shown}{program} {}", args.join(" "));
    let status = command(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `true` when `program` is an executable file on `PATH`. (Running it is no test:
/// `flip-link --version` hands its arguments to the linker and exits 1.)
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let p = dir.join(program);
            #[cfg(unix)]
            let executable = std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            });
            #[cfg(not(unix))]
            let executable = p.is_file() || p.with_extension("exe").is_file();
            executable
        })
    })
}

fn have_cargo_subcommand(name: &str) -> bool {
    on_path(&format!("cargo-{name}"))
}

/// The workspaces, and the path of deny.toml from each.
const WORKSPACES: [(&str, &str); 5] = [
    (".", "deny.toml"),
    ("firmware", "../deny.toml"),
    ("firmware/board-nrf52840dk", "../../deny.toml"),
    ("firmware/board-rp2040", "../../deny.toml"),
    ("firmware/template", "../../deny.toml"),
];

/// `cargo deny check` of `checks` in every workspace.
fn deny(checks: &[&str]) -> Result {
    let root = root();
    for (dir, config) in WORKSPACES {
        let mut args = vec!["deny", "--config", config, "check"];
        args.extend_from_slice(checks);
        run(&root.join(dir), "cargo", &args)?;
    }
    Ok(())
}

/// What a task needs installed. Each task installs only its own: the demo never waits
/// for cargo-deny or the MSRV toolchain.
#[derive(Clone, Copy)]
struct Needs {
    /// Every cross target of the core (else only the firmware's).
    all_targets: bool,
    /// rustfmt and clippy.
    lints: bool,
    /// cargo-deny.
    deny: bool,
    /// The MSRV toolchain (`rustup toolchain install`).
    msrv: bool,
    /// flip-link and QEMU: to build and run the firmware (the defmt decoder is this
    /// program's `decode`).
    firmware: bool,
}

impl Needs {
    const DEMO: Needs = Needs {
        all_targets: false,
        lints: false,
        deny: false,
        msrv: false,
        firmware: true,
    };
    const ALL: Needs = Needs {
        all_targets: true,
        lints: true,
        deny: true,
        msrv: true,
        firmware: true,
    };
}

/// The firmware's target.
const FIRMWARE_TARGET: &str = "thumbv7em-none-eabihf";

/// The declared minimum supported Rust version (`rust-version` in every Cargo.toml).
const MSRV: &str = "1.88.0";

/// Installs what `needs` asks for and is missing, saying what it does; nothing that is
/// there already is installed again.
fn setup(needs: Needs) -> Result {
    let root = root();
    install_targets(if needs.all_targets {
        &CORE_TARGETS
    } else {
        &[FIRMWARE_TARGET]
    })?;
    if needs.lints {
        let components =
            output("rustup", &["component", "list", "--installed"]).unwrap_or_default();
        for c in ["rustfmt", "clippy"] {
            if !components.lines().any(|l| l.starts_with(c)) {
                eprintln!("xtask: installing the rustup component {c}");
                run(&root, "rustup", &["component", "add", c])?;
            }
        }
    }
    if needs.msrv {
        let toolchains = output("rustup", &["toolchain", "list"]).unwrap_or_default();
        if !toolchains.lines().any(|l| l.starts_with(MSRV)) {
            eprintln!("xtask: installing the MSRV toolchain {MSRV}");
            run(
                &root,
                "rustup",
                &["toolchain", "install", MSRV, "--profile", "minimal"],
            )?;
        }
    }
    if needs.deny && !have_cargo_subcommand("deny") {
        eprintln!("xtask: installing cargo-deny (cargo install --locked cargo-deny)");
        run(&root, "cargo", &["install", "--locked", "cargo-deny"])?;
    }
    if !needs.firmware {
        return Ok(());
    }
    if !on_path("flip-link") {
        eprintln!("xtask: installing flip-link (cargo install --locked flip-link)");
        run(&root, "cargo", &["install", "--locked", "flip-link"])?;
    }

    if !on_path("qemu-system-arm") {
        apt_install(
            &["qemu-system-arm"],
            "QEMU (qemu-system-arm ≥ 6.0, for the mps2 boards)",
        )?;
    }
    Ok(())
}

/// Adds the Rust targets that are not installed yet.
fn install_targets(targets: &[&str]) -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    for t in targets {
        if !installed.lines().any(|l| l.trim() == *t) {
            eprintln!("xtask: installing the Rust target {t}");
            run(&root(), "rustup", &["target", "add", t])?;
        }
    }
    Ok(())
}

/// Installs `packages` with apt-get (with sudo unless root), saying so; `what` names them
/// in the error.
fn apt_install(packages: &[&str], what: &str) -> Result {
    let root = root();
    eprintln!(
        "xtask: {what} is missing; installing {} with apt-get",
        packages.join(" ")
    );
    let is_root = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let sudo: &[&str] = if is_root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        run(&root, all[0], &all[1..])
    };
    let mut install = vec!["install", "-y", "-q"];
    install.extend_from_slice(packages);
    apt(&["update", "-q"])
        .and_then(|()| apt(&install))
        .map_err(|e| {
            format!(
                "{e}\nxtask: could not install {what}. Install {} with your package manager and run again.",
                packages.join(" ")
            )
        })
}

fn test() -> Result {
    let root = root();
    let firmware = root.join("firmware").is_dir();
    setup(Needs {
        firmware,
        ..Needs::ALL
    })?;
    run(&root, "cargo", &["fmt", "--all", "--check"])?;
    run(
        &root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Supply chain: banned crates (bincode), licenses, sources. Advisories: `cargo xtask audit`.
    deny(&["bans", "licenses", "sources"])?;
    // Tests that need the data folder skip with a printed reason in a plain `cargo test`;
    // here the data is required, so a missing file fails them.
    run_env(
        &root,
        &[("SCRATCHNET_REQUIRE_DATA", "1")],
        "cargo",
        &["test", "--workspace"],
    )?;
    // The docs build clean, and the core packages alone (no data, its own README).
    run_env(
        &root,
        &[("RUSTDOCFLAGS", "-D warnings")],
        "cargo",
        &[
            "doc",
            "--no-deps",
            "--lib",
            "-p",
            "scratchnet",
            "-p",
            "scratchnet-host",
        ],
    )?;
    run(
        &root,
        "cargo",
        &["publish", "--dry-run", "--allow-dirty", "-p", "scratchnet"],
    )?;
    // The declared MSRV, built for real with that toolchain: the core, the host tools, the
    // xtask, and their tests and examples. In a target directory of its own, so that it
    // neither replaces the running xtask (the firmware's defmt decoder) nor the stable
    // toolchain's builds.
    let msrv = format!("+{MSRV}");
    run(
        &root,
        "cargo",
        &[
            &msrv,
            "build",
            "--locked",
            "--workspace",
            "--all-targets",
            "--target-dir",
            "target/msrv",
        ],
    )?;
    for t in CORE_TARGETS {
        run(
            &root,
            "cargo",
            &["build", "--release", "-p", "scratchnet", "--target", t],
        )?;
    }
    run(
        &root,
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "scratchnet",
            "--target",
            "thumbv7em-none-eabihf",
            "--features",
            "defmt",
        ],
    )?;
    if firmware {
        let fw = root.join("firmware");
        run(&fw, "cargo", &["fmt", "--all", "--check"])?;
        run(
            &fw,
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--release",
                "--",
                "-D",
                "warnings",
            ],
        )?;
        // The on-target tests on every board, the f32 model's and the int8 model's (one
        // model a build: both do not fit the M0 board's flash with the tests), the TFLite
        // layers' and the halfword layers' with the int8 one.
        for board in &BOARDS {
            for features in [&[][..], &["int8", "tflite", "wide"][..]] {
                firmware_cargo(board, "test", features, &[], &[])?;
            }
        }
        corrupt_model_is_refused(&fw)?;
        // The int8 model on the device, over all 10 000 images: must give exactly the host's
        // accuracy and agreement (the demo exits non-zero otherwise).
        run(&fw, "cargo", &["run", "--release", "--features", "int8"])?;
        // The user-model path (`demo --model …`) with its default, the book's model on the
        // first 100 images run through the run-time-shaped `Model`: the host's classes on
        // every row, or it exits non-zero.
        run(&fw, "cargo", &["run", "--release", "--bin", "user"])?;
        // A TFLite model: MLPerf Tiny's AD01 converted from its .tflite and run on the
        // device over its 40 inputs: every output byte must equal the host's, and as many
        // as on the host must equal TensorFlow Lite Micro's (all of them), or it exits 1.
        let ad01 = root.join("target").join("ad01.scnt");
        let tflite = data_file("mlperf-tiny-ad01/ad01_int8.tflite")?;
        convert(&tflite, &ad01)?;
        let ad01_env = [
            ("SCRATCHNET_USER_MODEL", ad01.to_string_lossy().into_owned()),
            (
                "SCRATCHNET_USER_INPUTS",
                data_file("mlperf-tiny-ad01/inputs_int8.npy")?
                    .to_string_lossy()
                    .into_owned(),
            ),
            (
                "SCRATCHNET_USER_LABELS",
                data_file("mlperf-tiny-ad01/tflm_outputs_int8.npy")?
                    .to_string_lossy()
                    .into_owned(),
            ),
        ];
        let ad01_env: Vec<(&str, &str)> = ad01_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_env(
            &fw,
            &ad01_env,
            "cargo",
            &["run", "--release", "--bin", "user", "--features", "tflite"],
        )?;
        // The same with its weights as halfwords (`--quantize int8-wide`: TFLite layers by
        // the halfword kernel): the same bytes.
        let ad01_wide = root.join("target").join("ad01-wide.scnt");
        convert_with(&tflite, &ad01_wide, &["--quantize", "int8-wide"])?;
        let wide_model = ad01_wide.to_string_lossy().into_owned();
        let wide_env: Vec<(&str, &str)> = ad01_env
            .iter()
            .map(|&(k, v)| match k {
                "SCRATCHNET_USER_MODEL" => (k, wide_model.as_str()),
                _ => (k, v),
            })
            .collect();
        run_env(
            &fw,
            &wide_env,
            "cargo",
            &[
                "run",
                "--release",
                "--bin",
                "user",
                "--features",
                "tflite,wide",
            ],
        )?;
        // The real-board profiles (Cortex-M4F and the FPU-less RP2040) cannot run here; they
        // must build, clean.
        for profile in ["board-nrf52840dk", "board-rp2040"] {
            let board = fw.join(profile);
            run(&board, "cargo", &["fmt", "--all", "--check"])?;
            run(
                &board,
                "cargo",
                &["clippy", "--release", "--", "-D", "warnings"],
            )?;
            run(&board, "cargo", &["build", "--release"])?;
        }
        let board = fw.join("board-nrf52840dk");
        // The template a user copies: a model converted from the book's pickle, embedded
        // and run in QEMU; then the template and the board profile copied out of the
        // repository (dependencies pointed back at it) must build the same.
        let template = fw.join("template");
        let model = root.join("target").join("template-model.scnt");
        let pickle = data_file("sample_weight.pkl")?;
        convert(&pickle, &model)?;
        let model_env = [("SCRATCHNET_MODEL", model.to_str().unwrap_or_default())];
        run(&template, "cargo", &["fmt", "--all", "--check"])?;
        run_env(
            &template,
            &model_env,
            "cargo",
            &["clippy", "--release", "--", "-D", "warnings"],
        )?;
        run_env(&template, &model_env, "cargo", &["run", "--release"])?;
        copied_out(&template, &root, &model_env, &["run", "--release"])?;
        // The board's build reads the test images by the data rule, which cannot find the
        // folder from the temporary copy: name it.
        let data_dir = pickle
            .parent()
            .unwrap_or(&root)
            .to_string_lossy()
            .into_owned();
        copied_out(
            &board,
            &root,
            &[("SCRATCHNET_DATA", &data_dir)],
            &["build", "--release"],
        )?;
        copied_out(
            &fw.join("board-rp2040"),
            &root,
            &[("SCRATCHNET_DATA", &data_dir)],
            &["build", "--release"],
        )?;
    }
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// `scratchnet convert INPUT -o OUTPUT` with the host tools of this tree.
fn convert(input: &Path, output: &Path) -> Result {
    convert_with(input, output, &[])
}

/// [`convert`] with more of the converter's options (`--quantize int8-wide`, …).
pub(crate) fn convert_with(input: &Path, output: &Path, options: &[&str]) -> Result {
    let (input, output) = (input.to_string_lossy(), output.to_string_lossy());
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "scratchnet-host",
        "--",
        "convert",
        &input,
        "-o",
        &output,
    ];
    args.extend_from_slice(options);
    run(&root(), "cargo", &args)
}

/// A file of the data folder, by the data rule (`$SCRATCHNET_DATA`, else the first `data/`
/// or `../shared/data/` from the project root upwards).
fn data_file(name: &str) -> Result<PathBuf> {
    let dirs: Vec<PathBuf> = match std::env::var_os("SCRATCHNET_DATA") {
        Some(d) => vec![PathBuf::from(d)],
        None => root()
            .ancestors()
            .flat_map(|a| [a.join("data"), a.join("../shared/data")])
            .collect(),
    };
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{name} not found in the data folder (see the README's Data)"))
}

/// Copies the crate at `dir` out of the repository (into the system's temporary folder),
/// points its path dependencies back at the repository, and runs `cargo ARGS` there: the
/// folder must not depend on where it sits (no linker flags or config from the parents).
fn copied_out(dir: &Path, root: &Path, env: &[(&str, &str)], args: &[&str]) -> Result {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let to = std::env::temp_dir().join(format!("scratchnet-copied-out-{name}"));
    let _ = std::fs::remove_dir_all(&to);
    copy_dir(dir, &to)
        .map_err(|e| format!("copying {} to {}: {e}", dir.display(), to.display()))?;
    let manifest = to.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    let root_s = root.to_string_lossy();
    let text = text
        .replace(
            "path = \"../../host-tools\"",
            &format!("path = \"{root_s}/host-tools\""),
        )
        .replace("path = \"../..\"", &format!("path = \"{root_s}\""));
    std::fs::write(&manifest, text).map_err(|e| e.to_string())?;
    eprintln!("xtask: {} copied out to {}", dir.display(), to.display());
    // Its dependencies are the repository copy's: reuse their build.
    let target = dir.join("target");
    let target = target.to_string_lossy();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--target-dir", &target]);
    let result = run_env(&to, env, "cargo", &all);
    let _ = std::fs::remove_dir_all(&to);
    result
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name() == "target" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(&path, to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// On target: a firmware whose model blob is damaged reports the error over defmt and
/// exits with 1 — not 0, and not the HardFault handler's 2.
fn corrupt_model_is_refused(fw: &Path) -> Result {
    let args = ["run", "--release", "--features", "corrupt-model"];
    eprintln!(
        "xtask: $ cargo {} (must refuse the model and exit 1)",
        args.join(" ")
    );
    let out = command("cargo")
        .args(args)
        .current_dir(fw)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let refused = stdout
        .lines()
        .any(|l| l.contains("model blob refused: ChecksumMismatch"));
    if out.status.code() == Some(1) && refused {
        eprintln!("xtask: the damaged model was refused (exit 1)");
        Ok(())
    } else {
        Err(format!(
            "a damaged model was not refused as it should be ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// What `cargo xtask demo` runs.
enum Demo {
    /// The book's network, f32 or int8.
    Book { int8: bool },
    /// The user's model on the user's data (absolute paths).
    User {
        model: PathBuf,
        inputs: PathBuf,
        labels: PathBuf,
    },
}

/// Parses `demo`'s options: none, `--int8`, or `--model M --inputs X --labels Y`; and
/// `--board NAME` (default mps2-an386).
fn demo_args(args: &[String]) -> std::result::Result<(Demo, Board), String> {
    let usage = "use --int8, or --model M.scnt --inputs X.npy --labels Y.npy, and --board NAME";
    let (mut int8, mut model, mut inputs, mut labels) = (false, None, None, None);
    let mut board = BOARDS[0];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--board" {
            let name = it
                .next()
                .ok_or_else(|| format!("--board needs a name; {usage}"))?;
            board = boards::board(name)?;
            continue;
        }
        let mut value = |slot: &mut Option<PathBuf>| -> std::result::Result<(), String> {
            let v = it
                .next()
                .ok_or_else(|| format!("{a} needs a file; {usage}"))?;
            // The firmware's build runs elsewhere: the paths must not depend on this cwd.
            let p = std::path::absolute(v).map_err(|e| format!("{v}: {e}"))?;
            if !p.is_file() {
                return Err(format!("{a} {v}: no such file"));
            }
            *slot = Some(p);
            Ok(())
        };
        match a.as_str() {
            "--int8" => int8 = true,
            "--model" => value(&mut model)?,
            "--inputs" => value(&mut inputs)?,
            "--labels" => value(&mut labels)?,
            other => return Err(format!("unknown demo option {other}; {usage}")),
        }
    }
    let demo = match (int8, model, inputs, labels) {
        (int8, None, None, None) => Demo::Book { int8 },
        (false, Some(model), Some(inputs), Some(labels)) => Demo::User {
            model,
            inputs,
            labels,
        },
        _ => return Err(format!("these options go together: {usage}")),
    };
    Ok((demo, board))
}

/// Runs `cargo SUBCOMMAND` in `firmware/` for `board`, with `features` and `more` arguments
/// and `env` on top of the board's own.
pub(crate) fn firmware_cargo(
    board: &Board,
    subcommand: &str,
    features: &[&str],
    more: &[&str],
    env: &[(&str, &str)],
) -> Result {
    install_targets(&[board.target])?;
    let mut args = vec![subcommand.to_string()];
    args.extend(board.cargo_args(features));
    args.extend(more.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let board_env = board.env();
    let mut all: Vec<(&str, &str)> = board_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend_from_slice(env);
    run_env(&root().join("firmware"), &all, "cargo", &args)
}

fn demo((what, board): (Demo, Board)) -> Result {
    let root = root();
    let fw = root.join("firmware");
    if !fw.is_dir() {
        return Err("the firmware (and with it the demo) does not exist yet".into());
    }
    setup(Needs::DEMO)?;
    match what {
        Demo::Book { int8: true } => firmware_cargo(&board, "run", &["int8"], &[], &[]),
        Demo::Book { int8: false } => firmware_cargo(&board, "run", &[], &[], &[]),
        Demo::User {
            model,
            inputs,
            labels,
        } => {
            let env = [
                (
                    "SCRATCHNET_USER_MODEL",
                    model.to_string_lossy().into_owned(),
                ),
                (
                    "SCRATCHNET_USER_INPUTS",
                    inputs.to_string_lossy().into_owned(),
                ),
                (
                    "SCRATCHNET_USER_LABELS",
                    labels.to_string_lossy().into_owned(),
                ),
            ];
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // `tflite`: a model converted from a .tflite runs with TFLite int8 layers.
            firmware_cargo(&board, "run", &["tflite", "wide"], &["--bin", "user"], &env)
        }
    }
}

/// `cargo bench` of the host library, then `scripts/numpy_bench.py` (which prints the
/// ratios to that run) when python3 can import numpy.
fn bench() -> Result {
    let root = root();
    run(
        &root,
        "cargo",
        &["bench", "-p", "scratchnet-host", "--bench", "inference"],
    )?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if output(&python, &["-c", "import numpy"]).is_some() {
        run(&root, &python, &["scripts/numpy_bench.py"])
    } else {
        eprintln!(
            "xtask: {python} cannot import numpy: numpy's side is not timed (set PYTHON to an \
             interpreter that has it)"
        );
        Ok(())
    }
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "decode" => match std::env::args().nth(2) {
            Some(elf) => decode::run(&elf),
            None => Err("usage: cargo xtask decode ELF < defmt-frames".into()),
        },
        "test" => test(),
        "demo" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            demo_args(&args).and_then(demo)
        }
        "setup" => setup(Needs::ALL),
        "audit" => setup(Needs {
            deny: true,
            firmware: false,
            ..Needs::DEMO
        })
        .and_then(|()| deny(&["advisories"])),
        "bench" => bench(),
        "peers" => peers::peers(),
        "boards" => boards::table(),
        "dense" => dense::dense(),
        _ => {
            eprintln!(
                "usage: cargo xtask <test|demo|setup|audit|bench|peers|boards|dense>\n  test   every check (fmt, clippy, host tests, cross builds, on-target tests)\n  demo   the MNIST demo on the emulated Cortex-M4F (QEMU mps2-an386); --int8 for the int8 model;\n         --model M.scnt --inputs X.npy --labels Y.npy for your own model\n  setup  install the targets and tools the other tasks need\n  audit  cargo deny check advisories (needs the RustSec database from the network)\n  bench  host benchmarks, and numpy's side with the ratios when python3 has numpy\n  peers  AD01 and the dense benchmark with the peers' kernels beside ours (CMSIS_NN_DIR,\n         CMSIS_6_DIR; CMSIS_DSP_DIR, EMLEARN_DIR optional)\n  boards the demo on every emulated board, both models, and one table of their costs\n  dense  issue #12's dense benchmark (AD01's shape, random weights): every layer's cost on the M4F"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
