//! Where the instructions of one inference go, phase by phase, on the first test images
//! (`cargo run --release --bin profile`). SysTick ticks × 40 under `-icount shift=0`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use scratchnet::Mnist;
use scratchnet_firmware::{FIRST100_IMAGES, MODEL, MODEL_INT8, cost, exit};

/// Out of line, so that its frame is below the caller's stack pointer when measured.
#[inline(never)]
fn classify_f32(net: &Mnist<'_>, img: &[u8; 784]) -> scratchnet::Classification {
    core::hint::black_box(net.classify_pixels(core::hint::black_box(img)))
}

/// Out of line, as above.
#[inline(never)]
fn classify_int8(net: &scratchnet::QMnist<'_>, img: &[u8; 784]) -> scratchnet::Classification {
    core::hint::black_box(net.classify_pixels(core::hint::black_box(img)))
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cost::start(&mut cp.SYST);
    let Ok(net) = Mnist::from_blob(&MODEL.0) else {
        exit(1)
    };
    let mut t = [0u64; 7];
    let n = 100;
    for img in FIRST100_IMAGES.chunks_exact(784).take(n) {
        let Ok(img) = <&[u8; 784]>::try_from(img) else {
            exit(1)
        };
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
    }
    let per = |v: u64| v * cost::INSTRUCTIONS_PER_TICK / n as u64;
    defmt::println!(
        "profile (instructions per image, mean of {=usize}): layer1 affine {=u64}, sigmoid(50) {=u64}, layer2 affine {=u64}, sigmoid(100) {=u64}, layer3 affine {=u64}, softmax(10) {=u64}; whole classify_pixels {=u64}",
        n,
        per(t[0]),
        per(t[1]),
        per(t[2]),
        per(t[3]),
        per(t[4]),
        per(t[5]),
        per(t[6])
    );
    let Ok(qnet) = scratchnet::QMnist::from_blob(&MODEL_INT8.0) else {
        exit(1)
    };
    let mut q = [0u64; 4];
    for img in FIRST100_IMAGES.chunks_exact(784).take(n) {
        let Ok(img) = <&[u8; 784]>::try_from(img) else {
            exit(1)
        };
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
    }
    let img: &[u8; 784] = FIRST100_IMAGES[..784].try_into().unwrap_or(&[0; 784]);
    let (_, f32_stack) = cost::stack_used_by(|| classify_f32(&net, img));
    let (_, int8_stack) = cost::stack_used_by(|| classify_int8(&qnet, img));
    defmt::println!(
        "inference stack (bytes below the caller): f32 {=usize}, int8 {=usize}",
        f32_stack,
        int8_stack
    );
    defmt::println!(
        "profile int8 (instructions per image, mean of {=usize}): layer1 {=u64}, layer2 {=u64}, layer3 {=u64}; whole classify_pixels {=u64}",
        n,
        per(q[0]),
        per(q[1]),
        per(q[2]),
        per(q[3])
    );
    exit(0)
}
