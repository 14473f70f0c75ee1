//! The demo: the book's chapters 2 and 3 on an emulated Cortex-M4F.
//!
//! It shows the gates and the perceptron learning rule, then the first test images as ASCII
//! with their predictions, then all 10 000 test images (streamed from the host over
//! semihosting) with accuracy and agreement with numpy, and last the cost line. It exits 0
//! only when accuracy and agreement are what numpy gives.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use scratchnet::{LearningRule, Perceptron, TRUTH_TABLE_INPUTS};
#[cfg(not(feature = "int8"))]
use scratchnet_firmware::MODEL;
#[cfg(feature = "int8")]
use scratchnet_firmware::MODEL_INT8;
use scratchnet_firmware::{HostFile, cost, exit, host_paths};

/// What the run must reproduce: numpy's 9352 correct and its every prediction with the f32
/// model; with the int8 model, exactly what the core computes on the host (`build.rs`).
#[cfg(not(feature = "int8"))]
const EXPECTED: (u32, u32, &str) = (9352, host_paths::COUNT as u32, "f32");
#[cfg(feature = "int8")]
const EXPECTED: (u32, u32, &str) = (host_paths::INT8_CORRECT, host_paths::INT8_AGREE, "int8");
const SHOW: usize = 3;

static mut IMAGE: [u8; 784] = [0; 784];

fn gates() {
    defmt::println!("== chapter 2: perceptrons ==");
    defmt::println!("x1 x2 | AND NAND OR XOR");
    for [a, b] in TRUTH_TABLE_INPUTS {
        defmt::println!(
            " {=u8}  {=u8} |  {=u8}   {=u8}    {=u8}   {=u8}",
            a as u8,
            b as u8,
            scratchnet::and(a, b) as u8,
            scratchnet::nand(a, b) as u8,
            scratchnet::or(a, b) as u8,
            scratchnet::xor(a, b) as u8
        );
    }
    let rule = LearningRule::default();
    for (name, gate) in scratchnet::GATES {
        match rule.train(
            Perceptron::new([0.0; 2], 0.0),
            &scratchnet::gate_examples(gate),
        ) {
            Ok(t) => defmt::println!(
                "learning rule: {=str} converged in {=u32} epochs (b={=f32} w={=f32},{=f32})",
                name,
                t.epochs,
                t.perceptron.bias,
                t.perceptron.weights[0],
                t.perceptron.weights[1]
            ),
            Err(e) => defmt::println!("learning rule: {=str}: {}", name, e),
        }
    }
}

/// The image in characters, two a pixel. Lines built as a `heapless::String` of ASCII
/// `char`s: `str::from_utf8` on bytes brought UTF-8 validation and its 256-byte table into
/// the firmware (int8: 1 184 bytes of flash).
fn ascii(img: &[u8; 784]) {
    const SHADES: [char; 10] = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
    for row in img.chunks_exact(28) {
        let mut line = heapless::String::<56>::new();
        for &p in row {
            let c = SHADES[usize::from(p) * (SHADES.len() - 1) / 255];
            // 28 pixels, 56 one-byte chars: never full.
            let _ = line.push(c);
            let _ = line.push(c);
        }
        defmt::println!("{=str}", line.as_str());
    }
}

/// The f32 model's typed view, out of line (measured: inlined into `main`, the inference
/// code in `main` took 57 044 instructions an image instead of 55 643).
#[cfg(not(feature = "int8"))]
#[inline(never)]
fn load() -> scratchnet::Result<scratchnet::Mnist<'static>> {
    scratchnet::Mnist::from_blob(&MODEL.0)
}

/// The int8 model's typed view, out of line: the loader's frame is popped before inference
/// instead of staying in `main`'s for the whole run.
#[cfg(feature = "int8")]
#[inline(never)]
fn load() -> scratchnet::Result<scratchnet::QMnist<'static>> {
    scratchnet::QMnist::from_blob(&MODEL_INT8.0)
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cost::start(&mut cp.SYST);
    cost::paint_stack();

    gates();

    defmt::println!(
        "== chapter 3: the MNIST network, {=str} weights in flash ==",
        EXPECTED.2
    );
    // Borrowed where `load` left it (int8: moving the view out of the `Result` was a 96-byte
    // `memcpy`, which linked 900 bytes of copying code; f32: moving it measured 54 890
    // instructions an image but 152 more bytes of stack, 2 152 bytes of RAM in all).
    let loaded = load();
    let net = match &loaded {
        Ok(n) => n,
        Err(e) => {
            defmt::error!("model blob refused: {}", e);
            exit(1)
        }
    };
    let (Some(mut images), Some(mut labels), Some(mut reference)) = (
        HostFile::open(host_paths::TEST_SET),
        HostFile::open_at(host_paths::TEST_SET, host_paths::LABELS_AT),
        HostFile::open_at(host_paths::TEST_SET, host_paths::REFERENCE_AT),
    ) else {
        defmt::error!("cannot open the test set on the host over semihosting");
        exit(1)
    };

    // SAFETY: the only access to IMAGE, from this single thread.
    let image = unsafe { &mut *core::ptr::addr_of_mut!(IMAGE) };
    let (mut correct, mut agree, mut total_ticks) = (0u32, 0u32, 0u32);
    let mut buf = [0u8; 1];
    for n in 0..host_paths::COUNT {
        let mut label = [0u8; 1];
        if !(images.read_exact(image)
            && labels.read_exact(&mut label)
            && reference.read_exact(&mut buf))
        {
            defmt::error!("the test set ended early, at image {=usize}", n);
            exit(1)
        }
        let (c, ticks) = cost::ticks(|| net.classify_pixels(image));
        total_ticks = total_ticks.saturating_add(ticks);
        correct += u32::from(c.class == usize::from(label[0]));
        agree += u32::from(c.class == usize::from(buf[0]));
        if n < SHOW {
            ascii(image);
            defmt::println!(
                "image {=usize}: label {=u8} prediction {=usize} (p = {=f32})",
                n,
                label[0],
                c.class,
                c.probability
            );
        }
    }
    let count = host_paths::COUNT as u32;
    defmt::println!(
        "accuracy: {=u32}.{=u32:04} ({=u32}/{=u32})",
        scratchnet_firmware::fraction(correct, count).0,
        scratchnet_firmware::fraction(correct, count).1,
        correct,
        count
    );
    if host_paths::HAVE_REFERENCE {
        defmt::println!("agreement: {=u32}/{=u32}", agree, count);
    } else {
        defmt::println!(
            "agreement: not checked (no reference_predictions.u8 in the data folder; scripts/make_reference.py writes it)"
        );
    }
    let per_inference = cost::instructions_per(total_ticks, count);
    defmt::println!(
        "cost: instructions_per_inference={=u32} flash_bytes={=usize} static_ram_bytes={=usize} stack_bytes={=usize}",
        per_inference,
        cost::flash_bytes(),
        cost::static_ram_bytes(),
        cost::stack_high_water()
    );
    if correct == EXPECTED.0 && (agree == EXPECTED.1 || !host_paths::HAVE_REFERENCE) {
        exit(0)
    } else {
        defmt::error!(
            "expected {=u32} correct and {=u32} agreeing",
            EXPECTED.0,
            EXPECTED.1
        );
        exit(1)
    }
}
