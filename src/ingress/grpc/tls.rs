//! The gRPC listener's connections: TLS (rustls) when `[tls]` is configured, plain TCP otherwise.
//! The certificate sits behind a swap so a reload (a renewed certificate dropped in place, then the
//! file watch or SIGHUP) takes effect for the next handshake without a restart; connections already
//! open keep the certificate they were opened with. Handshakes run beside the accept loop, bounded
//! by a timeout, so a slow or hostile client cannot hold up others.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use super::access::ConnectionInfo;
use crate::config::access::TlsFiles;
use crate::metrics::EdgeMetrics;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: &'static str, message: String },
    #[error("{message}")]
    Invalid { path: &'static str, message: String },
}

impl TlsError {
    /// The config key the error is about (`tls.cert` or `tls.key`).
    pub fn path(&self) -> &'static str {
        match self {
            TlsError::Read { path, .. } | TlsError::Invalid { path, .. } => path,
        }
    }
}

/// A certificate chain and key that belong together and are valid now.
#[derive(Clone)]
pub struct ServedCertificate {
    key: Arc<CertifiedKey>,
    /// The leaf's notAfter, unix seconds (exported so an alert can fire before it lapses).
    pub not_after_s: i64,
}

impl ServedCertificate {
    pub fn load(files: &TlsFiles, now: jiff::Timestamp) -> Result<ServedCertificate, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| TlsError::Read {
                path: "tls.cert",
                message: format!("{}: {e}", files.cert.display()),
            })?;
        let Some(leaf) = certs.first() else {
            return Err(TlsError::Invalid {
                path: "tls.cert",
                message: format!("{}: no CERTIFICATE in the file", files.cert.display()),
            });
        };
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Read {
            path: "tls.key",
            message: format!("{}: {e}", files.key.display()),
        })?;
        let (_, parsed) =
            x509_parser::parse_x509_certificate(leaf).map_err(|e| TlsError::Invalid {
                path: "tls.cert",
                message: format!("{}: not an X.509 certificate: {e}", files.cert.display()),
            })?;
        let validity = parsed.validity();
        let (not_before, not_after) = (
            validity.not_before.timestamp(),
            validity.not_after.timestamp(),
        );
        let now_s = now.as_second();
        if now_s > not_after {
            return Err(TlsError::Invalid {
                path: "tls.cert",
                message: format!(
                    "{}: the certificate expired at {}",
                    files.cert.display(),
                    validity.not_after
                ),
            });
        }
        if now_s < not_before {
            return Err(TlsError::Invalid {
                path: "tls.cert",
                message: format!(
                    "{}: the certificate is not valid before {}",
                    files.cert.display(),
                    validity.not_before
                ),
            });
        }
        let key =
            CertifiedKey::from_der(certs, key, &provider()).map_err(|e| TlsError::Invalid {
                path: "tls.key",
                message: format!(
                    "{}: does not match the certificate or is unusable: {e}",
                    files.key.display()
                ),
            })?;
        Ok(ServedCertificate {
            key: Arc::new(key),
            not_after_s: not_after,
        })
    }
}

/// rustls' ring provider: rustls 0.23.48 deprecates it for lacking post-quantum key exchange, but
/// aws-lc-rs (the alternative) needs cmake and NASM on every build machine, and tonic's own TLS
/// client here is built on ring. Moving to a post-quantum provider is a deliberate follow-up.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificate handshakes use now.
#[derive(Debug)]
pub struct CertificateSlot(ArcSwap<CertifiedKey>);

impl CertificateSlot {
    pub fn new(cert: ServedCertificate) -> CertificateSlot {
        CertificateSlot(ArcSwap::new(cert.key))
    }

    pub fn replace(&self, cert: ServedCertificate) {
        self.0.store(cert.key);
    }
}

impl ResolvesServerCert for CertificateSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// A TLS acceptor serving whatever the slot holds, speaking HTTP/2 only (gRPC).
pub fn acceptor_for(slot: &Arc<CertificateSlot>) -> Result<TlsAcceptor, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid {
            path: "tls.cert",
            message: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(slot) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// One accepted connection: its stream (plain or TLS; `Either` carries the I/O through) and what
/// the access layer learns about it.
pub struct Connection {
    io: Either<TcpStream, Box<tokio_rustls::server::TlsStream<TcpStream>>>,
    info: ConnectionInfo,
}

impl tonic::transport::server::Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        self.info.clone()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

const MAX_HANDSHAKES: usize = 256;

/// Accepts connections until `cancel`, handing each (after its handshake, for TLS) to the stream
/// the gRPC server serves. A failed handshake is counted and logged at debug, never fatal.
pub fn incoming(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    metrics: Arc<EdgeMetrics>,
    cancel: CancellationToken,
) -> tokio_stream::wrappers::ReceiverStream<io::Result<Connection>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    // Handshakes in progress at most; past it the accept loop waits and the kernel's backlog holds
    // (then refuses) new connections, so a connection flood cannot grow memory here.
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = cancel.cancelled() => return,
                a = listener.accept() => a,
            };
            let (tcp, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "grpc accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let info = ConnectionInfo {
                remote: Some(remote),
                open_calls: Arc::new(AtomicU32::new(0)),
            };
            match &tls {
                None => {
                    if tx
                        .send(Ok(Connection {
                            io: Either::Left(tcp),
                            info,
                        }))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Some(acceptor) => {
                    let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
                        return;
                    };
                    let (acceptor, tx, metrics) =
                        (acceptor.clone(), tx.clone(), Arc::clone(&metrics));
                    tokio::spawn(async move {
                        handshake(acceptor, tcp, remote, info, handshake_timeout, metrics, tx)
                            .await;
                        drop(permit);
                    });
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    remote: SocketAddr,
    info: ConnectionInfo,
    timeout: Duration,
    metrics: Arc<EdgeMetrics>,
    tx: tokio::sync::mpsc::Sender<io::Result<Connection>>,
) {
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let _ = tx
                .send(Ok(Connection {
                    io: Either::Right(Box::new(stream)),
                    info,
                }))
                .await;
        }
        Ok(Err(e)) => {
            metrics.tls_handshake_failures.increment(1);
            tracing::debug!(%remote, error = %e, "tls handshake failed");
        }
        Err(_) => {
            metrics.tls_handshake_failures.increment(1);
            tracing::debug!(%remote, "tls handshake timed out");
        }
    }
}
