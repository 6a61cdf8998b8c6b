//! nftables over NETLINK_NETFILTER, with an encoder of our own: the
//! tables keepalived 2.2.7 installs for instances that do not accept
//! traffic to their VIPs (`vrrp_strict`, `no_accept`), rule for rule and
//! expression for expression as `nft --debug=netlink` shows keepalived's:
//!
//! ```text
//! table ip keepalived {
//!     set vips { type ipv4_addr }
//!     chain out { type filter hook output priority filter - 1; policy accept;
//!         ip saddr @vips drop }
//!     chain in { type filter hook input priority filter - 1; policy accept;
//!         ip daddr @vips drop }
//! }
//! table ip6 keepalived {
//!     set vips { type ipv6_addr }
//!     set neighbor-discovery { type icmpv6_type; flags constant;
//!         elements = { nd-neighbor-solicit, nd-neighbor-advert } }
//!     set vips_link_local { type ipv6_addr . iface_index }
//!     chain out { ... icmpv6 type @neighbor-discovery accept
//!         ip6 saddr fe80::/10 goto out_link_local
//!         ip6 saddr @vips drop }
//!     chain in { ... the same with daddr, goto in_link_local }
//!     chain in_link_local { ip6 daddr . iif @vips_link_local drop }
//!     chain out_link_local { ip6 saddr . oif @vips_link_local drop }
//! }
//! ```
//!
//! `global_defs`' `nftables TABLE` names both tables, `nftables_priority`
//! sets the base chains' priority (default -1), `nftables_counters` puts a
//! counter before every rule's verdict. The link-local sets are made when
//! a first link-local VIP needs one: `vips_link_local` (by interface
//! index), or for a `dont_track_primary` instance without
//! `nftables_ifindex` `vips_link_local_name` (`ip6 daddr . iifname`).
//!
//! Each change is one batch (NFNL_MSG_BATCH_BEGIN ... END), applied
//! atomically by the kernel, every message acknowledged.

use super::netlink::{Msg, messages};
use crate::sys::{self, SockAddr};
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

const NETLINK_NETFILTER: i32 = 12;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;

const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;

pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NFT_GOTO: u32 = -4i32 as u32;
const NFT_SET_CONSTANT: u32 = 0x2;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NFT_REG_2: u32 = 2;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_CMP_EQ: u32 = 0;
const NFT_META_IIF: u32 = 4;
const NFT_META_OIF: u32 = 5;
const NFT_META_IIFNAME: u32 = 6;
const NFT_META_OIFNAME: u32 = 7;
const NFT_META_L4PROTO: u32 = 16;
const NFT_META_OIFKIND: u32 = 27;
const NFT_SET_MAP: u32 = 0x8;
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_USERDATA: u16 = 13;
const UDATA_SET_KEYBYTEORDER: u8 = 0;
const UDATA_SET_DATABYTEORDER: u8 = 1;
const BYTEORDER_HOST_ENDIAN: u32 = 1;

/// nft's datatype numbers (for `nft list` to print the set's type).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_IFINDEX: u32 = 20;
const TYPE_ICMP6_TYPE: u32 = 29;
const TYPE_IFNAME: u32 = 41;
/// IFNAMSIZ: an interface name in a set key, NUL-padded.
const IFNAMSIZ: usize = 16;
const TYPE_BITS: u32 = 6;

pub use config::model::global::NftablesOptions;

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn nested(f: impl FnOnce(&mut Msg)) -> Vec<u8> {
    let mut m = Msg::empty();
    f(&mut m);
    m.into_bytes()
}

/// One expression of a rule.
fn expr(list: &mut Msg, name: &str, data: impl FnOnce(&mut Msg)) {
    let e = nested(|e| {
        e.attr(NFTA_EXPR_NAME, &cstr(name));
        e.attr(NFTA_EXPR_DATA | NLA_F_NESTED, &nested(data));
    });
    list.attr(NFTA_LIST_ELEM | NLA_F_NESTED, &e);
}

fn payload(list: &mut Msg, base: u32, offset: u32, len: u32, dreg: u32) {
    expr(list, "payload", |d| {
        d.attr(1, &be32(dreg));
        d.attr(2, &be32(base));
        d.attr(3, &be32(offset));
        d.attr(4, &be32(len));
    });
}

fn lookup(list: &mut Msg, set: &str, set_id: u32) {
    lookup_reg(list, set, set_id, NFT_REG_1, None);
}

