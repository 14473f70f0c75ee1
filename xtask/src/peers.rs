//! `cargo xtask peers`: the same model run by scratchnet and by its peers' kernels, as
//! bare-metal programs on the same emulated board (QEMU mps2-an386, Cortex-M4F), with the
//! same instruction count (SysTick ticks × 40 under `-icount shift=0`), every output checked
//! against the same reference, and one table.
//!
//! Three models: MLPerf Tiny's AD01 (`.tflite`, int8) with CMSIS-NN's `arm_fully_connected_s8`,
//! what TensorFlow Lite Micro calls on a Cortex-M (its floor, without the interpreter); the
//! book's MNIST network in f32 on the 10 000 test images (`peers/mnist_f32.c`); and the
//! dense f32 benchmark of `cargo xtask dense` (AD01's shape, random weights) with
//! CMSIS-NN's `arm_fully_connected_f32`, CMSIS-DSP's `arm_mat_vec_mult_f32` and emlearn's
//! `eml_net` (`peers/fc_f32.c`; CMSIS-DSP and emlearn from `CMSIS_DSP_DIR` and
//! `EMLEARN_DIR`, left out when those are not set).
//! Peer sources are never part of this repository: the command reads them where
//! `CMSIS_NN_DIR` (a checkout of github.com/ARM-software/CMSIS-NN) and `CMSIS_6_DIR`
//! (github.com/ARM-software/CMSIS_6, for `CMSIS/Core/Include`) point, and says what to
//! fetch when they are missing. The C harness (`peers/`) is built with `arm-none-eabi-gcc`
//! (apt's `gcc-arm-none-eabi` and `libnewlib-arm-none-eabi`, installed when missing).

use crate::{Needs, Result, apt_install, command, convert, data_file, on_path, root, run, setup};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A peer's source folder from `var`, checked for `marker`.
fn peer_dir(var: &str, url: &str, marker: &str) -> Result<PathBuf> {
    let Some(dir) = std::env::var_os(var).map(PathBuf::from) else {
        let name = url.rsplit('/').next().unwrap_or("peer");
        return Err(format!(
            "{var} is not set: clone {url} (e.g. `git clone --depth 1 {url} ../{name}`) and \
             set {var} to that folder"
        ));
    };
    if !dir.join(marker).is_file() {
        return Err(format!(
            "{var}={} has no {marker}: point it at a checkout of {url}",
            dir.display()
        ));
    }
    Ok(dir)
}

/// The commit of a checkout, or "unknown" when it is not a git work tree.
fn commit(dir: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
}

/// Runs a command and returns its stdout (stderr passes through; stdout is echoed too when
/// `echo`); an error unless it exits 0.
pub(crate) fn capture(
    dir: &Path,
    env: &[(&str, &str)],
    program: &str,
    args: &[&str],
    echo: bool,
) -> Result<String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let out = command(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if echo {
        eprint!("{text}");
    }
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "`{program} {}` failed ({})",
            args.join(" "),
            out.status
        ))
    }
}

/// The number after `key=` (or `key: `) in `text`.
pub(crate) fn field(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    Some(
        text[at..]
            .trim_start_matches([' ', '=', ':'])
            .split(|c: char| c.is_whitespace())
            .next()?
            .to_string(),
    )
}

/// `arm-none-eabi-gcc` for the board with `-O3`, the peers' common flags, then `args`.
fn gcc(root: &Path, args: &[&str]) -> Result {
    let peers = root.join("peers");
    let s = |p: PathBuf| p.to_string_lossy().into_owned();
    let mut all: Vec<String> = [
        "-O3",
        "-mcpu=cortex-m4",
        "-mthumb",
        "-mfloat-abi=hard",
        "-mfpu=fpv4-sp-d16",
        "-ffunction-sections",
        "-fdata-sections",
        "-T",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    all.push(s(peers.join("mps2-an386.ld")));
    all.push("--specs=rdimon.specs".into());
    all.push("-Wl,--gc-sections".into());
    all.push(s(peers.join("startup.c")));
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run(root, "arm-none-eabi-gcc", &all)
}

/// Runs a harness ELF on QEMU mps2-an386 (exact instruction counts); returns its output.
fn qemu(root: &Path, elf: &Path) -> Result<String> {
    capture(
        root,
        &[],
        "qemu-system-arm",
        &[
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-kernel",
            &elf.to_string_lossy(),
        ],
        true,
    )
}

/// Code bytes of the symbols whose (demangled) names contain one of `names`.
fn code_bytes(elf: &Path, names: &[&str]) -> Option<u64> {
    let out = Command::new("arm-none-eabi-nm")
        .args(["-S", "-C"])
        .arg(elf)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter(|l| names.iter().any(|n| l.contains(n)))
            .filter(|l| {
                l.split_whitespace()
                    .nth(2)
                    .is_some_and(|t| t == "T" || t == "t")
            })
            .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
            .sum(),
    )
}

