//! The LVS health-check engine (vrrp_agent::lvs) against real servers started on loopback:
//! TCP, HTTP (status, digest, contains, chunked), HTTPS with a self-signed certificate, scripts,
//! timeouts, retries, rise/fall, alpha and reload.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;
use vrrp_agent::config::ConfigDuration;
use vrrp_agent::config::lvs::{Check, CheckKind, HttpCheck};
use vrrp_agent::lvs::probe::Prober;
use vrrp_agent::lvs::{HealthChange, Monitor, Target, TargetKey};

const LO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn check(kind: CheckKind) -> Check {
    Check {
        kind,
        interval: ConfigDuration::from_millis(100),
        timeout: ConfigDuration::from_millis(500),
        retries: 0,
        retry_delay: ConfigDuration::from_millis(20),
        rise: 1,
        fall: 1,
        alpha: false,
    }
}

fn tcp() -> CheckKind {
    CheckKind::Tcp {
        connect_ip: None,
        connect_port: None,
    }
}

fn http_check() -> HttpCheck {
    HttpCheck {
        path: "/health".into(),
        host: None,
        status: vec![(200, 299)],
        digest: None,
        contains: None,
        connect_ip: None,
        connect_port: None,
        verify_tls: false,
    }
}

fn target(vs: &str, addr: SocketAddr, check: Check) -> Target {
    Target {
        key: TargetKey {
            vs: vs.into(),
            addr: addr.ip(),
            port: addr.port(),
        },
        addr: addr.ip(),
        port: addr.port(),
        check,
        run_as: None,
    }
}

/// Aborts the server task on drop (closing its listener).
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn listen(addr: SocketAddr) -> TcpListener {
    let s = TcpSocket::new_v4().unwrap();
    s.set_reuseaddr(true).unwrap();
    s.bind(addr).unwrap();
    s.listen(128).unwrap()
}

/// Accepts and closes (enough for TCP checks).
fn tcp_server(addr: SocketAddr) -> Server {
    let l = listen(addr);
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    });
    Server { addr, task }
}

