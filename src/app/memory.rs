//! Giving freed heap memory back to the system. An allocator keeps pages
//! freed by a burst of large requests for reuse, so the process's RSS would
//! stay at the burst's peak (measured with glibc: 477 MiB of a 513 MiB peak
//! still held 10 s after 200 large SubmitTranscript requests).

/// Returns free heap pages to the system: mimalloc's (Rust's allocations,
/// with the `mimalloc` feature) and glibc's (`malloc_trim`: whisper.cpp's
/// and every allocation without that feature); the latter is a no-op with
/// other C libraries.
pub fn release_freed_memory() {
    #[cfg(feature = "mimalloc")]
    // SAFETY: mi_collect only walks mimalloc's own heaps under its locks; it
    // takes no pointers from us and has no preconditions.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists under
    // its locks; it takes no pointers from us and has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
