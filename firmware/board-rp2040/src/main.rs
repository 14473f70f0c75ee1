//! The book's MNIST network in int8 on a Raspberry Pi Pico (RP2040: Cortex-M0+, no FPU, no
//! DSP instructions): classifies the test images embedded in flash with the Thumb-1 int8
//! kernel, toggles the on-board LED per classification, paces the output with a delay, and
//! reports the time of each inference in microseconds (the RP2040's 1 MHz timer; the M0+ has
//! no cycle counter) over defmt-rtt.
//!
//! The application ([`run`]) is written against embedded-hal 1.0 traits only; `main` is the
//! board glue.
#![no_std]
#![no_main]

use defmt_rtt as _;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use panic_probe as _;
use rp2040_hal::{self as hal, Clock, pac};
use scratchnet::QMnist;

/// The second-stage boot loader for the Pico's W25Q080 flash, at the start of flash.
#[unsafe(link_section = ".boot2")]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal.
const XTAL_FREQ_HZ: u32 = 12_000_000;

#[repr(C, align(16))]
struct Aligned<T: ?Sized>(T);

/// The int8 model blob, converted at build time, read in place (4-byte aligned: its f32
/// scales are read where they are).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/mnist-int8.scnt"
)));
/// The first test images and their labels.
static IMAGES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/images.u8"));
static LABELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/labels.u8"));

/// Classifies every embedded image, toggling `led` and pausing `pause_ms` after each, and
/// returns how many were right. `micros` reads a free-running microsecond counter.
fn run(
    net: &QMnist<'_>,
    led: &mut impl OutputPin,
    delay: &mut impl DelayNs,
    micros: impl Fn() -> u64,
    pause_ms: u32,
) -> usize {
    let mut correct = 0;
    for (n, (img, &label)) in IMAGES.chunks_exact(784).zip(LABELS).enumerate() {
        let Ok(img) = <&[u8; 784]>::try_from(img) else {
            continue;
        };
        let start = micros();
        let c = net.classify_pixels(img);
        let spent = micros().wrapping_sub(start);
        correct += usize::from(c.class == usize::from(label));
        defmt::println!(
            "image {=usize}: label {=u8} prediction {=usize} (p = {=f32}) microseconds_per_inference={=u64}",
            n,
            label,
            c.class,
            c.probability,
            spent
        );
        let _ = if n % 2 == 0 {
            led.set_high()
        } else {
            led.set_low()
        };
        delay.delay_ms(pause_ms);
    }
    correct
}

#[hal::entry]
fn main() -> ! {
    let mut p = pac::Peripherals::take().unwrap();
    let mut watchdog = hal::Watchdog::new(p.WATCHDOG);
    let Ok(clocks) = hal::clocks::init_clocks_and_plls(
        XTAL_FREQ_HZ,
        p.XOSC,
        p.CLOCKS,
        p.PLL_SYS,
        p.PLL_USB,
        &mut p.RESETS,
        &mut watchdog,
    ) else {
        defmt::panic!("the clocks did not start");
    };
    let sio = hal::Sio::new(p.SIO);
    let pins = hal::gpio::Pins::new(p.IO_BANK0, p.PADS_BANK0, sio.gpio_bank0, &mut p.RESETS);
    // The Pico's LED is GPIO 25.
    let mut led = pins.gpio25.into_push_pull_output();
    let timer = hal::Timer::new(p.TIMER, &mut p.RESETS, &clocks);
    let mut delay = timer;
    defmt::println!("system clock {=u32} Hz", clocks.system_clock.freq().to_Hz());

    match QMnist::from_blob(&MODEL.0) {
        Ok(net) => {
            let correct = run(
                &net,
                &mut led,
                &mut delay,
                || timer.get_counter().ticks(),
                500,
            );
            defmt::println!("{=usize}/{=usize} correct", correct, LABELS.len());
        }
        Err(e) => defmt::error!("model blob refused: {}", e),
    }
    loop {
        cortex_m::asm::wfi();
    }
}