/// Reads a request head then answers `respond(n)` (n = request number, from 0) and closes.
fn http_server(respond: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static) -> Server {
    let l = listen(SocketAddr::new(LO, 0));
    let addr = l.local_addr().unwrap();
    let respond = Arc::new(respond);
    let count = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let respond = respond.clone();
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if read_request(&mut s).await.is_some() {
                    let _ = s.write_all(&respond(n)).await;
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    Server { addr, task }
}

async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<Vec<u8>> {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        req.extend_from_slice(&buf[..n]);
    }
    Some(req)
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn prober(addr: SocketAddr, check: &Check) -> Prober {
    Prober::new(addr.ip(), addr.port(), check, None).unwrap()
}

async fn next_change(rx: &mut UnboundedReceiver<HealthChange>, within: Duration) -> HealthChange {
    tokio::time::timeout(within, rx.recv())
        .await
        .expect("no health change in time")
        .expect("channel closed")
}

#[tokio::test]
async fn tcp_check_of_a_listening_server_stays_up() {
    let srv = tcp_server(SocketAddr::new("127.0.0.2".parse().unwrap(), 0));
    let (tx, mut rx) = unbounded_channel();
    let t = target("web", srv.addr, check(tcp()));
    let key = t.key.clone();
    let m = Monitor::start(vec![t], tx);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(m.is_up(&key));
    let st = m.states();
    assert_eq!(st.len(), 1);
    assert!(
        st[0].1.up && st[0].1.checks >= 2 && st[0].1.failures == 0,
        "{st:?}"
    );
    assert_eq!(st[0].1.detail, "connected");
    assert!(rx.try_recv().is_err(), "no change expected");
    let unknown = TargetKey {
        vs: "other".into(),
        addr: LO,
        port: 1,
    };
    assert!(m.is_up(&unknown), "targets without a check are up");
}

#[tokio::test]
async fn a_flapping_tcp_server_goes_down_after_fall_and_up_after_rise() {
    let srv = tcp_server(SocketAddr::new(LO, 0));
    let addr = srv.addr;
    let (tx, mut rx) = unbounded_channel();
    let mut c = check(tcp());
    c.fall = 3;
    c.rise = 2;
    let t = target("web", addr, c);
    let key = t.key.clone();
    let m = Monitor::start(vec![t], tx);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(m.is_up(&key));

    drop(srv); // connection refused from now on
    let ch = next_change(&mut rx, Duration::from_secs(5)).await;
    assert!(!ch.up);
    assert_eq!(ch.key, key);
    assert!(
        ch.detail.contains("connection refused") && ch.detail.contains(&addr.to_string()),
        "{}",
        ch.detail
    );
    let st = &m.states()[0].1;
    assert!(st.failures >= 3, "fall=3 needs three failed checks: {st:?}");
    assert!(!m.is_up(&key));

    let _srv = tcp_server(addr); // the same port again
    let ch = next_change(&mut rx, Duration::from_secs(5)).await;
    assert!(ch.up, "{ch:?}");
    assert_eq!(ch.detail, "connected");
    let st = &m.states()[0].1;
    assert!(st.checks >= st.failures + 2, "rise=2: {st:?}");
}

#[tokio::test]
async fn http_status_must_be_in_the_accepted_ranges() {
    let ok = http_server(|_| response("200 OK", "fine"));
    let err = http_server(|_| response("500 Internal Server Error", "broken"));
    let c = check(CheckKind::Http(http_check()));
    assert_eq!(prober(ok.addr, &c).attempt().await, Ok("status 200".into()));
    assert_eq!(
        prober(err.addr, &c).attempt().await,
        Err("status 500 not in 200-299".into())
    );
    let mut h = http_check();
    h.status = vec![(500, 500), (302, 304)];
    let c = check(CheckKind::Http(h));
    assert_eq!(
        prober(err.addr, &c).attempt().await,
        Ok("status 500".into())
    );
    assert_eq!(
        prober(ok.addr, &c).attempt().await,
        Err("status 200 not in 500,302-304".into())
    );
}

#[tokio::test]
async fn the_request_is_an_http11_get_with_host_and_connection_close() {
    let (tx, mut rx) = unbounded_channel::<Vec<u8>>();
    let l = listen(SocketAddr::new(LO, 0));
    let addr = l.local_addr().unwrap();
    let _srv = Server {
        addr,
        task: tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let req = read_request(&mut s).await.unwrap();
            let _ = tx.send(req);
            let _ = s.write_all(&response("204 No Content", "")).await;
        }),
    };
    let mut h = http_check();
    h.host = Some("www.example.com".into());
    assert_eq!(
        prober(addr, &check(CheckKind::Http(h))).attempt().await,
        Ok("status 204".into())
    );
    let req = String::from_utf8(rx.recv().await.unwrap()).unwrap();
    assert!(req.starts_with("GET /health HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("\r\nHost: www.example.com\r\n"), "{req}");
    assert!(req.contains("\r\nConnection: close\r\n"), "{req}");
    assert!(req.contains("\r\nUser-Agent: vrrp-agent"), "{req}");
}

#[tokio::test]
async fn digest_and_contains_check_the_body() {
    // md5("hello world") = 5eb63bbbe01eeed093cb22bb8f5acdc3
    let srv = http_server(|_| response("200 OK", "hello world"));
    let mut h = http_check();
    h.digest = Some("5eb63bbbe01eeed093cb22bb8f5acdc3".into());
    assert!(
        prober(srv.addr, &check(CheckKind::Http(h.clone())))
            .attempt()
            .await
            .is_ok()
    );
    h.digest = Some("00000000000000000000000000000000".into());
    let r = prober(srv.addr, &check(CheckKind::Http(h)))
        .attempt()
        .await
        .unwrap_err();
    assert!(r.starts_with("digest mismatch"), "{r}");
    assert!(r.contains("5eb63bbbe01eeed093cb22bb8f5acdc3"), "{r}");

    let mut h = http_check();
    h.contains = Some("o wor".into());
    assert!(
        prober(srv.addr, &check(CheckKind::Http(h.clone())))
            .attempt()
            .await
            .is_ok()
    );
    h.contains = Some("goodbye".into());
    assert_eq!(
        prober(srv.addr, &check(CheckKind::Http(h))).attempt().await,
        Err("body does not contain \"goodbye\"".into())
    );
}

#[tokio::test]
async fn chunked_and_read_to_close_bodies_are_decoded() {
    let chunked = http_server(|_| {
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"
            .to_vec()
    });
    let close = http_server(|_| b"HTTP/1.0 200 OK\r\n\r\nhello world".to_vec());
    let mut h = http_check();
    h.digest = Some("5eb63bbbe01eeed093cb22bb8f5acdc3".into());
    h.contains = Some("lo wo".into());
    let c = check(CheckKind::Http(h));
    assert_eq!(
        prober(chunked.addr, &c).attempt().await,
        Ok("status 200, body checked".into())
    );
    assert_eq!(
        prober(close.addr, &c).attempt().await,
        Ok("status 200, body checked".into())
    );
}

#[tokio::test]
async fn a_server_that_never_answers_fails_at_the_timeout() {
    let l = listen(SocketAddr::new(LO, 0));
    let addr = l.local_addr().unwrap();
    let _srv = Server {
        addr,
        task: tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s); // accepted, never answered
            }
        }),
    };
    let mut c = check(CheckKind::Http(http_check()));
    c.timeout = ConfigDuration::from_millis(300);
    let t0 = Instant::now();
    assert_eq!(
        prober(addr, &c).attempt().await,
        Err("timeout after 300ms".into())
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // Through the monitor: down, with the timeout as the reason.
    let (tx, mut rx) = unbounded_channel();
    let _m = Monitor::start(vec![target("web", addr, c)], tx);
    let ch = next_change(&mut rx, Duration::from_secs(5)).await;
    assert!(!ch.up);
    assert_eq!(ch.detail, "timeout after 300ms");
}

