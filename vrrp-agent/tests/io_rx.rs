//! Root-only: `AdvertReceiver` in one namespace reports adverts sent by scapy from the other, with
//! the TTL / hop limit as received (255 and 254), source, destination, arrival interface and the
//! payload; unicast adverts to our address arrive on the same socket.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{NsPair, is_root, sh, spawn_in_netns};
use vrrp_agent::io::rx::{AdvertReceiver, ReceivedAdvert};

fn ifindex(ns: &str, dev: &str) -> u32 {
    let out = sh(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]);
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    s.split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("ifindex")
}

/// Opens a receiver in `ns`, joins the group on `dev`, signals readiness, then collects `want`
/// adverts (or what arrives within 5 s).
fn receive(
    ns: &str,
    dev: &str,
    v6: bool,
    want: usize,
) -> std::thread::JoinHandle<Vec<ReceivedAdvert>> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let dev = dev.to_owned();
    let h = spawn_in_netns(ns, move || async move {
        let mut rx = if v6 {
            AdvertReceiver::open_v6()
        } else {
            AdvertReceiver::open_v4()
        }
        .expect("open receiver");
        let c = std::ffi::CString::new(dev).expect("name");
        // SAFETY: valid C string.
        let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
        rx.join(idx).expect("join group");
        ready_tx.send(()).expect("ready");
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while got.len() < want {
                match rx.recv().await {
                    Ok(a) => got.push(a),
                    Err(e) => panic!("receive error: {e}"),
                }
            }
        })
        .await;
        got
    });
    ready_rx.recv().expect("receiver started");
    h
}

#[test]
fn adverts_are_reported_with_received_ttl_source_interface_and_payload() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    let ll_b = NsPair::link_local(&ns.b, "vb");
    let _ = NsPair::link_local(&ns.a, "va");
    let mac_a = NsPair::mac(&ns.a, "va");
    let mac_a = mac_a
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let idx_a = ifindex(&ns.a, "va");

    let rx4 = receive(&ns.a, "va", false, 3);
    let rx6 = receive(&ns.a, "va", true, 2);
    let script = format!(
        r#"
from scapy.all import Ether, IP, IPv6, Raw, sendp
m4 = dict(src='00:00:5e:00:01:33', dst='01:00:5e:00:00:12')
m6 = dict(src='00:00:5e:00:02:33', dst='33:33:00:00:00:12')
pk = [
  Ether(**m4)/IP(src='192.0.2.2', dst='224.0.0.18', ttl=255, tos=0xc0, proto=112)/Raw(b'\x31\x33\x96\x01\x00\x64\xaa\xbb\xc0\x00\x02\x64'),
  Ether(**m4)/IP(src='192.0.2.2', dst='224.0.0.18', ttl=254, proto=112)/Raw(b'\x31\x33\x64\x01\x00\x64\xcc\xdd\xc0\x00\x02\x64'),
  Ether(**m4)/IP(src='192.0.2.2', dst='224.0.0.18', ttl=255, proto=113)/Raw(b'not vrrp'),
  Ether(src='00:00:5e:00:01:33', dst='{mac_a}')/IP(src='192.0.2.2', dst='192.0.2.1', ttl=255, proto=112)/Raw(b'unicast'),
  Ether(**m6)/IPv6(src='{ll_b}', dst='ff02::12', hlim=255, nh=112, tc=0xc0)/Raw(b'\x31\x33\x96\x01\x00\x64\x12\x34' + bytes(16)),
  Ether(**m6)/IPv6(src='{ll_b}', dst='ff02::12', hlim=254, nh=112)/Raw(b'hop254'),
]
sendp(pk, iface='vb', verbose=False)
"#
    );
    NsPair::exec(&ns.b, &["/usr/bin/python3", "-c", &script]);
    let got4 = rx4.join().expect("v4 receiver");
    let got6 = rx6.join().expect("v6 receiver");

    let b4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let g4 = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    assert_eq!(
        got4,
        vec![
            ReceivedAdvert {
                ifindex: idx_a,
                src: b4,
                dst: g4,
                ttl: 255,
                payload: vec![0x31, 0x33, 0x96, 1, 0, 0x64, 0xaa, 0xbb, 192, 0, 2, 100],
            },
            ReceivedAdvert {
                ifindex: idx_a,
                src: b4,
                dst: g4,
                ttl: 254,
                payload: vec![0x31, 0x33, 0x64, 1, 0, 0x64, 0xcc, 0xdd, 192, 0, 2, 100],
            },
            ReceivedAdvert {
                ifindex: idx_a,
                src: b4,
                dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                ttl: 255,
                payload: b"unicast".to_vec(),
            },
        ]
    );
    let g6: IpAddr = "ff02::12".parse::<Ipv6Addr>().expect("literal").into();
    let mut p3 = vec![0x31, 0x33, 0x96, 1, 0, 0x64, 0x12, 0x34];
    p3.extend_from_slice(&[0; 16]);
    assert_eq!(
        got6,
        vec![
            ReceivedAdvert {
                ifindex: idx_a,
                src: IpAddr::V6(ll_b),
                dst: g6,
                ttl: 255,
                payload: p3
            },
            ReceivedAdvert {
                ifindex: idx_a,
                src: IpAddr::V6(ll_b),
                dst: g6,
                ttl: 254,
                payload: b"hop254".to_vec()
            },
        ]
    );
}

#[test]
fn adverts_built_and_sent_by_our_sender_are_accepted_by_the_peer_kernel() {
    use vrrp_agent::io::frame::{self, AdvertV4, AdvertV6};
    use vrrp_agent::io::tx::PacketSender;
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    let ll_a = NsPair::link_local(&ns.a, "va");
    let _ = NsPair::link_local(&ns.b, "vb");
    let idx_b = ifindex(&ns.b, "vb");
    let rx4 = receive(&ns.b, "vb", false, 1);
    let rx6 = receive(&ns.b, "vb", true, 1);
    let g4 = Ipv4Addr::new(224, 0, 0, 18);
    let g6: Ipv6Addr = "ff02::12".parse().expect("literal");
    let a4 = Ipv4Addr::new(192, 0, 2, 1);
    common::in_netns(&ns.a, move || async move {
        let tx = PacketSender::open("va").expect("sender");
        let f4 = frame::advert_v4(
            &AdvertV4 {
                src_mac: [0, 0, 0x5e, 0, 1, 7],
                dst_mac: frame::multicast_mac_v4(g4),
                src: a4,
                dst: g4,
                id: 1,
            },
            b"payload-v4",
        )
        .expect("frame");
        let f6 = frame::advert_v6(
            &AdvertV6 {
                src_mac: [0, 0, 0x5e, 0, 2, 7],
                dst_mac: frame::multicast_mac_v6(g6),
                src: ll_a,
                dst: g6,
            },
            b"payload-v6",
        )
        .expect("frame");
        tx.send_batch(&[&f4, &f6]).expect("send");
    });
    assert_eq!(
        rx4.join().expect("v4 receiver"),
        vec![ReceivedAdvert {
            ifindex: idx_b,
            src: IpAddr::V4(a4),
            dst: IpAddr::V4(g4),
            ttl: 255,
            payload: b"payload-v4".to_vec(),
        }]
    );
    assert_eq!(
        rx6.join().expect("v6 receiver"),
        vec![ReceivedAdvert {
            ifindex: idx_b,
            src: IpAddr::V6(ll_a),
            dst: IpAddr::V6(g6),
            ttl: 255,
            payload: b"payload-v6".to_vec(),
        }]
    );
}