pub fn peers() -> Result {
    setup(Needs::DEMO)?;
    if !on_path("arm-none-eabi-gcc") {
        apt_install(
            &["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"],
            "arm-none-eabi-gcc",
        )?;
    }
    let nn = peer_dir(
        "CMSIS_NN_DIR",
        "https://github.com/ARM-software/CMSIS-NN",
        "Include/arm_nnfunctions.h",
    )?;
    let cmsis = peer_dir(
        "CMSIS_6_DIR",
        "https://github.com/ARM-software/CMSIS_6",
        "CMSIS/Core/Include/cmsis_compiler.h",
    )?;
    let root = root();
    let out = root.join("target").join("peers");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let tflite = data_file("mlperf-tiny-ad01/ad01_int8.tflite")?;
    let x = data_file("mlperf-tiny-ad01/inputs_int8.npy")?;
    let y = data_file("mlperf-tiny-ad01/tflm_outputs_int8.npy")?;
    let s = |p: &Path| p.to_string_lossy().into_owned();

    // The model, inputs and TFLM's outputs as C arrays.
    let header = capture(
        &root,
        &[],
        "cargo",
        &[
            "run",
            "--quiet",
            "--release",
            "-p",
            "scratchnet-host",
            "--example",
            "peer_model",
            "--",
            &s(&tflite),
            &s(&x),
            &s(&y),
        ],
        false,
    )?;
    eprintln!("xtask: model header, {} bytes", header.len());
    let macs: u64 = field(&header, "#define MACS")
        .and_then(|m| m.parse().ok())
        .ok_or("the model header has no MACS")?;
    std::fs::write(out.join("model.h"), &header).map_err(|e| e.to_string())?;

    // CMSIS-NN.
    let elf = out.join("cmsis_nn_ad01.elf");
    let peers = root.join("peers");
    let nn_src = |f: &str| s(&nn.join("Source").join(f));
    gcc(
        &root,
        &[
            "-I",
            &s(&nn.join("Include")),
            "-I",
            &s(&cmsis.join("CMSIS/Core/Include")),
            "-I",
            &s(&out),
            &s(&peers.join("fc_s8.c")),
            &nn_src("FullyConnectedFunctions/arm_fully_connected_s8.c"),
            &nn_src("FullyConnectedFunctions/arm_fully_connected_per_channel_s8.c"),
            &nn_src("NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c"),
            &nn_src("NNSupportFunctions/arm_nn_vec_mat_mult_t_per_ch_s8.c"),
            "-o",
            &s(&elf),
        ],
    )?;
    let theirs = qemu(&root, &elf)?;

    // scratchnet: the converted model on the `user` binary.
    let blob = out.join("ad01.scnt");
    convert(&tflite, &blob)?;
    let ours = capture(
        &root.join("firmware"),
        &[
            ("SCRATCHNET_USER_MODEL", &s(&blob)),
            ("SCRATCHNET_USER_INPUTS", &s(&x)),
            ("SCRATCHNET_USER_LABELS", &s(&y)),
        ],
        "cargo",
        &["run", "--release", "--bin", "user", "--features", "tflite"],
        true,
    )?;
    let our_elf = root.join("firmware/target/thumbv7em-none-eabihf/release/user");
    let our_code = code_bytes(
        &our_elf,
        &[
            "tflite::Raw::forward",
            "scratchnet_s8_sweep5",
            "scratchnet_x8_dense5",
            "scratchnet_s8_wide5",
            "kernel::int8::matvec",
            "kernel::int8::widen",
            "kernel::int8::List",
            "kernel::int8::portable",
            "scratchnet_s8_requant",
        ],
    );
    // The same model with its weights as halfwords (`--quantize int8-wide`).
    let wide_blob = out.join("ad01-wide.scnt");
    crate::convert_with(&tflite, &wide_blob, &["--quantize", "int8-wide"])?;
    let wide = capture(
        &root.join("firmware"),
        &[
            ("SCRATCHNET_USER_MODEL", &s(&wide_blob)),
            ("SCRATCHNET_USER_INPUTS", &s(&x)),
            ("SCRATCHNET_USER_LABELS", &s(&y)),
        ],
        "cargo",
        &[
            "run",
            "--release",
            "--bin",
            "user",
            "--features",
            "tflite,wide",
        ],
        true,
    )?;
    let wide_code = code_bytes(
        &our_elf,
        &[
            "tflite::Raw::forward",
            "scratchnet_w16_blocks",
            "kernel::wide::matvec",
            "scratchnet_f32_zero",
            "scratchnet_s8_requant",
        ],
    );

    let row = |name: &str, text: &str, code: Option<u64>, commit: &str| {
        let equal = field(text, "outputs equal to the reference").unwrap_or("?".into());
        let instructions: Option<u64> =
            field(text, "instructions_per_inference").and_then(|v| v.parse().ok());
        let per_mac = instructions.map_or("?".into(), |i| format!("{:.2}", i as f64 / macs as f64));
        format!(
            "| {name} | {equal} | {} | {per_mac} | {} | {commit} |",
            instructions.map_or("?".into(), |i| i.to_string()),
            code.map_or("?".into(), |c| c.to_string()),
        )
    };
    out!(
        "\nAD01 (MLPerf Tiny anomaly detection, int8, {macs} multiply-adds), QEMU mps2-an386, 40 inputs:\n"
    );
    out!(
        "| implementation | output bytes equal to TFLM's | instructions / inference | per multiply-add | kernel code (bytes) | source |"
    );
    out!("|---|---|---|---|---|---|");
    out!(
        "{}",
        row(
            "scratchnet (`Model::run_i8`, `tflite` feature)",
            &ours,
            our_code,
            &commit(&root),
        )
    );
    out!(
        "{}",
        row(
            "scratchnet, weights as halfwords (`--quantize int8-wide`; `tflite` and `wide` features)",
            &wide,
            wide_code,
            &commit(&root),
        )
    );
    out!(
        "{}",
        row(
            "CMSIS-NN `arm_fully_connected_s8` (gcc -O3)",
            &theirs,
            code_bytes(
                &elf,
                &["arm_fully_connected_s8", "arm_nn_vec_mat_mult_t_s8"]
            ),
            &format!("CMSIS-NN {}", commit(&nn)),
        )
    );
    mnist_f32(&root, &nn, &cmsis)?;
    mnist_s8(&root, &nn, &cmsis)?;
    dense_f32(&root, &nn, &cmsis)
}

