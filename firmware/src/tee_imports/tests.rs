//! Host tests of the `tzwasm` import module: round trips through a fake with the real
//! crypto, and every hostile pointer and length the checks exist for.

use super::*;
use tzwasm_attest::{DeviceKeys, DeviceSecret};

/// A fake secure world: real keys and sealing, a counter for nonces, no token signing beyond
/// an echo of what it was asked to bind.
struct Fake {
    keys: Option<DeviceKeys>,
    module: [u8; 32],
    nonces: u8,
}

impl Fake {
    fn new(module: u8) -> Self {
        Fake {
            keys: DeviceKeys::derive(&DeviceSecret::new([0x5a; 32])).ok(),
            module: [module; 32],
            nonces: 0,
        }
    }
    fn keys(&self) -> Result<&DeviceKeys, Errno> {
        self.keys.as_ref().ok_or(Errno::NOTSUP)
    }
}

impl TeeServices for Fake {
    fn attest(
        &mut self,
        nonce: &[u8],
        user: &[u8],
        out: &mut [u8; MAX_TOKEN_LEN],
    ) -> Result<usize, Errno> {
        self.keys()?;
        out[..nonce.len()].copy_from_slice(nonce);
        out[nonce.len()..nonce.len() + user.len()].copy_from_slice(user);
        Ok(nonce.len() + user.len() + 100)
    }
    fn seal_in_place(&mut self, blob: &mut [u8]) -> Result<(), Errno> {
        self.nonces += 1;
        let nonce = [self.nonces; 24];
        tzwasm_attest::seal::seal_in_place(self.keys()?, &self.module, &nonce, blob)
            .map_err(|_| Errno::INVAL)
    }
    fn unseal_in_place(
        &mut self,
        head: &[u8; HEADER_LEN],
        tag: &[u8; TAG_LEN],
        data: &mut [u8],
    ) -> Result<(), Errno> {
        tzwasm_attest::seal::unseal_in_place(self.keys()?, &self.module, head, tag, data)
            .map_err(|_| Errno::BADMSG)
    }
}

const MEM: usize = 64 << 10;

fn call_with(f: TeeFunc, svc: &mut Fake, mem: &mut [u8], args: &[u32]) -> Errno {
    let args: Vec<u64> = args.iter().map(|&a| u64::from(a)).collect();
    call(f, svc, &mut GuestMemory::from_slice(mem), &args)
}

fn get32(mem: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(mem[at..at + 4].try_into().unwrap())
}

#[test]
fn lookup_wants_the_exact_type() {
    let i = |n| FuncType {
        params: vec![ValType::I32; n],
        results: vec![ValType::I32],
    };
    assert_eq!(lookup("tzwasm", "attest", &i(7)), Some(TeeFunc::Attest));
    assert_eq!(lookup("tzwasm", "seal", &i(5)), Some(TeeFunc::Seal));
    assert_eq!(lookup("tzwasm", "unseal", &i(5)), Some(TeeFunc::Unseal));
    assert_eq!(lookup("tzwasm", "seal", &i(4)), None);
    assert_eq!(lookup("env", "seal", &i(5)), None);
    assert_eq!(lookup("tzwasm", "open", &i(5)), None);
    let mut wrong = i(5);
    wrong.params[2] = ValType::I64;
    assert_eq!(lookup("tzwasm", "seal", &wrong), None);
    wrong = i(5);
    wrong.results.clear();
    assert_eq!(lookup("tzwasm", "seal", &wrong), None);
    for (f, _) in TeeFunc::ALL {
        assert_eq!(TeeFunc::from_id(f.id()), Some(f));
    }
}

