//! HTTP_GET / SSL_GET: an HTTP/1.1 GET written by hand (`Connection: close`), the status line
//! checked against the accepted ranges, and, when `digest` (keepalived: MD5 of the body) or
//! `contains` asks for it, the body read (Content-Length, chunked or to close; capped at
//! [`BODY_CAP`]). HTTPS goes over rustls; `verify_tls: false` accepts any certificate, as
//! keepalived's SSL_GET does without `ca`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use md5::{Digest as _, Md5};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::io::{AsyncWriteExt as _, BufReader};

use super::TlsConfig;
use super::tcp::{connect, short_io_error};
use crate::config::lvs::HttpCheck;

/// Largest body read for `digest` / `contains`.
pub const BODY_CAP: usize = 1 << 20;
/// Largest status line or header line, and largest header block.
const LINE_CAP: u64 = 8 * 1024;
const HEADER_CAP: usize = 64 * 1024;

/// A prepared HTTP(S) check of one target.
pub struct HttpProbe {
    addr: SocketAddr,
    request: Vec<u8>,
    status: Vec<(u16, u16)>,
    digest: Option<[u8; 16]>,
    contains: Option<String>,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl HttpProbe {
    /// Prepares the request to `addr`; `tls` for SSL_GET.
    pub fn new(addr: SocketAddr, check: &HttpCheck, tls: bool) -> Result<Self, String> {
        let default_port = if tls { 443 } else { 80 };
        let host = match &check.host {
            Some(h) => h.clone(),
            None => {
                let ip = match addr {
                    SocketAddr::V4(a) => a.ip().to_string(),
                    SocketAddr::V6(a) => format!("[{}]", a.ip()),
                };
                if addr.port() == default_port {
                    ip
                } else {
                    format!("{ip}:{}", addr.port())
                }
            }
        };
        let path = if check.path.is_empty() {
            "/"
        } else {
            &check.path
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vrrp-agent/{}\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        )
        .into_bytes();
        let digest = check.digest.as_deref().map(parse_md5).transpose()?;
        let tls = if tls {
            let config = tls_config(check.verify_tls)?;
            let name = match &check.host {
                Some(h) => ServerName::try_from(h.clone())
                    .map_err(|e| format!("host {h:?} is not a TLS server name: {e}"))?,
                None => ServerName::IpAddress(addr.ip().into()),
            };
            Some((tokio_rustls::TlsConnector::from(config), name))
        } else {
            None
        };
        Ok(HttpProbe {
            addr,
            request,
            status: if check.status.is_empty() {
                vec![(200, 299)]
            } else {
                check.status.clone()
            },
            digest,
            contains: check.contains.clone(),
            tls,
        })
    }

    /// One GET (the caller bounds it by the timeout).
    pub async fn attempt(&self) -> Result<String, String> {
        let tcp = connect(self.addr).await?;
        match &self.tls {
            None => self.exchange(tcp).await,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("tls handshake with {}: {e}", self.addr))?;
                self.exchange(tls).await
            }
        }
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut s: S,
    ) -> Result<String, String> {
        let io = |what: &str, e: std::io::Error| format!("{what}: {}", short_io_error(&e));
        s.write_all(&self.request)
            .await
            .map_err(|e| io("send request", e))?;
        s.flush().await.map_err(|e| io("send request", e))?;
        let mut r = BufReader::new(s);
        let head = read_head(&mut r).await?;
        if !self
            .status
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&head.status))
        {
            return Err(format!(
                "status {} not in {}",
                head.status,
                fmt_ranges(&self.status)
            ));
        }
        if self.digest.is_none() && self.contains.is_none() {
            return Ok(format!("status {}", head.status));
        }
        let body = read_body(&mut r, &head).await?;
        if let Some(want) = &self.digest {
            let got: [u8; 16] = Md5::digest(&body).into();
            if &got != want {
                return Err(format!("digest mismatch (body md5 {})", hex(&got)));
            }
        }
        if let Some(needle) = &self.contains
            && !contains(&body, needle.as_bytes())
        {
            return Err(format!("body does not contain {needle:?}"));
        }
        Ok(format!("status {}, body checked", head.status))
    }
}

/// The parts of a response head that matter here.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Content-Length, if given.
    pub content_length: Option<u64>,
    /// Transfer-Encoding ends with chunked.
    pub chunked: bool,
}

/// Reads one line (through `\n`), at most [`LINE_CAP`] bytes. `Ok(empty)` at end of stream.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, what: &str) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    (&mut *r)
        .take(LINE_CAP)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("read {what}: {}", short_io_error(&e)))?;
    if !line.is_empty() && !line.ends_with(b"\n") {
        if line.len() as u64 >= LINE_CAP {
            return Err(format!("{what} longer than {LINE_CAP} bytes"));
        }
        return Err(format!("connection closed in the {what}"));
    }
    Ok(line)
}

/// Reads and parses the status line and headers (RFC 9112 §4, §6).
pub async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Head, String> {
    let line = read_line(r, "status line").await?;
    if line.is_empty() {
        return Err("connection closed without a response".into());
    }
    let status = parse_status_line(&line)?;
    let mut head = Head {
        status,
        content_length: None,
        chunked: false,
    };
    let mut total = line.len();
    loop {
        let line = read_line(r, "headers").await?;
        if line.is_empty() {
            return Err("connection closed in the headers".into());
        }
        total += line.len();
        if total > HEADER_CAP {
            return Err(format!("headers longer than {HEADER_CAP} bytes"));
        }
        let line = trim_eol(&line);
        if line.is_empty() {
            return Ok(head);
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err("malformed header line".into());
        };
        let name = &line[..colon];
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        let value = value.trim();
        if name.eq_ignore_ascii_case(b"content-length") {
            head.content_length = Some(
                value
                    .parse()
                    .map_err(|_| format!("bad Content-Length {value:?}"))?,
            );
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            head.chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
        }
    }
}

