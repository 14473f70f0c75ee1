//! `xtask decode ELF`: reads the firmware's defmt frames from standard input and prints
//! them a line each, like `defmt-print -e ELF` (the level first, for logged frames; plain
//! `println!` frames as they are). The QEMU runner (`firmware/qemu-run.sh`) pipes into it.

use defmt_decoder::{DecodeError, Table};
use std::io::{Read, Write};

/// Decodes standard input with the ELF's defmt table until it ends.
pub fn run(elf: &str) -> Result<(), String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("cannot read {elf}: {e}"))?;
    let table = Table::parse(&bytes)
        .map_err(|e| format!("{elf}: {e}"))?
        .ok_or_else(|| format!("{elf} holds no defmt data (.defmt section)"))?;
    let mut decoder = table.new_stream_decoder();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading the firmware's output: {e}")),
        };
        decoder.received(&buf[..n]);
        loop {
            match decoder.decode() {
                Ok(frame) => {
                    let line = match frame.level() {
                        Some(level) => {
                            format!(
                                "{} {}",
                                level.as_str().to_uppercase(),
                                frame.display_message()
                            )
                        }
                        None => frame.display_message().to_string(),
                    };
                    // A closed pipe (`| head`) ends the decoding quietly.
                    if writeln!(stdout, "{line}")
                        .and_then(|()| stdout.flush())
                        .is_err()
                    {
                        return Ok(());
                    }
                }
                Err(DecodeError::UnexpectedEof) => break,
                Err(DecodeError::Malformed) if table.encoding().can_recover() => {
                    let _ = writeln!(stdout, "(malformed defmt frame skipped)");
                }
                Err(DecodeError::Malformed) => {
                    return Err("malformed defmt frame; cannot recover".into());
                }
            }
        }
    }
}