fn lookup_reg(list: &mut Msg, set: &str, set_id: u32, sreg: u32, dreg: Option<u32>) {
    expr(list, "lookup", |d| {
        d.attr(1, &cstr(set));
        d.attr(2, &be32(sreg));
        if let Some(r) = dreg {
            d.attr(3, &be32(r));
        }
        d.attr(4, &be32(set_id));
    });
}

/// `dup to <address in sreg_addr> device <index in sreg_dev>`.
fn dup(list: &mut Msg, sreg_addr: u32, sreg_dev: u32) {
    expr(list, "dup", |d| {
        d.attr(1, &be32(sreg_addr));
        d.attr(2, &be32(sreg_dev));
    });
}

/// `meta oifkind "macvlan"` (the kind is compared as a 16-byte string).
fn oifkind_macvlan(list: &mut Msg) {
    meta(list, NFT_META_OIFKIND, NFT_REG_2);
    let mut kind = [0u8; 16];
    kind[..7].copy_from_slice(b"macvlan");
    cmp_eq_reg(list, NFT_REG_2, &kind);
}

/// `counter` (`nftables_counters`), before a rule's verdict.
fn counter(list: &mut Msg) {
    expr(list, "counter", |d| {
        d.attr(1, &0u64.to_be_bytes());
        d.attr(2, &0u64.to_be_bytes());
    });
}

fn verdict(list: &mut Msg, code: u32, chain: Option<&str>) {
    expr(list, "immediate", |d| {
        d.attr(1, &be32(NFT_REG_VERDICT));
        let v = nested(|v| {
            v.attr(NFTA_VERDICT_CODE, &be32(code));
            if let Some(c) = chain {
                v.attr(NFTA_VERDICT_CHAIN, &cstr(c));
            }
        });
        let data = nested(|x| x.attr(NFTA_DATA_VERDICT | NLA_F_NESTED, &v));
        d.attr(2 | NLA_F_NESTED, &data);
    });
}

fn data_value(bytes: &[u8]) -> Vec<u8> {
    nested(|x| x.attr(NFTA_DATA_VALUE, bytes))
}

fn cmp_eq(list: &mut Msg, bytes: &[u8]) {
    cmp_eq_reg(list, NFT_REG_1, bytes);
}

fn cmp_eq_reg(list: &mut Msg, reg: u32, bytes: &[u8]) {
    expr(list, "cmp", |d| {
        d.attr(1, &be32(reg));
        d.attr(2, &be32(NFT_CMP_EQ));
        d.attr(3 | NLA_F_NESTED, &data_value(bytes));
    });
}

fn bitwise_mask(list: &mut Msg, mask: &[u8]) {
    expr(list, "bitwise", |d| {
        d.attr(1, &be32(NFT_REG_1));
        d.attr(2, &be32(NFT_REG_1));
        d.attr(3, &be32(mask.len() as u32));
        d.attr(4 | NLA_F_NESTED, &data_value(mask));
        d.attr(5 | NLA_F_NESTED, &data_value(&vec![0; mask.len()]));
    });
}

fn meta(list: &mut Msg, key: u32, dreg: u32) {
    expr(list, "meta", |d| {
        d.attr(1, &be32(dreg));
        d.attr(2, &be32(key));
    });
}

/// A batch of nftables messages.
pub struct Batch {
    msgs: Vec<Vec<u8>>,
    seq: u32,
    first: u32,
    /// The table's name, NUL-terminated.
    table: Vec<u8>,
    priority: i32,
    counters: bool,
}

impl Batch {
    pub fn new(seq: u32, opts: &NftablesOptions) -> Batch {
        let mut b = Batch {
            msgs: Vec::new(),
            seq,
            first: seq,
            table: cstr(&opts.table),
            priority: opts.priority,
            counters: opts.counters,
        };
        b.control(NFNL_MSG_BATCH_BEGIN);
        b.first = b.seq;
        b
    }

    fn control(&mut self, ty: u16) {
        let mut m = Msg::new(ty, NLM_F_REQUEST, self.seq);
        self.seq = self.seq.wrapping_add(1);
        // struct nfgenmsg { family, version, res_id (be16) }
        let mut g = [0u8; 4];
        g[2..4].copy_from_slice(&NFNL_SUBSYS_NFTABLES.to_be_bytes());
        m.put(&g);
        self.msgs.push(m.finish());
    }

