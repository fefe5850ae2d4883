//! The command line: hand-parsed arguments, files read, the checks run, the report returned.
//!
//! [`run`] returns what to print on stdout, or a [`Failure`]: a usage error (exit code 2) or a
//! rejected token (exit code 1, one `tzwasm-verify: <reason>` line).

use crate::decode::{Hash, MAX_TOKEN_FILE};
use crate::report::unhex;
use crate::{Error, Expect, ExpectReceipt, StreamExpect};
use std::ffi::{OsStr, OsString};
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// `--help`.
pub const USAGE: &str = "\
tzwasm-verify: check a tzwasm (or any PSA, RFC 9783) attestation token or signed run receipt

usage:
  tzwasm-verify token   TOKEN.cbor --key KEY.pem [--nonce HEX] [--firmware HEX | --bl32 FILE]
                        [--module FILE.aot] [--user-data HEX]
  tzwasm-verify receipt RECEIPT.cbor --key KEY.pem [--nonce HEX] [--firmware HEX | --bl32 FILE]
                        [--module FILE.aot] [--user-data HEX] [--stdout FILE] [--stderr FILE]
                        [--stdin FILE] [--exit CODE]
                        [--entry NAME] [--arg A]... [--env K=V]...
  tzwasm-verify encrypt TOKEN.cbor --key KEY.pem --nonce HEX (--firmware HEX | --bl32 FILE)
                        --module FILE.aot --secret FILE --out FILE
  tzwasm-verify show    TOKEN.cbor
  tzwasm-verify --help

