//! Files written by real numpy and safetensors — the fuzzing seeds in `fuzz/seeds/pickle`:
//! numpy 2.4 `pickle.dumps` protocols 2–5, an OrderedDict of a big-endian float64 array, a
//! Fortran-order array; `np.savez` and `np.savez_compressed` of two small networks, and one
//! of them as `safetensors.numpy.save_file` of `nn.Linear`-style tensors. Every one
//! converts; the same dict pickled with protocols 2, 3, 4 and 5 gives one blob, and the
//! same network as `.npz` and as `.safetensors` gives one blob.

use scratchnet_host::convert::{Options, Source, convert_file};

#[test]
fn numpy_written_files_convert() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/pickle");
    let mut converted = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let c = convert_file(&std::fs::read(&path).unwrap(), &Options::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        converted.push(c);
    }
    let of = |s: Source| converted.iter().filter(|c| c.source == s).count();
    assert_eq!(
        (of(Source::Pickle), of(Source::Npz), of(Source::Safetensors)),
        (6, 2, 1)
    );
    let same_as = |b: &Vec<u8>| converted.iter().filter(|x| x.blob == *b).count();
    let pickles = converted.iter().filter(|c| c.source == Source::Pickle);
    assert_eq!(
        pickles.map(|c| same_as(&c.blob)).max(),
        Some(4),
        "protocols 2–5 of one dict must give one blob"
    );
    let st = converted
        .iter()
        .find(|c| c.source == Source::Safetensors)
        .unwrap();
    assert!(
        converted
            .iter()
            .any(|c| c.source == Source::Npz && c.blob == st.blob),
        "the .safetensors (outputs × inputs) must give the .npz's blob"
    );
}
