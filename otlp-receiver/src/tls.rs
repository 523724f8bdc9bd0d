//! TLS for the receiver: a fresh self-signed certificate for 127.0.0.1 and
//! `localhost`, served by tonic (gRPC) and by a rustls listener in front of
//! axum (HTTP); optionally asking clients for a certificate (mutual TLS).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A certificate and its private key, PEM-encoded.
#[derive(Clone, Debug)]
pub struct SelfSigned {
    /// The certificate, which is also its own CA.
    pub certificate_pem: String,
    /// The private key (PKCS #8).
    pub key_pem: String,
}

impl SelfSigned {
    /// A new self-signed certificate for 127.0.0.1, ::1 and `localhost`,
    /// valid as a server's and as a client's.
    pub fn generate() -> io::Result<SelfSigned> {
        let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
        let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
        Ok(SelfSigned {
            certificate_pem: certified.cert.pem(),
            key_pem: certified.signing_key.serialize_pem(),
        })
    }
}

/// How the receiver serves TLS.
#[derive(Clone, Debug)]
pub(crate) struct ServerTls {
    pub(crate) identity: SelfSigned,
    /// When set, clients must present a certificate this CA signed.
    pub(crate) client_ca_pem: Option<String>,
}

impl ServerTls {
    pub(crate) fn tonic_config(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let config = ServerTlsConfig::new().identity(Identity::from_pem(
            &self.identity.certificate_pem,
            &self.identity.key_pem,
        ));
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }

    fn rustls_config(&self) -> io::Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?;
        let builder = match &self.client_ca_pem {
            Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, provider)?),
            None => builder.with_no_client_auth(),
        };
        let certificates = certificates(&self.identity.certificate_pem)?;
        let key = PrivateKeyDer::from_pem_slice(self.identity.key_pem.as_bytes())
            .map_err(io::Error::other)?;
        let mut config = builder
            .with_single_cert(certificates, key)
            .map_err(io::Error::other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn certificates(pem: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)
}

fn client_verifier(
    ca_pem: &str,
    provider: Arc<CryptoProvider>,
) -> io::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(ca_pem)? {
        roots.add(certificate).map_err(io::Error::other)?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(io::Error::other)
}

/// A TCP listener that hands axum connections after their TLS handshake.
/// Handshakes run one at a time, each bounded, which a test receiver can
/// afford; a failed one (a client that distrusts the certificate, or
/// brings none when asked) drops that connection only.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, tls: &ServerTls) -> io::Result<Self> {
        Ok(TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(tls.rustls_config()?)),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                return (stream, address);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