options:
  --key KEY.pem     the device's attestation key: a PEM public key (SubjectPublicKeyInfo), or a
                    PEM EC private key (SEC1 or PKCS#8) whose public half is used, or a raw SEC1
                    point; the signature (COSE_Sign1, ES256) must verify with it
  --nonce HEX       the nonce the verifier sent (32, 48 or 64 bytes)
  --firmware HEX    the expected SHA-256 of the firmware (the BL32 software component)
  --bl32 FILE       the same, computed from the BL32 image (build/bl32.bin)
  --module FILE     the expected module: the WASM-AOT component must be SHA-256 of FILE
  --user-data HEX   the data the module bound into the token
  --stdout FILE     receipt: the run's stdout must be exactly FILE's bytes (digest and length)
  --stderr FILE     receipt: the same for stderr
  --stdin FILE      receipt: the module read exactly FILE's bytes from stdin
  --exit CODE       receipt: the run exited (not trapped or cancelled) with exit code CODE
  --entry NAME      receipt: the exported function the run called (default: _start, \"\")
  --arg A           receipt: one argv element, the program name first; repeat in order
  --env K=V         receipt: one environment variable; repeat in order
                    (--entry, --arg or --env makes the args digest checked)
  --secret FILE     encrypt: the secret to provision (1 to 16384 bytes)
  --out FILE        encrypt: where the envelope goes (TZP1, binary), readable only by the module
                    that generated the public key in the token's user data
  Values may also be given as --option=VALUE.

On success the claims are printed, one `name: value` a line, and last
`verified: <the checks made>`; exit code 0. A rejected token prints one line
`tzwasm-verify: <reason>` on stderr and exits with 1; a usage error exits with 2.
`encrypt` checks the token as `token` does (--nonce, --module and the firmware are required),
then that the module asked for it itself (client id 1) with a P-256 public key as user data,
and encrypts the secret to that key; last line `encrypted: ...`.
`show` decodes and prints without checking anything: its output says \"signature NOT checked\".
";

/// Why [`run`] did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The command line is wrong (exit code 2).
    Usage(String),
    /// The token was rejected or a file could not be read (exit code 1).
    Rejected(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Rejected(e)
    }
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Rejected(_) => 1,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Token,
    Receipt,
    Encrypt,
    Show,
}

#[derive(Default)]
struct Options {
    file: Option<PathBuf>,
    key: Option<PathBuf>,
    nonce: Option<Vec<u8>>,
    firmware: Option<Hash>,
    bl32: Option<PathBuf>,
    module: Option<PathBuf>,
    user_data: Option<Vec<u8>>,
    stdout: Option<PathBuf>,
    stderr: Option<PathBuf>,
    stdin: Option<PathBuf>,
    exit: Option<u64>,
    entry: Option<Vec<u8>>,
    argv: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    args_given: bool,
    secret: Option<PathBuf>,
    out: Option<PathBuf>,
    help: bool,
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure::Usage(msg.into())
}

fn hex_value(name: &str, v: &OsStr) -> Result<Vec<u8>, Failure> {
    v.to_str()
        .and_then(unhex)
        .ok_or_else(|| usage(format!("{name}: not hex: {}", v.to_string_lossy())))
}

fn parse(cmd: Command, args: &[OsString]) -> Result<Options, Failure> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--help" || bytes == b"-h" {
            o.help = true;
            return Ok(o);
        }
        if !bytes.starts_with(b"--") || bytes == b"--" {
            if o.file.replace(PathBuf::from(arg)).is_some() {
                return Err(usage(format!(
                    "one file only (extra: {})",
                    arg.to_string_lossy()
                )));
            }
            continue;
        }
        let (name, inline) = match bytes.iter().position(|&b| b == b'=') {
            Some(at) => (
                String::from_utf8_lossy(bytes.get(..at).unwrap_or_default()).into_owned(),
                Some(OsStr::from_bytes(bytes.get(at + 1..).unwrap_or_default()).to_owned()),
            ),
            None => (arg.to_string_lossy().into_owned(), None),
        };
        let receipt_only = [
            "--stdout", "--stderr", "--stdin", "--exit", "--entry", "--arg", "--env",
        ];
        let encrypt_only = ["--secret", "--out"];
        let known = [
            "--key",
            "--nonce",
            "--firmware",
            "--bl32",
            "--module",
            "--user-data",
        ];
        let allowed = match cmd {
            Command::Show => false,
            Command::Token => known.contains(&name.as_str()),
            Command::Receipt => {
                known.contains(&name.as_str()) || receipt_only.contains(&name.as_str())
            }
            // The user data is the recipient key: there is nothing to compare it with.
            Command::Encrypt => {
                (known.contains(&name.as_str()) && name != "--user-data")
                    || encrypt_only.contains(&name.as_str())
            }
        };
        if !allowed {
            return Err(usage(format!("unknown option {name}")));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| usage(format!("{name} needs a value")))?,
        };
        let path = || PathBuf::from(&value);
        match name.as_str() {
            "--key" => o.key = Some(path()),
            "--nonce" => o.nonce = Some(hex_value(&name, &value)?),
            "--firmware" => {
                let h = hex_value(&name, &value)?;
                o.firmware = Some(
                    Hash::try_from(h)
                        .map_err(|_| usage("--firmware: a SHA-256 is 32 bytes (64 hex digits)"))?,
                );
            }
            "--bl32" => o.bl32 = Some(path()),
            "--module" => o.module = Some(path()),
            "--user-data" => o.user_data = Some(hex_value(&name, &value)?),
            "--stdout" => o.stdout = Some(path()),
            "--stderr" => o.stderr = Some(path()),
            "--stdin" => o.stdin = Some(path()),
            "--exit" => {
                let text = value.to_string_lossy();
                o.exit = Some(
                    text.parse()
                        .map_err(|_| usage(format!("--exit: {text} is not an exit code")))?,
                );
            }
            "--secret" => o.secret = Some(path()),
            "--out" => o.out = Some(path()),
            "--entry" => {
                o.entry = Some(value.as_bytes().to_vec());
                o.args_given = true;
            }
            "--arg" => {
                o.argv.push(value.as_bytes().to_vec());
                o.args_given = true;
            }
            "--env" => {
                if !value.as_bytes().contains(&b'=') {
                    return Err(usage(format!(
                        "--env: {} is not KEY=VALUE",
                        value.to_string_lossy()
                    )));
                }
                o.env.push(value.as_bytes().to_vec());
                o.args_given = true;
            }
            _ => return Err(usage(format!("unknown option {name}"))),
        }
    }
    if o.firmware.is_some() && o.bl32.is_some() {
        return Err(usage("--firmware and --bl32 are the same check: give one"));
    }
    if o.file.is_none() {
        return Err(usage("no token file given"));
    }
    if cmd != Command::Show && o.key.is_none() {
        return Err(usage("--key KEY.pem is required"));
    }
    if cmd == Command::Encrypt {
        // A secret goes only to a module whose token is fresh, on firmware and as code the
        // verifier named.
        let missing: Vec<&str> = [
            (o.nonce.is_none(), "--nonce"),
            (
                o.firmware.is_none() && o.bl32.is_none(),
                "--firmware or --bl32",
            ),
            (o.module.is_none(), "--module"),
            (o.secret.is_none(), "--secret"),
            (o.out.is_none(), "--out"),
        ]
        .into_iter()
        .filter_map(|(m, name)| m.then_some(name))
        .collect();
        if !missing.is_empty() {
            return Err(usage(format!("encrypt needs {}", missing.join(", "))));
        }
    }
    Ok(o)
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

