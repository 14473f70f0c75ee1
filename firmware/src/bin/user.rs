//! Your model on the device: `cargo xtask demo --model M.scnt --inputs X.npy --labels Y.npy`
//! builds this with the model in flash, streams the input rows from the host over
//! semihosting like the MNIST demo, and prints accuracy, agreement with the host's
//! predictions for the same model (the core's code on the PC), and the cost line. It exits
//! 0 only when the device gives the host's class on every row.
//!
//! Either precision: f32 models through `Model::logits` (f32 inputs), int8 ones through
//! `Model::logits_u8` (u8 inputs, each `u/255`). Without those options (`cargo run
//! --release --bin user` here) it runs the book's f32 model on the first 100 test images.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use scratchnet::{Classification, Model};
use scratchnet_firmware::{Aligned, HostFile, cost, exit};

/// Sizes and host paths of the user's model and data, from `build.rs`.
mod user {
    include!(concat!(env!("OUT_DIR"), "/user_paths.rs"));
}

/// The user's model blob, in flash, 16-byte aligned: its weights are read in place.
static MODEL: Aligned<[u8; user::MODEL_LEN]> =
    Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/user.scnt")));

/// Bytes of one input row: f32 values, or u8 for an int8 model.
const ROW_BYTES: usize = if user::INT8 || user::TFLITE {
    user::INPUTS
} else {
    user::INPUTS * 4
};
static mut ROW: [u8; ROW_BYTES] = [0; ROW_BYTES];
static mut VALUES: [f32; user::INPUTS] = [0.0; user::INPUTS];
static mut SCRATCH: [f32; user::SCRATCH] = [0.0; user::SCRATCH];
static mut SCRATCH8: [u8; user::SCRATCH] = [0; user::SCRATCH];

/// Reads one little-endian u32 from `file`.
fn read_u32(file: &mut HostFile) -> Option<u32> {
    let mut b = [0u8; 4];
    file.read_exact(&mut b).then(|| u32::from_le_bytes(b))
}

