//! CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum of `zlib.crc32`.

/// The CRC of each 4-bit value: a 64-byte table instead of the usual 1 KB one (a quarter
/// of the flash of the int8 firmware's budget for code is worth two lookups a byte).
const TABLE: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 4 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// The CRC-32 of `data`, as `zlib.crc32(data)` computes it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        c = TABLE[(c & 0xF) as usize] ^ (c >> 4);
        c = TABLE[(c & 0xF) as usize] ^ (c >> 4);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }
}
