//! The certificate authorities the native transports trust (feature `tls`).
//!
//! The operating system's store comes from `rustls-native-certs` rather than
//! `rustls-platform-verifier`: it gives a plain list of root certificates, which both
//! transports merge with Mozilla's roots and your own into one root store the same way
//! (ureq's platform-verifier mode cannot take extra roots, and that verifier accepts extra
//! roots on some platforms only). What it gives up: on macOS and Windows the OS's own
//! verifier would also apply its revocation checks and per-certificate trust settings.

use std::fmt;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The root certificates a transport trusts: Mozilla's (the default), the operating system's
/// store, and roots of your own (a corporate CA, a TLS-inspecting proxy's CA, a test server's
/// certificate), in any combination.
///
/// ```no_run
/// use zuora_oauth_driver::TrustRoots;
///
/// # fn demo(corporate_ca_pem: &str) -> Result<(), zuora_oauth_driver::TrustError> {
/// // Mozilla's roots, plus what the OS trusts, plus one more CA.
/// let roots = TrustRoots::webpki().with_os_store()?.with_pem(corporate_ca_pem)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TrustRoots {
    webpki: bool,
    os: usize,
    added: Vec<CertificateDer<'static>>,
}

impl Default for TrustRoots {
    /// [`TrustRoots::webpki`].
    fn default() -> Self {
        Self::webpki()
    }
}

impl TrustRoots {
    /// Mozilla's root certificates (the `webpki-root-certs` crate), built into the program:
    /// the same everywhere, whatever the machine trusts.
    pub fn webpki() -> Self {
        Self {
            webpki: true,
            os: 0,
            added: Vec::new(),
        }
    }

    /// No root at all: add the ones to trust with [`with_os_store`](Self::with_os_store),
    /// [`with_der`](Self::with_der) or [`with_pem`](Self::with_pem). A transport trusting no
    /// root fails every TLS handshake.
    pub fn empty() -> Self {
        Self {
            webpki: false,
            os: 0,
            added: Vec::new(),
        }
    }

    /// Adds the operating system's trusted roots, read now: the files OpenSSL would read on
    /// Linux and BSD (`SSL_CERT_FILE` and `SSL_CERT_DIR` override them), the keychain on
    /// macOS, the system store on Windows. Fails if not one certificate could be read.
    pub fn with_os_store(mut self) -> Result<Self, TrustError> {
        let loaded = rustls_native_certs::load_native_certs();
        if loaded.certs.is_empty() {
            let reason = match loaded.errors.first() {
                Some(error) => format!("no certificate could be read from it ({error})"),
                None => "it holds no certificate".to_owned(),
            };
            return Err(TrustError(format!(
                "the operating system's trust store: {reason}"
            )));
        }
        self.os += loaded.certs.len();
        self.added.extend(loaded.certs);
        Ok(self)
    }

    /// Adds one root certificate in DER. Fails if it is not an X.509 certificate that can
    /// serve as a trust anchor.
    pub fn with_der(mut self, der: impl Into<Vec<u8>>) -> Result<Self, TrustError> {
        let certificate = CertificateDer::from(der.into());
        webpki::anchor_from_trusted_cert(&certificate)
            .map_err(|e| TrustError(format!("a root certificate is not usable: {e}")))?;
        self.added.push(certificate);
        Ok(self)
    }

    /// Adds every `CERTIFICATE` in `pem` (other sections are skipped). Fails if there is
    /// none, or if one cannot be decoded or serve as a trust anchor.
    pub fn with_pem(self, pem: impl AsRef<[u8]>) -> Result<Self, TrustError> {
        let mut roots = self;
        let mut found = false;
        for certificate in CertificateDer::pem_slice_iter(pem.as_ref()) {
            let certificate = certificate
                .map_err(|e| TrustError(format!("a PEM root certificate is not usable: {e}")))?;
            roots = roots.with_der(certificate.to_vec())?;
            found = true;
        }
        if found {
            Ok(roots)
        } else {
            Err(TrustError("the PEM text holds no CERTIFICATE".to_owned()))
        }
    }

    /// Every trusted root, in DER: Mozilla's if chosen, then the OS store's, then yours. A
    /// transport trusts exactly these.
    pub fn certificates(&self) -> Vec<CertificateDer<'static>> {
        let webpki = if self.webpki {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
        } else {
            &[]
        };
        webpki.iter().chain(&self.added).cloned().collect()
    }
}

impl fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRoots")
            .field("webpki", &self.webpki)
            .field("os_store", &self.os)
            .field("custom", &(self.added.len() - self.os))
            .finish()
    }
}

/// Trust roots that could not be read or used.
#[derive(Debug, Clone)]
pub struct TrustError(String);

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TrustError {}
