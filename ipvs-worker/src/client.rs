//! Talking to the kernel's IPVS over the netlink socket of [`crate::sys`],
//! with the sans-IO codec of [`crate::netlink`].

use crate::netlink::NlError;
use crate::netlink::genl::{self, Reply};
use crate::netlink::ipvs::{self, Af, Info, Request, Service};
use crate::netlink::nla::Messages;
use crate::sys::NetlinkSocket;
use crate::table::KernelTable;
use std::fmt;
use std::io;
use std::time::Duration;

/// How long one request may wait for the kernel.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Receive buffer: larger than any dump datagram the kernel builds (32 KiB).
const BUF: usize = 64 * 1024;

#[derive(Debug)]
pub enum IpvsError {
    /// The kernel has no generic netlink family "IPVS" (no ip_vs module).
    NoFamily(io::Error),
    Io(io::Error),
    /// The kernel refused a request.
    Kernel(i32),
    /// An answer the codec could not read.
    Codec(NlError),
}

impl IpvsError {
    /// Whether the link to IPVS itself is broken (as opposed to one request
    /// being refused).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, IpvsError::Kernel(_))
    }

    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel(e) => Some(*e),
            _ => None,
        }
    }
}

impl fmt::Display for IpvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsError::NoFamily(e) => write!(
                f,
                "the kernel has no IPVS (generic netlink family \"IPVS\": {e}); is the ip_vs module loaded?"
            ),
            IpvsError::Io(e) => write!(f, "netlink: {e}"),
            IpvsError::Kernel(e) => io::Error::from_raw_os_error(*e).fmt(f),
            IpvsError::Codec(e) => write!(f, "netlink answer: {e}"),
        }
    }
}

impl From<io::Error> for IpvsError {
    fn from(e: io::Error) -> Self {
        IpvsError::Io(e)
    }
}

impl From<NlError> for IpvsError {
    fn from(e: NlError) -> Self {
        IpvsError::Codec(e)
    }
}

/// An open link to the kernel's IPVS.
pub struct Ipvs {
    sock: NetlinkSocket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
}

impl Ipvs {
    /// Open a socket and resolve the "IPVS" family.
    pub fn open() -> Result<Ipvs, IpvsError> {
        let sock = NetlinkSocket::open(TIMEOUT)?;
        let mut me = Ipvs {
            sock,
            family: 0,
            seq: 0,
            buf: vec![0; BUF],
        };
        let seq = me.next_seq();
        let msg = genl::get_family(ipvs::IPVS_GENL_NAME, seq);
        let mut family = None;
        match me.transact(&msg, seq, false, |_, attrs| {
            family = Some(genl::parse_family(attrs)?);
            Ok(())
        }) {
            Ok(()) => {}
            Err(IpvsError::Kernel(e)) => {
                return Err(IpvsError::NoFamily(io::Error::from_raw_os_error(e)));
            }
            Err(e) => return Err(e),
        }
        let f = family.ok_or(IpvsError::Codec(NlError::Missing {
            what: "CTRL_ATTR_FAMILY_ID",
        }))?;
        me.family = f.id;
        Ok(me)
    }

