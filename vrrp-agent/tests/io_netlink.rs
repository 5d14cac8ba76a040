//! Root-only: the rtnetlink shell in a fresh namespace: link lookup, marked VIPs (added, listed
//! apart from a hand-added address, refused twice, removed), link down/up events, the unicast
//! filter entry on a veth, and the ARP sysctls.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{NsPair, in_netns, is_root, sh};
use vrrp_agent::io::netlink::{LinkEvent, LinkEvents, MarkedAddress, Netlink, VipSpec};
use vrrp_agent::io::sysctl;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal")
}

#[test]
fn marked_vips_are_added_listed_and_removed_leaving_hand_added_addresses_alone() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    sh(&[
        "ip",
        "-n",
        &ns.a,
        "addr",
        "add",
        "192.0.2.200/32",
        "dev",
        "va",
    ]);
    let mac_a = NsPair::mac(&ns.a, "va");
    let nsa = ns.a.clone();
    in_netns(&ns.a, move || async move {
        let nl = Netlink::connect().expect("netlink");
        let link = nl.link_by_name("va").await.expect("link va");
        assert_eq!(
            (link.name.as_str(), link.mac, link.admin_up, link.running),
            ("va", Some(mac_a), true, true)
        );
        assert_eq!(
            nl.link_by_index(link.ifindex).await.expect("by index"),
            link
        );
        let missing = nl.link_by_name("nosuch0").await.expect_err("no such link");
        assert_eq!(missing.errno(), Some(libc::ENODEV), "{missing}");

        let v4 = VipSpec {
            addr: ip("192.0.2.100"),
            prefix_len: 32,
            label: Some("va:vip".into()),
            no_prefix_route: false,
        };
        let v6 = VipSpec {
            addr: ip("2001:db8::100"),
            prefix_len: 128,
            label: None,
            no_prefix_route: true,
        };
        nl.add_vip(link.ifindex, &v4).await.expect("add v4");
        nl.add_vip(link.ifindex, &v6).await.expect("add v6");
        let again = nl.add_vip(link.ifindex, &v4).await.expect_err("second add");
        assert_eq!(again.errno(), Some(libc::EEXIST), "{again}");

        let mut marked = nl.marked_addresses(Some(link.ifindex)).await.expect("list");
        marked.sort_by_key(|m| m.addr);
        assert_eq!(
            marked,
            vec![
                MarkedAddress {
                    ifindex: link.ifindex,
                    addr: ip("192.0.2.100"),
                    prefix_len: 32,
                    label: Some("va:vip".into())
                },
                MarkedAddress {
                    ifindex: link.ifindex,
                    addr: ip("2001:db8::100"),
                    prefix_len: 128,
                    label: None
                },
            ]
        );
        // The list above is the kernel's dump, so the mark is stored. iproute2's view of the
        // rest (its 6.1 here predates showing IFA_PROTO): NODAD on the v6 VIP (never
        // tentative), NOPREFIXROUTE as asked, the v4 label.
        let show = String::from_utf8_lossy(
            &sh(&["ip", "-n", &nsa, "-o", "addr", "show", "dev", "va"]).stdout,
        )
        .to_string();
        let line = |a: &str| {
            show.lines()
                .find(|l| l.contains(a))
                .unwrap_or_else(|| panic!("{a} missing:\n{show}"))
                .to_owned()
        };
        assert!(line("192.0.2.100/32").contains("va:vip"), "{show}");
        let l6 = line("2001:db8::100/128");
        assert!(
            l6.contains("nodad") && l6.contains("noprefixroute") && !l6.contains("tentative"),
            "{l6}"
        );
        assert!(
            line("192.0.2.200/32").contains("scope global va\\"),
            "{show}"
        );

        nl.del_vip(link.ifindex, ip("192.0.2.100"), 32)
            .await
            .expect("del v4");
        nl.del_vip(link.ifindex, ip("2001:db8::100"), 128)
            .await
            .expect("del v6");
        assert_eq!(nl.marked_addresses(None).await.expect("list"), vec![]);
        let show = String::from_utf8_lossy(
            &sh(&["ip", "-n", &nsa, "-o", "addr", "show", "dev", "va"]).stdout,
        )
        .to_string();
        assert!(
            show.contains("192.0.2.200/32")
                && !show.contains("192.0.2.100")
                && !show.contains("2001:db8::100"),
            "{show}"
        );
    });
}

