//! Isolation between sessions and EL0 confinement, seen from the normal world. This module
//! owns two checks, both built from modules of the hostile bundle (tools/hostile-aot):
//!
//! - Confinement registers: with `CNTKCTL_EL1` = 0x303 (EL0 counter and timer access) and
//!   `PMUSERENR_EL0` = 0xf (EL0 PMU access) set by the normal world, the `timer-off` and `pmu`
//!   modules must still trap, and the normal world must get its own values back.
//! - Address-space isolation: the `isolation-victim` module runs in session 1, puts a marker
//!   in both pages of its linear memory and on its stack, writes its address record (code,
//!   data, stack, memory and stub addresses) and then more than the 4 KiB ring holds, so the
//!   run pauses (OUTPUT_PENDING) with everything of it mapped. At the first pause after the
//!   record arrived, the `isolation-attacker` module, patched with the victim's addresses,
//!   runs in session 2: it loads from every victim address (reading the marker is a leak:
//!   `brk`), stores to the victim's stack and memory addresses, and finally touches the
//!   victim's second page, which its own space does not have. The attacker must trap (not at
//!   the leak `brk`), its report must name no secure address, and the victim, resumed, must
//!   find every marker unchanged (it exits 0).

use core::fmt::Write as _;
use tzwasm_smc::args::ShmHandle;

use tzwasm_smc::ring::{SharedRegion, Stream};
use tzwasm_smc::runner::{
    load_report_offset, run_offset, Error as RunnerError, RunEnd, RunObserver, RunOutcome,
    RunRequest, Session, SharedArea,
};
use tzwasm_smc::Client;

use crate::checks::Smc;
use crate::hostile::{self, Case, Line, Watch};
use crate::println;
use crate::report::Report;

/// Work areas of the victim and the attacker (registered while the test runs).
/// Heap quota of each of the two sessions: both hold theirs at once (quotas are reserved at
/// SESSION_OPEN), so together they must fit in the pool; the modules need far less.
const ISOLATION_QUOTA: u64 = 4 << 20;
const VICTIM_AREA: u64 = 0x7f20_0000;
const ATTACKER_AREA: u64 = 0x7f30_0000;
const AREA_SIZE: u64 = 0x4_0000;
/// Bundle kind of the isolation modules, and their roles (tools/hostile-aot).
const KIND_ISOLATION: u32 = 4;
const ROLE_VICTIM: u32 = 0;
const ROLE_ATTACKER: u32 = 1;
/// First target number of the victim's addresses in the attacker's patches (Target::VictimCode).
const FIRST_VICTIM_TARGET: u32 = 6;
/// Bytes of the victim's address record: code, data, stack, memory, stubs.
const RECORD_LEN: usize = 40;

/// The bundle case called `name`.
fn find(name: &str) -> Option<Case> {
    let (count, len) = hostile::bundle().ok()?;
    (0..count)
        .filter_map(|i| hostile::case(i, len))
        .find(|c| c.name == name)
}

fn isolation_case(role: u32) -> Option<Case> {
    let (count, len) = hostile::bundle().ok()?;
    (0..count)
        .filter_map(|i| hostile::case(i, len))
        .find(|c| c.kind == KIND_ISOLATION && c.value == role)
}

fn cntkctl() -> u64 {
    use aarch64_cpu::registers::{Readable, CNTKCTL_EL1};
    CNTKCTL_EL1.get()
}

fn set_cntkctl(v: u64) {
    use aarch64_cpu::registers::{Writeable, CNTKCTL_EL1};
    CNTKCTL_EL1.set(v);
}

fn pmuserenr() -> u64 {
    let v: u64;
    // SAFETY: reading PMUSERENR_EL0 at EL1 has no side effects (aarch64-cpu has no wrapper).
    unsafe { core::arch::asm!("mrs {}, pmuserenr_el0", out(reg) v, options(nomem, nostack)) };
    v
}

fn set_pmuserenr(v: u64) {
    // SAFETY: PMUSERENR_EL0 only controls EL0 access to the PMU; the client runs nothing at
    // EL0.
    unsafe { core::arch::asm!("msr pmuserenr_el0, {}", in(reg) v, options(nomem, nostack)) };
}

