//! The accept loop in front of the gRPC server. It bounds what a peer can
//! hold without a key: connections in all and per source address, time to
//! finish the TLS handshake (or, in plaintext, to send a first byte), and
//! time a connection may stay silent. HTTP/2 keep-alive pings make every
//! live client send something well inside the idle limit, so only dead or
//! hostile peers reach it.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Sleep;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::tls::ServerTls;

/// What one process lets peers hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections in all; past it, new ones are closed at once.
    pub max_connections: usize,
    /// Open connections from one IP address.
    pub max_connections_per_address: usize,
    /// Time from accept to a finished TLS handshake (plaintext: a first byte).
    pub handshake_timeout: Duration,
    /// Time a connection may send nothing before it is closed.
    pub idle_timeout: Duration,
}

/// Accepts connections until `stop`, yielding those that passed the limits
/// and the handshake.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> ReceiverStream<io::Result<Connection>> {
    let (ready, stream) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, tls, limits, stop, ready));
    ReceiverStream::new(stream)
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    limits: ConnectionLimits,
    stop: CancellationToken,
    ready: mpsc::Sender<io::Result<Connection>>,
) {
    let gate = Arc::new(Gate::new(limits));
    let mut refused = Throttled::new("connections refused over the connection limits");
    let mut failed = Throttled::new("accept failed");
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors: pause rather than spin, so the
                // idle limits can give some back.
                failed.note(&error.to_string());
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = gate.admit(peer.ip()) else {
            refused.note(&peer.ip().to_string());
            drop(tcp);
            continue;
        };
        let tls = tls.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            if let Some(connection) = handshake(tcp, peer, tls, limits, slot).await {
                let _ = ready.send(Ok(connection)).await;
            }
        });
    }
}

async fn handshake(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<ServerTls>>,
    limits: ConnectionLimits,
    slot: Slot,
) -> Option<Connection> {
    // No Nagle: a response's small trailing frames must not wait ~40 ms for
    // the peer's delayed ACK.
    let _ = tcp.set_nodelay(true);
    let info = TcpConnectInfo {
        local_addr: tcp.local_addr().ok(),
        remote_addr: Some(peer),
    };
    let transport = match tls {
        Some(tls) => {
            match tokio::time::timeout(limits.handshake_timeout, tls.acceptor().accept(tcp)).await {
                Ok(Ok(stream)) => Transport::Tls(Box::new(stream)),
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return None;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return None;
                }
            }
        }
        // Peeked, not read: the bytes stay for HTTP/2. (Readiness alone can
        // be reported before any byte has arrived.)
        None => match tokio::time::timeout(limits.handshake_timeout, tcp.peek(&mut [0u8; 1])).await
        {
            Ok(Ok(1..)) => Transport::Plain(tcp),
            _ => {
                tracing::debug!(%peer, "connection sent nothing; closed");
                return None;
            }
        },
    };
    Some(Connection {
        transport,
        info,
        idle_timeout: limits.idle_timeout,
        idle_deadline: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        _slot: slot,
    })
}

/// Counts open connections, in all and per address.
struct Gate {
    limits: ConnectionLimits,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Gate {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (total, per_address) = &mut *open;
        let from_address = per_address.get(&address).copied().unwrap_or(0);
        if *total >= self.limits.max_connections
            || from_address >= self.limits.max_connections_per_address
        {
            return None;
        }
        *total += 1;
        per_address.insert(address, from_address + 1);
        Some(Slot {
            gate: self.clone(),
            address,
        })
    }

    fn release(&self, address: IpAddr) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (total, per_address) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(count) = per_address.get_mut(&address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_address.remove(&address);
            }
        }
    }
}

/// One admitted connection's place; given back when the connection drops.
struct Slot {
    gate: Arc<Gate>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gate.release(self.address);
    }
}

/// Logs a recurring problem at most every ten seconds, with a count.
struct Throttled {
    what: &'static str,
    since_last_log: u64,
    last_logged: Option<Instant>,
}

impl Throttled {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            since_last_log: 0,
            last_logged: None,
        }
    }

    fn note(&mut self, detail: &str) {
        self.since_last_log += 1;
        let due = self
            .last_logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
        if due {
            tracing::warn!(count = self.since_last_log, last = detail, "{}", self.what);
            self.since_last_log = 0;
            self.last_logged = Some(Instant::now());
        }
    }
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// An admitted connection: plaintext or TLS, closed when idle too long.
pub struct Connection {
    transport: Transport,
    info: TcpConnectInfo,
    idle_timeout: Duration,
    idle_deadline: Pin<Box<Sleep>>,
    _slot: Slot,
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buffer.filled().len();
        let polled = match &mut this.transport {
            Transport::Plain(stream) => Pin::new(stream).poll_read(context, buffer),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_read(context, buffer),
        };
        match polled {
            Poll::Ready(Ok(())) => {
                if buffer.filled().len() > before {
                    let next = tokio::time::Instant::now() + this.idle_timeout;
                    this.idle_deadline.as_mut().reset(next);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.idle_deadline.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer sent nothing for the idle timeout",
                ))),
                Poll::Pending => Poll::Pending,
            },
            failed => failed,
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_write(context, data),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_write(context, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_write_vectored(context, buffers),
            Transport::Tls(stream) => {
                Pin::new(stream.as_mut()).poll_write_vectored(context, buffers)
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.transport {
            Transport::Plain(stream) => stream.is_write_vectored(),
            Transport::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_flush(context),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(context),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Plain(stream) => Pin::new(stream).poll_shutdown(context),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(context),
        }
    }
}
