//! Benchmark of the LVS health-check engine (vrrp_agent::lvs::Monitor): N targets (default
//! 1000) checked every second against listeners on loopback (127.0.0.1..127.0.0.10, ephemeral
//! ports), first with TCP_CHECK then with HTTP_GET. The listeners run in a child process (this
//! binary with `--serve`), so getrusage(RUSAGE_SELF) of this process is the monitor's own cost;
//! the child's cost is reported apart. Each phase warms up for one interval (start offsets are
//! spread over it), then measures for the window (30 s, `--quick` 5 s). Prints a markdown table;
//! never fails on a threshold.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use vrrp_agent::config::ConfigDuration;
use vrrp_agent::config::lvs::{Check, CheckKind, HttpCheck};
use vrrp_agent::lvs::{Monitor, Target, TargetKey};

const ADDRESSES: u16 = 10;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let n = args.get(1).context("--serve N")?.parse()?;
        return serve(n);
    }
    let mut quick = false;
    let mut window = None;
    let mut targets = 1000usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--window" => window = Some(it.next().context("--window SECS")?.parse::<u64>()?),
            "--targets" => targets = it.next().context("--targets N")?.parse()?,
            other => bail!("unknown argument {other:?} (--quick, --window SECS, --targets N)"),
        }
    }
    let window = Duration::from_secs(window.unwrap_or(if quick { 5 } else { 30 }));
    let interval = Duration::from_secs(1);
    let nofile = raise_nofile();

    let mut server = Server::start(targets)?;
    let rt = tokio::runtime::Runtime::new()?;
    let rss_before = maxrss_kib();
    let mut rows = Vec::new();
    for kind in ["tcp", "http"] {
        let addrs = server.addrs.clone();
        rows.push(rt.block_on(phase(kind, &addrs, interval, window, &mut server))?);
    }
    drop(rt);
    server.stop();

    println!("## LVS health checks: {targets} targets, one process, loopback listeners\n");
    println!(
        "| check | targets | interval | window | checks/s | failed checks | monitor CPU s/s | listeners CPU s/s | peak RSS (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} s | {} s | {:.0} | {} | {:.4} | {:.4} | {:.1} |",
            r.kind,
            targets,
            interval.as_secs(),
            window.as_secs(),
            r.checks_per_s,
            r.failures,
            r.monitor_cpu,
            r.server_cpu,
            r.maxrss_kib as f64 / 1024.0
        );
    }
    println!(
        "\nMachine: nproc {}, kernel {}. tokio multi-thread runtime (default workers). \
         CPU s/s = user+system CPU seconds per second of wall time over the window (after one \
         interval of warm-up); monitor = this process (getrusage RUSAGE_SELF), listeners = the \
         `--serve` child process (its own getrusage over the same window). HTTP: GET, status \
         checked, 2-byte body not read. Peak RSS = ru_maxrss of this process \
         ({:.1} MiB before the first phase). RLIMIT_NOFILE {nofile}.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        rss_before as f64 / 1024.0,
    );
    Ok(())
}

struct Row {
    kind: &'static str,
    checks_per_s: f64,
    failures: u64,
    monitor_cpu: f64,
    server_cpu: f64,
    maxrss_kib: i64,
}