/// The normal world opens EL0 access to counters, timers and the PMU before RUN: the timer
/// and PMU hostile modules must still trap, and the values must survive the runs.
fn confinement_checks(report: &mut Report) {
    let cases = [find("timer-off"), find("pmu")];
    if cases.iter().any(Option::is_none) {
        report.skip(
            "isolation: EL0 confinement registers",
            "no timer-off/pmu modules in the hostile bundle",
        );
        return;
    }
    let saved = (cntkctl(), pmuserenr());
    set_cntkctl(0x303);
    set_pmuserenr(0xf);
    for c in cases.iter().flatten() {
        let name = Line::of(format_args!(
            "isolation: CNTKCTL_EL1=0x303, PMUSERENR_EL0=0xf: {} still traps",
            c.name
        ));
        if !hostile::stage(c.file) {
            report.fail(name.as_str(), format_args!("cannot stage the module"));
            continue;
        }
        let mut watch = Watch::new(None);
        match hostile::load_and_run(c.file.len(), &mut watch) {
            Ok(r) => match hostile::judge(c, &r, &watch) {
                Ok(summary) => {
                    println!("  {}: {}", c.name, summary.as_str());
                    report.pass(name.as_str());
                }
                Err(why) => report.fail(name.as_str(), format_args!("{}", why.as_str())),
            },
            Err(e) => report.fail(name.as_str(), format_args!("{e}")),
        }
    }
    let after = (cntkctl(), pmuserenr());
    set_cntkctl(saved.0);
    set_pmuserenr(saved.1);
    report.check(
        "isolation: the normal world's CNTKCTL_EL1 and PMUSERENR_EL0 survive RUN",
        after == (0x303, 0xf),
        format_args!("read back CNTKCTL {:#x}, PMUSERENR {:#x}", after.0, after.1),
    );
}

fn area(handle: ShmHandle, at: u64) -> SharedArea<'static> {
    // SAFETY: [at, at + AREA_SIZE) is normal-world RAM only this module uses, registered as
    // `handle`; page-aligned, so never refused.
    let mem = unsafe { SharedRegion::new(at as *mut u8, AREA_SIZE as usize) }
        .expect("page-aligned work area");
    SharedArea { handle, mem }
}

/// Counts the attacker's output (it must write none).
struct Quiet {
    seen: u64,
}

impl RunObserver for Quiet {
    fn output(&mut self, _stream: Stream, out: &[u8]) {
        self.seen += out.len() as u64;
    }

    fn cancel_requested(&mut self) -> bool {
        true // the attacker never pauses: if it does, end it
    }
}

/// What the attack in session 2 came to.
struct Attack {
    outcome: Result<RunOutcome, RunnerError>,
    output: u64,
}

/// Loads the attacker patched with the victim's `record` into its own area and session, and
/// runs it.
fn attack(attacker: &Case, record: &[u64; 5]) -> Attack {
    let failed = |e| Attack {
        outcome: Err(e),
        output: 0,
    };
    let handle = match Smc.shm_register(ATTACKER_AREA, AREA_SIZE) {
        Ok(h) => h,
        Err(e) => return failed(RunnerError::Client(e)),
    };
    let a = area(handle, ATTACKER_AREA);
    let mut quiet = Quiet { seen: 0 };
    let outcome = (|| {
        let len = attacker.file.len();
        let report = load_report_offset(len).ok_or(RunnerError::BadRequest)?;
        let at = run_offset(len).ok_or(RunnerError::BadRequest)?;
        let patched = a.mem.write_bytes(0, attacker.file)
            && attacker.patches[..attacker.npatches]
                .iter()
                .all(|&(off, target, addend)| {
                    target
                        .checked_sub(FIRST_VICTIM_TARGET)
                        .and_then(|k| record.get(k as usize))
                        .is_some_and(|v| {
                            a.mem
                                .write_bytes(off as usize, &v.wrapping_add(addend).to_le_bytes())
                        })
                });
        if !patched {
            return Err(RunnerError::BadRequest);
        }
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, ISOLATION_QUOTA)?;
        session.load_at(&a, 0, len, report)?;
        let req = RunRequest {
            entry: b"",
            args: &[b"attacker"],
            env: &[],
            ring_capacity: 4096,
            receipt_nonce: None,
            stdin_capacity: None,
            files: None,
        };
        let r = session.run(&a, at, &req, &mut quiet)?;
        session.close()?;
        Ok(r)
    })();
    let unreg = Smc.shm_unregister(handle);
    Attack {
        outcome: unreg.map_err(RunnerError::Client).and(outcome),
        output: quiet.seen,
    }
}

/// The victim's observer: collects its address record and launches the attack at the first
/// drain after the record is complete.
struct Victim<'c> {
    attacker: &'c Case,
    record: [u8; RECORD_LEN],
    got: usize,
    stdout: u64,
    attack: Option<Attack>,
    pauses: u32,
}

impl Victim<'_> {
    fn addresses(&self) -> [u64; 5] {
        let mut a = [0u64; 5];
        for (k, w) in a.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.record[8 * k..8 * k + 8]);
            *w = u64::from_le_bytes(b);
        }
        a
    }
}

