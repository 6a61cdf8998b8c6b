//! Seccomp: a small allow-list policy type and its compiler to classic BPF.
//!
//! A [`Policy`] is an ordered list of [`Rule`]s.  Each rule names one
//! system call, optional argument conditions (all must hold) and the
//! action taken when it matches.  Rules for the same call are tried in
//! order; the first that matches decides; a call with no matching rule
//! gets the policy's default action, [`Action::KillProcess`] for the
//! worker policies, so a worker that strays dies of SIGSYS and the parent
//! can log the fact.
//!
//! The compiled program checks the audit architecture first (a foreign
//! calling convention is killed), then runs one block per system call:
//!
//! ```text
//!   ld  arch ; jeq AUDIT_ARCH, +1 ; ret KILL_PROCESS
//!   ld  nr
//!   jeq nr_1, 0, +len(block_1) ; block_1 (conditions, ret action, ..., ret default)
//!   jeq nr_2, ...
//!   ret default
//! ```
//!
//! On x86_64 the x32 ABI (numbers with bit 30 set) never equals an allowed
//! number, so it reaches the default action.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, ErrorKind, Step};
use crate::sys;

pub use crate::policies::PolicyRole;

/// What the filter does with a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Let it run.
    Allow,
    /// Fail it with this errno without running it.
    Errno(u16),
    /// Kill the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS).
    KillProcess,
    /// Let it run and log it to the audit log (for measuring policies).
    Log,
}

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

impl Action {
    fn ret(self) -> u32 {
        match self {
            Action::Allow => RET_ALLOW,
            Action::Errno(e) => RET_ERRNO | u32::from(e),
            Action::KillProcess => RET_KILL_PROCESS,
            Action::Log => RET_LOG,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Allow => f.write_str("allow"),
            Action::Errno(e) => write!(f, "errno {e}"),
            Action::KillProcess => f.write_str("kill process"),
            Action::Log => f.write_str("log"),
        }
    }
}

/// How many bits of an argument a condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// The low 32 bits: for `int`/`unsigned int` parameters, which the
    /// kernel truncates to 32 bits itself (whatever the upper half holds).
    Low32,
    /// All 64 bits: for `long`, pointers and `size_t`.
    Full64,
}

/// `(arg[index] & mask) == value`, on the given width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    /// Argument number, 0..=5.
    pub arg: u8,
    /// Width of the comparison.
    pub width: Width,
    /// Bits compared.
    pub mask: u64,
    /// Expected value of the masked bits.
    pub value: u64,
}

impl Cond {
    /// A 32-bit argument equals `value`.
    pub const fn eq32(arg: u8, value: u32) -> Cond {
        Cond {
            arg,
            width: Width::Low32,
            mask: 0xffff_ffff,
            value: value as u64,
        }
    }

    /// `arg & mask == value` on a 32-bit argument.
    pub const fn masked32(arg: u8, mask: u32, value: u32) -> Cond {
        Cond {
            arg,
            width: Width::Low32,
            mask: mask as u64,
            value: value as u64,
        }
    }

    /// None of the bits of `bits` is set in a 32-bit argument.
    pub const fn clear32(arg: u8, bits: u32) -> Cond {
        Cond::masked32(arg, bits, 0)
    }

    /// A 64-bit argument equals `value`.
    pub const fn eq64(arg: u8, value: u64) -> Cond {
        Cond {
            arg,
            width: Width::Full64,
            mask: u64::MAX,
            value,
        }
    }

    /// `arg & mask == value` on a 64-bit argument.
    pub const fn masked64(arg: u8, mask: u64, value: u64) -> Cond {
        Cond {
            arg,
            width: Width::Full64,
            mask,
            value,
        }
    }
}

/// One entry of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The system call number for the running architecture.
    pub nr: i64,
    /// Its name (for reports).
    pub name: &'static str,
    /// Conditions, all of which must hold (none: any arguments).
    pub conds: Vec<Cond>,
    /// The action when the rule matches.
    pub action: Action,
    /// Why the role needs it.
    pub why: &'static str,
}