    pub fn family(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send `msg` and read the answer up to its end (an acknowledgement,
    /// or the end of a dump), handing each data message to `on_data`.
    fn transact(
        &mut self,
        msg: &[u8],
        seq: u32,
        dump: bool,
        mut on_data: impl FnMut(u8, &[u8]) -> Result<(), NlError>,
    ) -> Result<(), IpvsError> {
        self.sock.send(msg)?;
        loop {
            let n = self.sock.recv(&mut self.buf)?;
            for m in Messages::new(&self.buf[..n]) {
                let m = m?;
                if m.seq != seq {
                    // A late answer to an earlier request: not ours.
                    continue;
                }
                match genl::classify(&m)? {
                    Reply::Data { cmd, attrs } => on_data(cmd, attrs)?,
                    Reply::Done if dump => return Ok(()),
                    Reply::Ack if !dump => return Ok(()),
                    Reply::Error(e) => return Err(IpvsError::Kernel(e)),
                    Reply::Done | Reply::Ack | Reply::Other => {}
                }
            }
        }
    }

    /// Run one request that answers with an acknowledgement only.
    pub fn exec(&mut self, req: &Request) -> Result<(), IpvsError> {
        let seq = self.next_seq();
        let msg = req.encode(self.family, seq);
        self.transact(&msg, seq, req.is_dump(), |_, _| Ok(()))
    }

    /// Run requests that answer with an acknowledgement only, several to
    /// a datagram (the kernel handles a datagram's messages in order and
    /// acknowledges each): one send for the lot, then the acknowledgements.
    /// Returns each request's result, in order; `Err` when the socket
    /// itself failed. Keep batches small enough for the acknowledgements to
    /// fit the receive buffer (a few hundred).
    pub fn exec_batch(
        &mut self,
        reqs: &[Request],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        let first = self.seq.wrapping_add(1);
        let mut msg = Vec::new();
        for r in reqs {
            let seq = self.next_seq();
            msg.extend_from_slice(&r.encode(self.family, seq));
            // NLMSG_ALIGN: the next message starts on a 4-byte boundary.
            msg.resize(msg.len().next_multiple_of(4), 0);
        }
        let mut results: Vec<Option<Result<(), IpvsError>>> =
            std::iter::repeat_with(|| None).take(reqs.len()).collect();
        let mut left = reqs.len();
        if left == 0 {
            return Ok(Vec::new());
        }
        self.sock.send(&msg)?;
        while left > 0 {
            let n = self.sock.recv(&mut self.buf)?;
            for m in Messages::new(&self.buf[..n]) {
                let m = m?;
                let i = m.seq.wrapping_sub(first) as usize;
                let Some(slot) = results.get_mut(i) else {
                    // A late answer to an earlier request: not ours.
                    continue;
                };
                let r = match genl::classify(&m)? {
                    Reply::Ack => Ok(()),
                    Reply::Error(e) => Err(IpvsError::Kernel(e)),
                    Reply::Data { .. } | Reply::Done | Reply::Other => continue,
                };
                if slot.replace(r).is_none() {
                    left -= 1;
                }
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let seq = self.next_seq();
        let msg = Request::GetInfo.encode(self.family, seq);
        let mut info = None;
        self.transact(&msg, seq, false, |_, attrs| {
            info = Some(ipvs::decode_info(attrs)?);
            Ok(())
        })?;
        info.ok_or(IpvsError::Codec(NlError::Missing {
            what: "IPVS_CMD_SET_INFO",
        }))
    }

    /// The connection synchronisation daemons the kernel runs.
    pub fn daemons(&mut self) -> Result<Vec<ipvs::Daemon>, IpvsError> {
        let seq = self.next_seq();
        let msg = Request::GetDaemons.encode(self.family, seq);
        let mut out = Vec::new();
        self.transact(&msg, seq, true, |cmd, attrs| {
            if cmd == ipvs::IPVS_CMD_NEW_DAEMON {
                out.push(ipvs::decode_daemon(attrs)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Read the whole table: every service, then each one's destinations.
    /// `between` runs after each service's dump (the worker's heartbeat).
    pub fn dump(&mut self, mut between: impl FnMut()) -> Result<KernelTable, IpvsError> {
        let seq = self.next_seq();
        let msg = Request::GetServices.encode(self.family, seq);
        let mut services: Vec<Service> = Vec::new();
        self.transact(&msg, seq, true, |cmd, attrs| {
            if cmd == ipvs::IPVS_CMD_NEW_SERVICE {
                services.push(ipvs::decode_service(attrs)?);
            }
            Ok(())
        })?;
        let mut table = KernelTable::default();
        for s in services {
            let seq = self.next_seq();
            let msg = Request::GetDests(s.key).encode(self.family, seq);
            let af: Af = s.key.af();
            let mut dests = Vec::new();
            match self.transact(&msg, seq, true, |cmd, attrs| {
                if cmd == ipvs::IPVS_CMD_NEW_DEST {
                    dests.push(ipvs::decode_dest(attrs, af)?.dest);
                }
                Ok(())
            }) {
                Ok(()) => {}
                // Deleted between the two dumps.
                Err(IpvsError::Kernel(e)) if e == libc::ESRCH || e == libc::ENOENT => continue,
                Err(e) => return Err(e),
            }
            table.insert(s, dests);
            between();
        }
        Ok(table)
    }
}