/// One peer's run: its name, output, kernel code bytes and source commit.
struct PeerRun {
    name: &'static str,
    text: String,
    code: Option<u64>,
    source: String,
}

/// Builds `harness` (a C file of `peers/`, with the model header in `include` and
/// `defines`) against each f32 peer and runs it: CMSIS-NN's `arm_fully_connected_f32`,
/// CMSIS-DSP's `arm_mat_vec_mult_f32` (`CMSIS_DSP_DIR`) and emlearn's `eml_net`
/// (`EMLEARN_DIR`); a peer whose folder is not given is left out, saying what to fetch.
fn f32_peers(
    root: &Path,
    nn: &Path,
    cmsis: &Path,
    harness: &str,
    include: &Path,
    defines: &[String],
) -> Result<Vec<PeerRun>> {
    let out = root.join("target").join("peers");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let stem = harness.trim_end_matches(".c");
    let harness = s(&root.join("peers").join(harness));
    let common: Vec<String> = ["-I".to_string(), s(include), harness.clone()]
        .into_iter()
        .chain(defines.iter().cloned())
        .collect();
    let build_run = |peer: &str, args: &[String]| -> Result<(PathBuf, String)> {
        let elf = out.join(format!("{stem}_{peer}.elf"));
        let mut all: Vec<String> = common.clone();
        all.extend(args.iter().cloned());
        all.extend(["-lm".to_string(), "-o".to_string(), s(&elf)]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        gcc(root, &all)?;
        let text = qemu(root, &elf)?;
        Ok((elf, text))
    };
    let mut runs = Vec::new();

    let nn_src = |f: &str| s(&nn.join("Source").join(f));
    let (elf, text) = build_run(
        "cmsis_nn",
        &[
            "-DPEER_CMSIS_NN".into(),
            "-DARM_NN_ENABLE_F32=1".into(),
            "-I".into(),
            s(&nn.join("Include")),
            "-I".into(),
            s(&cmsis.join("CMSIS/Core/Include")),
            nn_src("FullyConnectedFunctions/arm_fully_connected_f32.c"),
            nn_src("NNSupportFunctions/arm_nn_mat_mult_nt_t_f32.c"),
            nn_src("NNSupportFunctions/arm_nn_mat_mult_nt_n_packed_f32.c"),
        ],
    )?;
    runs.push(PeerRun {
        name: "CMSIS-NN `arm_fully_connected_f32` (gcc -O3)",
        text,
        code: code_bytes(&elf, &["arm_fully_connected", "arm_nn_mat_mult_nt"]),
        source: format!("CMSIS-NN {}", commit(nn)),
    });

    match peer_dir(
        "CMSIS_DSP_DIR",
        "https://github.com/ARM-software/CMSIS-DSP",
        "Include/arm_math.h",
    ) {
        Ok(dsp) => {
            let src = |f: &str| s(&dsp.join("Source").join(f));
            let (elf, text) = build_run(
                "cmsis_dsp",
                &[
                    "-DPEER_CMSIS_DSP".into(),
                    // CMSIS-DSP's default build (its CMake option LOOPUNROLL).
                    "-DARM_MATH_LOOPUNROLL".into(),
                    "-I".into(),
                    s(&dsp.join("Include")),
                    "-I".into(),
                    s(&dsp.join("PrivateInclude")),
                    "-I".into(),
                    s(&cmsis.join("CMSIS/Core/Include")),
                    src("MatrixFunctions/arm_mat_vec_mult_f32.c"),
                    src("BasicMathFunctions/arm_add_f32.c"),
                ],
            )?;
            runs.push(PeerRun {
                name: "CMSIS-DSP `arm_mat_vec_mult_f32` + `arm_add_f32` (gcc -O3)",
                text,
                code: code_bytes(&elf, &["arm_mat_vec_mult_f32", "arm_add_f32"]),
                source: format!("CMSIS-DSP {}", commit(&dsp)),
            });
        }
        Err(e) => eprintln!("xtask: CMSIS-DSP left out: {e}"),
    }

    match peer_dir(
        "EMLEARN_DIR",
        "https://github.com/emlearn/emlearn",
        "emlearn/eml_net.h",
    ) {
        Ok(eml) => {
            let (elf, text) = build_run(
                "emlearn",
                &[
                    "-DPEER_EMLEARN".into(),
                    "-I".into(),
                    s(&eml.join("emlearn")),
                ],
            )?;
            runs.push(PeerRun {
                name: "emlearn `eml_net` (gcc -O3)",
                text,
                code: code_bytes(&elf, &["eml_net"]),
                source: format!("emlearn {}", commit(&eml)),
            });
        }
        Err(e) => eprintln!("xtask: emlearn left out: {e}"),
    }
    Ok(runs)
}

/// The text between `key` and the next `(`…`)` or end of line: `9352/10000` from
/// `accuracy: 0.9352 (9352/10000)` or from `accuracy: 9352/10000`.
fn count(text: &str, key: &str) -> String {
    let Some(at) = text.find(key) else {
        return "?".into();
    };
    let line = text[at + key.len()..].lines().next().unwrap_or("");
    match (line.find('('), line.find(')')) {
        (Some(a), Some(b)) if a < b => line[a + 1..b].to_string(),
        _ => line.split_whitespace().last().unwrap_or("?").to_string(),
    }
}

/// Instructions per inference and per multiply-add, as table cells.
fn cost_cells(text: &str, macs: u64) -> (String, String) {
    let instructions: Option<u64> =
        field(text, "instructions_per_inference").and_then(|v| v.parse().ok());
    (
        instructions.map_or("?".into(), |i| i.to_string()),
        instructions.map_or("?".into(), |i| format!("{:.2}", i as f64 / macs as f64)),
    )
}

/// The book's MNIST network, f32, all 10 000 test images: our demo and the f32 peers
/// (`peers/mnist_f32.c`, the model and data written by the `mnist_peer` example).
fn mnist_f32(root: &Path, nn: &Path, cmsis: &Path) -> Result {
    let dir = root.join("target").join("peers").join("mnist");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    crate::dense::host_example("mnist_peer", &dir)?;
    let macs: u64 = 784 * 50 + 50 * 100 + 100 * 10;
    let ours = crate::boards::BOARDS[0].run_firmware(&[], &[], &[])?;
    let our_elf = root.join("firmware/target/thumbv7em-none-eabihf/release/demo");
    let mut runs = vec![PeerRun {
        name: "scratchnet (`cargo xtask demo`: `Mnist`, VMLA routine, u8 pixels)",
        text: ours,
        code: code_bytes(
            &our_elf,
            &[
                "scratchnet_f32_vmla",
                "scratchnet_f32_pixels",
                "scratchnet_f32_zero",
                "scratchnet_f32_add",
                "kernel::vmla::",
            ],
        ),
        source: format!("this tree {}", commit(root)),
    }];
    runs.extend(f32_peers(
        root,
        nn,
        cmsis,
        "mnist_f32.c",
        &dir,
        &[format!("-DDATA_DIR=\"{}\"", s(&dir))],
    )?);
    out!(
        "\nThe book's MNIST network (784-50-100-10, sigmoid, softmax), f32, {macs} multiply-adds if every pixel counted, QEMU mps2-an386, all 10 000 test images:\n"
    );
    mnist_table(&runs, macs)
}

/// The MNIST runs' table: accuracy, agreement with numpy and cost, a row a run.
fn mnist_table(runs: &[PeerRun], macs: u64) -> Result {
    out!(
        "| implementation | accuracy | agreement with numpy | instructions / inference | per multiply-add | kernel code (bytes) | source |"
    );
    out!("|---|---|---|---|---|---|---|");
    for r in runs {
        let (instructions, per_mac) = cost_cells(&r.text, macs);
        out!(
            "| {} | {} | {} | {instructions} | {per_mac} | {} | {} |",
            r.name,
            count(&r.text, "accuracy:"),
            count(&r.text, "agreement"),
            r.code.map_or("?".into(), |c| c.to_string()),
            r.source
        );
    }
    Ok(())
}

/// The book's MNIST network, int8, all 10 000 test images: our int8 demo and CMSIS-NN's
/// int8 kernels on the network quantized as TFLite's post-training quantization would
/// (`peers/mnist_s8.c`; `mnist_s8.h` from the `mnist_s8_peer` example, the test set from
/// `mnist_peer`).
fn mnist_s8(root: &Path, nn: &Path, cmsis: &Path) -> Result {
    let dir = root.join("target").join("peers").join("mnist");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    crate::dense::host_example("mnist_peer", &dir)?;
    crate::dense::host_example("mnist_s8_peer", &dir)?;
    let macs: u64 = 784 * 50 + 50 * 100 + 100 * 10;
    let ours = crate::boards::BOARDS[0].run_firmware(&["int8"], &[], &[])?;
    let our_elf = root.join("firmware/target/thumbv7em-none-eabihf/release/demo");
    let elf = root
        .join("target")
        .join("peers")
        .join("mnist_s8_cmsis_nn.elf");
    let nn_src = |f: &str| s(&nn.join("Source").join(f));
    gcc(
        root,
        &[
            "-I",
            &s(&nn.join("Include")),
            "-I",
            &s(&cmsis.join("CMSIS/Core/Include")),
            "-I",
            &s(&dir),
            &format!("-DDATA_DIR=\"{}\"", s(&dir)),
            &s(&root.join("peers").join("mnist_s8.c")),
            &nn_src("FullyConnectedFunctions/arm_fully_connected_per_channel_s8.c"),
            &nn_src("NNSupportFunctions/arm_nn_vec_mat_mult_t_per_ch_s8.c"),
            &nn_src("SoftmaxFunctions/arm_softmax_s8.c"),
            &nn_src("SoftmaxFunctions/arm_nn_softmax_common_s8.c"),
            "-o",
            &s(&elf),
        ],
    )?;
    let theirs = qemu(root, &elf)?;
    let runs = [
        PeerRun {
            name: "scratchnet (`cargo xtask demo --int8`: `QMnist`, SMLAD routine, u8 pixels)",
            text: ours,
            code: code_bytes(
                &our_elf,
                &[
                    "scratchnet_q8_pairs",
                    "kernel::smlad::pairs",
                    "scratchnet_q8_sweep5",
                    "scratchnet_x8_dense5",
                    "scratchnet_q8_wide5",
                    "kernel::int8::matvec",
                    "kernel::int8::widen",
                    "kernel::int8::List",
                    "kernel::int8::portable",
                    "quant::Raw::forward_u8",
                    "quant::Raw::affine",
                    "quant::Raw::values",
                    "quant::Raw::activate_by_routine",
                    "scratchnet_q8_activate",
                ],
            ),
            source: format!("this tree {}", commit(root)),
        },
        PeerRun {
            name: "CMSIS-NN `arm_fully_connected_per_channel_s8` + logistic table + `arm_softmax_s8` (gcc -O3)",
            text: theirs,
            code: code_bytes(
                &elf,
                &[
                    "arm_fully_connected_per_channel_s8",
                    "arm_nn_vec_mat_mult_t_per_ch_s8",
                    "softmax",
                ],
            ),
            source: format!("CMSIS-NN {}", commit(nn)),
        },
    ];
    out!(
        "\nThe book's MNIST network, int8 (ours: `scratchnet convert --quantize int8`; CMSIS-NN's: TFLite-style per-channel int8, activation ranges from the first 1 000 test images), QEMU mps2-an386, all 10 000 test images:\n"
    );
    mnist_table(&runs, macs)
}

/// The dense benchmark's f32 model (`cargo xtask dense`'s, AD01's shape): ours (the `user`
/// binary) and the f32 peers (`peers/fc_f32.c`, `dense.h` from the `dense_bench` example).
fn dense_f32(root: &Path, nn: &Path, cmsis: &Path) -> Result {
    let dir = crate::dense::write_files()?;
    let header = std::fs::read_to_string(dir.join("dense.h")).map_err(|e| e.to_string())?;
    let macs: u64 = field(&header, "#define MACS")
        .and_then(|m| m.parse().ok())
        .ok_or("dense.h has no MACS")?;
    let ours = crate::dense::run_user(&dir, "dense.scnt", "dense-x.npy")?;
    let our_elf = root.join("firmware/target/thumbv7em-none-eabihf/release/user");
    let mut runs = vec![PeerRun {
        name: "scratchnet (`Model::logits`, VMLA routine)",
        text: ours,
        code: code_bytes(
            &our_elf,
            &[
                "scratchnet_f32_vmla",
                "scratchnet_f32_zero",
                "scratchnet_f32_add",
                "kernel::vmla::",
            ],
        ),
        source: format!("this tree {}", commit(root)),
    }];
    runs.extend(f32_peers(root, nn, cmsis, "fc_f32.c", &dir, &[])?);
    out!(
        "\nThe dense benchmark (`cargo xtask dense`: AD01's shape, f32, random weights, {macs} multiply-adds), QEMU mps2-an386, 16 dense rows:\n"
    );
    out!(
        "| implementation | classes equal to float64's | instructions / inference | per multiply-add | kernel code (bytes) | source |"
    );
    out!("|---|---|---|---|---|---|");
    for r in &runs {
        let equal = field(&r.text, "classes equal to the reference")
            .unwrap_or_else(|| count(&r.text, "accuracy:"));
        let (instructions, per_mac) = cost_cells(&r.text, macs);
        out!(
            "| {} | {equal} | {instructions} | {per_mac} | {} | {} |",
            r.name,
            r.code.map_or("?".into(), |c| c.to_string()),
            r.source
        );
    }
    Ok(())
}