/// An ordered list of rules plus a default action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Name for reports (e.g. "vrrp").
    pub name: String,
    /// Rules in priority order.
    pub rules: Vec<Rule>,
    /// Action for calls no rule matches.
    pub default: Action,
}

/// One classic BPF instruction, laid out as `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARGS: u32 = 16;

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: Option<u32> = Some(0xc000_003e);
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: Option<u32> = Some(0xc000_00b7);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: Option<u32> = None;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// Offsets of the low and high 32-bit halves of argument `arg`.
fn arg_offsets(arg: u8) -> (u32, u32) {
    let base = DATA_ARGS + 8 * u32::from(arg);
    if cfg!(target_endian = "little") {
        (base, base + 4)
    } else {
        (base + 4, base)
    }
}

impl Policy {
    /// An empty policy with the given default action.
    pub fn new(name: impl Into<String>, default: Action) -> Policy {
        Policy {
            name: name.into(),
            rules: Vec::new(),
            default,
        }
    }

    /// Appends a rule.
    pub fn rule(
        mut self,
        nr: i64,
        name: &'static str,
        conds: &[Cond],
        action: Action,
        why: &'static str,
    ) -> Policy {
        self.rules.push(Rule {
            nr,
            name,
            conds: conds.to_vec(),
            action,
            why,
        });
        self
    }

    /// Allows a call with any arguments.
    pub fn allow(self, nr: i64, name: &'static str, why: &'static str) -> Policy {
        self.rule(nr, name, &[], Action::Allow, why)
    }

    /// Allows a call when all `conds` hold.
    pub fn allow_if(
        self,
        nr: i64,
        name: &'static str,
        conds: &[Cond],
        why: &'static str,
    ) -> Policy {
        self.rule(nr, name, conds, Action::Allow, why)
    }

    /// Fails a call (when all `conds` hold) with `errno` instead of killing.
    pub fn errno_if(
        self,
        nr: i64,
        name: &'static str,
        conds: &[Cond],
        errno: i32,
        why: &'static str,
    ) -> Policy {
        let errno = u16::try_from(errno).unwrap_or(libc::EPERM as u16);
        self.rule(nr, name, conds, Action::Errno(errno), why)
    }

    /// Removes every rule for the call named `name`.
    pub fn without(mut self, name: &str) -> Policy {
        self.rules.retain(|r| r.name != name);
        self
    }

    /// Whether some rule mentions the call named `name`.
    pub fn mentions(&self, name: &str) -> bool {
        self.rules.iter().any(|r| r.name == name)
    }