#[test]
fn link_down_up_and_removal_are_reported_once_each() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    let nsa = ns.a.clone();
    let events = in_netns(&ns.a, move || async move {
        let idx = Netlink::connect()
            .expect("netlink")
            .link_by_name("va")
            .await
            .expect("va")
            .ifindex;
        let mut ev = LinkEvents::subscribe().expect("subscribe");
        sh(&["ip", "-n", &nsa, "link", "set", "va", "down"]);
        let mut got = Vec::new();
        let down = tokio::time::timeout(Duration::from_secs(3), ev.next())
            .await
            .expect("down event in time");
        got.push(down);
        sh(&["ip", "-n", &nsa, "link", "set", "va", "up"]);
        let up = tokio::time::timeout(Duration::from_secs(3), ev.next())
            .await
            .expect("up event in time");
        got.push(up);
        // Nothing else changes: no further event within 300 ms.
        let extra = tokio::time::timeout(Duration::from_millis(300), ev.next()).await;
        assert!(extra.is_err(), "unexpected event {extra:?}");
        sh(&["ip", "-n", &nsa, "link", "del", "va"]);
        loop {
            let e = tokio::time::timeout(Duration::from_secs(3), ev.next())
                .await
                .expect("removal event in time");
            // Deleting an up veth may first report it down.
            let removed = matches!(e, Some(LinkEvent::Removed { .. }));
            got.push(e);
            if removed {
                break;
            }
        }
        (idx, got)
    });
    let (idx, got) = events;
    assert_eq!(
        got,
        vec![
            Some(LinkEvent::Down {
                ifindex: idx,
                name: "va".into()
            }),
            Some(LinkEvent::Up {
                ifindex: idx,
                name: "va".into()
            }),
            Some(LinkEvent::Down {
                ifindex: idx,
                name: "va".into()
            }),
            Some(LinkEvent::Removed {
                ifindex: idx,
                name: "va".into()
            }),
        ]
    );
}

#[test]
fn unicast_filter_entry_on_veth_and_arp_sysctls() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    let nsa = ns.a.clone();
    let outcome = in_netns(&ns.a, move || async move {
        let nl = Netlink::connect().expect("netlink");
        let idx = nl.link_by_name("va").await.expect("va").ifindex;
        let add = nl.add_unicast_filter(idx, [0, 0, 0x5e, 0, 1, 0x33]).await;
        let fdb = String::from_utf8_lossy(
            &sh(&["bridge", "-n", &nsa, "fdb", "show", "dev", "va"]).stdout,
        )
        .to_string();
        let del = nl.del_unicast_filter(idx, [0, 0, 0x5e, 0, 1, 0x33]).await;
        let fdb_after = String::from_utf8_lossy(
            &sh(&["bridge", "-n", &nsa, "fdb", "show", "dev", "va"]).stdout,
        )
        .to_string();

        sysctl::set_arp_ignore("va", 1).expect("arp_ignore");
        sysctl::set_arp_announce("va", 2).expect("arp_announce");
        let read = (
            sysctl::arp_ignore("va").expect("read"),
            sysctl::arp_announce("va").expect("read"),
        );
        let by_tool = String::from_utf8_lossy(
            &sh(&[
                "ip",
                "netns",
                "exec",
                &nsa,
                "sysctl",
                "-n",
                "net.ipv4.conf.va.arp_ignore",
                "net.ipv4.conf.va.arp_announce",
            ])
            .stdout,
        )
        .to_string();
        (
            add.map_err(|e| (e.errno(), e.to_string())),
            fdb,
            del.map_err(|e| (e.errno(), e.to_string())),
            fdb_after,
            read,
            by_tool,
        )
    });
    let (add, fdb, del, fdb_after, read, by_tool) = outcome;
    eprintln!("veth unicast filter: add = {add:?}, fdb = {fdb:?}, del = {del:?}");
    // veth has no ndo_fdb_add: the kernel's default handler adds the address to the device's
    // unicast list (dev_uc_add_excl), so the entry appears as "self permanent" and goes away.
    assert_eq!(add, Ok(()));
    assert!(fdb.contains("00:00:5e:00:01:33 self permanent"), "{fdb}");
    assert_eq!(del, Ok(()));
    assert!(!fdb_after.contains("00:00:5e:00:01:33"), "{fdb_after}");
    assert_eq!(read, (1, 2));
    assert_eq!(by_tool, "1\n2\n");
    // Set in namespace a only: the initial namespace's value is untouched by the test.
}
