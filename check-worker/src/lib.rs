//! The health-check worker process.
//!
//! Runs every real server's checkers (TCP_CHECK, HTTP_GET, SSL_GET,
//! SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK) on one event
//! loop and reports health *changes* to the parent. MISC_CHECK scripts are
//! run by the parent's script runner at this worker's request, by script id.
//!
//! Privileges: none. It runs as an unprivileged user (`keepalived_script`
//! when it exists, else `nobody`) with no capabilities, no_new_privs,
//! seccomp and landlock, and never execs anything.
