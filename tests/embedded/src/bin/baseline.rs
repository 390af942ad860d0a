//! The footprint probe's skeleton without the library (see footprint.rs).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

const CAP: usize = include!(concat!(env!("OUT_DIR"), "/cap.rs"));

#[entry]
fn main() -> ! {
    adasample_firmware::paint_stack();
    let v = core::hint::black_box(1.5f64);
    // The probe's output, string included, so that printing cancels out.
    if v < 0.0 {
        hprintln!("error {}", core::hint::black_box("code"));
    }
    hprintln!(
        "footprint {} storage {} stack {} buffers {}",
        CAP,
        core::hint::black_box(0usize),
        adasample_firmware::stack_high_water_mark(),
        0
    );
    adasample_firmware::exit(v > 0.0)
}