    fn msg(&mut self, ty: u16, flags: u16, family: u8, attrs: impl FnOnce(&mut Msg)) {
        let mut m = Msg::new(
            (NFNL_SUBSYS_NFTABLES << 8) | ty,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            self.seq,
        );
        self.seq = self.seq.wrapping_add(1);
        m.put(&[family, 0, 0, 0]);
        attrs(&mut m);
        self.msgs.push(m.finish());
    }

    /// The messages' sequence numbers (each is acknowledged).
    pub fn seqs(&self) -> std::ops::Range<u32> {
        self.first..self.seq
    }

    /// The datagram, closed with BATCH_END.
    pub fn finish(mut self) -> (Vec<u8>, std::ops::Range<u32>) {
        let seqs = self.seqs();
        self.control(NFNL_MSG_BATCH_END);
        (self.msgs.concat(), seqs)
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.len() <= 1
    }

    pub fn new_table(&mut self, family: u8) {
        let t = self.table.clone();
        self.msg(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, |m| {
            m.attr(NFTA_TABLE_NAME, &t);
        });
    }

    pub fn del_table(&mut self, family: u8) {
        let t = self.table.clone();
        self.msg(NFT_MSG_DELTABLE, 0, family, |m| {
            m.attr(NFTA_TABLE_NAME, &t);
        });
    }

    fn new_set(
        &mut self,
        family: u8,
        name: &str,
        id: u32,
        key_type: u32,
        key_len: u32,
        flags: u32,
    ) {
        self.new_set_map(family, name, id, (key_type, key_len), flags, None);
    }

    /// A set, or with `data` (type, length) a map.
    fn new_set_map(
        &mut self,
        family: u8,
        name: &str,
        id: u32,
        (key_type, key_len): (u32, u32),
        flags: u32,
        data: Option<(u32, u32)>,
    ) {
        let t = self.table.clone();
        self.msg(NFT_MSG_NEWSET, NLM_F_CREATE, family, |m| {
            m.attr(NFTA_SET_TABLE, &t);
            m.attr(NFTA_SET_NAME, &cstr(name));
            if flags != 0 {
                m.attr(NFTA_SET_FLAGS, &be32(flags));
            }
            m.attr(NFTA_SET_KEY_TYPE, &be32(key_type));
            m.attr(NFTA_SET_KEY_LEN, &be32(key_len));
            if let Some((t, l)) = data {
                m.attr(NFTA_SET_DATA_TYPE, &be32(t));
                m.attr(NFTA_SET_DATA_LEN, &be32(l));
            }
            m.attr(NFTA_SET_ID, &be32(id));
            // Interface indexes are in host byte order: nft reads that
            // from the set's user data (libnftnl's NFTNL_UDATA_SET_*BYTEORDER
            // TLVs) to print them as names.
            let mut udata = Vec::new();
            if key_type == TYPE_IFINDEX {
                udata.extend_from_slice(&[UDATA_SET_KEYBYTEORDER, 4]);
                udata.extend_from_slice(&BYTEORDER_HOST_ENDIAN.to_ne_bytes());
            }
            if data.is_some_and(|(t, _)| t == TYPE_IFINDEX) {
                udata.extend_from_slice(&[UDATA_SET_DATABYTEORDER, 4]);
                udata.extend_from_slice(&BYTEORDER_HOST_ENDIAN.to_ne_bytes());
            }
            if !udata.is_empty() {
                m.attr(NFTA_SET_USERDATA, &udata);
            }
        });
    }

    fn base_chain(&mut self, family: u8, name: &str, hook: u32) {
        let (t, prio) = (self.table.clone(), self.priority);
        self.msg(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, |m| {
            m.attr(NFTA_CHAIN_TABLE, &t);
            m.attr(NFTA_CHAIN_NAME, &cstr(name));
            let h = nested(|h| {
                h.attr(NFTA_HOOK_HOOKNUM, &be32(hook));
                h.attr(NFTA_HOOK_PRIORITY, &prio.to_be_bytes());
            });
            m.attr(NFTA_CHAIN_HOOK | NLA_F_NESTED, &h);
            m.attr(NFTA_CHAIN_POLICY, &be32(NF_ACCEPT));
            m.attr(NFTA_CHAIN_TYPE, &cstr("filter"));
        });
    }

