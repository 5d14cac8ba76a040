//! Per-interface ARP sysctls (/proc/sys/net/ipv4/conf/IF/arp_ignore, arp_announce), so the
//! kernel does not answer ARP for a VIP with the interface's real MAC.
//!
//! The values are the caller's decision. The usual pair on a VRRP node whose VIPs are answered by
//! the XDP program: `arp_ignore=1` (reply only for addresses configured on the receiving
//! interface: no cross-interface answers) or `2`, and `arp_announce=2` (never use a VIP as the
//! source of the kernel's own ARP requests, so no neighbour learns VIP -> real MAC). Paths resolve
//! in the network namespace of the calling thread.

use std::io;
use std::path::PathBuf;

fn conf_path(ifname: &str, key: &str) -> io::Result<PathBuf> {
    if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name {ifname:?}"),
        ));
    }
    Ok(PathBuf::from(format!(
        "/proc/sys/net/ipv4/conf/{ifname}/{key}"
    )))
}

fn write(ifname: &str, key: &str, value: u8) -> io::Result<()> {
    let path = conf_path(ifname, key)?;
    std::fs::write(&path, format!("{value}\n")).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("write {value} to {}: {e}", path.display()),
        )
    })
}

fn read(ifname: &str, key: &str) -> io::Result<u8> {
    let path = conf_path(ifname, key)?;
    let s = std::fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("read {}: {e}", path.display())))?;
    s.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {s:?}", path.display()),
        )
    })
}

/// Sets `net.ipv4.conf.IF.arp_ignore` (0..=8, see the kernel's ip-sysctl.rst).
pub fn set_arp_ignore(ifname: &str, value: u8) -> io::Result<()> {
    write(ifname, "arp_ignore", value)
}

/// Sets `net.ipv4.conf.IF.arp_announce` (0..=2).
pub fn set_arp_announce(ifname: &str, value: u8) -> io::Result<()> {
    write(ifname, "arp_announce", value)
}

/// Reads `net.ipv4.conf.IF.arp_ignore`.
pub fn arp_ignore(ifname: &str) -> io::Result<u8> {
    read(ifname, "arp_ignore")
}

/// Reads `net.ipv4.conf.IF.arp_announce`.
pub fn arp_announce(ifname: &str) -> io::Result<u8> {
    read(ifname, "arp_announce")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_cannot_escape_the_conf_directory() {
        for bad in ["", "..", ".", "a/../../x"] {
            assert_eq!(
                conf_path(bad, "arp_ignore").map_err(|e| e.kind()),
                Err(io::ErrorKind::InvalidInput)
            );
        }
        assert_eq!(
            conf_path("eth0", "arp_announce").expect("valid name"),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0/arp_announce")
        );
    }
}
