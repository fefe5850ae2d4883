//! `tzwasm-verify`: see `docs/verify.md` and `tzwasm-verify --help`. The logic is the library's
//! ([`tzwasm_verify::cli::run`]); this only prints and picks the exit code.

use std::io::Write as _;
use std::process::ExitCode;
use tzwasm_verify::cli::{run, Failure, USAGE};

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            match &f {
                Failure::Usage(msg) => {
                    let short = USAGE
                        .lines()
                        .skip(2)
                        .take_while(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join("\n");
                    eprintln!("tzwasm-verify: {msg}\n{short}");
                }
                Failure::Rejected(e) => eprintln!("tzwasm-verify: {e}"),
            }
            ExitCode::from(f.exit_code())
        }
    }
}