    fn chain(&mut self, family: u8, name: &str) {
        let t = self.table.clone();
        self.msg(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, |m| {
            m.attr(NFTA_CHAIN_TABLE, &t);
            m.attr(NFTA_CHAIN_NAME, &cstr(name));
        });
    }

    /// A rule: `exprs`, then (with `nftables_counters`) a counter, then the
    /// verdict `code` (to chain `to` for a goto).
    fn rule(
        &mut self,
        family: u8,
        chain: &str,
        (code, to): (u32, Option<&str>),
        exprs: impl FnOnce(&mut Msg),
    ) {
        let (t, counters) = (self.table.clone(), self.counters);
        self.msg(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family, |m| {
            m.attr(NFTA_RULE_TABLE, &t);
            m.attr(NFTA_RULE_CHAIN, &cstr(chain));
            let list = nested(|l| {
                exprs(l);
                if counters {
                    counter(l);
                }
                verdict(l, code, to);
            });
            m.attr(NFTA_RULE_EXPRESSIONS | NLA_F_NESTED, &list);
        });
    }

    fn elems(&mut self, family: u8, set: &str, keys: &[Vec<u8>], add: bool) {
        let pairs: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            keys.iter().map(|k| (k.clone(), None)).collect();
        self.map_elems(family, set, &pairs, add);
    }

    fn map_elems(&mut self, family: u8, set: &str, keys: &[(Vec<u8>, Option<Vec<u8>>)], add: bool) {
        let (ty, flags) = if add {
            (NFT_MSG_NEWSETELEM, NLM_F_CREATE)
        } else {
            (NFT_MSG_DELSETELEM, 0)
        };
        let t = self.table.clone();
        self.msg(ty, flags, family, |m| {
            m.attr(NFTA_SET_ELEM_LIST_TABLE, &t);
            m.attr(NFTA_SET_ELEM_LIST_SET, &cstr(set));
            let list = nested(|l| {
                for (k, v) in keys {
                    let e = nested(|e| {
                        e.attr(NFTA_SET_ELEM_KEY | NLA_F_NESTED, &data_value(k));
                        if let Some(v) = v {
                            e.attr(NFTA_SET_ELEM_DATA | NLA_F_NESTED, &data_value(v));
                        }
                    });
                    l.attr(NFTA_LIST_ELEM | NLA_F_NESTED, &e);
                }
            });
            m.attr(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, &list);
        });
    }

    /// keepalived's `table ip keepalived`.
    pub fn ipv4_table(&mut self) {
        let f = NFPROTO_IPV4;
        self.new_table(f);
        self.new_set(f, "vips", 1, TYPE_IPADDR, 4, 0);
        self.base_chain(f, "out", NF_INET_LOCAL_OUT);
        self.base_chain(f, "in", NF_INET_LOCAL_IN);
        for (chain, offset) in [("out", 12), ("in", 16)] {
            self.rule(f, chain, (NF_DROP, None), |l| {
                payload(l, NFT_PAYLOAD_NETWORK_HEADER, offset, 4, NFT_REG_1);
                lookup(l, "vips", 1);
            });
        }
    }

