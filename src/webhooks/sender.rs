//! One HTTP POST to a checked destination: HTTP/1.1 over TCP, with TLS
//! (rustls, the Web PKI roots) for https, within a time limit.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::address::Destination;

/// The client TLS configuration: public roots only.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            crate::tls::install_crypto_provider();
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            Arc::new(
                rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// POSTs `body` with `headers`; the response's status, or why none came.
pub async fn post(
    destination: &Destination,
    headers: &[(&'static str, String)],
    body: Bytes,
    limit: Duration,
) -> Result<u16, String> {
    let path = destination
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut request = http::Request::post(path)
        .header(http::header::HOST, host_header(destination))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "callscore-webhooks/1");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request
        .body(Full::new(body))
        .map_err(|error| format!("bad request: {error}"))?;
    let attempt = async {
        let tcp = TcpStream::connect(destination.address)
            .await
            .map_err(|error| format!("connect {}: {error}", destination.address))?;
        if destination.https {
            let name = ServerName::try_from(destination.host.clone())
                .map_err(|error| format!("TLS name {}: {error}", destination.host))?;
            let tls = tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|error| format!("TLS: {error}"))?;
            exchange(tls, request).await
        } else {
            exchange(tcp, request).await
        }
    };
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| format!("no response within {} s", limit.as_secs()))?
}

fn host_header(destination: &Destination) -> String {
    match destination.uri.authority() {
        Some(authority) => authority.as_str().to_string(),
        None => destination.host.clone(),
    }
}

async fn exchange<I>(io: I, request: http::Request<Full<Bytes>>) -> Result<u16, String>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| format!("HTTP: {error}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("HTTP: {error}"));
    driver.abort();
    Ok(response?.status().as_u16())
}
