//! Generic netlink: resolving a family by name (`CTRL_CMD_GETFAMILY`) and
//! classifying the messages of a reply (data, end of dump, acknowledgement,
//! error).

use super::nla::{
    Attrs, GENL_HDRLEN, Message, MsgWriter, NLM_F_ACK, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_HDRLEN, NLMSG_NOOP, NLMSG_OVERRUN, NlError,
};

/// The controller family's fixed id.
pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
pub const CTRL_ATTR_VERSION: u16 = 3;
pub const CTRL_ATTR_HDRSIZE: u16 = 4;
pub const CTRL_ATTR_MAXATTR: u16 = 5;

/// `CTRL_CMD_GETFAMILY` for `name`, as libnl's `genl_ctrl_resolve` sends it.
pub fn get_family(name: &str, seq: u32) -> Vec<u8> {
    let mut w = MsgWriter::new(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        CTRL_CMD_GETFAMILY,
        1,
    );
    w.put_str(CTRL_ATTR_FAMILY_NAME, name);
    w.finish()
}

/// What the controller says of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub id: u16,
    pub name: String,
    pub version: u32,
    pub max_attr: u32,
}

/// Read a `CTRL_CMD_NEWFAMILY` answer's attributes.
pub fn parse_family(attrs: &[u8]) -> Result<Family, NlError> {
    let mut f = Family {
        id: 0,
        name: String::new(),
        version: 0,
        max_attr: 0,
    };
    let mut have_id = false;
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.ty {
            CTRL_ATTR_FAMILY_ID => {
                f.id = a.u16("CTRL_ATTR_FAMILY_ID")?;
                have_id = true;
            }
            CTRL_ATTR_FAMILY_NAME => f.name = a.string(),
            CTRL_ATTR_VERSION => f.version = a.u32("CTRL_ATTR_VERSION")?,
            CTRL_ATTR_MAXATTR => f.max_attr = a.u32("CTRL_ATTR_MAXATTR")?,
            _ => {}
        }
    }
    if !have_id {
        return Err(NlError::Missing {
            what: "CTRL_ATTR_FAMILY_ID",
        });
    }
    Ok(f)
}

/// One message of a reply, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A generic netlink message: its command and attributes.
    Data { cmd: u8, attrs: &'a [u8] },
    /// The end of a dump.
    Done,
    /// An acknowledgement (`NLMSG_ERROR` with error 0).
    Ack,
    /// A refusal: the positive errno.
    Error(i32),
    /// `NLMSG_NOOP` / `NLMSG_OVERRUN`, ignored.
    Other,
}

/// Classify `m`. The caller has matched its sequence number.
pub fn classify<'a>(m: &Message<'a>) -> Result<Reply<'a>, NlError> {
    match m.ty {
        NLMSG_ERROR => {
            let e = m
                .payload
                .get(0..4)
                .ok_or(NlError::Truncated { what: "nlmsgerr" })?;
            let code = i32::from_ne_bytes([e[0], e[1], e[2], e[3]]);
            // The echoed request header must be there (the kernel always
            // includes at least it).
            if m.payload.len() < 4 + NLMSG_HDRLEN {
                return Err(NlError::Truncated { what: "nlmsgerr" });
            }
            if code == 0 {
                Ok(Reply::Ack)
            } else {
                Ok(Reply::Error(code.checked_neg().unwrap_or(i32::MAX)))
            }
        }
        NLMSG_DONE => Ok(Reply::Done),
        NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Other),
        _ => {
            let h = m
                .payload
                .get(0..GENL_HDRLEN)
                .ok_or(NlError::Truncated { what: "genlmsghdr" })?;
            Ok(Reply::Data {
                cmd: h[0],
                attrs: &m.payload[GENL_HDRLEN..],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::nla::Messages;

    #[test]
    fn family_answer_round_trip() {
        let mut w = MsgWriter::new(GENL_ID_CTRL, 0, 1, CTRL_CMD_NEWFAMILY, 2);
        w.put_str(CTRL_ATTR_FAMILY_NAME, "IPVS")
            .put_u16(CTRL_ATTR_FAMILY_ID, 0x22)
            .put_u32(CTRL_ATTR_VERSION, 1)
            .put_u32(CTRL_ATTR_HDRSIZE, 0)
            .put_u32(CTRL_ATTR_MAXATTR, 6);
        let m = w.finish();
        let msg = Messages::new(&m).next().unwrap().unwrap();
        let Reply::Data { cmd, attrs } = classify(&msg).unwrap() else {
            panic!("not data")
        };
        assert_eq!(cmd, CTRL_CMD_NEWFAMILY);
        let f = parse_family(attrs).unwrap();
        assert_eq!(
            f,
            Family {
                id: 0x22,
                name: "IPVS".into(),
                version: 1,
                max_attr: 6
            }
        );
        assert!(parse_family(&[]).is_err());
    }

    #[test]
    fn errors_and_acks() {
        let mk = |code: i32, full: bool| {
            let mut b = Vec::new();
            let len = if full { 16 + 4 + 16 } else { 16 + 4 };
            b.extend_from_slice(&(len as u32).to_ne_bytes());
            b.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            b.extend_from_slice(&[0; 10]);
            b.extend_from_slice(&code.to_ne_bytes());
            if full {
                b.extend_from_slice(&[0; 16]);
            }
            b
        };
        let b = mk(0, true);
        let m = Messages::new(&b).next().unwrap().unwrap();
        assert_eq!(classify(&m), Ok(Reply::Ack));
        let b = mk(-17, true);
        let m = Messages::new(&b).next().unwrap().unwrap();
        assert_eq!(classify(&m), Ok(Reply::Error(17)));
        let b = mk(i32::MIN, true);
        let m = Messages::new(&b).next().unwrap().unwrap();
        assert_eq!(classify(&m), Ok(Reply::Error(i32::MAX)));
        let b = mk(-2, false);
        let m = Messages::new(&b).next().unwrap().unwrap();
        assert!(classify(&m).is_err());
    }
}