async fn phase(
    kind: &'static str,
    addrs: &[SocketAddr],
    interval: Duration,
    window: Duration,
    server: &mut Server,
) -> Result<Row> {
    let check_kind = |_: &SocketAddr| match kind {
        "tcp" => CheckKind::Tcp {
            connect_ip: None,
            connect_port: None,
        },
        _ => CheckKind::Http(HttpCheck {
            path: "/".into(),
            host: None,
            status: vec![(200, 299)],
            digest: None,
            contains: None,
            connect_ip: None,
            connect_port: None,
            verify_tls: false,
        }),
    };
    let targets = addrs
        .iter()
        .map(|a| Target {
            key: TargetKey {
                vs: format!("bench-{kind}"),
                addr: a.ip(),
                port: a.port(),
            },
            addr: a.ip(),
            port: a.port(),
            check: Check {
                kind: check_kind(a),
                interval: ConfigDuration(interval),
                timeout: ConfigDuration::from_secs(1),
                retries: 0,
                retry_delay: ConfigDuration::from_secs(1),
                rise: 1,
                fall: 1,
                alpha: false,
            },
            run_as: None,
        })
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let monitor = Monitor::start(targets, tx);
    tokio::time::sleep(interval).await;
    let totals = |m: &Monitor| {
        m.states()
            .iter()
            .fold((0, 0), |(c, f), (_, s)| (c + s.checks, f + s.failures))
    };
    let (c0, f0) = totals(&monitor);
    let cpu0 = self_cpu();
    let srv0 = server.cpu()?;
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let (c1, f1) = totals(&monitor);
    let cpu1 = self_cpu();
    let srv1 = server.cpu()?;
    let wall = t0.elapsed().as_secs_f64();
    drop(monitor);
    let mut changes = 0;
    while rx.try_recv().is_ok() {
        changes += 1;
    }
    if changes > 0 {
        eprintln!("bench-health: {kind}: {changes} state changes (some checks failed)");
    }
    Ok(Row {
        kind,
        checks_per_s: (c1 - c0) as f64 / wall,
        failures: f1 - f0,
        monitor_cpu: (cpu1 - cpu0) / wall,
        server_cpu: (srv1 - srv0) / wall,
        maxrss_kib: maxrss_kib(),
    })
}

/// The listeners' process.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    addrs: Vec<SocketAddr>,
}

impl Server {
    fn start(n: usize) -> Result<Server> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--serve", &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("spawn the listeners")?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut addrs = Vec::with_capacity(n);
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                bail!("listeners exited early");
            }
            match line.trim() {
                "ready" => break,
                a => addrs.push(a.parse().with_context(|| format!("listener line {a:?}"))?),
            }
        }
        Ok(Server {
            child,
            stdin,
            stdout,
            addrs,
        })
    }

    /// The child's CPU seconds so far (it answers a "cpu" line).
    fn cpu(&mut self) -> Result<f64> {
        writeln!(self.stdin, "cpu")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line.trim().parse()?)
    }

    fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

/// Child: N listeners over 127.0.0.1..127.0.0.10 that accept, answer an HTTP request if one
/// comes, and close. Prints the addresses, then "ready"; answers "cpu" lines; exits at EOF.
fn serve(n: usize) -> Result<()> {
    raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let addrs = rt.block_on(async {
        let mut addrs = Vec::with_capacity(n);
        for i in 0..n {
            let ip = std::net::Ipv4Addr::new(127, 0, 0, 1 + (i as u16 % ADDRESSES) as u8);
            let l = tokio::net::TcpListener::bind((ip, 0)).await?;
            addrs.push(l.local_addr()?);
            tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    tokio::spawn(answer(s));
                }
            });
        }
        anyhow::Ok(addrs)
    })?;
    let mut out = std::io::stdout().lock();
    for a in &addrs {
        writeln!(out, "{a}")?;
    }
    writeln!(out, "ready")?;
    out.flush()?;
    for line in std::io::stdin().lines() {
        if line?.trim() == "cpu" {
            writeln!(out, "{}", self_cpu())?;
            out.flush()?;
        }
    }
    drop(rt);
    Ok(())
}

async fn answer(mut s: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return, // a TCP check: connected and closed
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        .await;
    let _ = s.shutdown().await;
}

fn rusage() -> libc::rusage {
    // SAFETY: getrusage fills the zeroed struct it is given.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    }
}

/// User + system CPU seconds of this process.
fn self_cpu() -> f64 {
    let u = rusage();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn maxrss_kib() -> i64 {
    rusage().ru_maxrss
}

/// Soft RLIMIT_NOFILE up to the hard limit (1000 listeners + 1000 checks in flight).
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
            return r.rlim_cur;
        }
    }
    0
}