/// `HTTP/1.1 200 OK` → 200.
pub fn parse_status_line(line: &[u8]) -> Result<u16, String> {
    let text = String::from_utf8_lossy(trim_eol(line));
    let bad = || format!("bad status line {:?}", truncate(&text, 60));
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().ok_or_else(bad)?;
    if !version.starts_with("HTTP/1.") {
        return Err(bad());
    }
    let code = parts.next().ok_or_else(bad)?;
    if code.len() != 3 {
        return Err(bad());
    }
    code.parse().map_err(|_| bad())
}

/// Reads the body as framed by `head` (RFC 9112 §6.3): chunked, Content-Length, or to close.
pub async fn read_body<R: AsyncBufRead + Unpin>(r: &mut R, head: &Head) -> Result<Vec<u8>, String> {
    let too_big = || format!("body larger than {} KiB", BODY_CAP / 1024);
    let io = |e: std::io::Error| format!("read body: {}", short_io_error(&e));
    if head.chunked {
        let mut body = Vec::new();
        loop {
            let line = read_line(r, "chunk size").await?;
            if line.is_empty() {
                return Err("connection closed in a chunked body".into());
            }
            let text = String::from_utf8_lossy(trim_eol(&line));
            let size = text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| format!("bad chunk size {:?}", truncate(&text, 20)))?;
            if size == 0 {
                // Trailers, up to the empty line (or close: the body is complete anyway).
                loop {
                    let t = read_line(r, "trailers").await?;
                    if t.is_empty() || trim_eol(&t).is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len() + size > BODY_CAP {
                return Err(too_big());
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..]).await.map_err(io)?;
            let crlf = read_line(r, "chunk end").await?;
            if !trim_eol(&crlf).is_empty() {
                return Err("chunk not followed by CRLF".into());
            }
        }
    } else if let Some(len) = head.content_length {
        if len > BODY_CAP as u64 {
            return Err(too_big());
        }
        let mut body = vec![0; len as usize];
        r.read_exact(&mut body).await.map_err(io)?;
        Ok(body)
    } else {
        let mut body = Vec::new();
        match (&mut *r)
            .take(BODY_CAP as u64 + 1)
            .read_to_end(&mut body)
            .await
        {
            Ok(_) => {}
            // A TLS peer closing without close_notify: the body ends there all the same.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(io(e)),
        }
        if body.len() > BODY_CAP {
            return Err(too_big());
        }
        Ok(body)
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// `[(200,299),(302,302)]` → "200-299,302".
pub fn fmt_ranges(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// 32 hex digits → 16 bytes.
pub fn parse_md5(s: &str) -> Result<[u8; 16], String> {
    let bad = || format!("digest {s:?} is not 32 hex digits (an MD5)");
    if s.len() != 32 || !s.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The shared client configurations (one verifying, one accepting anything), built once.
fn tls_config(verify: bool) -> Result<TlsConfig, String> {
    static VERIFY: OnceLock<Result<TlsConfig, String>> = OnceLock::new();
    static ANY: OnceLock<Result<TlsConfig, String>> = OnceLock::new();
    let cell = if verify { &VERIFY } else { &ANY };
    cell.get_or_init(|| build_tls_config(verify)).clone()
}

fn build_tls_config(verify: bool) -> Result<TlsConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?;
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // Certificates the parser refuses are skipped, as every TLS client does.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            log::warn!("lvs: no system CA certificates found: every verify_tls check will fail");
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// keepalived SSL_GET without `ca`: any certificate is accepted (the handshake signatures are
/// still checked, so the peer holds the key of the certificate it shows).
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn head_and_body(raw: &[u8]) -> Result<(Head, Vec<u8>), String> {
        let mut r = BufReader::new(raw);
        let h = read_head(&mut r).await?;
        let b = read_body(&mut r, &h).await?;
        Ok((h, b))
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Ok(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 503\r\n"), Ok(503));
        assert!(parse_status_line(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_status_line(b"HTTP/1.1 20 OK\r\n").is_err());
    }

    #[tokio::test]
    async fn content_length_chunked_and_close_framing() {
        let (h, b) = head_and_body(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
            .await
            .unwrap();
        assert_eq!(
            (h.status, h.content_length, b.as_slice()),
            (200, Some(5), &b"hello"[..])
        );
        let (h, b) = head_and_body(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nB\r\n, chunked!!\r\n0\r\nT: v\r\n\r\n",
        )
        .await
        .unwrap();
        assert!(h.chunked);
        assert_eq!(b, b"hello, chunked!!");
        let (_, b) = head_and_body(b"HTTP/1.0 200 OK\r\n\r\nto the end")
            .await
            .unwrap();
        assert_eq!(b, b"to the end");
    }

    #[tokio::test]
    async fn truncated_and_oversized_bodies_fail() {
        assert!(
            head_and_body(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort")
                .await
                .is_err()
        );
        assert!(
            head_and_body(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")
                .await
                .unwrap_err()
                .contains("larger than")
        );
        assert!(head_and_body(b"HTTP/1.1 200 OK\r\n").await.is_err());
        assert!(head_and_body(b"").await.is_err());
    }

    #[test]
    fn ranges_and_digests() {
        assert_eq!(fmt_ranges(&[(200, 299), (302, 302)]), "200-299,302");
        assert_eq!(
            hex(&parse_md5("5d41402abc4b2a76b9719d911017c592").unwrap()),
            "5d41402abc4b2a76b9719d911017c592"
        );
        assert!(parse_md5("xyz").is_err());
        assert!(contains(b"hello world", b"o w"));
        assert!(!contains(b"hello", b"world"));
    }
}