fn read_token(path: &Path) -> Result<Vec<u8>, Error> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

/// Reads at most [`crate::provision::MAX_SECRET`] + 1 bytes (enough to tell it is too large).
fn read_secret(path: &Path) -> Result<Vec<u8>, Error> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(crate::provision::MAX_SECRET as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

fn stream(path: &Path) -> Result<StreamExpect, Error> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    StreamExpect::of_reader(std::io::BufReader::new(file))
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// Runs the tool on its arguments (without the program name); returns what to print.
pub fn run(args: &[OsString]) -> Result<String, Failure> {
    let Some((first, rest)) = args.split_first() else {
        return Err(usage(
            "no command (token, receipt, encrypt or show; --help)",
        ));
    };
    if first == "--help" || first == "-h" || first == "help" {
        return Ok(USAGE.to_string());
    }
    let cmd = match first.to_str() {
        Some("token") => Command::Token,
        Some("receipt") => Command::Receipt,
        Some("encrypt") => Command::Encrypt,
        Some("show") => Command::Show,
        _ => {
            return Err(usage(format!(
                "unknown command {} (token, receipt, encrypt or show; --help)",
                first.to_string_lossy()
            )))
        }
    };
    let o = parse(cmd, rest)?;
    if o.help {
        return Ok(USAGE.to_string());
    }
    let token = read_token(o.file.as_deref().unwrap_or(Path::new("")))?;
    if cmd == Command::Show {
        let (envelope, claims) = crate::decode_unverified(&token)?;
        return Ok(format!(
            "{}{}signature NOT checked (nor anything else)\n",
            crate::report::format_header(&envelope),
            crate::report::format_claims(&claims)
        ));
    }
    let key = crate::load_key(&read(o.key.as_deref().unwrap_or(Path::new("")))?)?;
    let firmware = match (&o.firmware, &o.bl32) {
        (Some(h), _) => Some(*h),
        (None, Some(p)) => Some(crate::sha256(&read(p)?)),
        (None, None) => None,
    };
    let module = o
        .module
        .as_deref()
        .map(|p| read(p).map(|b| crate::sha256(&b)))
        .transpose()?;
    let expect = Expect {
        nonce: o.nonce.clone(),
        firmware,
        module,
        user_data: o.user_data.clone(),
    };
    let verified = match cmd {
        Command::Receipt => {
            let run = ExpectReceipt {
                stdout: o.stdout.as_deref().map(stream).transpose()?,
                stderr: o.stderr.as_deref().map(stream).transpose()?,
                stdin: o.stdin.as_deref().map(stream).transpose()?,
                exit_code: o.exit,
                args_digest: o.args_given.then(|| {
                    crate::args_digest(o.entry.as_deref().unwrap_or_default(), &o.argv, &o.env)
                }),
            };
            crate::verify_receipt(&token, &key, &expect, &run)?
        }
        Command::Encrypt => return encrypt(&token, &key, &expect, &o),
        _ => crate::verify_token(&token, &key, &expect)?,
    };
    Ok(verified.report())
}

/// `encrypt`: the token's checks, the recipient key, then the envelope written to `--out`.
fn encrypt(
    token: &[u8],
    key: &p256::ecdsa::VerifyingKey,
    expect: &Expect,
    o: &Options,
) -> Result<String, Failure> {
    let mut verified = crate::verify_token(token, key, expect)?;
    let recipient = crate::provision::recipient(&verified.claims)?;
    verified.checked.push("recipient key (P-256)");
    let secret = read_secret(o.secret.as_deref().unwrap_or(Path::new("")))?;
    let envelope = crate::provision::encrypt(&recipient, &secret)?;
    let out = o.out.as_deref().unwrap_or(Path::new(""));
    std::fs::write(out, &envelope).map_err(|e| Error::Write(format!("{}: {e}", out.display())))?;
    Ok(format!(
        "{}encrypted: {} bytes of secret to the module's key -> {} ({} bytes, TZP1)\n",
        verified.report(),
        secret.len(),
        out.display(),
        envelope.len()
    ))
}
