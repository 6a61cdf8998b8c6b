//! The VRRP worker process.
//!
//! Runs the VRRP v2 (RFC 3768) and v3 (RFC 5798) state machines for every
//! configured `vrrp_instance`, IPv4 and IPv6, and performs their I/O:
//! raw IP protocol 112 sockets for adverts, VIP add/remove over rtnetlink,
//! gratuitous ARP and unsolicited neighbour advertisements.
//!
//! Privileges: started by the parent with its socketpair at a fixed fd; it
//! keeps only CAP_NET_RAW and CAP_NET_ADMIN (effective and permitted), an
//! empty bounding set, no_new_privs and a seccomp allow-list. It never reads
//! configuration files: the parent sends it its typed slice of the model.
