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

/// Virtual server `web` on 192.0.2.10:80 of vi_1 with real servers .21 (line 15) and .22
/// (line 16); `extra` is appended with its own indentation from line 17.
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
    assert_eq!(web.forwarding, Forwarding::Dr);
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
            (80, 1, Forwarding::Dr, 0, 0, false)
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
