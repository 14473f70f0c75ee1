//! The book's MNIST network on an nRF52840-DK: classifies the test images embedded in flash,
//! toggles LED 1 per classification, paces the output with a delay, and reports the cost in
//! DWT cycles over defmt-rtt.
//!
//! The application ([`run`]) is written against embedded-hal 1.0 traits only; `main` is the
//! board glue.
#![no_std]
#![no_main]

use cortex_m::peripheral::DWT;
use cortex_m_rt::entry;
use defmt_rtt as _;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use nrf52840_hal::{self as hal, gpio::Level};
use panic_probe as _;
use scratchnet::Mnist;

#[repr(C, align(16))]
struct Aligned<T: ?Sized>(T);

/// The model blob, converted from the book's pickle at build time, read in place.
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/mnist.scnt")));
/// The first test images and their labels.
static IMAGES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/images.u8"));
static LABELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/labels.u8"));

/// Classifies every embedded image, toggling `led` and pausing `pause_ms` after each, and
/// returns how many were right. `cycles` reads a free-running cycle counter.
fn run(
    net: &Mnist<'_>,
    led: &mut impl OutputPin,
    delay: &mut impl DelayNs,
    cycles: impl Fn() -> u32,
    pause_ms: u32,
) -> usize {
    let mut correct = 0;
    for (n, (img, &label)) in IMAGES.chunks_exact(784).zip(LABELS).enumerate() {
        let Ok(img) = <&[u8; 784]>::try_from(img) else {
            continue;
        };
        let start = cycles();
        let c = net.classify_pixels(img);
        let spent = cycles().wrapping_sub(start);
        correct += usize::from(c.class == usize::from(label));
        defmt::println!(
            "image {=usize}: label {=u8} prediction {=usize} (p = {=f32}) cycles_per_inference={=u32}",
            n,
            label,
            c.class,
            c.probability,
            spent
        );
        let _ = if n % 2 == 0 {
            led.set_low()
        } else {
            led.set_high()
        };
        delay.delay_ms(pause_ms);
    }
    correct
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    let p = hal::pac::Peripherals::take().unwrap();
    cp.DCB.enable_trace();
    cp.DWT.enable_cycle_counter();
    let port0 = hal::gpio::p0::Parts::new(p.P0);
    // LED 1 of the nRF52840-DK is P0.13, active low.
    let mut led = port0.p0_13.into_push_pull_output(Level::High);
    let mut delay = hal::Delay::new(cp.SYST);

    match Mnist::from_blob(&MODEL.0) {
        Ok(net) => {
            let correct = run(&net, &mut led, &mut delay, DWT::cycle_count, 500);
            defmt::println!("{=usize}/{=usize} correct", correct, LABELS.len());
        }
        Err(e) => defmt::error!("model blob refused: {}", e),
    }
    loop {
        cortex_m::asm::wfi();
    }
}