    /// The distinct call names, in rule order.
    pub fn syscall_names(&self) -> Vec<&'static str> {
        let mut seen = Vec::new();
        for r in &self.rules {
            if !seen.contains(&r.name) {
                seen.push(r.name);
            }
        }
        seen
    }

    /// Compiles to classic BPF for the running architecture.
    pub fn compile(&self) -> Result<Vec<Insn>, Error> {
        let arch =
            AUDIT_ARCH.ok_or_else(|| Error::new(Step::Seccomp, ErrorKind::UnsupportedArch))?;
        self.compile_for(arch)
    }

    /// Compiles with an explicit audit architecture value.
    pub fn compile_for(&self, audit_arch: u32) -> Result<Vec<Insn>, Error> {
        let bad = |what: String| Error::new(Step::Seccomp, ErrorKind::Policy(what));
        let default = self.default.ret();

        // Group rules by number, keeping their order inside a group.
        let mut groups: BTreeMap<u32, Vec<&Rule>> = BTreeMap::new();
        for r in &self.rules {
            let nr = u32::try_from(r.nr)
                .map_err(|_| bad(format!("{}: bad syscall number {}", r.name, r.nr)))?;
            for c in &r.conds {
                if c.arg > 5 {
                    return Err(bad(format!(
                        "{}: argument {} does not exist",
                        r.name, c.arg
                    )));
                }
                if c.width == Width::Low32 && (c.mask >> 32 != 0 || c.value >> 32 != 0) {
                    return Err(bad(format!(
                        "{}: 64-bit value in a 32-bit condition",
                        r.name
                    )));
                }
                if c.value & !c.mask != 0 {
                    return Err(bad(format!(
                        "{}: value {:#x} has bits outside mask {:#x}",
                        r.name, c.value, c.mask
                    )));
                }
            }
            groups.entry(nr).or_default().push(r);
        }

        let mut prog = vec![
            insn(BPF_LD_W_ABS, 0, 0, DATA_ARCH),
            insn(BPF_JEQ_K, 1, 0, audit_arch),
            insn(BPF_RET_K, 0, 0, RET_KILL_PROCESS),
            insn(BPF_LD_W_ABS, 0, 0, DATA_NR),
        ];
        for (nr, rules) in &groups {
            let block =
                compile_block(rules, default).map_err(|w| bad(format!("syscall {nr}: {w}")))?;
            let skip = u8::try_from(block.len()).map_err(|_| {
                bad(format!(
                    "syscall {nr}: {} instructions, over a jump's reach",
                    block.len()
                ))
            })?;
            prog.push(insn(BPF_JEQ_K, 0, skip, *nr));
            prog.extend(block);
        }
        prog.push(insn(BPF_RET_K, 0, 0, default));
        if prog.len() > MAX_INSNS {
            return Err(bad(format!(
                "{} instructions, the kernel takes {MAX_INSNS}",
                prog.len()
            )));
        }
        Ok(prog)
    }
}

/// One call's block: for each rule, its checks then `ret action`; a failed
/// check jumps to the next rule; after the last rule, `ret default`.
/// The accumulator holds the syscall number on entry and is clobbered.
fn compile_block(rules: &[&Rule], default: u32) -> Result<Vec<Insn>, String> {
    let mut block = Vec::new();
    for rule in rules {
        // Checks as (load offset, mask, value); a failing jeq jumps to the
        // instruction after this rule's `ret`.
        let mut checks: Vec<(u32, u32, u32)> = Vec::new();
        for c in &rule.conds {
            let (lo, hi) = arg_offsets(c.arg);
            checks.push((lo, c.mask as u32, c.value as u32));
            if c.width == Width::Full64 {
                checks.push((hi, (c.mask >> 32) as u32, (c.value >> 32) as u32));
            }
        }
        let len = |(_, mask, _): &(u32, u32, u32)| if *mask == u32::MAX { 2 } else { 3 };
        let mut remaining: usize = checks.iter().map(len).sum();
        for check in &checks {
            let (off, mask, value) = *check;
            remaining -= len(check);
            block.push(insn(BPF_LD_W_ABS, 0, 0, off));
            if mask != u32::MAX {
                block.push(insn(BPF_AND_K, 0, 0, mask));
            }
            // Skip the remaining checks and the `ret` of this rule.
            let jf = u8::try_from(remaining + 1).map_err(|_| "too many conditions".to_string())?;
            block.push(insn(BPF_JEQ_K, 0, jf, value));
        }
        block.push(insn(BPF_RET_K, 0, 0, rule.action.ret()));
        if rule.conds.is_empty() {
            // Unconditional: later rules for this call are unreachable.
            return Ok(block);
        }
    }
    block.push(insn(BPF_RET_K, 0, 0, default));
    Ok(block)
}

/// What [`apply_seccomp`] loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeccompReport {
    /// The policy's name.
    pub policy: String,
    /// Distinct system calls with rules.
    pub syscalls: usize,
    /// Instructions in the program.
    pub instructions: usize,
    /// The default action.
    pub default: Action,
}

impl fmt::Display for SeccompReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy {} ({} syscalls, {} BPF instructions, default {})",
            self.policy, self.syscalls, self.instructions, self.default
        )
    }
}

