//! The multi-call `lifecycle` binary: `/cnb/lifecycle/<phase>` symlinks or
//! `lifecycle <phase> [flags]`. Everything is decided in `lifecycle::cli::dispatch`; this is
//! the one place that writes the final output and calls `process::exit`.

use lifecycle::cli::dispatch::{Outcome, dispatch};
use lifecycle::cli::env::Env;
use std::io::Write;

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = match dispatch(&argv, &Env::from_process()) {
        Outcome::Done => 0,
        Outcome::Failed(e) => {
            cnb::error!("{}", e.message);
            e.code.code()
        }
        Outcome::Usage { stderr, code } => {
            let _ = std::io::stderr().write_all(stderr.as_bytes());
            code.code()
        }
        Outcome::PrintInputs(json) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{json}");
            0
        }
    };
    std::process::exit(code);
}
