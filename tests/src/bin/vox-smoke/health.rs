//! The host's ops endpoint from outside: a free 127.0.0.1 port to give it
//! (`VOX__OPS__LISTEN`), and `GET /healthz` with a deadline, through the test
//! kit's minimal HTTP GET.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A 127.0.0.1 address nobody listens on right now.
pub fn free_local_addr() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// An HTTP answer: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// `GET path` on `addr` within `timeout`.
pub async fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Answer, String> {
    let url = format!("http://{addr}{path}");
    match tokio::time::timeout(timeout, vox_testkit::http_get(&url)).await {
        Ok(Ok((status, body))) => Ok(Answer { status, body }),
        Ok(Err(e)) => Err(format!("GET {url}: {e}")),
        Err(_) => Err(format!("GET {url}: no answer within {timeout:?}")),
    }
}