impl RunObserver for Victim<'_> {
    fn output(&mut self, stream: Stream, out: &[u8]) {
        if stream != Stream::Stdout {
            return;
        }
        for &b in out {
            if self.got < RECORD_LEN {
                self.record[self.got] = b;
                self.got += 1;
            }
        }
        self.stdout += out.len() as u64;
    }

    fn paused(&mut self, pause: u32, _ring: SharedRegion<'_>) -> bool {
        self.pauses = pause;
        true
    }

    fn drained(&mut self) {
        if self.got == RECORD_LEN && self.attack.is_none() && self.pauses > 0 {
            let record = self.addresses();
            self.attack = Some(attack(self.attacker, &record));
        }
    }

    fn cancel_requested(&mut self) -> bool {
        self.pauses > 100
    }
}

fn run_victim(victim: &Case, observer: &mut Victim<'_>) -> Result<RunOutcome, RunnerError> {
    let handle = Smc
        .shm_register(VICTIM_AREA, AREA_SIZE)
        .map_err(RunnerError::Client)?;
    let a = area(handle, VICTIM_AREA);
    let outcome = (|| {
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, ISOLATION_QUOTA)?;
        let loaded = session.load(&a, victim.file);
        loaded?;
        let at = run_offset(victim.file.len()).ok_or(RunnerError::BadRequest)?;
        let req = RunRequest {
            entry: b"",
            args: &[b"victim"],
            env: &[],
            ring_capacity: 4096,
            receipt_nonce: None,
            stdin_capacity: None,
            files: None,
        };
        let r = session.run(&a, at, &req, observer)?;
        session.close()?;
        Ok(r)
    })();
    let unreg = Smc.shm_unregister(handle);
    let outcome = outcome?;
    unreg.map_err(RunnerError::Client)?;
    Ok(outcome)
}

/// A paused victim in session 1, an attacker in session 2 aiming at its windows.
fn isolation_check(report: &mut Report) {
    let (Some(victim), Some(attacker)) =
        (isolation_case(ROLE_VICTIM), isolation_case(ROLE_ATTACKER))
    else {
        report.skip(
            "isolation: sessions",
            "no isolation modules in the hostile bundle",
        );
        return;
    };
    let baseline = Smc.pool_info().map(|p| p.used);
    let mut obs = Victim {
        attacker: &attacker,
        record: [0; RECORD_LEN],
        got: 0,
        stdout: 0,
        attack: None,
        pauses: 0,
    };
    let ran = run_victim(&victim, &mut obs);
    let rec = obs.addresses();
    println!(
        "isolation: victim code {:#x}, data {:#x}, stack {:#x}, memory {:#x}, stubs {:#x}; {} pauses",
        rec[0], rec[1], rec[2], rec[3], rec[4], obs.pauses
    );
    let Some(att) = obs.attack.take() else {
        report.fail(
            "isolation: attacker in session 2 runs while the victim is paused",
            format_args!(
                "the victim never paused with its record out ({} of {RECORD_LEN} bytes, {} pauses, run {:?})",
                obs.got,
                obs.pauses,
                ran.as_ref().map(|r| r.end)
            ),
        );
        return;
    };
    let mut detail = Line::of(format_args!(""));
    let attacker_ok = match &att.outcome {
        Ok(r) => {
            let msg = r.report.as_ref().map_or("", |rep| rep.message());
            let _ = write!(detail, "{:?}: {msg}", r.end);
            matches!(r.end, RunEnd::Trapped(_))
                && !msg.contains("EC 0x3c")
                && !msg.contains("FAR")
                && crate::hostile::names_no_secure_address(msg)
                && att.output == 0
        }
        Err(e) => {
            let _ = write!(detail, "{e}");
            false
        }
    };
    report.check(
        Line::of(format_args!(
            "isolation: attacker in session 2 traps on the victim's addresses: {}",
            detail.as_str()
        ))
        .as_str(),
        attacker_ok,
        format_args!(
            "expected a trap that is not the leak brk (EC 0x3c) and names no secure address, \
             no output (got {} bytes)",
            att.output
        ),
    );
    let victim_ok = matches!(&ran, Ok(r) if r.end == RunEnd::Exited(0));
    report.check(
        "isolation: the victim, resumed, finds its markers unchanged",
        victim_ok,
        format_args!(
            "victim run: {:?} ({})",
            ran.as_ref().map(|r| r.end),
            ran.as_ref()
                .ok()
                .and_then(|r| r.report.as_ref())
                .map_or("", |rep| rep.message())
        ),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "isolation: pool back to baseline after both sessions",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// Every check of this module.
pub fn isolation_checks(report: &mut Report) {
    confinement_checks(report);
    isolation_check(report);
}
