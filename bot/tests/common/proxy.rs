//! A small HTTP load balancer for the replica tests: Telegram's webhook calls
//! arrive here and go to one of the replicas — round robin, or "sticky" (a
//! chat always to the same replica while it is up). A replica that refuses
//! the connection is skipped for the next one, as nginx's
//! `proxy_next_upstream error` does; when none answers, 502 (Telegram
//! delivers again later).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the proxy spreads requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Each request to the next replica.
    RoundRobin,
    /// A chat to the same replica (by its id) while that one answers.
    Sticky,
}

/// The running proxy.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    backends: Vec<SocketAddr>,
    spread: Spread,
    next: AtomicUsize,
    /// Requests each replica answered.
    served: Vec<AtomicU64>,
}

impl Proxy {
    /// Listens on a free 127.0.0.1 port in front of `backends`.
    pub async fn start(backends: Vec<SocketAddr>, spread: Spread) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("addr");
        let served = backends.iter().map(|_| AtomicU64::new(0)).collect();
        let shared = Arc::new(Shared { backends, spread, next: AtomicUsize::new(0), served });
        let task = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(forward(Arc::clone(&shared), client));
                }
            }
        });
        Self { addr, shared, task }
    }

    /// `http://<addr>/telegram`: the webhook URL the replicas give Telegram.
    pub fn url(&self) -> String {
        format!("http://{}/telegram", self.addr)
    }

    /// Requests each replica answered so far.
    pub fn served(&self) -> Vec<u64> {
        self.shared.served.iter().map(|n| n.load(Ordering::Relaxed)).collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The chat a webhook body is about (message or callback), for sticky spreading.
fn chat_of(body: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let chat = v["message"]["chat"]["id"].as_i64().or_else(|| v["callback_query"]["from"]["id"].as_i64());
    chat.unwrap_or(0).unsigned_abs()
}

async fn read_request(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = client.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while raw.len() < end + 4 + length {
                let n = client.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                raw.extend_from_slice(&buf[..n]);
            }
            return Some(raw);
        }
    }
}

async fn forward(shared: Arc<Shared>, mut client: TcpStream) {
    let Some(request) = read_request(&mut client).await else { return };
    let body_at = request.windows(4).position(|w| w == b"\r\n\r\n").map_or(request.len(), |p| p + 4);
    let n = shared.backends.len();
    let first = match shared.spread {
        Spread::RoundRobin => shared.next.fetch_add(1, Ordering::Relaxed) % n,
        Spread::Sticky => (chat_of(&request[body_at..]) % n as u64) as usize,
    };
    for i in 0..n {
        let at = (first + i) % n;
        let Ok(mut backend) = TcpStream::connect(shared.backends[at]).await else { continue };
        if backend.write_all(&request).await.is_err() {
            continue;
        }
        let mut response = Vec::new();
        if backend.read_to_end(&mut response).await.is_err() || response.is_empty() {
            // It died with the request in hand: Telegram sees a failed delivery.
            break;
        }
        shared.served[at].fetch_add(1, Ordering::Relaxed);
        let _ = client.write_all(&response).await;
        return;
    }
    let _ =
        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
}