/// Compiles `policy` and loads it on every thread of the process
/// (SECCOMP_FILTER_FLAG_TSYNC).  Needs no_new_privs (or CAP_SYS_ADMIN).
/// Irreversible: from here on only the policy's calls work.
pub fn apply_seccomp(policy: &Policy) -> Result<SeccompReport, Error> {
    let prog = policy.compile()?;
    let raw: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    sys::seccomp_set_mode_filter(&raw, sys::SECCOMP_FILTER_FLAG_TSYNC).map_err(|e| {
        Error::sys(
            Step::Seccomp,
            format!(
                "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) of policy {}",
                policy.name
            ),
            e,
        )
    })?;
    Ok(SeccompReport {
        policy: policy.name.clone(),
        syscalls: policy.syscall_names().len(),
        instructions: prog.len(),
        default: policy.default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the four opcodes the compiler emits,
    /// run over a synthetic `seccomp_data`.
    fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => {
                    let o = i.k as usize;
                    acc = u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
                }
                BPF_AND_K => acc &= i.k,
                BPF_JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    const ARCH: u32 = 0xc000_003e;

    fn sample() -> Policy {
        Policy::new("t", Action::KillProcess)
            .allow(1, "write", "")
            .allow_if(
                41,
                "socket",
                &[Cond::eq32(0, 2), Cond::masked32(1, 0xf, 3)],
                "raw inet",
            )
            .allow_if(41, "socket", &[Cond::eq32(0, 16)], "netlink")
            .errno_if(41, "socket", &[Cond::eq32(0, 1)], libc::EACCES, "no unix")
            .allow_if(9, "mmap", &[Cond::clear32(2, 4)], "no exec")
            .allow_if(200, "big", &[Cond::eq64(1, 0x1_0000_0002)], "64-bit")
    }

    #[test]
    fn interpreter_agrees_with_the_rules() {
        let p = sample().compile_for(ARCH).unwrap();
        let kill = RET_KILL_PROCESS;
        assert_eq!(run(&p, ARCH, 1, [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, ARCH, 2, [0; 6]), kill, "unlisted");
        assert_eq!(run(&p, 0x4000_0003, 1, [0; 6]), kill, "foreign arch");
        assert_eq!(run(&p, ARCH, 1 | 0x4000_0000, [0; 6]), kill, "x32");
        // socket: AF_INET raw with flags, netlink, unix -> errno, others kill
        assert_eq!(
            run(&p, ARCH, 41, [2, 3 | 0x800 | 0x80000, 112, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, ARCH, 41, [2, 1, 0, 0, 0, 0]), kill);
        assert_eq!(run(&p, ARCH, 41, [16, 3, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            run(&p, ARCH, 41, [1, 1, 0, 0, 0, 0]),
            RET_ERRNO | libc::EACCES as u32
        );
        assert_eq!(run(&p, ARCH, 41, [10, 3, 0, 0, 0, 0]), kill);
        // 32-bit conditions ignore the upper half, as the kernel does for int
        assert_eq!(
            run(&p, ARCH, 41, [0xdead_0000_0000_0010, 3, 0, 0, 0, 0]),
            RET_ALLOW
        );
        // mmap without / with PROT_EXEC
        assert_eq!(run(&p, ARCH, 9, [0, 4096, 3, 0x22, u64::MAX, 0]), RET_ALLOW);
        assert_eq!(run(&p, ARCH, 9, [0, 4096, 5, 0x22, u64::MAX, 0]), kill);
        // 64-bit conditions look at both halves
        assert_eq!(
            run(&p, ARCH, 200, [0, 0x1_0000_0002, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(run(&p, ARCH, 200, [0, 0x2, 0, 0, 0, 0]), kill);
        assert_eq!(run(&p, ARCH, 200, [0, 0x1_0000_0003, 0, 0, 0, 0]), kill);
    }

    #[test]
    fn bad_policies_are_errors_not_panics() {
        let p = Policy::new("t", Action::KillProcess).allow_if(1, "x", &[Cond::eq32(6, 0)], "");
        assert!(p.compile_for(ARCH).is_err());
        let p =
            Policy::new("t", Action::KillProcess).allow_if(1, "x", &[Cond::masked32(0, 1, 2)], "");
        assert!(p.compile_for(ARCH).is_err());
        let p = Policy::new("t", Action::KillProcess).allow(-1, "x", "");
        assert!(p.compile_for(ARCH).is_err());
        // 50 conditions of 3 instructions each do not fit a jump offset.
        let conds: Vec<Cond> = (0..50).map(|_| Cond::masked64(0, 1, 1)).collect();
        let p = Policy::new("t", Action::KillProcess).allow_if(1, "x", &conds, "");
        let err = p.compile_for(ARCH).unwrap_err();
        assert_eq!(err.step(), Step::Seccomp);
    }

    #[test]
    fn role_policies_compile_and_decide() {
        for role in [
            PolicyRole::Vrrp,
            PolicyRole::Check,
            PolicyRole::Ipvs,
            PolicyRole::Metrics,
        ] {
            let p = Policy::for_role(role);
            let prog = p.compile().unwrap();
            assert!(prog.len() < MAX_INSNS, "{}", p.name);
            for name in [
                "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "unshare",
                "setns", "mount",
            ] {
                assert!(!p.mentions(name), "{} mentions {name}", p.name);
            }
            for r in &p.rules {
                assert!(!r.why.is_empty(), "{} {} undocumented", p.name, r.name);
            }
            let arch = AUDIT_ARCH.unwrap();
            assert_eq!(
                run(&prog, arch, libc::SYS_execve as u32, [0; 6]),
                RET_KILL_PROCESS
            );
            assert_eq!(run(&prog, arch, libc::SYS_read as u32, [0; 6]), RET_ALLOW);
        }
        let arch = AUDIT_ARCH.unwrap();
        let sock = libc::SYS_socket as u32;
        let (inet, inet6, netlink, packet, unix) = (2u64, 10u64, 16u64, 17u64, 1u64);
        let (stream, dgram, raw) = (1u64, 2u64, 3u64);
        let nb = 0x80800u64; // SOCK_NONBLOCK | SOCK_CLOEXEC
        let vrrp = Policy::vrrp().compile().unwrap();
        assert_eq!(
            run(&vrrp, arch, sock, [inet, raw | nb, 112, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&vrrp, arch, sock, [inet6, raw | nb, 112, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&vrrp, arch, sock, [netlink, raw | nb, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&vrrp, arch, sock, [packet, raw, 0x0608, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&vrrp, arch, sock, [inet, stream, 0, 0, 0, 0]),
            RET_KILL_PROCESS
        );
        let check = Policy::check().compile().unwrap();
        assert_eq!(
            run(&check, arch, sock, [inet, stream | nb, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&check, arch, sock, [inet6, dgram | nb, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&check, arch, sock, [inet, dgram, 1, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&check, arch, sock, [inet, raw, 1, 0, 0, 0]),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&check, arch, sock, [netlink, raw, 0, 0, 0, 0]),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&check, arch, sock, [unix, stream | nb, 0, 0, 0, 0]),
            RET_ERRNO | libc::EACCES as u32
        );
        let openat = libc::SYS_openat as u32;
        let at_fdcwd = libc::AT_FDCWD as u32 as u64;
        let rdonly = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        assert_eq!(
            run(&check, arch, openat, [at_fdcwd, 0, rdonly, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(
                &check,
                arch,
                openat,
                [at_fdcwd, 0, libc::O_WRONLY as u64, 0, 0, 0]
            ),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(
                &check,
                arch,
                openat,
                [at_fdcwd, 0, (libc::O_CREAT) as u64, 0, 0, 0]
            ),
            RET_KILL_PROCESS
        );
        let ipvs = Policy::ipvs().compile().unwrap();
        assert_eq!(
            run(&ipvs, arch, sock, [netlink, raw | nb, 16, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            run(&ipvs, arch, sock, [netlink, raw | nb, 0, 0, 0, 0]),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&ipvs, arch, sock, [inet, dgram, 0, 0, 0, 0]),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&ipvs, arch, openat, [at_fdcwd, 0, rdonly, 0, 0, 0]),
            RET_KILL_PROCESS
        );
    }
}