/// A TFLite int8 model: int8 rows in, int8 outputs compared with the reference's and
/// the host's, byte by byte.
#[cfg(feature = "tflite")]
fn run_tflite(
    model: &Model<'_>,
    inputs: &mut HostFile,
    reference: &mut HostFile,
    host: &mut HostFile,
) -> ! {
    static mut X: [i8; user::INPUTS] = [0; user::INPUTS];
    static mut Y: [i8; user::OUTPUTS] = [0; user::OUTPUTS];
    static mut S8: [i8; user::SCRATCH] = [0; user::SCRATCH];
    // SAFETY: the only accesses to these statics, from this single thread.
    let (x, y, scratch, row) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(X),
            &mut *core::ptr::addr_of_mut!(Y),
            &mut *core::ptr::addr_of_mut!(S8),
            &mut *core::ptr::addr_of_mut!(ROW),
        )
    };
    let (mut equal, mut agree, mut total_ticks) = (0u32, 0u32, 0u32);
    let mut want = [0u8; user::OUTPUTS];
    let mut mine = [0u8; user::OUTPUTS];
    for n in 0..user::ROWS {
        if !(inputs.read_exact(row)
            && reference.read_exact(&mut want)
            && host.read_exact(&mut mine))
        {
            defmt::error!("the inputs ended early, at row {=usize}", n);
            exit(1)
        }
        for (v, &b) in x.iter_mut().zip(row.iter()) {
            *v = b as i8;
        }
        let (result, ticks) = cost::ticks(|| model.run_i8(x, scratch, y));
        if let Err(e) = result {
            defmt::error!("row {=usize}: {}", n, e);
            exit(1)
        }
        total_ticks = total_ticks.saturating_add(ticks);
        for ((&v, &w), &h) in y.iter().zip(&want).zip(&mine) {
            equal += u32::from(v as u8 == w);
            agree += u32::from(v as u8 == h);
        }
    }
    let outputs = (user::ROWS * user::OUTPUTS) as u32;
    defmt::println!(
        "outputs equal to the reference: {=u32}/{=u32}",
        equal,
        outputs
    );
    defmt::println!("outputs equal to the host's: {=u32}/{=u32}", agree, outputs);
    defmt::println!(
        "cost: instructions_per_inference={=u32} flash_bytes={=usize} static_ram_bytes={=usize} stack_bytes={=usize}",
        cost::instructions_per(total_ticks, (user::ROWS as u32).max(1)),
        cost::flash_bytes(),
        cost::static_ram_bytes(),
        cost::stack_high_water()
    );
    if agree == outputs && equal == user::HOST_CORRECT {
        exit(0)
    }
    defmt::error!("the device must give the host's outputs, byte for byte");
    exit(1)
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cost::start(&mut cp.SYST);
    cost::paint_stack();

    let model = match Model::from_bytes(&MODEL.0) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("model blob refused: {}", e);
            exit(1)
        }
    };
    defmt::println!(
        "== your model: {=usize} layers, {=usize} inputs -> {=usize} outputs, {=usize} rows ==",
        model.layers().len(),
        user::INPUTS,
        user::OUTPUTS,
        user::ROWS
    );
    let (Some(mut inputs), Some(mut labels), Some(mut host)) = (
        HostFile::open(user::INPUTS_FILE),
        HostFile::open(user::LABELS_FILE),
        HostFile::open(user::HOST_FILE),
    ) else {
        defmt::error!("cannot open the inputs on the host over semihosting");
        exit(1)
    };
    if user::TFLITE {
        #[cfg(feature = "tflite")]
        run_tflite(&model, &mut inputs, &mut labels, &mut host);
        #[cfg(not(feature = "tflite"))]
        {
            defmt::error!(
                "a TFLite int8 model needs the firmware's `tflite` feature (cargo xtask demo turns it on)"
            );
            exit(1)
        }
    }
    // SAFETY: the only accesses to these statics, from this single thread.
    let (row, values, scratch, scratch8) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(ROW),
            &mut *core::ptr::addr_of_mut!(VALUES),
            &mut *core::ptr::addr_of_mut!(SCRATCH),
            &mut *core::ptr::addr_of_mut!(SCRATCH8),
        )
    };
    let mut out = [0.0f32; user::OUTPUTS];
    let (mut correct, mut agree, mut total_ticks) = (0u32, 0u32, 0u32);
    for n in 0..user::ROWS {
        let (true, Some(label), Some(want)) = (
            inputs.read_exact(row),
            read_u32(&mut labels),
            read_u32(&mut host),
        ) else {
            defmt::error!("the inputs ended early, at row {=usize}", n);
            exit(1)
        };
        if !user::INT8 {
            for (v, b) in values.iter_mut().zip(row.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        let (result, ticks) = cost::ticks(|| {
            if user::INT8 {
                model.logits_u8(row, scratch8, &mut out)
            } else {
                model.logits(values, scratch, &mut out)
            }
            .map(|()| {
                model.output_activation().apply(&mut out);
                Classification::argmax(&out)
            })
        });
        let c = match result {
            Ok(c) => c,
            Err(e) => {
                defmt::error!("row {=usize}: {}", n, e);
                exit(1)
            }
        };
        total_ticks = total_ticks.saturating_add(ticks);
        correct += u32::from(c.class as u32 == label);
        agree += u32::from(c.class as u32 == want);
    }
    let rows = user::ROWS as u32;
    defmt::println!(
        "accuracy: {=u32}.{=u32:04} ({=u32}/{=u32})",
        scratchnet_firmware::fraction(correct, rows).0,
        scratchnet_firmware::fraction(correct, rows).1,
        correct,
        rows
    );
    defmt::println!("agreement with the host: {=u32}/{=u32}", agree, rows);
    defmt::println!(
        "cost: instructions_per_inference={=u32} flash_bytes={=usize} static_ram_bytes={=usize} stack_bytes={=usize}",
        cost::instructions_per(total_ticks, rows.max(1)),
        cost::flash_bytes(),
        cost::static_ram_bytes(),
        cost::stack_high_water()
    );
    if agree == rows && correct == user::HOST_CORRECT {
        exit(0)
    } else {
        defmt::error!("the device must give the host's class on every row");
        exit(1)
    }
}
