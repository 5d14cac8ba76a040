//! TCP_CHECK: up when the three-way handshake completes; the connection is closed at once.

use std::net::SocketAddr;

/// One connect attempt (the caller bounds it by the timeout).
pub async fn attempt(addr: SocketAddr) -> Result<String, String> {
    connect(addr).await.map(|_| "connected".to_string())
}

/// Connects, with a "connect ADDR: reason" error detail. Shared with the HTTP probe.
pub async fn connect(addr: SocketAddr) -> Result<tokio::net::TcpStream, String> {
    let s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {}", short_io_error(&e)))?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// "connection refused" rather than "Connection refused (os error 111)".
pub fn short_io_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_shortened() {
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(short_io_error(&e), "connection refused");
    }
}
