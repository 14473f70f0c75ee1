//! `cargo bench -p scratchnet-host`: one-image latency and the 10 000-image evaluation of
//! the book's network, with the core's code (needs the data; see the README's data rule).

use criterion::{Criterion, criterion_group, criterion_main};
use scratchnet::Mnist;
use scratchnet_host::fast::Evaluate as _;
use scratchnet_host::{convert, data, idx};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let pkl = std::fs::read(data::find(data::WEIGHTS).unwrap_or_else(|e| panic!("{e}"))).unwrap();
    let blob = convert::convert_pickle(&pkl).unwrap().blob;
    let net = Mnist::from_blob(&blob).unwrap();
    let images = idx::read_images(&data::find(data::TEST_IMAGES).unwrap()).unwrap();

    c.bench_function("mnist f32: one image (index 0)", |b| {
        b.iter(|| net.classify_pixels(black_box(&images[0])))
    });
    let mut out = vec![scratchnet::Classification::argmax(&[0.0]); images.len()];
    let mut g = c.benchmark_group("mnist f32: 10 000 test images");
    g.sample_size(20);
    g.bench_function("classify_batch_pixels", |b| {
        b.iter(|| net.classify_batch(black_box(&images), &mut out).unwrap())
    });
    g.finish();

    // The host's fast evaluator: the same results, AVX2 and every core.
    let fast = scratchnet_host::fast::FastMnist::new(&net).unwrap();
    c.bench_function("mnist f32 fast: one image (index 0)", |b| {
        b.iter(|| fast.classify_pixels(black_box(&images[0])))
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("mnist f32 fast: 10 000 test images");
    g.sample_size(20);
    g.bench_function(format!("classify_batch_pixels ({threads} threads)"), |b| {
        b.iter(|| {
            fast.classify_batch_pixels(black_box(&images), &mut out)
                .unwrap()
        })
    });
    g.finish();

    let q = convert::convert_pickle_as(&pkl, convert::Precision::Int8)
        .unwrap()
        .blob;
    let qnet = scratchnet::QMnist::from_blob(&q).unwrap();
    c.bench_function("mnist int8: one image (index 0)", |b| {
        b.iter(|| qnet.classify_pixels(black_box(&images[0])))
    });
    let mut g = c.benchmark_group("mnist int8: 10 000 test images");
    g.sample_size(20);
    g.bench_function("classify_pixels", |b| {
        b.iter(|| {
            for (img, o) in images.iter().zip(out.iter_mut()) {
                *o = qnet.classify_pixels(black_box(img));
            }
        })
    });
    g.finish();

    let qmodel = scratchnet::Model::from_bytes(&q).unwrap();
    let qfast = scratchnet_host::fast::FastQMnist::new(&qmodel).unwrap();
    c.bench_function("mnist int8 fast: one image (index 0)", |b| {
        b.iter(|| qfast.classify_pixels(black_box(&images[0])))
    });
    let mut g = c.benchmark_group("mnist int8 fast: 10 000 test images");
    g.sample_size(20);
    g.bench_function(format!("classify_batch_pixels ({threads} threads)"), |b| {
        b.iter(|| {
            qfast
                .classify_batch_pixels(black_box(&images), &mut out)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
