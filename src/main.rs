//! The `callscore` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // SAFETY: the first statement of `main`: no other thread of this process
    // touches the environment yet, and no BLAS routine has run.
    #[cfg(feature = "openblas")]
    unsafe {
        callscore::transcribe::blas_kernels::fit_to_cpu();
    }
    let cli = callscore::cli::Cli::parse();
    match cli.run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(callscore::cli::exit_code(&error))
        }
    }
}