#[test]
fn seal_then_unseal_round_trips_and_binds_the_module() {
    let mut mem = vec![0u8; MEM];
    let secret = b"provisioned secret, 32 bytes...!";
    mem[0x100..0x100 + secret.len()].copy_from_slice(secret);
    let mut fake = Fake::new(1);
    let (data, blob, out) = (0x100u32, 0x1000u32, 0x3000u32);
    let n = secret.len() as u32;
    assert_eq!(
        call_with(
            TeeFunc::Seal,
            &mut fake,
            &mut mem,
            &[data, n, blob, 0x400, 0x10]
        ),
        Errno::SUCCESS
    );
    let blob_len = get32(&mem, 0x10);
    assert_eq!(blob_len, n + OVERHEAD as u32);
    assert!(!mem[0x1000..0x1400]
        .windows(secret.len())
        .any(|w| w == secret));
    assert_eq!(
        call_with(
            TeeFunc::Unseal,
            &mut fake,
            &mut mem,
            &[blob, blob_len, out, 0x400, 0x14]
        ),
        Errno::SUCCESS
    );
    assert_eq!(get32(&mem, 0x14), n);
    assert_eq!(&mem[0x3000..0x3000 + secret.len()], secret);
    // Another module (another measurement) cannot open it, and gets no plaintext.
    mem[0x3000..0x3400].fill(0xee);
    let mut other = Fake::new(2);
    assert_eq!(
        call_with(
            TeeFunc::Unseal,
            &mut other,
            &mut mem,
            &[blob, blob_len, out, 0x400, 0x14]
        ),
        Errno::BADMSG
    );
    assert!(mem[0x3000..0x3000 + secret.len()].iter().all(|&b| b == 0));
    // Any changed byte is refused the same way.
    for i in 0..blob_len as usize {
        let mut bad = mem.clone();
        bad[0x1000 + i] ^= 0x80;
        assert_eq!(
            call_with(
                TeeFunc::Unseal,
                &mut fake,
                &mut bad,
                &[blob, blob_len, out, 0x400, 0x14]
            ),
            Errno::BADMSG,
            "byte {i}"
        );
        assert!(bad[0x3000..0x3000 + secret.len()].iter().all(|&b| b == 0));
    }
    // Truncated: shorter blobs fail, down to ones too short to be a blob.
    for len in [blob_len - 1, OVERHEAD as u32, OVERHEAD as u32 - 1, 0] {
        assert_eq!(
            call_with(
                TeeFunc::Unseal,
                &mut fake,
                &mut mem.clone(),
                &[blob, len, out, 0x400, 0x14]
            ),
            Errno::BADMSG,
            "len {len}"
        );
    }
}

#[test]
fn small_outputs_say_what_they_need() {
    let mut mem = vec![0u8; MEM];
    let mut fake = Fake::new(1);
    assert_eq!(
        call_with(
            TeeFunc::Seal,
            &mut fake,
            &mut mem,
            &[0x100, 10, 0x1000, 10 + OVERHEAD as u32 - 1, 0x10]
        ),
        Errno::NOBUFS
    );
    assert_eq!(get32(&mem, 0x10), 10 + OVERHEAD as u32);
    assert!(
        mem[0x1000..0x1100].iter().all(|&b| b == 0),
        "nothing written"
    );
    assert_eq!(
        call_with(
            TeeFunc::Seal,
            &mut fake,
            &mut mem,
            &[0x100, 10, 0x1000, 10 + OVERHEAD as u32, 0x10]
        ),
        Errno::SUCCESS
    );
    assert_eq!(
        call_with(
            TeeFunc::Unseal,
            &mut fake,
            &mut mem,
            &[0x1000, 10 + OVERHEAD as u32, 0x2000, 9, 0x14]
        ),
        Errno::NOBUFS
    );
    assert_eq!(get32(&mem, 0x14), 10);
    // attest: a token longer than the buffer.
    assert_eq!(
        call_with(
            TeeFunc::Attest,
            &mut fake,
            &mut mem,
            &[0x100, 32, 0x200, 8, 0x4000, 100, 0x18]
        ),
        Errno::NOBUFS
    );
    assert_eq!(get32(&mem, 0x18), 32 + 8 + 100);
    assert_eq!(
        call_with(
            TeeFunc::Attest,
            &mut fake,
            &mut mem,
            &[0x100, 32, 0x200, 8, 0x4000, 140, 0x18]
        ),
        Errno::SUCCESS
    );
    assert_eq!(&mem[0x4000..0x4020], &mem[0x100..0x120].to_vec()[..]);
}

