//! Print each role's seccomp allow-list, one `ROLE CALL` per line (the
//! input of scripts/seccomp-audit.sh, which compares it with what the
//! workers really call under strace).

use sandbox::{Policy, PolicyRole};

fn main() {
    for role in [
        PolicyRole::Vrrp,
        PolicyRole::Check,
        PolicyRole::Ipvs,
        PolicyRole::Metrics,
    ] {
        for name in Policy::for_role(role).syscall_names() {
            println!("{} {name}", role.name());
        }
    }
}
