//! OpenBLAS's kernel set for this CPU.
//!
//! Debian 12's OpenBLAS (0.3.21, the one the image ships) picks its kernels
//! by CPU model number and, for a model newer than it knows, falls back to
//! its SSE3 set ("Prescott") even on a CPU with AVX-512: on a 5th-generation
//! Xeon (family 6, model 207) the encoder's matrix products then cost
//! 1.9 times the CPU (src/transcribe/README.md, "OpenBLAS's kernels").
//! `OPENBLAS_CORETYPE` overrides the choice, but OpenBLAS reads it while the
//! library is loaded, before `main`. So the binary calls [`fit_to_cpu`]
//! first: when OpenBLAS has fallen back although the CPU has AVX-512 or
//! AVX2, it sets the variable and has OpenBLAS choose again, before any
//! matrix product has run.
//!
//! The functions are looked up at run time, so an OpenBLAS built for one CPU
//! (without runtime kernel choice) or another BLAS is simply left alone.

use std::ffi::{CStr, c_char};
use std::sync::OnceLock;

/// OpenBLAS's name for its fallback kernels.
const FALLBACK: &str = "Prescott";

/// What [`fit_to_cpu`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelChoice {
    /// The kernel set OpenBLAS had chosen by itself.
    pub detected: String,
    /// The kernel set it uses now.
    pub chosen: String,
}

static CHOICE: OnceLock<KernelChoice> = OnceLock::new();

/// The change [`fit_to_cpu`] made in this process, if any.
pub fn choice() -> Option<&'static KernelChoice> {
    CHOICE.get()
}

/// Has OpenBLAS use the kernels of this CPU's instruction set when it fell
/// back to its SSE3 ones; returns what it changed. Does nothing when
/// `OPENBLAS_CORETYPE` is already set (the operator's choice).
///
/// # Safety
/// It sets an environment variable: no other thread may read or write the
/// environment while it runs (call it first thing in `main`), and no BLAS
/// routine may be running.
pub unsafe fn fit_to_cpu() -> Option<&'static KernelChoice> {
    if std::env::var_os("OPENBLAS_CORETYPE").is_some() {
        return None;
    }
    let api = OpenBlas::find()?;
    let detected = api.core_name();
    if detected != FALLBACK {
        return None;
    }
    let wanted = kernels_for_this_cpu()?;
    // SAFETY: the caller guarantees that no other thread touches the
    // environment and that no BLAS routine runs; OpenBLAS reads the variable
    // in `gotoblas_dynamic_init`, and its routines look their kernels up
    // through the table that call sets, at each call.
    unsafe {
        std::env::set_var("OPENBLAS_CORETYPE", wanted);
        (api.dynamic_quit)();
        (api.dynamic_init)();
    }
    let chosen = api.core_name();
    let _ = CHOICE.set(KernelChoice { detected, chosen });
    CHOICE.get()
}

/// OpenBLAS's name for the kernels that fit this CPU's instruction set.
fn kernels_for_this_cpu() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f")
            && has!("avx512cd")
            && has!("avx512bw")
            && has!("avx512dq")
            && has!("avx512vl")
        {
            return Some("SkylakeX");
        }
        if has!("avx2") && has!("fma") {
            return Some("Haswell");
        }
    }
    None
}

type CoreName = unsafe extern "C" fn() -> *const c_char;
type Hook = unsafe extern "C" fn();

/// The three entry points of a runtime-dispatching OpenBLAS.
struct OpenBlas {
    core_name: CoreName,
    dynamic_init: Hook,
    dynamic_quit: Hook,
}

impl OpenBlas {
    fn find() -> Option<Self> {
        // SAFETY: dlsym with RTLD_DEFAULT searches the loaded objects; each
        // non-null result is the named function of OpenBLAS's C API
        // (`char *openblas_get_corename(void)`, `void gotoblas_dynamic_init(void)`,
        // `void gotoblas_dynamic_quit(void)`).
        unsafe {
            let symbol = |name: &CStr| libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
            let core_name = symbol(c"openblas_get_corename");
            let dynamic_init = symbol(c"gotoblas_dynamic_init");
            let dynamic_quit = symbol(c"gotoblas_dynamic_quit");
            if core_name.is_null() || dynamic_init.is_null() || dynamic_quit.is_null() {
                return None;
            }
            Some(Self {
                core_name: std::mem::transmute::<*mut libc::c_void, CoreName>(core_name),
                dynamic_init: std::mem::transmute::<*mut libc::c_void, Hook>(dynamic_init),
                dynamic_quit: std::mem::transmute::<*mut libc::c_void, Hook>(dynamic_quit),
            })
        }
    }

    fn core_name(&self) -> String {
        // SAFETY: OpenBLAS returns a pointer to a static, NUL-terminated name.
        unsafe {
            let name = (self.core_name)();
            if name.is_null() {
                return String::new();
            }
            CStr::from_ptr(name).to_string_lossy().trim().to_string()
        }
    }
}
