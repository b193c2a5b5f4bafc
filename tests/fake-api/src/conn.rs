//! A TCP listener whose connections a handler can kill, so a `Drop` fault
//! closes the socket without any response, as a lost connection would.
//!
//! axum gives a handler no way to abandon a connection. So every accepted
//! stream is wrapped with a shared kill flag, and the flag reaches the handler
//! through `ConnectInfo`. Once the flag is set, the stream fails every read and
//! write; hyper then fails to write the response, gives up on the connection
//! and drops the socket. Not one byte of the answer leaves, and the client
//! (reqwest, under teloxide) sees "connection closed before message completed".

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP connections and wraps each in a [`KillableStream`].
pub(crate) struct KillableListener(pub(crate) TcpListener);

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    // Small JSON answers should not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    let stream = KillableStream { inner: stream, kill: ConnKill::default() };
                    return (stream, addr);
                }
                Err(err) => {
                    // Like axum's own listener: out of file descriptors and the
                    // like are transient; back off instead of spinning.
                    tracing::warn!("fake Bot API accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The handler's handle on its connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    /// Makes the connection fail from now on, so the response is never sent.
    pub(crate) fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.io().kill.clone()
    }
}

/// A TCP stream that fails every operation once killed.
pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: ConnKill,
}

fn killed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "dropped by a fault")
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