fn tls_server() -> Server {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = rustls::pki_types::CertificateDer::from(ck.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = listen(SocketAddr::new(LO, 0));
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                if read_request(&mut s).await.is_some() {
                    let _ = s.write_all(&response("200 OK", "secure hello")).await;
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    Server { addr, task }
}

#[tokio::test]
async fn https_with_a_self_signed_certificate_is_up_only_without_verification() {
    let srv = tls_server();
    let mut h = http_check();
    h.contains = Some("secure".into());
    h.host = Some("localhost".into());
    let c = check(CheckKind::Https(h.clone()));
    assert_eq!(
        prober(srv.addr, &c).attempt().await,
        Ok("status 200, body checked".into())
    );
    h.verify_tls = true;
    let r = prober(srv.addr, &check(CheckKind::Https(h)))
        .attempt()
        .await
        .unwrap_err();
    assert!(r.starts_with("tls handshake with"), "{r}");
    assert!(r.contains("certificate"), "{r}");
    // Plain HTTP against the TLS port fails too.
    assert!(
        prober(srv.addr, &check(CheckKind::Http(http_check())))
            .attempt()
            .await
            .is_err()
    );
}

fn sh(script: &str) -> CheckKind {
    CheckKind::Script {
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        user: None,
    }
}

#[tokio::test]
async fn script_exit_status_decides() {
    let a = SocketAddr::new(LO, 80);
    assert_eq!(
        prober(a, &check(sh("exit 0"))).attempt().await,
        Ok("exit 0".into())
    );
    assert_eq!(
        prober(a, &check(sh("exit 1"))).attempt().await,
        Err("exit 1".into())
    );
}

#[tokio::test]
async fn a_hanging_script_is_killed_at_the_timeout_and_counts_as_a_failure() {
    let pidfile = std::env::temp_dir().join(format!("lvs-health-hang-{}", std::process::id()));
    let _ = std::fs::remove_file(&pidfile);
    let mut c = check(sh(&format!(
        "echo $$ > {}; exec sleep 30",
        pidfile.display()
    )));
    c.timeout = ConfigDuration::from_millis(300);
    let t0 = Instant::now();
    let r = prober(SocketAddr::new(LO, 80), &c).attempt().await;
    assert_eq!(r, Err("timeout after 300ms (killed)".into()));
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = std::fs::remove_file(&pidfile);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "script process {pid} still exists"
    );
}

#[tokio::test]
async fn one_failed_attempt_followed_by_a_success_within_retries_is_no_failure() {
    // Every odd request fails: with retries=1 each check's retry succeeds.
    let srv = http_server(|n| {
        if n % 2 == 0 {
            response("503 Service Unavailable", "")
        } else {
            response("200 OK", "")
        }
    });
    let (tx, mut rx) = unbounded_channel();
    let mut c = check(CheckKind::Http(http_check()));
    c.retries = 1;
    let t = target("web", srv.addr, c.clone());
    let m = Monitor::start(vec![t], tx);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let st = &m.states()[0].1;
    assert!(st.up && st.checks >= 2 && st.failures == 0, "{st:?}");
    assert!(rx.try_recv().is_err(), "no down expected");
    drop(m);

    // The same server without retries goes down.
    let (tx, mut rx) = unbounded_channel();
    c.retries = 0;
    let _m2 = Monitor::start(vec![target("web2", srv.addr, c)], tx);
    let ch = next_change(&mut rx, Duration::from_secs(5)).await;
    assert!(!ch.up);
    assert_eq!(ch.detail, "status 503 not in 200-299");
}

#[tokio::test]
async fn all_attempts_failing_is_one_failed_check_after_the_retries() {
    let (tx, mut rx) = unbounded_channel();
    let closed = {
        let l = std::net::TcpListener::bind((LO, 0)).unwrap();
        l.local_addr().unwrap()
    };
    let mut c = check(tcp());
    c.retries = 2;
    let _m = Monitor::start(vec![target("web", closed, c)], tx);
    let ch = next_change(&mut rx, Duration::from_secs(5)).await;
    assert!(!ch.up);
    assert!(ch.detail.ends_with("(3 attempts)"), "{}", ch.detail);
}

#[tokio::test]
async fn alpha_starts_down_until_the_first_success() {
    let srv = tcp_server(SocketAddr::new(LO, 0));
    let (tx, mut rx) = unbounded_channel();
    let mut c = check(tcp());
    c.alpha = true;
    c.rise = 3;
    let t = target("web", srv.addr, c);
    let key = t.key.clone();
    let m = Monitor::start(vec![t], tx);
    assert!(!m.is_up(&key), "alpha: down before the first check");
    let ch = next_change(&mut rx, Duration::from_secs(5)).await;
    assert!(ch.up);
    let st = &m.states()[0].1;
    assert_eq!((st.checks, st.up), (1, true), "{st:?}");

    // Without alpha a dead server starts up and goes down.
    let closed = {
        let l = std::net::TcpListener::bind((LO, 0)).unwrap();
        l.local_addr().unwrap()
    };
    let (tx, mut rx) = unbounded_channel();
    let t = target("web", closed, check(tcp()));
    let key = t.key.clone();
    let m = Monitor::start(vec![t], tx);
    assert!(m.is_up(&key));
    assert!(!next_change(&mut rx, Duration::from_secs(5)).await.up);
}

#[tokio::test]
async fn reload_keeps_unchanged_targets_and_starts_and_stops_the_others() {
    let a = tcp_server(SocketAddr::new(LO, 0));
    let b = tcp_server(SocketAddr::new(LO, 0));
    let (tx, _rx) = unbounded_channel();
    let ta = target("web", a.addr, check(tcp()));
    let tb = target("web", b.addr, check(tcp()));
    let mut m = Monitor::start(vec![ta.clone(), tb.clone()], tx);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let before = m.states();
    assert!(before.iter().all(|(_, s)| s.checks >= 2), "{before:?}");

    // a unchanged, b removed, c new, and a's twin with a changed check restarts.
    let c = tcp_server(SocketAddr::new(LO, 0));
    let tc = target("web", c.addr, check(tcp()));
    m.reload(vec![ta.clone(), tc.clone()]);
    let after = m.states();
    assert_eq!(after.len(), 2);
    let sa = &after.iter().find(|(k, _)| *k == ta.key).unwrap().1;
    let sa_before = &before.iter().find(|(k, _)| *k == ta.key).unwrap().1;
    assert!(sa.checks >= sa_before.checks, "a kept its counters");
    assert!(sa.checks >= 2);
    let sc = &after.iter().find(|(k, _)| *k == tc.key).unwrap().1;
    assert_eq!(sc.checks, 0, "c is new");
    assert!(!after.iter().any(|(k, _)| *k == tb.key));

    let mut ta2 = ta.clone();
    ta2.check.interval = ConfigDuration::from_millis(150);
    m.reload(vec![ta2, tc]);
    let sa = &m
        .states()
        .iter()
        .find(|(k, _)| *k == ta.key)
        .unwrap()
        .1
        .clone();
    assert_eq!(sa.checks, 0, "a changed check starts afresh");
    m.shutdown();
    assert!(m.states().is_empty());
}

#[tokio::test]
async fn tcp_check_uses_connect_port() {
    let srv = tcp_server(SocketAddr::new(LO, 0));
    let c = check(CheckKind::Tcp {
        connect_ip: Some(LO),
        connect_port: Some(srv.addr.port()),
    });
    // The real server's own port is closed; the check goes to connect_port.
    let p = Prober::new("127.0.0.3".parse().unwrap(), 1, &c, None).unwrap();
    assert_eq!(p.addr(), srv.addr);
    assert_eq!(p.attempt().await, Ok("connected".into()));
    let _ = TcpStream::connect(srv.addr).await.unwrap();
}
