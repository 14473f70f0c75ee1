//! Pickles written by real numpy (2.4, `pickle.dumps` protocols 2–5, an OrderedDict of a
//! big-endian float64 array, a Fortran-order array): the fuzzing seeds in `fuzz/seeds/pickle`.
//! Every one converts; the same dict pickled with protocols 2, 3, 4 and 5 gives one blob.

use scratchnet_host::convert::convert_pickle;

#[test]
fn numpy_written_pickles_convert() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/pickle");
    let mut blobs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let c = convert_pickle(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        blobs.push(c.blob);
    }
    assert_eq!(blobs.len(), 6);
    let same_as = |b: &Vec<u8>| blobs.iter().filter(|x| *x == b).count();
    let most = blobs.iter().map(same_as).max().unwrap();
    assert_eq!(most, 4, "protocols 2–5 of one dict must give one blob");
}
