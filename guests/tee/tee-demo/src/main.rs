//! tee-demo: the `tzwasm` imports from the command line, for tests and the README.
//!
//! ```text
//! tee-demo seal TEXT          prints the sealed blob as hex
//! tee-demo unseal HEX         prints the text sealed in the blob (exit 1 if it does not open)
//! tee-demo attest NONCE USER  prints the token as hex (NONCE and USER as hex)
//! ```

use std::process::ExitCode;
use tzwasm_guest::{hex, unhex};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let result = match arg(1) {
        "seal" => tzwasm_guest::seal(arg(2).as_bytes()).map(|b| hex(&b)),
        "unseal" => match unhex(arg(2)) {
            Some(blob) => {
                tzwasm_guest::unseal(&blob).map(|d| String::from_utf8_lossy(&d).into_owned())
            }
            None => Err(tzwasm_guest::Error::Invalid),
        },
        "attest" => match (unhex(arg(2)), unhex(arg(3))) {
            (Some(nonce), Some(user)) => tzwasm_guest::attest(&nonce, &user).map(|t| hex(&t)),
            _ => Err(tzwasm_guest::Error::Invalid),
        },
        _ => {
            eprintln!("usage: tee-demo seal TEXT | unseal HEX | attest NONCE_HEX USER_HEX");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tee-demo: {}: {e}", arg(1));
            ExitCode::FAILURE
        }
    }
}