#[test]
fn hostile_pointers_and_lengths_are_refused_before_anything_is_written() {
    let top = MEM as u32;
    let wrap = u32::MAX - 15;
    // (function, args, errno)
    let cases: &[(TeeFunc, [u32; 7], Errno)] = &[
        // Lengths first.
        (
            TeeFunc::Attest,
            [0x100, 31, 0, 0, 0x1000, 0x800, 0x10],
            Errno::INVAL,
        ),
        (
            TeeFunc::Attest,
            [0x100, 65, 0, 0, 0x1000, 0x800, 0x10],
            Errno::INVAL,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0x200, 257, 0x1000, 0x800, 0x10],
            Errno::INVAL,
        ),
        (
            TeeFunc::Seal,
            [0x100, MAX_SEAL_DATA + 1, 0x1000, u32::MAX, 0x10, 0, 0],
            Errno::INVAL,
        ),
        (
            TeeFunc::Unseal,
            [
                0x100,
                MAX_SEAL_DATA + OVERHEAD as u32 + 1,
                0x9000,
                0x100,
                0x10,
                0,
                0,
            ],
            Errno::INVAL,
        ),
        // Wild, past the end, wrapping.
        (
            TeeFunc::Attest,
            [top, 32, 0, 0, 0x1000, 0x800, 0x10],
            Errno::FAULT,
        ),
        (
            TeeFunc::Attest,
            [wrap, 32, 0, 0, 0x1000, 0x800, 0x10],
            Errno::FAULT,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, wrap, 64, 0x1000, 0x800, 0x10],
            Errno::FAULT,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0, 0, top - 10, 0x800, 0x10],
            Errno::FAULT,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0, 0, 0x1000, 0x800, top - 3],
            Errno::FAULT,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0, 0, 0x1000, 0x800, u32::MAX],
            Errno::FAULT,
        ),
        (
            TeeFunc::Seal,
            [wrap, 32, 0x1000, 0x100, 0x10, 0, 0],
            Errno::FAULT,
        ),
        (
            TeeFunc::Seal,
            [0x100, 32, wrap, 0x100, 0x10, 0, 0],
            Errno::FAULT,
        ),
        (
            TeeFunc::Seal,
            [0x100, 32, 0x1000, top, 0x10, 0, 0],
            Errno::FAULT,
        ),
        (
            TeeFunc::Seal,
            [0x100, 32, 0x1000, 0x100, top - 2, 0, 0],
            Errno::FAULT,
        ),
        (
            TeeFunc::Unseal,
            [top - 60, 100, 0x1000, 0x100, 0x10, 0, 0],
            Errno::FAULT,
        ),
        (
            TeeFunc::Unseal,
            [0x100, 100, wrap, 0x100, 0x10, 0, 0],
            Errno::FAULT,
        ),
        (
            TeeFunc::Unseal,
            [0x100, 100, 0x1000, 0x100, wrap, 0, 0],
            Errno::FAULT,
        ),
        // Overlaps.
        (
            TeeFunc::Attest,
            [0x1000, 32, 0, 0, 0x1000, 0x800, 0x10],
            Errno::INVAL,
        ),
        (
            TeeFunc::Attest,
            [0x17f0, 32, 0, 0, 0x1000, 0x800, 0x10],
            Errno::INVAL,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0x1004, 4, 0x1000, 0x800, 0x10],
            Errno::INVAL,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0, 0, 0x1000, 0x800, 0x1100],
            Errno::INVAL,
        ),
        (
            TeeFunc::Attest,
            [0x100, 32, 0, 0, 0x1000, 0x800, 0x11e],
            Errno::INVAL,
        ),
        (
            TeeFunc::Seal,
            [0x100, 32, 0x110, 0x100, 0x10, 0, 0],
            Errno::INVAL,
        ),
        (
            TeeFunc::Seal,
            [0x100, 32, 0x1000, 0x100, 0x1010, 0, 0],
            Errno::INVAL,
        ),
        (
            TeeFunc::Seal,
            [0x100, 32, 0x1000, 0x100, 0x11c, 0, 0],
            Errno::INVAL,
        ),
        (
            TeeFunc::Unseal,
            [0x100, 100, 0x140, 0x100, 0x10, 0, 0],
            Errno::INVAL,
        ),
        (
            TeeFunc::Unseal,
            [0x100, 100, 0x1000, 0x100, 0x1050, 0, 0],
            Errno::INVAL,
        ),
        (
            TeeFunc::Unseal,
            [0x100, 100, 0x1000, 0x100, 0x160, 0, 0],
            Errno::INVAL,
        ),
    ];
    for (f, a, want) in cases {
        let mut fake = Fake::new(1);
        let mut mem = vec![0u8; MEM];
        mem[0x100..0x200].fill(0x11);
        let before = mem.clone();
        let n = f.params();
        assert_eq!(
            call_with(*f, &mut fake, &mut mem, &a[..n]),
            *want,
            "{f:?} {a:x?}"
        );
        assert!(mem == before, "{f:?} {a:x?} wrote to memory");
    }
}

#[test]
fn without_an_identity_nothing_is_served() {
    let mut fake = Fake::new(1);
    fake.keys = None;
    let mut mem = vec![0u8; MEM];
    assert_eq!(
        call_with(
            TeeFunc::Attest,
            &mut fake,
            &mut mem,
            &[0x100, 32, 0, 0, 0x1000, 0x800, 0x10]
        ),
        Errno::NOTSUP
    );
    assert_eq!(
        call_with(
            TeeFunc::Seal,
            &mut fake,
            &mut mem,
            &[0x100, 32, 0x1000, 0x100, 0x10]
        ),
        Errno::NOTSUP
    );
}

/// Deterministic random arguments: every call answers an errno and never writes outside
/// what it is allowed to (here: the memory vector itself is the bound; a panic fails).
#[test]
fn random_arguments_never_panic() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        match s % 5 {
            0 => (s >> 8) as u32,
            1 => (s % 0x11000) as u32,
            2 => u32::MAX - (s % 64) as u32,
            3 => [32, 48, 64, 0, OVERHEAD as u32][(s % 5) as usize],
            _ => ((s >> 20) % 64) as u32 * 1024,
        }
    };
    let mut fake = Fake::new(3);
    let mut mem = vec![0u8; MEM];
    for _ in 0..20_000 {
        let a: [u32; 7] = core::array::from_fn(|_| next());
        for (f, _) in TeeFunc::ALL {
            let _ = call_with(f, &mut fake, &mut mem, &a[..f.params()]);
        }
    }
}
