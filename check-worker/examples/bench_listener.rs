//! The real servers of bench/check-scale.sh: one process, one mio loop,
//! listening on many ports. TCP ports accept and close; HTTP ports read
//! the request head and answer `200 OK` with a short body, then close.
//!
//! usage: bench_listener [--tcp ADDR:FROM-TO]... [--http ADDR:FROM-TO]...
//!
//! Prints `listening N` on stdout once every socket listens; every second
//! it prints `served N` (connections so far) on stderr. Raise the fd limit
//! first (`ulimit -n`): one fd per port plus the connections in flight.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

const BODY: &[u8] =
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nalive\n";

enum Entry {
    Listener { l: TcpListener, http: bool },
    Conn { s: TcpStream, head: Vec<u8> },
}

fn parse(spec: &str) -> Result<(IpAddr, u16, u16), String> {
    let (addr, ports) = spec
        .rsplit_once(':')
        .ok_or_else(|| format!("{spec}: expected ADDR:FROM-TO"))?;
    let (from, to) = ports.split_once('-').unwrap_or((ports, ports));
    let addr: IpAddr = addr
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .map_err(|e| format!("{spec}: {e}"))?;
    let from: u16 = from.parse().map_err(|e| format!("{spec}: {e}"))?;
    let to: u16 = to.parse().map_err(|e| format!("{spec}: {e}"))?;
    if from > to {
        return Err(format!("{spec}: empty range"));
    }
    Ok((addr, from, to))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench_listener: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut specs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let http = match a.as_str() {
            "--tcp" => false,
            "--http" => true,
            _ => return Err(format!("unknown argument {a}")),
        };
        let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
        specs.push((parse(&v)?, http));
    }
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut entries: HashMap<usize, Entry> = HashMap::new();
    let mut next = 0usize;
    for ((addr, from, to), http) in specs {
        for port in from..=to {
            let mut l = TcpListener::bind(SocketAddr::new(addr, port))
                .map_err(|e| format!("bind {addr}:{port}: {e}"))?;
            poll.registry()
                .register(&mut l, Token(next), Interest::READABLE)
                .map_err(|e| e.to_string())?;
            entries.insert(next, Entry::Listener { l, http });
            next += 1;
        }
    }
    println!("listening {}", entries.len());
    let mut events = Events::with_capacity(1024);
    let mut served = 0u64;
    let mut report = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        poll.poll(&mut events, Some(Duration::from_secs(1)))
            .map_err(|e| e.to_string())?;
        for ev in events.iter() {
            let t = ev.token().0;
            let mut close = false;
            let mut accepted = Vec::new();
            match entries.get_mut(&t) {
                Some(Entry::Listener { l, http }) => loop {
                    match l.accept() {
                        Ok((s, _)) => {
                            served += 1;
                            if *http {
                                accepted.push(s);
                            }
                            // TCP: dropped here, closed at once.
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        // EMFILE and the like: try again on the next event.
                        Err(_) => break,
                    }
                },
                Some(Entry::Conn { s, head }) => loop {
                    match s.read(&mut buf) {
                        Ok(0) => {
                            close = true;
                            break;
                        }
                        Ok(n) => {
                            head.extend_from_slice(&buf[..n]);
                            if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > 8192 {
                                // Small enough for the socket buffer.
                                let _ = s.write(BODY);
                                close = true;
                                break;
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            close = true;
                            break;
                        }
                    }
                },
                None => {}
            }
            if close {
                if let Some(Entry::Conn { mut s, .. }) = entries.remove(&t) {
                    let _ = poll.registry().deregister(&mut s);
                }
            }
            for mut s in accepted {
                let tok = next;
                next += 1;
                if poll
                    .registry()
                    .register(&mut s, Token(tok), Interest::READABLE)
                    .is_ok()
                {
                    entries.insert(
                        tok,
                        Entry::Conn {
                            s,
                            head: Vec::new(),
                        },
                    );
                }
            }
        }
        if report.elapsed() >= Duration::from_secs(1) {
            eprintln!("served {served}");
            report = Instant::now();
        }
    }
}
