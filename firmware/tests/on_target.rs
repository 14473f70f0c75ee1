//! On-target tests, run in QEMU by `cargo test --release` (defmt-test): the same values the
//! host tests assert, computed by the Cortex-M4F.
#![no_std]
#![no_main]

use scratchnet_firmware as _;

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

/// `logits(image)` for each of the first 100 images equals the host's `want` (10
/// little-endian f32 per image), bit for bit.
fn logits_equal(want: &[u8; 100 * 40], logits: impl Fn(&[u8; 784]) -> [f32; 10]) {
    for (n, (img, want)) in scratchnet_firmware::FIRST100_IMAGES
        .chunks_exact(784)
        .zip(want.chunks_exact(40))
        .enumerate()
    {
        let img: &[u8; 784] = img.try_into().unwrap();
        for (k, (g, w)) in logits(img).iter().zip(want.chunks_exact(4)).enumerate() {
            let w = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            defmt::assert_eq!(g.to_bits(), w.to_bits(), "image {} logit {}", n, k);
        }
    }
}

/// The int8 kernel on target against a plain dot product, for an `IN × OUT` layer with
/// pseudo-random weights (extremes included) and inputs (zero groups, a partial last group):
/// with scale 255 and bias 0 a layer's value is its integer sum exactly.
fn int8_sums_are_exact<const IN: usize, const OUT: usize>() {
    let mut seed = 0x1234_5678u32 ^ (IN * 131 + OUT) as u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let mut q = [0i8; 4096];
    let q = &mut q[..IN * OUT];
    for (k, v) in q.iter_mut().enumerate() {
        *v = match k % 7 {
            0 => 127,
            1 => -127,
            _ => next() as i8,
        }
        .max(-127);
    }
    let mut x = [0u8; IN];
    for (i, v) in x.iter_mut().enumerate() {
        // Inputs 4..8 stay zero (a skipped group); the rest mix 0, 255 and others.
        if !(4..8).contains(&i) {
            *v = [0, 255, next() as u8][i % 3];
        }
    }
    let spec = scratchnet::LayerSpec {
        shape: scratchnet::Shape {
            inputs: IN as u32,
            outputs: OUT as u32,
        },
        activation: scratchnet::Activation::Identity,
        weights: scratchnet::Weights::I8 {
            values: q,
            scales: &[255.0; OUT],
            input_divisor: 255.0,
            output_divisor: 255.0,
        },
        biases: &[0.0; OUT],
    };
    let mut blob = scratchnet_firmware::Aligned([0u8; 8192]);
    let n = scratchnet::encode(&[spec], &mut blob.0).unwrap();
    let model = scratchnet::Model::from_bytes(&blob.0[..n]).unwrap();
    let layer = scratchnet::QDense::<IN, OUT>::from_layer(&model.layer(0).unwrap(), 0).unwrap();
    let mut got = [0.0f32; OUT];
    layer.affine(&x, &mut got);
    for (j, g) in got.iter().enumerate() {
        let want: i32 = (0..IN)
            .map(|i| i32::from(x[i]) * i32::from(q[j * IN + i]))
            .sum();
        defmt::assert_eq!(*g, want as f32, "{}x{} output {}", IN, OUT, j);
    }
}

#[defmt_test::tests]
mod tests {
    use super::{close, int8_sums_are_exact, logits_equal};
    use scratchnet::{Activation, Dense, Error, Mnist, Model, Network};
    use scratchnet_firmware::{
        FIRST100_F32_LOGITS, FIRST100_IMAGES, FIRST100_INT8_LOGITS, FIRST100_REFERENCE, MODEL,
        MODEL_INT8,
    };

