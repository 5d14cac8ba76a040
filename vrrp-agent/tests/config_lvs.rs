//! The LVS half of the configuration (`lvs:`, `virtual_servers:`; keepalived's virtual_server,
//! real_server and checks): a full example, defaults, keepalived spellings, every refusal with
//! its exact line:column and field path, and the effective config round trip.

use std::net::IpAddr;

use vrrp_agent::config::lvs::{
    Check, CheckKind, Forwarding, HttpCheck, OnStop, Persistence, ProgramOn, Protocol, VsTarget,
};
use vrrp_agent::config::{Config, ConfigDuration, Family};

const ORIGIN: &str = "lab.yaml";

fn errors(text: &str) -> Vec<String> {
    match Config::from_str_with(text, ORIGIN, &|_| true) {
        Ok(c) => panic!("expected errors, got a valid config: {c:?}"),
        Err(e) => e.lines(),
    }
}

fn valid(text: &str) -> Config {
    match Config::from_str_with(text, ORIGIN, &|_| true) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

fn warnings(c: &Config) -> Vec<String> {
    c.warnings().iter().map(|w| w.to_string()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn secs(s: u64) -> ConfigDuration {
    ConfigDuration::from_secs(s)
}

/// Instance vi_1 (192.0.2.10) and vi_6 (2001:db8::10), lines 1..9.
const INSTANCES: &str = "instances:
  vi_1:
    interface: eth0
    vrid: 10
    virtual_addresses: [192.0.2.10/24]
  vi_6:
    interface: eth0
    vrid: 10
    virtual_addresses: [\"fe80::10/64\", \"2001:db8::10/64\"]
";

/// Virtual server `web` (line 11) on 192.0.2.10 (line 12) port 80 (line 13) of vi_1 (line 14)
/// with real servers .21 (line 16) and .22 (line 17); `extra` is appended with its own
/// indentation from line 18.
fn vs(extra: &str) -> String {
    format!(
        "{INSTANCES}virtual_servers:
  web:
    address: 192.0.2.10
    port: 80
    instance: vi_1
    real_servers:
      - address: 192.0.2.21
      - address: 192.0.2.22
{extra}"
    )
}

const FULL: &str = "lvs:
  program_on: master
  on_stop: keep
virtual_servers:
  web:
    address: 192.0.2.10
    port: 443
    protocol: tcp
    scheduler: sh
    scheduler_flags: [sh-port, flag-3]
    ops: false
    persistence_timeout: 600
    persistence_granularity: 24
    forwarding: nat
    instance: vi_1
    quorum: 2
    hysteresis: 1
    quorum_weight: -20
    quorum_up: /usr/local/bin/quorum up
    quorum_down: [/usr/local/bin/quorum, down]
    sorry_server: {address: 192.0.2.99, port: 8443, forwarding: dr}
    inhibit_on_failure: true
    delay_loop: 10s
    check:
      type: https
      interval: 3s
      timeout: 2s
      retries: 2
      retry_delay: 500ms
      rise: 2
      fall: 3
      alpha: true
      path: /health
      host: www.example.org
      status: [200, \"300-302\"]
      digest: 0123456789ABCDEF0123456789abcdef
      contains: ok
      connect_ip: 192.0.2.50
      connect_port: 8443
      verify_tls: true
    real_servers:
      - address: 192.0.2.21
        port: 8443
        weight: 100
        forwarding: nat
        upper_threshold: 1000
        lower_threshold: 800
        inhibit_on_failure: false
        check:
          type: tcp
          connect_ip: 192.0.2.51
          connect_port: 9000
      - address: 192.0.2.22
      - address: 192.0.2.23
        check:
          type: script
          command: /usr/local/bin/probe --deep
          user: nobody
      - address: 192.0.2.24
        check: {type: http}
      - address: 192.0.2.25
        check: {type: none}
  dns:
    fwmark: 7
    family: ipv6
    scheduler: rr
    ops: true
    instance: vi_6
    real_servers:
      - address: 2001:db8::21
        forwarding: tun
      - address: 192.0.2.31
        forwarding: tun
";

fn full() -> Config {
    valid(&format!("{INSTANCES}{FULL}"))
}

#[test]
fn full_example_with_every_key_is_typed() {
    let c = full();
    assert!(c.warnings().is_empty(), "{:?}", warnings(&c));
    assert_eq!(c.lvs.program_on, ProgramOn::Master);
    assert_eq!(c.lvs.on_stop, OnStop::Keep);
    let names: Vec<&str> = c.virtual_servers.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["web", "dns"]);

    let web = &c.virtual_servers[0];
    assert_eq!(
        web.target,
        VsTarget::Addr {
            address: ip("192.0.2.10"),
            port: 443,
            protocol: Protocol::Tcp
        }
    );
    assert_eq!(web.scheduler, "sh");
    assert_eq!(web.scheduler_flags, ["sh-port", "flag-3"]);
    assert!(!web.ops);
    assert_eq!(
        web.persistence,
        Some(Persistence {
            timeout: 600,
            prefix: 24
        })
    );
    assert_eq!(web.forwarding, Forwarding::Nat);
    assert_eq!(web.instance.as_deref(), Some("vi_1"));
    assert_eq!((web.quorum, web.hysteresis, web.quorum_weight), (2, 1, -20));
    assert_eq!(
        web.quorum_up.as_deref(),
        Some(&["/usr/local/bin/quorum".to_owned(), "up".to_owned()][..])
    );
    assert_eq!(
        web.quorum_down.as_deref(),
        Some(&["/usr/local/bin/quorum".to_owned(), "down".to_owned()][..])
    );
    let sorry = web.sorry_server.as_ref().expect("sorry server");
    assert_eq!(
        (sorry.address, sorry.port, sorry.forwarding),
        (ip("192.0.2.99"), 8443, Forwarding::Dr)
    );

    let vs_check = Check {
        kind: CheckKind::Https(HttpCheck {
            path: "/health".into(),
            host: Some("www.example.org".into()),
            status: vec![(200, 200), (300, 302)],
            digest: Some("0123456789abcdef0123456789abcdef".into()),
            contains: Some("ok".into()),
            connect_ip: Some(ip("192.0.2.50")),
            connect_port: Some(8443),
            verify_tls: true,
        }),
        interval: secs(3),
        timeout: secs(2),
        retries: 2,
        retry_delay: ConfigDuration::from_millis(500),
        rise: 2,
        fall: 3,
        alpha: true,
    };
    let rs = &web.real_servers;
    assert_eq!(rs.len(), 5);
    assert_eq!(
        (
            rs[0].address,
            rs[0].port,
            rs[0].weight,
            rs[0].forwarding,
            rs[0].upper_threshold,
            rs[0].lower_threshold,
            rs[0].inhibit_on_failure
        ),
        (
            ip("192.0.2.21"),
            8443,
            100,
            Forwarding::Nat,
            1000,
            800,
            false
        )
    );
    assert_eq!(
        rs[0].check,
        Some(Check {
            kind: CheckKind::Tcp {
                connect_ip: Some(ip("192.0.2.51")),
                connect_port: Some(9000)
            },
            // delay_loop is the interval of checks that set none; timeout min(5s, interval).
            interval: secs(10),
            timeout: secs(5),
            retries: 1,
            retry_delay: secs(1),
            rise: 1,
            fall: 1,
            alpha: false,
        })
    );
    // Defaults from the virtual server: port, forwarding, inhibit_on_failure, check.
    assert_eq!(
        (
            rs[1].port,
            rs[1].weight,
            rs[1].forwarding,
            rs[1].inhibit_on_failure
        ),
        (443, 1, Forwarding::Nat, true)
    );
    assert_eq!(rs[1].check.as_ref(), Some(&vs_check));
    assert_eq!(
        rs[2].check.as_ref().map(|c| &c.kind),
        Some(&CheckKind::Script {
            command: vec!["/usr/local/bin/probe".into(), "--deep".into()],
            user: Some("nobody".into())
        })
    );
    assert_eq!(
        rs[3].check.as_ref().map(|c| &c.kind),
        Some(&CheckKind::Http(HttpCheck {
            path: "/".into(),
            host: None,
            status: vec![(200, 299)],
            digest: None,
            contains: None,
            connect_ip: None,
            connect_port: None,
            verify_tls: false,
        }))
    );
    assert_eq!(
        rs[4].check, None,
        "type none overrides the virtual server's check"
    );

    let dns = &c.virtual_servers[1];
    assert_eq!(
        dns.target,
        VsTarget::Fwmark {
            fwmark: 7,
            family: Family::Ipv6
        }
    );
    assert!(dns.ops);
    assert_eq!(dns.persistence, None);
    assert_eq!(
        (dns.real_servers[0].port, dns.real_servers[1].forwarding),
        (0, Forwarding::Tun)
    );
}

#[test]
fn minimal_virtual_server_gets_the_defaults() {
    let c = valid(&vs(""));
    assert_eq!(c.lvs.program_on, ProgramOn::AllNodes);
    assert_eq!(c.lvs.on_stop, OnStop::Remove);
    let web = &c.virtual_servers[0];
    assert_eq!(
        web.target,
        VsTarget::Addr {
            address: ip("192.0.2.10"),
            port: 80,
            protocol: Protocol::Tcp
        }
    );
    assert_eq!(web.scheduler, "wlc");
    assert!(web.scheduler_flags.is_empty());
    assert!(!web.ops);
    assert_eq!(web.persistence, None);
    assert_eq!(web.forwarding, Forwarding::Nat);
    assert_eq!((web.quorum, web.hysteresis, web.quorum_weight), (1, 0, 0));
    assert_eq!((&web.quorum_up, &web.quorum_down), (&None, &None));
    assert_eq!(web.sorry_server, None);
    for rs in &web.real_servers {
        assert_eq!(
            (
                rs.port,
                rs.weight,
                rs.forwarding,
                rs.upper_threshold,
                rs.lower_threshold,
                rs.inhibit_on_failure
            ),
            (80, 1, Forwarding::Nat, 0, 0, false)
        );
        assert_eq!(rs.check, None, "no check anywhere: always healthy");
    }
}

#[test]
fn check_defaults_interval_5s_timeout_clamped_to_the_interval() {
    let c = valid(&vs("    check: {type: tcp}\n"));
    let check = c.virtual_servers[0].real_servers[0]
        .check
        .clone()
        .expect("inherited check");
    assert_eq!(
        check,
        Check {
            kind: CheckKind::Tcp {
                connect_ip: None,
                connect_port: None
            },
            interval: secs(5),
            timeout: secs(5),
            retries: 1,
            retry_delay: secs(1),
            rise: 1,
            fall: 1,
            alpha: false,
        }
    );
    let c = valid(&vs("    delay_loop: 2s\n    check: {type: tcp}\n"));
    let check = c.virtual_servers[0].real_servers[1]
        .check
        .clone()
        .expect("inherited check");
    assert_eq!((check.interval, check.timeout), (secs(2), secs(2)));
}

#[test]
fn keepalived_spellings_are_accepted() {
    let text = vs("    forwarding: NAT
    protocol: TCP
    persistence_timeout: 300
    persistence_granularity: 255.255.255.0
    sorry_server: {address: 192.0.2.99, forwarding: DR}
    check: {type: HTTP_GET}
  others:
    address: 192.0.2.10
    port: 53
    protocol: UDP
    ops: true
    instance: vi_1
    real_servers:
      - {address: 192.0.2.41, forwarding: Tun, check: {type: TCP_CHECK}}
      - {address: 192.0.2.42, check: {type: SSL_GET}}
      - {address: 192.0.2.43, check: {type: MISC_CHECK, command: /bin/true}}
");
    let c = valid(&text);
    let web = &c.virtual_servers[0];
    assert_eq!(web.forwarding, Forwarding::Nat);
    assert_eq!(
        web.persistence,
        Some(Persistence {
            timeout: 300,
            prefix: 24
        })
    );
    let sorry = web.sorry_server.as_ref().expect("sorry");
    assert_eq!((sorry.port, sorry.forwarding), (80, Forwarding::Dr));
    assert!(matches!(
        web.real_servers[0].check.as_ref().map(|c| &c.kind),
        Some(CheckKind::Http(_))
    ));
    let o = &c.virtual_servers[1];
    assert!(matches!(
        o.target,
        VsTarget::Addr {
            protocol: Protocol::Udp,
            port: 53,
            ..
        }
    ));
    let kinds: Vec<&str> = o
        .real_servers
        .iter()
        .map(|r| match r.check.as_ref().map(|c| &c.kind) {
            Some(CheckKind::Tcp { .. }) => "tcp",
            Some(CheckKind::Https(_)) => "https",
            Some(CheckKind::Script { .. }) => "script",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["tcp", "https", "script"]);
    assert_eq!(o.real_servers[0].forwarding, Forwarding::Tun);
}

#[test]
fn effective_config_round_trips() {
    let c = full();
    let yaml = c.to_yaml();
    let again = Config::from_str_with(&yaml, "effective.yaml", &|_| true)
        .unwrap_or_else(|e| panic!("effective YAML is valid:\n{e}\n{yaml}"));
    assert_eq!(again, c, "{yaml}");
    let json = c.to_json();
    let from_json = Config::from_str_with(&json, "effective.json", &|_| true)
        .unwrap_or_else(|e| panic!("JSON is YAML:\n{e}"));
    assert_eq!(from_json, c);
    // The input's key names and forms.
    for needle in [
        "lvs:\n  program_on: master\n  on_stop: keep\n",
        "    persistence_timeout: 600\n    persistence_granularity: 24\n",
        "        status:\n        - 200\n        - 300-302\n",
        "        type: https\n",
    ] {
        assert!(yaml.contains(needle), "{needle:?} in:\n{yaml}");
    }
    // Without LVS, no LVS keys.
    assert!(!valid(INSTANCES).to_yaml().contains("virtual_servers"));
}

#[test]
fn empty_real_servers_is_a_warning() {
    let text = format!(
        "{INSTANCES}virtual_servers:\n  web:\n    address: 192.0.2.10\n    port: 80\n    instance: vi_1\n    real_servers: []\n"
    );
    let c = valid(&text);
    assert_eq!(
        warnings(&c),
        [
            "lab.yaml:11:3: virtual_servers.web: no real_servers; the service will send traffic only to its sorry_server, if any"
        ]
    );
}

#[test]
fn address_outside_the_instance_is_a_warning() {
    let c = valid(&vs("").replace("address: 192.0.2.10", "address: 192.0.2.11"));
    assert_eq!(
        warnings(&c),
        [
            "lab.yaml:14:15: virtual_servers.web.instance: 192.0.2.11 is not a virtual address of instance `vi_1`; its role may not follow the address"
        ]
    );
}

fn rs2(extra: &str) -> String {
    vs("").replace(
        "      - address: 192.0.2.22\n",
        &format!("      - address: 192.0.2.22\n{extra}"),
    )
}

#[test]
fn unknown_scheduler_is_refused_with_the_list() {
    assert_eq!(
        errors(&vs("    scheduler: fancy\n")),
        [
            "lab.yaml:18:16: virtual_servers.web.scheduler: unknown scheduler \"fancy\"; allowed: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, mh, sed, nq, fo, ovf, twos"
        ]
    );
}

#[test]
fn port_0_needs_persistence() {
    assert_eq!(
        errors(&vs("").replace("port: 80", "port: 0")),
        [
            "lab.yaml:13:11: virtual_servers.web.port: port 0 (all ports) needs persistence_timeout; allowed 1..65535, or 0 with persistence"
        ]
    );
    // keepalived's all-ports service: persistence and port 0; real servers default to port 0.
    let c = valid(&vs("    persistence_timeout: 60\n").replace("port: 80", "port: 0"));
    assert_eq!(c.virtual_servers[0].real_servers[0].port, 0);
}

#[test]
fn port_above_65535_is_refused() {
    assert_eq!(
        errors(&vs("").replace("port: 80", "port: 70000")),
        [
            "lab.yaml:13:11: virtual_servers.web.port: 70000 is out of range; allowed 0..65535 (0 only with persistence_timeout)"
        ]
    );
}

#[test]
fn weight_above_65535_is_refused() {
    assert_eq!(
        errors(&rs2("        weight: 70000\n")),
        [
            "lab.yaml:18:17: virtual_servers.web.real_servers[1].weight: 70000 is out of range; allowed 0..65535"
        ]
    );
}

#[test]
fn negative_weight_is_refused() {
    assert_eq!(
        errors(&rs2("        weight: -1\n")),
        [
            "lab.yaml:18:17: virtual_servers.web.real_servers[1].weight: -1 is out of range; allowed 0..65535"
        ]
    );
}

#[test]
fn negative_threshold_is_refused() {
    assert_eq!(
        errors(&rs2("        upper_threshold: -1\n")),
        [
            "lab.yaml:18:26: virtual_servers.web.real_servers[1].upper_threshold: -1 is out of range; allowed 0..4294967295"
        ]
    );
}

#[test]
fn lower_threshold_above_upper_is_refused() {
    assert_eq!(
        errors(&rs2(
            "        upper_threshold: 5\n        lower_threshold: 10\n"
        )),
        [
            "lab.yaml:19:26: virtual_servers.web.real_servers[1].lower_threshold: lower_threshold 10 is above upper_threshold 5; allowed: at most upper_threshold (0 = none; the server takes new connections again below it)"
        ]
    );
}

#[test]
fn duplicate_real_server_names_both_positions() {
    assert_eq!(
        errors(&vs("").replace("192.0.2.22", "192.0.2.21")),
        [
            "lab.yaml:17:18: virtual_servers.web.real_servers[1].address: 192.0.2.21 port 80 is already listed at virtual_servers.web.real_servers[0] (line 16 column 18); allowed: each real server once per virtual server"
        ]
    );
}

#[test]
fn same_address_and_port_with_another_protocol_is_another_service() {
    let c = valid(&vs(
        "  dns:\n    address: 192.0.2.10\n    port: 80\n    protocol: udp\n    instance: vi_1\n    real_servers: [{address: 192.0.2.23}]\n",
    ));
    assert_eq!(c.virtual_servers.len(), 2);
}

#[test]
fn two_virtual_servers_for_one_service_name_both_positions() {
    assert_eq!(
        errors(&vs(
            "  web2:\n    address: 192.0.2.10\n    port: 80\n    instance: vi_1\n    real_servers: [{address: 192.0.2.23}]\n  fw1: {fwmark: 3, real_servers: [{address: 192.0.2.24}]}\n  fw2: {fwmark: 3, family: ipv4, real_servers: [{address: 192.0.2.24}]}\n"
        )),
        [
            "lab.yaml:19:14: virtual_servers.web2.address: 192.0.2.10:80/tcp is already the virtual server `web` (at line 12 column 14); allowed: one virtual server per address, port and protocol, or per fwmark and family",
            "lab.yaml:24:17: virtual_servers.fw2.fwmark: fwmark 3 (ipv4) is already the virtual server `fw1` (at line 23 column 17); allowed: one virtual server per address, port and protocol, or per fwmark and family"
        ]
    );
}

#[test]
fn unknown_instance_is_refused_with_the_defined_ones() {
    assert_eq!(
        errors(&vs("").replace("instance: vi_1", "instance: vi_9")),
        [
            "lab.yaml:14:15: virtual_servers.web.instance: unknown instance `vi_9`; defined: vi_1, vi_6"
        ]
    );
}

#[test]
fn quorum_weight_outside_253_is_refused() {
    assert_eq!(
        errors(&vs("    quorum_weight: 300\n")),
        [
            "lab.yaml:18:20: virtual_servers.web.quorum_weight: 300 is out of range; allowed -253..253"
        ]
    );
}

#[test]
fn check_timeout_longer_than_interval_is_refused() {
    assert_eq!(
        errors(&vs("    check: {type: tcp, interval: 2s, timeout: 3s}\n")),
        [
            "lab.yaml:18:47: virtual_servers.web.check.timeout: timeout 3s is longer than the interval 2s; allowed: at most the interval, so checks never overlap"
        ]
    );
}

#[test]
fn check_timeout_longer_than_delay_loop_is_refused() {
    assert_eq!(
        errors(&vs(
            "    delay_loop: 2s\n    check: {type: tcp, timeout: 3s}\n"
        )),
        [
            "lab.yaml:19:33: virtual_servers.web.check.timeout: timeout 3s is longer than the interval 2s (from delay_loop); allowed: at most the interval, so checks never overlap"
        ]
    );
}

#[test]
fn retries_above_100_and_rise_fall_0_are_refused() {
    assert_eq!(
        errors(&vs(
            "    check: {type: tcp, retries: 101, rise: 0, fall: 0}\n"
        )),
        [
            "lab.yaml:18:33: virtual_servers.web.check.retries: 101 is out of range; allowed 0..100",
            "lab.yaml:18:44: virtual_servers.web.check.rise: 0 is out of range; allowed 1..2147483647",
            "lab.yaml:18:53: virtual_servers.web.check.fall: 0 is out of range; allowed 1..2147483647"
        ]
    );
}

#[test]
fn bad_status_codes_and_ranges_are_refused() {
    assert_eq!(
        errors(&vs(
            "    check: {type: http, status: [\"299-200\", 600, abc]}\n"
        )),
        [
            "lab.yaml:18:34: virtual_servers.web.check.status[0]: invalid status \"299-200\"; allowed: codes 100..599 and ranges \"LOW-HIGH\" with LOW <= HIGH (\"200-299\")",
            "lab.yaml:18:45: virtual_servers.web.check.status[1]: invalid status 600; allowed: codes 100..599 and ranges \"LOW-HIGH\" with LOW <= HIGH (\"200-299\")",
            "lab.yaml:18:50: virtual_servers.web.check.status[2]: invalid status \"abc\"; allowed: codes 100..599 and ranges \"LOW-HIGH\" with LOW <= HIGH (\"200-299\")"
        ]
    );
}

#[test]
fn digest_must_be_32_hex_digits() {
    assert_eq!(
        errors(&vs("    check: {type: http, digest: abc}\n")),
        [
            "lab.yaml:18:33: virtual_servers.web.check.digest: \"abc\" is not an MD5 digest; allowed: 32 hexadecimal digits (as `genhash` prints)"
        ]
    );
}

#[test]
fn sorry_server_of_another_family_is_refused() {
    assert_eq!(
        errors(&vs("    sorry_server: {address: \"2001:db8::99\"}\n")),
        [
            "lab.yaml:18:29: virtual_servers.web.sorry_server.address: 2001:db8::99 is ipv6 but the virtual server is ipv4; allowed: an ipv4 address"
        ]
    );
}

#[test]
fn nat_or_dr_real_server_of_another_family_is_refused() {
    assert_eq!(
        errors(&vs("").replace(
            "      - address: 192.0.2.22\n",
            "      - address: 2001:db8::22\n        forwarding: dr\n      - address: 2001:db8::23\n"
        )),
        [
            "lab.yaml:18:21: virtual_servers.web.real_servers[1].forwarding: 2001:db8::22 is ipv6 but the virtual server is ipv4, with forwarding dr; allowed: forwarding tun for a real server of the other family (IPVS forwards across families only by tunnelling)",
            "lab.yaml:19:18: virtual_servers.web.real_servers[2].address: 2001:db8::23 is ipv6 but the virtual server is ipv4, with forwarding nat; allowed: forwarding tun for a real server of the other family (IPVS forwards across families only by tunnelling)"
        ]
    );
}

#[test]
fn scheduler_flags_must_fit_the_scheduler() {
    assert_eq!(
        errors(&vs(
            "    scheduler_flags: [sh-port, fancy, flag-1, flag-1]\n"
        )),
        [
            "lab.yaml:18:23: virtual_servers.web.scheduler_flags[0]: sh-port is a flag of the sh scheduler, not of wlc; allowed for wlc: flag-1, flag-2, flag-3",
            "lab.yaml:18:32: virtual_servers.web.scheduler_flags[1]: unknown scheduler flag \"fancy\"; allowed: flag-1, flag-2, flag-3, sh-fallback, sh-port (scheduler sh), mh-fallback, mh-port (scheduler mh)",
            "lab.yaml:18:47: virtual_servers.web.scheduler_flags[3]: flag-1 is listed twice"
        ]
    );
}

#[test]
fn ipv4_granularity_above_32_is_refused() {
    assert_eq!(
        errors(&vs(
            "    persistence_timeout: 60\n    persistence_granularity: 33\n"
        )),
        [
            "lab.yaml:19:30: virtual_servers.web.persistence_granularity: prefix length 33 is out of range for ipv4; allowed 0..32"
        ]
    );
}

#[test]
fn ipv6_granularity_above_128_is_refused() {
    assert_eq!(
        errors(&vs(
            "  fw6: {fwmark: 4, family: ipv6, persistence_timeout: 60, persistence_granularity: 129, real_servers: [{address: \"2001:db8::1\"}]}\n"
        )),
        [
            "lab.yaml:18:84: virtual_servers.fw6.persistence_granularity: prefix length 129 is out of range for ipv6; allowed 0..128"
        ]
    );
}

#[test]
fn non_contiguous_netmask_is_refused() {
    assert_eq!(
        errors(&vs(
            "    persistence_timeout: 60\n    persistence_granularity: 255.0.255.0\n"
        )),
        [
            "lab.yaml:19:30: virtual_servers.web.persistence_granularity: invalid netmask \"255.0.255.0\"; allowed: a prefix length 0..32 or a contiguous IPv4 netmask (255.255.255.0)"
        ]
    );
}

#[test]
fn granularity_without_persistence_is_refused() {
    assert_eq!(
        errors(&vs("    persistence_granularity: 24\n")),
        [
            "lab.yaml:18:30: virtual_servers.web.persistence_granularity: persistence_granularity without persistence_timeout; allowed: set persistence_timeout too (ipvsadm(8) -M needs -p)"
        ]
    );
}

#[test]
fn program_on_master_needs_an_instance_per_virtual_server() {
    assert_eq!(
        errors(&format!(
            "lvs:\n  program_on: master\n{}",
            vs("").replace("    instance: vi_1\n", "")
        )),
        [
            "lab.yaml:13:3: virtual_servers.web: no instance, but `lvs.program_on: master` programs a service only while its instance is Master: which instance's role should decide? allowed: set instance to the VRRP instance that carries this address"
        ]
    );
}

#[test]
fn keys_of_other_check_types_are_refused() {
    assert_eq!(
        errors(&vs("    check: {type: tcp, path: /x, verify_tls: true}\n")),
        [
            "lab.yaml:18:30: virtual_servers.web.check.path: path does not apply to a tcp check; allowed keys for tcp: type, interval, timeout, retries, retry_delay, rise, fall, alpha, connect_ip, connect_port",
            "lab.yaml:18:46: virtual_servers.web.check.verify_tls: verify_tls does not apply to a tcp check; allowed keys for tcp: type, interval, timeout, retries, retry_delay, rise, fall, alpha, connect_ip, connect_port"
        ]
    );
}

#[test]
fn verify_tls_is_for_https_only() {
    assert_eq!(
        errors(&vs("    check: {type: http, verify_tls: true}\n")),
        [
            "lab.yaml:18:37: virtual_servers.web.check.verify_tls: verify_tls does not apply to an http check; allowed keys for http: type, interval, timeout, retries, retry_delay, rise, fall, alpha, path, host, status, digest, contains, connect_ip, connect_port"
        ]
    );
}

#[test]
fn unknown_check_type_is_refused() {
    assert_eq!(
        errors(&vs("    check: {type: ping}\n")),
        [
            "lab.yaml:18:19: virtual_servers.web.check.type: unknown check type \"ping\"; allowed: tcp, http, https, script, none (keepalived TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK)"
        ]
    );
}

#[test]
fn check_without_type_is_refused() {
    assert_eq!(
        errors(&vs("    check: {interval: 1s}\n")),
        [
            "lab.yaml:18:5: virtual_servers.web.check: check without type; allowed type: tcp, http, https, script, none"
        ]
    );
}

#[test]
fn address_and_fwmark_together_are_refused() {
    assert_eq!(
        errors(&vs("    fwmark: 3\n")),
        [
            "lab.yaml:18:13: virtual_servers.web.fwmark: both address and fwmark; allowed: address + port (+ protocol), or fwmark (+ family)"
        ]
    );
}

#[test]
fn virtual_server_without_address_or_fwmark_is_refused() {
    assert_eq!(
        errors(&vs("  nothing: {real_servers: []}\n")),
        [
            "lab.yaml:18:3: virtual_servers.nothing: no address or fwmark; allowed: address + port (+ protocol), or fwmark (+ family) (keepalived `virtual_server IP PORT` / `virtual_server fwmark N`)"
        ]
    );
}

#[test]
fn unknown_forwarding_is_refused() {
    assert_eq!(
        errors(&vs("    forwarding: fullnat\n")),
        [
            "lab.yaml:18:17: virtual_servers.web.forwarding: unknown forwarding method \"fullnat\"; allowed: nat, dr, tun (keepalived NAT, DR, TUN)"
        ]
    );
}

#[test]
fn hysteresis_must_be_below_quorum() {
    assert_eq!(
        errors(&vs("    quorum: 2\n    hysteresis: 2\n")),
        [
            "lab.yaml:19:17: virtual_servers.web.hysteresis: hysteresis 2 is not below the quorum 2; allowed 0..1 (quorum is lost below quorum - hysteresis)"
        ]
    );
}

#[test]
fn ops_is_for_udp_only() {
    assert_eq!(
        errors(&vs("    ops: true\n")),
        [
            "lab.yaml:18:10: virtual_servers.web.ops: one-packet scheduling is for UDP only (ipvsadm(8) -o); allowed: ops with protocol udp or a fwmark service"
        ]
    );
}

#[test]
fn unknown_virtual_server_key_lists_the_allowed_keys() {
    assert_eq!(
        errors(&vs("    lb_algo: wlc\n")),
        [
            "lab.yaml:18:5: virtual_servers.web.lb_algo: unknown field `lb_algo`, expected one of `address`, `port`, `protocol`, `fwmark`, `family`, `scheduler`, `scheduler_flags`, `ops`, `persistence_timeout`, `persistence_granularity`, `forwarding`, `instance`, `quorum`, `hysteresis`, `quorum_weight`, `quorum_up`, `quorum_down`, `sorry_server`, `inhibit_on_failure`, `delay_loop`, `check`, `real_servers`"
        ]
    );
}

#[test]
fn real_server_port_0_only_for_port_0_services() {
    assert_eq!(
        errors(&rs2("        port: 0\n")),
        [
            "lab.yaml:18:15: virtual_servers.web.real_servers[1].port: 0 is out of range; allowed 1..65535 (0 only for fwmark or port-0 services)"
        ]
    );
}

#[test]
fn address_without_port_is_refused() {
    assert_eq!(
        errors(&vs("").replace("    port: 80\n", "")),
        [
            "lab.yaml:11:3: virtual_servers.web: address without port; allowed: port 1..65535, or 0 with persistence_timeout (all ports)"
        ]
    );
}

#[test]
fn script_check_needs_a_command() {
    assert_eq!(
        errors(&vs("    check: {type: script}\n")),
        [
            "lab.yaml:18:5: virtual_servers.web.check: a script check needs command (keepalived MISC_CHECK misc_path)"
        ]
    );
}

#[test]
fn none_check_takes_no_other_keys() {
    assert_eq!(
        errors(&vs("    check: {type: none, interval: 1s}\n")),
        [
            "lab.yaml:18:35: virtual_servers.web.check.interval: interval does not apply to a none check; allowed keys for none: type"
        ]
    );
}

#[test]
fn invalid_real_server_address_is_refused() {
    assert_eq!(
        errors(&vs("").replace("192.0.2.22", "192.0.2.x")),
        [
            "lab.yaml:17:18: virtual_servers.web.real_servers[1].address: invalid IP address \"192.0.2.x\"; allowed: an IPv4 or IPv6 address"
        ]
    );
}

#[test]
fn quorum_weight_without_instance_is_refused() {
    assert_eq!(
        errors(&vs("    quorum_weight: 10\n").replace("    instance: vi_1\n", "")),
        [
            "lab.yaml:17:20: virtual_servers.web.quorum_weight: quorum_weight changes the priority of `instance`, which is not set; allowed: set instance, or remove quorum_weight"
        ]
    );
}

#[test]
fn unknown_protocol_is_refused() {
    assert_eq!(
        errors(&vs("    protocol: icmp\n")),
        [
            "lab.yaml:18:15: virtual_servers.web.protocol: unknown protocol \"icmp\"; allowed: tcp, udp, sctp"
        ]
    );
}

#[test]
fn zero_delay_loop_is_refused() {
    assert_eq!(
        errors(&vs("    delay_loop: 0\n")),
        [
            "lab.yaml:18:17: virtual_servers.web.delay_loop: 0s is out of range; allowed: more than 0s"
        ]
    );
}

#[test]
fn unknown_on_stop_is_refused() {
    assert_eq!(
        errors(&format!("lvs:\n  on_stop: maybe\n{}", vs(""))),
        ["lab.yaml:2:12: lvs.on_stop: unknown variant `maybe`, expected `remove` or `keep`"]
    );
}

#[test]
fn port_0_real_server_check_needs_connect_port() {
    assert_eq!(
        errors(&vs(
            "  fw: {fwmark: 3, check: {type: tcp}, real_servers: [{address: 192.0.2.31}, {address: 192.0.2.32, check: {type: http}}]}\n"
        )),
        [
            "lab.yaml:18:55: virtual_servers.fw.real_servers[0]: port 0 (fwmark or all-ports service) leaves the virtual server's check nothing to connect to; allowed: set connect_port in the check, or a port on the real server",
            "lab.yaml:18:99: virtual_servers.fw.real_servers[1].check: port 0 (fwmark or all-ports service) leaves its check nothing to connect to; allowed: set connect_port in the check, or a port on the real server"
        ]
    );
    valid(&vs(
        "  fw: {fwmark: 3, check: {type: tcp, connect_port: 25}, real_servers: [{address: 192.0.2.31}]}\n",
    ));
}

#[test]
fn keepalived_keys_inside_a_check_are_refused_with_the_allowed_keys() {
    assert_eq!(
        errors(&vs(
            "    check:\n      type: tcp\n      connect_timeout: 3\n"
        )),
        [
            "lab.yaml:20:7: virtual_servers.web.check.connect_timeout: unknown field `connect_timeout`, expected one of `type`, `interval`, `timeout`, `retries`, `retry_delay`, `rise`, `fall`, `alpha`, `connect_ip`, `connect_port`, `path`, `host`, `status`, `digest`, `contains`, `verify_tls`, `command`, `user`"
        ]
    );
}
