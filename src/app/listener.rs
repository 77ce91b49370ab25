//! The accept loop in front of the gRPC server. It bounds what a peer can
//! hold without a key: connections in all and per source address, time to
//! finish the TLS handshake and send the whole HTTP/2 preface, or the first
//! 24 bytes of an HTTP/1.1 request for gRPC-Web from browsers (when full,
//! the oldest unfinished handshake gives way to a newcomer), and time a
//! connection may stay silent. HTTP/2 keep-alive pings make every
//! live client send something well inside the idle limit, so only dead or
//! hostile peers reach it.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
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
    let evicted = slot.evicted.clone();
    let handshake = async {
        let mut transport = match tls {
            Some(tls) => match tls.acceptor().accept(tcp).await {
                Ok(stream) => Transport::Tls(Box::new(stream)),
                Err(error) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return None;
                }
            },
            None => Transport::Plain(tcp),
        };
        // The whole HTTP/2 connection preface (or as many bytes of an HTTP/1.1
        // request line) within the handshake time: a peer dribbling it a byte
        // at a time (slow loris) is dropped, and so is anything that is
        // neither. The bytes are replayed to hyper.
        let mut preface = [0u8; PREFACE.len()];
        match transport.read_exact(&mut preface).await {
            Ok(_) if preface == *PREFACE || is_http1_request(&preface) => {
                Some((transport, preface))
            }
            _ => {
                tracing::debug!(%peer, "no HTTP/2 preface; closed");
                None
            }
        }
    };
    let transport = tokio::select! {
        () = evicted.cancelled() => {
            tracing::debug!(%peer, "unfinished handshake evicted to make room");
            None
        }
        finished = tokio::time::timeout(limits.handshake_timeout, handshake) => {
            finished.unwrap_or_else(|_| {
                tracing::debug!(%peer, "handshake timed out");
                None
            })
        }
    }?;
    let (transport, preface) = transport;
    slot.established();
    Some(Connection {
        transport,
        preface,
        replayed: 0,
        info,
        idle_timeout: limits.idle_timeout,
        idle_deadline: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        _slot: slot,
    })
}

/// Counts open connections, in all and per address, and keeps the
/// connections still in their handshake in arrival order: when the server
/// is full, a newcomer evicts the oldest of those rather than being refused,
/// so a flood of silent connections cannot lock real clients out.
struct Gate {
    limits: ConnectionLimits,
    open: Mutex<Openings>,
}

#[derive(Default)]
struct Openings {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    /// Connections in their handshake, oldest first: (id, how to end it).
    handshaking: VecDeque<(u64, CancellationToken)>,
    next_id: u64,
}

impl Gate {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            open: Mutex::new(Openings::default()),
        }
    }

    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let from_address = open.per_address.get(&address).copied().unwrap_or(0);
        if from_address >= self.limits.max_connections_per_address {
            return None;
        }
        if open.total >= self.limits.max_connections {
            // Full: the oldest connection that has not finished its
            // handshake makes room; with none, the newcomer is refused.
            let (_, oldest) = open.handshaking.pop_front()?;
            oldest.cancel();
        }
        open.total += 1;
        open.per_address.insert(address, from_address + 1);
        let id = open.next_id;
        open.next_id += 1;
        let evicted = CancellationToken::new();
        open.handshaking.push_back((id, evicted.clone()));
        Some(Slot {
            gate: self.clone(),
            address,
            id,
            evicted,
        })
    }

    fn handshake_done(&self, id: u64) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.handshaking.retain(|(pending, _)| *pending != id);
    }

    fn release(&self, address: IpAddr, id: u64) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_address.get_mut(&address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_address.remove(&address);
            }
        }
        open.handshaking.retain(|(pending, _)| *pending != id);
    }
}

/// One admitted connection's place; given back when the connection drops.
struct Slot {
    gate: Arc<Gate>,
    address: IpAddr,
    id: u64,
    /// Cancelled when a newcomer evicts this connection from its handshake.
    evicted: CancellationToken,
}

impl Slot {
    /// The handshake is over: the connection can no longer be evicted.
    fn established(&self) {
        self.gate.handshake_done(self.id);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gate.release(self.address, self.id);
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

/// Every HTTP/2 connection opens with these bytes (RFC 9113, 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Methods an HTTP/1.1 request on the gRPC port may start with: gRPC-Web
/// calls are POSTs, a browser's CORS preflight is an OPTIONS, and the
/// console's pages are GETs (HEAD for checks).
const HTTP1_METHODS: [&[u8]; 4] = [b"POST /", b"OPTIONS /", b"GET /", b"HEAD /"];

/// Whether the first bytes of a connection start an HTTP/1.1 request that
/// gRPC-Web could be (hyper reads the rest and answers anything else).
fn is_http1_request(first: &[u8]) -> bool {
    HTTP1_METHODS.iter().any(|m| first.starts_with(m))
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(stream) => Pin::new(stream).poll_read(context, buffer),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_read(context, buffer),
        }
    }
}

/// An admitted connection: plaintext or TLS, closed when idle too long.
pub struct Connection {
    transport: Transport,
    /// The preface read during the handshake, given to hyper first.
    preface: [u8; 24],
    replayed: usize,
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
        if this.replayed < this.preface.len() {
            let rest = &this.preface[this.replayed..];
            let take = rest.len().min(buffer.remaining());
            buffer.put_slice(&rest[..take]);
            this.replayed += take;
            return Poll::Ready(Ok(()));
        }
        let before = buffer.filled().len();
        let polled = Pin::new(&mut this.transport).poll_read(context, buffer);
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
