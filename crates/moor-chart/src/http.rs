//! The HTTP client of a repository: TLS settings and basic auth from RepoAuth.
//!
//! rustls with the ring provider (as kube and moor-registry use) and the platform's verifier,
//! plus the Secret's CA, client certificate (mutual TLS) or `insecure`. Credentials are sent
//! per request, never put in URLs; reqwest drops them on a redirect to another origin, and a
//! redirect from https to http is refused. Bodies are read against a limit, so a hostile
//! repository cannot fill memory.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::scrub;
use crate::{ChartError, ChartRef, RepoAuth};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// No byte for this long: the server is stuck.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole response, however slowly it trickles in.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_REDIRECTS: usize = 5;

/// A client with the TLS settings of `auth` (credentials are added per request by [`get`]).
/// Errors are [`ChartError::Client`]; the caller names the chart with [`ChartError::context`].
pub(crate) fn client(auth: &RepoAuth) -> Result<reqwest::Client, ChartError> {
    let err = |what: &str, e: &dyn std::fmt::Display| ChartError::Client(format!("{what}: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| err("TLS versions", &e))?;
    let builder = if auth.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(
                provider.signature_verification_algorithms,
            )))
    } else {
        let mut extra = Vec::new();
        if let Some(pem) = auth.ca_pem.as_deref().filter(|p| !p.trim().is_empty()) {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                extra.push(cert.map_err(|e| err("CA certificates", &e))?);
            }
            if extra.is_empty() {
                return Err(ChartError::Client(
                    "the CA data holds no PEM certificate".to_string(),
                ));
            }
        }
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| err("certificate verifier", &e))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };
    let tls = match (&auth.tls_client_cert, &auth.tls_client_key) {
        (Some(cert), Some(key)) => {
            let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err("client certificate", &e))?;
            if certs.is_empty() {
                return Err(ChartError::Client(
                    "the client certificate holds no PEM certificate".to_string(),
                ));
            }
            // The key's parse error is not shown: it could quote the key.
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|_| {
                ChartError::Client("the client key is not a PEM private key".to_string())
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| err("client certificate and key", &e))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(ChartError::Client(
                "a client certificate needs both tlsClientCertData and tlsClientCertKey"
                    .to_string(),
            ));
        }
    };
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|p| p.scheme() == "https")
            && attempt.url().scheme() != "https";
        if downgrade {
            attempt.error("a redirect from https to http is refused")
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(redirects)
        .user_agent(concat!("moor-chart/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| err("HTTP client", &e))
}

/// The body of `GET url`, at most `limit` bytes. Basic auth from `auth` when `send_credentials`
/// (the URL is on the repository's own origin); `auth`'s secrets are scrubbed from errors.
pub(crate) async fn get(
    client: &reqwest::Client,
    url: &Url,
    auth: &RepoAuth,
    send_credentials: bool,
    limit: u64,
    at: &ChartRef,
) -> Result<Vec<u8>, ChartError> {
    // Below the repository URL the error already names, only the rest of the path is shown.
    let full = moor_git::redact_url(url.as_str());
    let shown = full
        .strip_prefix(at.repo.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .map_or_else(|| full.clone(), str::to_string);
    // The URL is in the error already: reqwest's copy of it goes.
    let unreachable = |e: reqwest::Error| ChartError::Unreachable {
        at: at.clone(),
        url: shown.clone(),
        reason: scrub(&describe(&e.without_url()), auth),
    };
    let mut request = client.get(url.clone());
    if send_credentials && let Some(user) = &auth.username {
        request = request.basic_auth(user, auth.password.as_ref());
    }
    let mut resp = request.send().await.map_err(unreachable)?;
    match resp.status() {
        s if s.is_success() => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(ChartError::AccessDenied {
                at: at.clone(),
                url: shown,
                status: resp.status().as_u16(),
            });
        }
        StatusCode::NOT_FOUND => {
            return Err(ChartError::NotFound {
                at: at.clone(),
                url: shown,
            });
        }
        s => {
            return Err(ChartError::HttpStatus {
                at: at.clone(),
                url: shown,
                status: s.as_u16(),
            });
        }
    }
    let too_large = || ChartError::TooLarge {
        at: at.clone(),
        url: shown.clone(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its sources, which reqwest keeps apart ("error sending request" alone says
/// nothing of the refused connection beneath).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Argo CD's `insecure`: any certificate is accepted, handshake signatures are still checked.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
