//! What the firmware binaries share: stack painting for the high-water mark,
//! the semihosting exit, the panic handler.
#![no_std]

use cortex_m_semihosting::debug;

extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
}

const PAINT: u32 = 0xA5A5_5A5A;

/// Fills the unused stack (from the end of `.bss` to just below the current
/// stack pointer) with a pattern. Call first thing in `main`.
#[inline(always)]
pub fn paint_stack() {
    let bottom = &raw mut __sheap;
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom;
    while (p as usize) < sp - 64 {
        // SAFETY: between the end of .bss and the live stack: unused RAM.
        unsafe { p.write_volatile(PAINT) };
        p = p.wrapping_add(1);
    }
}

/// Bytes of stack ever used since reset: from the top of RAM down to the
/// deepest word that no longer holds the pattern.
pub fn stack_high_water_mark() -> usize {
    let top = &raw const _stack_start as usize;
    let mut q = &raw mut __sheap as *const u32;
    // SAFETY: reads of RAM between the end of .bss and the stack.
    while (q as usize) < top && unsafe { q.read_volatile() } == PAINT {
        q = q.wrapping_add(1);
    }
    top - q as usize
}

/// Ends the qemu run with status 0 (`ok`) or 1.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Prints `panic` and fails the run. Nothing of `info` is used: formatting the
/// message links about 2 KB of `core::fmt`, and even the location keeps every
/// panic site's file path (about 1.6 KB), in any firmware with a reachable
/// panic path (bounds checks); a footprint would count them as the library's.
/// (The library has no reachable panic; this handler is for the impossible.)
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
        let _ = out.write_all(b"panic\n");
    }
    exit(false)
}