    #[test]
    fn gate_truth_tables() {
        let t = scratchnet::TRUTH_TABLE_INPUTS;
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::and(a, b)),
            [false, false, false, true]
        );
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::nand(a, b)),
            [true, true, true, false]
        );
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::or(a, b)),
            [false, true, true, true]
        );
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::xor(a, b)),
            [false, true, true, false]
        );
    }

    #[test]
    fn learning_rule_epochs() {
        let rule = scratchnet::LearningRule::default();
        let p = scratchnet::Perceptron::new([0.0; 2], 0.0);
        let epochs = |g| {
            rule.train(p, &scratchnet::gate_examples(g))
                .map(|t| t.epochs)
        };
        defmt::assert_eq!(epochs(scratchnet::and), Ok(6));
        defmt::assert_eq!(epochs(scratchnet::or), Ok(4));
        defmt::assert_eq!(epochs(scratchnet::nand), Ok(4));
        defmt::assert!(epochs(scratchnet::xor).is_err());
    }

    #[test]
    fn softmax_values() {
        let mut a = [0.3, 2.9, 4.0];
        scratchnet::softmax(&mut a);
        defmt::assert!(close(a[0], 0.018_211_27, 1e-6));
        defmt::assert!(close(a[1], 0.245_191_81, 1e-6));
        defmt::assert!(close(a[2], 0.736_596_9, 1e-6));
        let mut b = [1010.0, 1000.0, 990.0];
        scratchnet::softmax(&mut b);
        defmt::assert!(b.iter().all(|v| v.is_finite()));
        defmt::assert!(close(b[1], 4.539_787e-5, 1e-9));
        defmt::assert_eq!(scratchnet::sigmoid(0.0), 0.5);
    }

    #[test]
    fn the_books_toy_network() {
        static W1: [[f32; 3]; 2] = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]];
        static W2: [[f32; 2]; 3] = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]];
        static W3: [[f32; 2]; 2] = [[0.1, 0.3], [0.2, 0.4]];
        let net = Network::new((
            Dense::new(&W1, &[0.1, 0.2, 0.3], Activation::Sigmoid),
            Dense::new(&W2, &[0.1, 0.2], Activation::Sigmoid),
            Dense::new(&W3, &[0.1, 0.2], Activation::Identity),
        ));
        let y = net.predict(&[1.0, 0.5]);
        defmt::assert!(close(y[0], 0.316_827_1, 1e-6), "{}", y);
        defmt::assert!(close(y[1], 0.696_279_1, 1e-6), "{}", y);
    }

    #[test]
    fn first_100_images_match_numpy() {
        if !scratchnet_firmware::host_paths::HAVE_REFERENCE {
            defmt::println!("skipped: no reference_predictions.u8 in the data folder");
            return;
        }
        let net = Mnist::from_blob(&MODEL.0).unwrap();
        for (n, img) in FIRST100_IMAGES.chunks_exact(784).enumerate() {
            let img: &[u8; 784] = img.try_into().unwrap();
            let c = net.classify_pixels(img);
            defmt::assert_eq!(c.class, usize::from(FIRST100_REFERENCE[n]), "image {}", n);
        }
    }

    #[test]
    fn f32_logits_equal_the_hosts() {
        // The same core, the same operations in the same order: the device's f32 logits
        // are the host's, bit for bit (so the host tests speak for the firmware's math).
        let net = Mnist::from_blob(&MODEL.0).unwrap();
        logits_equal(FIRST100_F32_LOGITS, |img| net.logits_pixels(img));
    }

    #[test]
    fn int8_dsp_kernel_equals_the_hosts_portable_kernel() {
        // The integer sums are exact and the f32 steps after them are the same operations
        // in the same order, so the DSP kernel's logits are the portable kernel's.
        let net = scratchnet::QMnist::from_blob(&MODEL_INT8.0).unwrap();
        logits_equal(FIRST100_INT8_LOGITS, |img| net.logits_pixels(img));
    }

    #[test]
    fn int8_dsp_kernel_on_odd_shapes() {
        // Five outputs a sweep: 7 and 12 move the last window back, 3 is too few (plain
        // loop); 7, 50 and 13 inputs end in a partial group, 784 and 100 do not.
        int8_sums_are_exact::<7, 7>();
        int8_sums_are_exact::<13, 3>();
        int8_sums_are_exact::<50, 12>();
        int8_sums_are_exact::<784, 5>();
        int8_sums_are_exact::<100, 10>();
    }

    #[test]
    fn a_corrupted_blob_is_refused_not_run() {
        static mut COPY: [u8; 192 * 1024] = [0; 192 * 1024];
        // SAFETY: the only access to COPY, from this single thread.
        let copy = unsafe { &mut *core::ptr::addr_of_mut!(COPY) };
        let blob = &MODEL.0;
        let copy = &mut copy[..blob.len()];
        copy.copy_from_slice(blob);
        defmt::assert!(Model::from_bytes(copy).is_ok());
        copy[50_000] ^= 0x10; // one bit of a weight
        let err = Model::from_bytes(copy).map(|_| ()).unwrap_err();
        defmt::assert!(matches!(err, Error::ChecksumMismatch { .. }), "{}", err);
        defmt::assert_eq!(Mnist::from_blob(copy).map(|_| ()), Err(err));
        defmt::assert!(matches!(
            Model::from_bytes(&copy[..4096]).map(|_| ()),
            Err(Error::Truncated { .. })
        ));
    }
}
