//! TLS for `https://` OTLP endpoints: which receivers to trust and, for
//! receivers that ask for one, the client's own certificate. Given in code
//! ([`OtlpTarget::with_ca_certificate`](super::OtlpTarget::with_ca_certificate),
//! [`OtlpTarget::with_client_identity`](super::OtlpTarget::with_client_identity))
//! or by the standard variables, which name PEM files. The system's roots
//! are always trusted as well.
//!
//! The connections themselves are reqwest's and tonic's rustls clients
//! (feature `tls`); this module only hands them the settings.

use std::fmt;

use crate::config::{ConfigError, signal_var};

const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
const TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
const CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
const TRACES_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
const CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
const TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";

/// TLS settings of one OTLP target.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// PEM certificates trusted besides the system's roots.
    pub(crate) ca_certificate: Option<Vec<u8>>,
    /// PEM certificate chain and private key shown to the receiver.
    pub(crate) client_identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientIdentity {
    pub(crate) certificate: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

impl fmt::Debug for TlsSettings {
    // Key material stays out of logs and error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_certificate", &self.ca_certificate.is_some())
            .field("client_identity", &self.client_identity.is_some())
            .finish()
    }
}

impl TlsSettings {
    /// The settings the variables give; the trace-specific variable of each
    /// pair wins, as the specification says. A file that cannot be read,
    /// or a client certificate without its key (or the reverse), is an
    /// error naming the variable.
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        let ca_certificate = read_file(TRACES_CERTIFICATE, CERTIFICATE)?;
        let certificate = read_file(TRACES_CLIENT_CERTIFICATE, CLIENT_CERTIFICATE)?;
        let key = read_file(TRACES_CLIENT_KEY, CLIENT_KEY)?;
        let client_identity = match (certificate, key) {
            (Some(certificate), Some(key)) => Some(ClientIdentity { certificate, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new(
                    CLIENT_KEY,
                    "",
                    "a client certificate is set but no client key; set both or neither",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    CLIENT_CERTIFICATE,
                    "",
                    "a client key is set but no client certificate; set both or neither",
                ));
            }
        };
        Ok(TlsSettings {
            ca_certificate,
            client_identity,
        })
    }

    /// These settings, each missing one taken from `fallback`: code wins
    /// over the environment, setting by setting.
    pub(crate) fn or(self, fallback: TlsSettings) -> TlsSettings {
        TlsSettings {
            ca_certificate: self.ca_certificate.or(fallback.ca_certificate),
            client_identity: self.client_identity.or(fallback.client_identity),
        }
    }

    /// A reqwest client builder that trusts and presents these.
    #[cfg(feature = "tls")]
    pub(crate) fn apply_to_reqwest(
        &self,
        mut builder: reqwest::blocking::ClientBuilder,
    ) -> Result<reqwest::blocking::ClientBuilder, String> {
        if let Some(pem) = &self.ca_certificate {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|error| format!("the OTLP CA certificate is not PEM: {error}"))?;
            if certificates.is_empty() {
                return Err("the OTLP CA certificate file holds no certificate".into());
            }
            builder = builder.tls_certs_merge(certificates);
        }
        if let Some(identity) = &self.client_identity {
            let pem = [identity.key.as_slice(), b"\n", &identity.certificate].concat();
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|error| format!("the OTLP client certificate or key: {error}"))?;
            builder = builder.identity(identity);
        }
        Ok(builder)
    }

    /// tonic's TLS settings for these (the system's roots, plus ours).
    #[cfg(feature = "tls")]
    pub(crate) fn tonic_config(&self) -> tonic::transport::ClientTlsConfig {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        let mut config = ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = &self.ca_certificate {
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        if let Some(identity) = &self.client_identity {
            config = config.identity(Identity::from_pem(&identity.certificate, &identity.key));
        }
        config
    }
}

fn read_file(
    specific: &'static str,
    general: &'static str,
) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some((variable, path)) = signal_var(specific, general) else {
        return Ok(None);
    };
    std::fs::read(path.trim()).map(Some).map_err(|error| {
        ConfigError::new(variable, &path, format!("cannot read the file: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_wins_setting_by_setting() {
        let code = TlsSettings {
            ca_certificate: Some(b"code".to_vec()),
            client_identity: None,
        };
        let env = TlsSettings {
            ca_certificate: Some(b"env".to_vec()),
            client_identity: Some(ClientIdentity {
                certificate: b"cert".to_vec(),
                key: b"key".to_vec(),
            }),
        };
        let merged = code.or(env.clone());
        assert_eq!(merged.ca_certificate.as_deref(), Some(&b"code"[..]));
        assert!(merged.client_identity == env.client_identity);
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let settings = TlsSettings {
            ca_certificate: Some(b"-----BEGIN CERTIFICATE-----".to_vec()),
            client_identity: Some(ClientIdentity {
                certificate: b"cert".to_vec(),
                key: b"-----BEGIN PRIVATE KEY----- secret".to_vec(),
            }),
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("BEGIN"),
            "{shown}"
        );
    }
}