    /// keepalived's `table ip6 keepalived`.
    pub fn ipv6_table(&mut self) {
        let f = NFPROTO_IPV6;
        self.new_table(f);
        self.new_set(f, "vips", 1, TYPE_IP6ADDR, 16, 0);
        self.new_set(
            f,
            "neighbor-discovery",
            2,
            TYPE_ICMP6_TYPE,
            1,
            NFT_SET_CONSTANT,
        );
        self.elems(f, "neighbor-discovery", &[vec![135], vec![136]], true);
        self.base_chain(f, "out", NF_INET_LOCAL_OUT);
        self.base_chain(f, "in", NF_INET_LOCAL_IN);
        self.chain(f, "in_link_local");
        self.chain(f, "out_link_local");
        let mut ll = [0u8; 16];
        ll[0] = 0xfe;
        ll[1] = 0x80;
        let mut mask = [0u8; 16];
        mask[0] = 0xff;
        mask[1] = 0xc0;
        for (chain, offset, ll_chain) in [("out", 8, "out_link_local"), ("in", 24, "in_link_local")]
        {
            self.rule(f, chain, (NF_ACCEPT, None), |l| {
                // ip6 nexthdr icmpv6 (as nft's implicit dependency), then
                // icmpv6 type @neighbor-discovery accept
                payload(l, NFT_PAYLOAD_NETWORK_HEADER, 6, 1, NFT_REG_1);
                cmp_eq(l, &[58]);
                payload(l, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
                lookup(l, "neighbor-discovery", 2);
            });
            self.rule(f, chain, (NFT_GOTO, Some(ll_chain)), |l| {
                payload(l, NFT_PAYLOAD_NETWORK_HEADER, offset, 16, NFT_REG_1);
                bitwise_mask(l, &mask);
                cmp_eq(l, &ll);
            });
            self.rule(f, chain, (NF_DROP, None), |l| {
                payload(l, NFT_PAYLOAD_NETWORK_HEADER, offset, 16, NFT_REG_1);
                lookup(l, "vips", 1);
            });
        }
    }

    /// The set of IPv6 link-local VIPs with their interface and its drop
    /// rules in `in_link_local` / `out_link_local`, made (as keepalived
    /// does) when a first such VIP needs it: `vips_link_local` keyed by
    /// interface index, or with `by_name` (a `dont_track_primary` instance
    /// without `nftables_ifindex`) `vips_link_local_name` keyed by name.
    pub fn link_local_set(&mut self, by_name: bool) {
        let f = NFPROTO_IPV6;
        let (set, id, key_type, key_len, keys) = if by_name {
            let set = "vips_link_local_name";
            (
                set,
                6,
                TYPE_IFNAME,
                32,
                [NFT_META_IIFNAME, NFT_META_OIFNAME],
            )
        } else {
            (
                "vips_link_local",
                3,
                TYPE_IFINDEX,
                20,
                [NFT_META_IIF, NFT_META_OIF],
            )
        };
        self.new_set(
            f,
            set,
            id,
            (TYPE_IP6ADDR << TYPE_BITS) | key_type,
            key_len,
            0,
        );
        for ((chain, offset), key) in [("in_link_local", 24), ("out_link_local", 8)]
            .into_iter()
            .zip(keys)
        {
            self.rule(f, chain, (NF_DROP, None), |l| {
                payload(l, NFT_PAYLOAD_NETWORK_HEADER, offset, 16, NFT_REG_1);
                meta(l, key, NFT_REG_2);
                lookup(l, set, id);
            });
        }
    }

    /// keepalived's VMAC rules in `table ip keepalived`: IGMP reports
    /// leaving a macvlan are sent on its base interface instead.
    pub fn ipv4_vmac_table(&mut self) {
        let f = NFPROTO_IPV4;
        self.new_table(f);
        self.new_set_map(
            f,
            "vmac_map",
            4,
            (TYPE_IFINDEX, 4),
            NFT_SET_MAP,
            Some((TYPE_IFINDEX, 4)),
        );
        self.base_chain(f, "out", NF_INET_LOCAL_OUT);
        self.rule(f, "out", (NF_DROP, None), |l| {
            payload(l, NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1);
            cmp_eq(l, &[2]);
            payload(l, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
            oifkind_macvlan(l);
            meta(l, NFT_META_OIF, NFT_REG_2);
            lookup_reg(l, "vmac_map", 4, NFT_REG_2, Some(NFT_REG_2));
            dup(l, NFT_REG_1, NFT_REG_2);
        });
    }

    /// keepalived's VMAC rules in `table ip6 keepalived`: MLDv2 reports
    /// leaving a macvlan go out on its base interface, and a VMAC sends no
    /// router solicitations.
    pub fn ipv6_vmac_table(&mut self) {
        let f = NFPROTO_IPV6;
        self.new_table(f);
        self.new_set_map(
            f,
            "vmac_map",
            4,
            (TYPE_IFINDEX, 4),
            NFT_SET_MAP,
            Some((TYPE_IFINDEX, 4)),
        );
        self.new_set(f, "vmac_set", 5, TYPE_IFINDEX, 4, 0);
        self.base_chain(f, "out", NF_INET_LOCAL_OUT);
        self.rule(f, "out", (NF_DROP, None), |l| {
            meta(l, NFT_META_L4PROTO, NFT_REG_1);
            cmp_eq(l, &[58]);
            payload(l, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
            cmp_eq(l, &[143]);
            payload(l, NFT_PAYLOAD_NETWORK_HEADER, 24, 16, NFT_REG_1);
            oifkind_macvlan(l);
            meta(l, NFT_META_OIF, NFT_REG_2);
            lookup_reg(l, "vmac_map", 4, NFT_REG_2, Some(NFT_REG_2));
            dup(l, NFT_REG_1, NFT_REG_2);
        });
        self.rule(f, "out", (NF_DROP, None), |l| {
            meta(l, NFT_META_L4PROTO, NFT_REG_1);
            cmp_eq(l, &[58]);
            payload(l, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
            cmp_eq(l, &[133]);
            oifkind_macvlan(l);
            meta(l, NFT_META_OIF, NFT_REG_2);
            lookup_reg(l, "vmac_set", 5, NFT_REG_2, None);
        });
    }

    /// A VMAC (by index) and its base interface in the VMAC map (and, for
    /// IPv6, the VMAC set).
    pub fn vmac(&mut self, v6: bool, vmac: u32, base: u32) {
        let f = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
        let key = vmac.to_ne_bytes().to_vec();
        self.map_elems(
            f,
            "vmac_map",
            &[(key.clone(), Some(base.to_ne_bytes().to_vec()))],
            true,
        );
        if v6 {
            self.elems(f, "vmac_set", &[key], true);
        }
    }

    /// Add or remove VIPs: `(address, interface index, interface name)`;
    /// IPv6 link-local ones go to `vips_link_local` with the index, or,
    /// where a name is given, to `vips_link_local_name` with the name.
    pub fn vips(&mut self, vips: &[(IpAddr, u32, Option<String>)], add: bool) {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut ll = Vec::new();
        let mut ll_name = Vec::new();
        for (a, ifindex, ifname) in vips {
            match a {
                IpAddr::V4(a) => v4.push(a.octets().to_vec()),
                IpAddr::V6(a) if is_link_local(a) => {
                    let mut k = a.octets().to_vec();
                    match ifname {
                        Some(n) => {
                            let mut name = [0u8; IFNAMSIZ];
                            let b = n.as_bytes();
                            let len = b.len().min(IFNAMSIZ - 1);
                            name[..len].copy_from_slice(&b[..len]);
                            k.extend_from_slice(&name);
                            ll_name.push(k);
                        }
                        None => {
                            k.extend_from_slice(&ifindex.to_ne_bytes());
                            ll.push(k);
                        }
                    }
                }
                IpAddr::V6(a) => v6.push(a.octets().to_vec()),
            }
        }
        for (family, set, keys) in [
            (NFPROTO_IPV4, "vips", v4),
            (NFPROTO_IPV6, "vips", v6),
            (NFPROTO_IPV6, "vips_link_local_name", ll_name),
            (NFPROTO_IPV6, "vips_link_local", ll),
        ] {
            if !keys.is_empty() {
                self.elems(family, set, &keys, add);
            }
        }
    }
}

pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// A NETLINK_NETFILTER socket for batches.
pub struct Nft {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// The table name, chain priority and counters of every batch.
    pub opts: NftablesOptions,
}

impl Nft {
    pub fn open() -> io::Result<Nft> {
        let fd = sys::socket(libc::AF_NETLINK, libc::SOCK_RAW, NETLINK_NETFILTER, false)?;
        sys::bind(fd.as_fd(), &SockAddr::Netlink { pid: 0, groups: 0 })?;
        sys::set_timeout(fd.as_fd(), libc::SO_RCVTIMEO, Duration::from_secs(2))?;
        Ok(Nft {
            fd,
            seq: 1,
            buf: vec![0; 64 * 1024],
            opts: NftablesOptions::default(),
        })
    }

    pub fn batch(&self) -> Batch {
        Batch::new(self.seq, &self.opts)
    }

    /// Send a batch and wait for every message's acknowledgement. The
    /// first error (errno) the kernel reports, if any, fails the call (the
    /// kernel then applied none of the batch).
    pub fn apply(&mut self, batch: Batch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let (bytes, seqs) = batch.finish();
        self.seq = seqs.end.wrapping_add(1);
        sys::sendto(
            self.fd.as_fd(),
            &bytes,
            &SockAddr::Netlink { pid: 0, groups: 0 },
        )?;
        let mut pending: Vec<u32> = seqs.collect();
        let mut first_error = None;
        while !pending.is_empty() {
            let n = match sys::recvmsg(self.fd.as_fd(), &mut self.buf) {
                Ok(meta) => meta.len,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if first_error.is_some() {
                        break; // an aborted batch acknowledges no more
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no answer from nftables",
                    ));
                }
                Err(e) => return Err(e),
            };
            for m in messages(&self.buf[..n]) {
                if m.ty != NLMSG_ERROR || !pending.contains(&m.seq) {
                    continue;
                }
                pending.retain(|s| *s != m.seq);
                let code = m
                    .body
                    .get(0..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                if code != 0 && first_error.is_none() {
                    first_error = Some(-code);
                }
            }
        }
        match first_error {
            Some(e) => Err(io::Error::from_raw_os_error(e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::netlink::attrs;

    /// The names of a NEWRULE message's expressions, in order.
    fn expr_names(body: &[u8]) -> Vec<Vec<u8>> {
        let exprs = attrs(find(&attrs(body, 4), NFTA_RULE_EXPRESSIONS), 0);
        exprs
            .iter()
            .map(|(_, e)| find(&attrs(e, 0), NFTA_EXPR_NAME).to_vec())
            .collect()
    }

    fn find<'a>(a: &[(u16, &'a [u8])], ty: u16) -> &'a [u8] {
        a.iter()
            .find(|(t, _)| t & !NLA_F_NESTED == ty)
            .map(|(_, d)| *d)
            .unwrap()
    }

    #[test]
    fn the_ipv4_table_is_keepalived_s() {
        let mut b = Batch::new(100, &NftablesOptions::default());
        b.ipv4_table();
        let (bytes, seqs) = b.finish();
        let ms = messages(&bytes);
        // BEGIN, table, set, 2 chains, 2 rules, END.
        let types: Vec<u16> = ms.iter().map(|m| m.ty).collect();
        let sub = |t: u16| (NFNL_SUBSYS_NFTABLES << 8) | t;
        assert_eq!(
            types,
            [
                NFNL_MSG_BATCH_BEGIN,
                sub(NFT_MSG_NEWTABLE),
                sub(NFT_MSG_NEWSET),
                sub(NFT_MSG_NEWCHAIN),
                sub(NFT_MSG_NEWCHAIN),
                sub(NFT_MSG_NEWRULE),
                sub(NFT_MSG_NEWRULE),
                NFNL_MSG_BATCH_END
            ]
        );
        assert_eq!(seqs, 101..107);
        assert!(
            ms[1..7]
                .iter()
                .all(|m| m.flags & NLM_F_ACK != 0 && m.body[0] == NFPROTO_IPV4)
        );
        // The "in" rule: payload daddr (offset 16, 4 bytes) -> lookup vips -> drop.
        let rule = attrs(ms[6].body, 4);
        assert_eq!(find(&rule, NFTA_RULE_CHAIN), b"in\0");
        let exprs = attrs(find(&rule, NFTA_RULE_EXPRESSIONS), 0);
        assert_eq!(
            expr_names(ms[6].body),
            [
                b"payload\0".to_vec(),
                b"lookup\0".to_vec(),
                b"immediate\0".to_vec()
            ]
        );
        let p = attrs(find(&attrs(exprs[0].1, 0), NFTA_EXPR_DATA), 0);
        assert_eq!(find(&p, 3), be32(16));
        assert_eq!(find(&p, 4), be32(4));
        // The base chains hook at priority -1 with policy accept.
        let chain = attrs(ms[4].body, 4);
        assert_eq!(find(&chain, NFTA_CHAIN_NAME), b"in\0");
        let hook = attrs(find(&chain, NFTA_CHAIN_HOOK), 0);
        assert_eq!(find(&hook, NFTA_HOOK_HOOKNUM), be32(NF_INET_LOCAL_IN));
        assert_eq!(find(&hook, NFTA_HOOK_PRIORITY), (-1i32).to_be_bytes());
    }

    #[test]
    fn options_name_the_table_set_the_priority_and_add_counters() {
        let opts = NftablesOptions {
            table: "mytab".to_string(),
            priority: -5,
            ifindex: false,
            counters: true,
        };
        let mut b = Batch::new(1, &opts);
        b.ipv4_table();
        let (bytes, _) = b.finish();
        let ms = messages(&bytes);
        for m in &ms[1..ms.len() - 1] {
            let a = attrs(m.body, 4);
            // Every message's first attribute names the table.
            assert_eq!(a[0].1, b"mytab\0", "{:?}", m.ty);
        }
        let chain = ms
            .iter()
            .find(|m| m.ty == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN)
            .expect("a chain");
        let hook = attrs(find(&attrs(chain.body, 4), NFTA_CHAIN_HOOK), 0);
        assert_eq!(find(&hook, NFTA_HOOK_PRIORITY), (-5i32).to_be_bytes());
        let rule = ms
            .iter()
            .find(|m| m.ty == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE)
            .expect("a rule");
        assert_eq!(
            expr_names(rule.body),
            [
                b"payload\0".to_vec(),
                b"lookup\0".to_vec(),
                b"counter\0".to_vec(),
                b"immediate\0".to_vec()
            ]
        );
    }

    #[test]
    fn vips_go_to_their_family_s_set() {
        let mut b = Batch::new(1, &NftablesOptions::default());
        b.vips(
            &[
                ("10.0.0.1".parse().unwrap(), 3, None),
                ("2001:db8::1".parse().unwrap(), 3, None),
                ("fe80::1".parse().unwrap(), 3, None),
                ("fe80::2".parse().unwrap(), 3, Some("eth0".to_string())),
            ],
            false,
        );
        let (bytes, _) = b.finish();
        let ms = messages(&bytes);
        assert_eq!(ms.len(), 6);
        let sets: Vec<(u8, Vec<u8>, usize)> = ms[1..5]
            .iter()
            .map(|m| {
                assert_eq!(m.ty, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELSETELEM);
                let a = attrs(m.body, 4);
                let elems = attrs(find(&a, NFTA_SET_ELEM_LIST_ELEMENTS), 0);
                let key = attrs(find(&attrs(elems[0].1, 0), NFTA_SET_ELEM_KEY), 0);
                (
                    m.body[0],
                    find(&a, NFTA_SET_ELEM_LIST_SET).to_vec(),
                    find(&key, NFTA_DATA_VALUE).len(),
                )
            })
            .collect();
        assert_eq!(
            sets,
            [
                (NFPROTO_IPV4, b"vips\0".to_vec(), 4),
                (NFPROTO_IPV6, b"vips\0".to_vec(), 16),
                (NFPROTO_IPV6, b"vips_link_local_name\0".to_vec(), 32),
                (NFPROTO_IPV6, b"vips_link_local\0".to_vec(), 20),
            ]
        );
        assert!(is_link_local(&"febf::1".parse().unwrap()));
        assert!(!is_link_local(&"fec0::1".parse().unwrap()));
    }

    #[test]
    fn the_vmac_rule_is_keepalived_s() {
        let mut b = Batch::new(1, &NftablesOptions::default());
        b.ipv4_vmac_table();
        b.vmac(false, 6, 3);
        let (bytes, _) = b.finish();
        let ms = messages(&bytes);
        let rule = ms
            .iter()
            .find(|m| m.ty == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE)
            .unwrap();
        let a = attrs(rule.body, 4);
        let exprs = attrs(find(&a, NFTA_RULE_EXPRESSIONS), 0);
        let names: Vec<String> = exprs
            .iter()
            .map(|(_, e)| {
                let n = find(&attrs(e, 0), NFTA_EXPR_NAME);
                String::from_utf8_lossy(&n[..n.len() - 1]).into_owned()
            })
            .collect();
        // As `nft --debug=netlink` lists keepalived's rule.
        assert_eq!(
            names,
            [
                "payload",
                "cmp",
                "payload",
                "meta",
                "cmp",
                "meta",
                "lookup",
                "dup",
                "immediate"
            ]
        );
        let lookup = attrs(find(&attrs(exprs[6].1, 0), NFTA_EXPR_DATA), 0);
        assert_eq!(find(&lookup, 1), b"vmac_map\0");
        assert_eq!(find(&lookup, 2), be32(NFT_REG_2));
        assert_eq!(find(&lookup, 3), be32(NFT_REG_2));
        // The map's element: VMAC index -> base index, host order.
        let el = ms.last().unwrap();
        assert_eq!(el.ty, NFNL_MSG_BATCH_END);
        let el = &ms[ms.len() - 2];
        let a = attrs(el.body, 4);
        let e = attrs(find(&a, NFTA_SET_ELEM_LIST_ELEMENTS), 0);
        let e = attrs(e[0].1, 0);
        let key = attrs(find(&e, NFTA_SET_ELEM_KEY), 0);
        let data = attrs(find(&e, NFTA_SET_ELEM_DATA), 0);
        assert_eq!(find(&key, NFTA_DATA_VALUE), 6u32.to_ne_bytes());
        assert_eq!(find(&data, NFTA_DATA_VALUE), 3u32.to_ne_bytes());
    }
}
