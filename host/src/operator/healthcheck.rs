//! `vox-host healthcheck`: asks the running host's `/healthz` (on
//! `ops.listen`, the wildcard address read as loopback) and exits 0 on 200,
//! 1 otherwise — for a container's `HEALTHCHECK`, where a distroless image has
//! no curl. Plain HTTP/1.0 over a TCP connection: nothing to link for it.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::config::Settings;

/// How long the whole check may take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Where `/healthz` answers for a host bound to `listen` (a wildcard is asked on loopback).
pub fn target(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

/// GETs `/healthz` at `addr`: the status code and the body.
pub fn get(addr: SocketAddr) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.trim().to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// The subcommand: prints what `/healthz` said; 0 when it was 200.
pub fn run(settings: &Settings) -> u8 {
    let listen = match settings.ops.address() {
        Ok(Some(addr)) => addr,
        Ok(None) => {
            eprintln!("unhealthy: `ops.listen` is empty, so there is no /healthz to ask");
            return 1;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let addr = target(listen);
    match get(addr) {
        Ok((200, body)) => {
            println!("healthy: {body}");
            0
        }
        Ok((status, body)) => {
            println!("unhealthy: HTTP {status} {body}");
            1
        }
        Err(e) => {
            println!("unhealthy: nothing answers http://{addr}/healthz ({e})");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_is_asked_on_loopback() {
        assert_eq!(target("0.0.0.0:9090".parse().expect("addr")), "127.0.0.1:9090".parse().expect("addr"));
        assert_eq!(target("[::]:9090".parse().expect("addr")), "[::1]:9090".parse().expect("addr"));
        assert_eq!(target("10.0.0.5:9090".parse().expect("addr")), "10.0.0.5:9090".parse().expect("addr"));
    }

    #[test]
    fn nothing_listening_is_an_error_not_a_hang() {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        assert!(get(SocketAddr::from(([127, 0, 0, 1], port))).is_err());
    }
}
