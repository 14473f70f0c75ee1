//! Your model on the board: loaded from flash (checked at build time, and once more here,
//! in place), then run on an input. Replace `input()` with your sensor's features.
#![no_std]
#![no_main]

use cortex_m as _; // its critical section, for semihosting
use cortex_m_rt::entry;
use scratchnet::{Classification, Model};
use semihosting::{println, process::exit};

/// The sizes of the embedded model (from `build.rs`).
mod model_info {
    include!(concat!(env!("OUT_DIR"), "/model_info.rs"));
}

/// 16-byte alignment: the weights are read in place, as `&[f32]`.
#[repr(C, align(16))]
struct Aligned<T>(T);

/// Your model, in flash.
static MODEL: Aligned<[u8; model_info::LEN]> =
    Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.scnt")));

/// The input to classify: here a ramp in [0, 1]; on your board, your features.
fn input() -> [f32; model_info::INPUTS] {
    core::array::from_fn(|i| i as f32 / model_info::INPUTS as f32)
}

#[entry]
fn main() -> ! {
    let model = match Model::from_bytes(&MODEL.0) {
        Ok(m) => m,
        Err(e) => {
            println!("model refused: {e}");
            exit(1)
        }
    };
    let mut scratch = [0.0f32; model_info::SCRATCH];
    let mut y = [0.0f32; model_info::OUTPUTS];
    let x = input();
    match model.logits(&x, &mut scratch, &mut y) {
        Ok(()) => {
            if let Some(last) = model.layers().last() {
                last.activation().apply(&mut y);
            }
            let c = Classification::argmax(&y);
            println!(
                "{} inputs -> class {} (output {}); outputs {:?}",
                model_info::INPUTS,
                c.class,
                c.probability,
                y
            );
            exit(0)
        }
        Err(e) => {
            println!("inference refused: {e}");
            exit(1)
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}
