//! Where the instructions of one inference go, phase by phase, on the first 100 test images
//! (read from the host), and the stack one inference uses: `cargo run --release --bin
//! profile` for the f32 model, `--features int8` for the int8 one (one model at a time, so
//! that it fits every board). SysTick ticks × the board's instructions per tick under
//! `-icount shift=0`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use scratchnet_firmware::{cost, exit, for_first_images};

/// The first test image, for the stack measurement.
fn first_image() -> [u8; 784] {
    let mut first = [0u8; 784];
    if !for_first_images(1, |_, img| first = *img) {
        exit(1)
    }
    first
}

/// Out of line, so that its frame is below the caller's stack pointer when measured.
#[cfg(not(feature = "int8"))]
#[inline(never)]
fn classify(net: &scratchnet::Mnist<'_>, img: &[u8; 784]) -> scratchnet::Classification {
    core::hint::black_box(net.classify_pixels(core::hint::black_box(img)))
}

/// Out of line, as above.
#[cfg(feature = "int8")]
#[inline(never)]
fn classify(net: &scratchnet::QMnist<'_>, img: &[u8; 784]) -> scratchnet::Classification {
    core::hint::black_box(net.classify_pixels(core::hint::black_box(img)))
}

/// The mean of `t` in instructions over `n` images.
fn per(t: u64, n: usize) -> u64 {
    let (num, den) = cost::INSTRUCTIONS_PER_TICK;
    t * u64::from(num) / u64::from(den) / n as u64
}

#[cfg(not(feature = "int8"))]
#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cost::start(&mut cp.SYST);
    let Ok(net) = scratchnet::Mnist::from_blob(&scratchnet_firmware::MODEL.0) else {
        exit(1)
    };
    let mut t = [0u64; 7];
    let n = 100;
    let read = for_first_images(n, |_, img| {
        let mut z1 = [0.0; 50];
        let mut z2 = [0.0; 100];
        let mut y = [0.0; 10];
        let ((), a) = cost::ticks(|| net.layers.0.affine_pixels(img, &mut z1));
        let ((), b) = cost::ticks(|| net.layers.0.activation().apply(&mut z1));
        let ((), c) = cost::ticks(|| net.layers.1.affine(&z1, &mut z2));
        let ((), d) = cost::ticks(|| net.layers.1.activation().apply(&mut z2));
        let ((), e) = cost::ticks(|| net.layers.2.affine(&z2, &mut y));
        let ((), f) = cost::ticks(|| net.layers.2.activation().apply(&mut y));
        let (_, g) = cost::ticks(|| net.classify_pixels(img));
        for (s, v) in t.iter_mut().zip([a, b, c, d, e, f, g]) {
            *s += u64::from(v);
        }
    });
    if !read {
        exit(1)
    }
    defmt::println!(
        "profile f32 (instructions per image, mean of {=usize}): layer1 affine {=u64}, sigmoid(50) {=u64}, layer2 affine {=u64}, sigmoid(100) {=u64}, layer3 affine {=u64}, softmax(10) {=u64}; whole classify_pixels {=u64}",
        n,
        per(t[0], n),
        per(t[1], n),
        per(t[2], n),
        per(t[3], n),
        per(t[4], n),
        per(t[5], n),
        per(t[6], n)
    );
    let img = first_image();
    let (_, stack) = cost::stack_used_by(|| classify(&net, &img));
    defmt::println!(
        "inference stack (bytes below the caller): f32 {=usize}",
        stack
    );
    exit(0)
}

#[cfg(feature = "int8")]
#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cost::start(&mut cp.SYST);
    let Ok(qnet) = scratchnet::QMnist::from_blob(&scratchnet_firmware::MODEL_INT8.0) else {
        exit(1)
    };
    let mut q = [0u64; 4];
    let n = 100;
    let read = for_first_images(n, |_, img| {
        let mut z1 = [0u8; 50];
        let mut z2 = [0u8; 100];
        let mut y = [0.0; 10];
        let ((), a) = cost::ticks(|| qnet.layers.0.forward_u8(img, &mut z1));
        let ((), b) = cost::ticks(|| qnet.layers.1.forward_u8(&z1, &mut z2));
        let ((), c) = cost::ticks(|| qnet.layers.2.affine(&z2, core::hint::black_box(&mut y)));
        core::hint::black_box((&z1, &z2, &y));
        let (_, d) = cost::ticks(|| qnet.classify_pixels(img));
        for (s, v) in q.iter_mut().zip([a, b, c, d]) {
            *s += u64::from(v);
        }
    });
    if !read {
        exit(1)
    }
    defmt::println!(
        "profile int8 (instructions per image, mean of {=usize}): layer1 {=u64}, layer2 {=u64}, layer3 {=u64}; whole classify_pixels {=u64}",
        n,
        per(q[0], n),
        per(q[1], n),
        per(q[2], n),
        per(q[3], n)
    );
    let img = first_image();
    let (_, stack) = cost::stack_used_by(|| classify(&qnet, &img));
    defmt::println!(
        "inference stack (bytes below the caller): int8 {=usize}",
        stack
    );
    exit(0)
}
