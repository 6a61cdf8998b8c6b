//! The IPVS worker process.
//!
//! Holds the desired IPVS table (virtual services and their real servers,
//! weights from the health the parent reports) and reconciles the kernel's
//! table to it over the generic netlink family "IPVS": it reads the table
//! back, diffs it and repairs only the entries it owns.
//!
//! Privileges: only CAP_NET_ADMIN, no_new_privs, and a seccomp allow-list
//! that permits netlink and little else.
