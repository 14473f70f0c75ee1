//! Tells the kernels which Thumb instruction set the target has: `scratchnet_thumb2` on
//! ARMv7-M, ARMv7E-M and ARMv8-M Mainline (Cortex-M3/M4/M7/M33…), whose 32-bit `MLA`
//! the int8 routine for cores without DSP instructions uses. ARMv6-M (M0/M0+) and ARMv8-M
//! Baseline (M23) have Thumb-1 multiplies only; no `cfg` of rustc's tells them apart from
//! ARMv7-M, hence this script (as the `cortex-m` crate's). And `scratchnet_vmaxnm` on
//! ARMv8-M Mainline with an FPU (Cortex-M33…), whose FPv5 has `VMAXNM`: there `f32::max`
//! is one instruction, elsewhere a comparison is cheaper (the softmax's maximum).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(scratchnet_thumb2)");
    println!("cargo::rustc-check-cfg=cfg(scratchnet_vmaxnm)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if ["thumbv7m", "thumbv7em", "thumbv8m.main"]
        .iter()
        .any(|arch| target.starts_with(arch))
    {
        println!("cargo::rustc-cfg=scratchnet_thumb2");
    }
    if target.starts_with("thumbv8m.main") && target.ends_with("eabihf") {
        println!("cargo::rustc-cfg=scratchnet_vmaxnm");
    }
}
