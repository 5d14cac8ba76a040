//! The annotated example passes, defaults are filled in, and the effective config round-trips.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_agent::config::{
    Authentication, Config, ConfigDuration, Family, Garp, TrackedFile, TrackedInterface,
    TrackedScript, Version, XdpMode,
};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/vrrp-agent.example.yaml")
}

fn example() -> Config {
    let text = std::fs::read_to_string(example_path()).expect("example file is in the repo");
    match Config::from_str_with(&text, "vrrp-agent.example.yaml", &|_| true) {
        Ok(c) => c,
        Err(e) => panic!("the example must be valid:\n{e}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[test]
fn example_is_valid_and_has_the_documented_instances() {
    let c = example();
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let names: Vec<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["vi_web4", "vi_web6", "vi_legacy"]);

    let v4 = c.instance("vi_web4").expect("vi_web4");
    assert_eq!(
        (v4.interface.as_str(), v4.vrid, v4.version, v4.family),
        ("veth0", 51, Version::V3, Family::Ipv4)
    );
    assert_eq!(v4.priority, 150);
    assert!(v4.accept_mode);
    assert_eq!(
        v4.virtual_addresses
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["192.0.2.100/24", "192.0.2.101/24 dev veth0 label veth0:web"]
    );
    assert_eq!(
        v4.garp,
        Garp {
            delay: ConfigDuration::from_secs(2),
            repeat: 5,
            interval: ConfigDuration::ZERO,
            refresh: ConfigDuration::from_secs(60),
            refresh_repeat: 1,
        }
    );
    assert_eq!(
        v4.track.scripts,
        [TrackedScript {
            name: "chk_web".into(),
            weight: -60
        }]
    );
    assert_eq!(
        v4.track.interfaces,
        [TrackedInterface {
            name: "veth1".into(),
            weight: -50
        }]
    );
    assert_eq!(
        v4.track.files,
        [TrackedFile {
            path: "/run/vrrp-agent/maintenance".into(),
            weight: -100
        }]
    );
    assert_eq!(
        v4.notify.any.as_deref(),
        Some(
            &[
                "/usr/local/libexec/vrrp-notify".to_owned(),
                "any".to_owned()
            ][..]
        )
    );

    let v6 = c.instance("vi_web6").expect("vi_web6");
    assert_eq!(
        (v6.vrid, v6.family, v6.advert_interval.get()),
        (51, Family::Ipv6, Duration::from_millis(100))
    );
    assert_eq!(
        v6.track.scripts,
        [TrackedScript {
            name: "chk_web".into(),
            weight: -30
        }]
    );

    let v2 = c.instance("vi_legacy").expect("vi_legacy");
    assert_eq!((v2.version, v2.preempt), (Version::V2, false));
    assert_eq!(v2.unicast_src, Some(ip("192.0.2.1")));
    assert_eq!(v2.unicast_peers, [ip("192.0.2.2"), ip("192.0.2.3")]);
    assert_eq!(
        v2.authentication,
        Authentication::Pass {
            password: "s3cret".into()
        }
    );

    let script = c.script("chk_web").expect("chk_web");
    assert_eq!(
        script.command,
        ["/usr/local/libexec/check-web", "--port", "80"]
    );
    assert_eq!(
        (script.interval.get(), script.timeout.get()),
        (Duration::from_secs(2), Duration::from_secs(1))
    );
    assert_eq!((script.weight, script.rise, script.fall), (-60, 2, 2));

    assert_eq!(
        c.sync_group_of("vi_web6").map(|g| g.name.as_str()),
        Some("sg_web")
    );
    assert_eq!(c.sync_group_of("vi_legacy"), None);
    assert_eq!(c.global.router_id, "lab-r1");
}

#[test]
fn example_has_the_documented_virtual_servers() {
    use vrrp_agent::config::lvs::{CheckKind, Forwarding, OnStop, ProgramOn, VsTarget};
    let c = example();
    assert_eq!(
        (c.lvs.program_on, c.lvs.on_stop),
        (ProgramOn::AllNodes, OnStop::Remove)
    );
    let names: Vec<&str> = c.virtual_servers.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["web4", "web6", "mail"]);
    let web4 = &c.virtual_servers[0];
    assert_eq!(
        web4.persistence.as_ref().map(|p| (p.timeout, p.prefix)),
        Some((300, 24)),
        "netmask 255.255.255.0 is /24"
    );
    assert_eq!(web4.forwarding, Forwarding::Nat);
    assert_eq!(web4.quorum_weight, -100);
    let rs = &web4.real_servers;
    assert_eq!(
        (rs[0].port, rs[0].weight, rs[0].inhibit_on_failure),
        (8080, 2, true)
    );
    assert!(matches!(
        rs[0].check.as_ref().map(|c| &c.kind),
        Some(CheckKind::Http(h)) if h.path == "/health" && h.status == [(200, 299)]
    ));
    assert!(matches!(
        rs[1].check.as_ref().map(|c| &c.kind),
        Some(CheckKind::Tcp {
            connect_port: Some(8080),
            ..
        })
    ));
    assert!(!rs[1].inhibit_on_failure);
    let web6 = &c.virtual_servers[1];
    assert_eq!(web6.real_servers[2].forwarding, Forwarding::Tun);
    assert!(matches!(
        web6.real_servers[1].check.as_ref().map(|c| &c.kind),
        Some(CheckKind::Script { .. })
    ));
    assert_eq!(
        c.virtual_servers[2].target,
        VsTarget::Fwmark {
            fwmark: 25,
            family: Family::Ipv4
        }
    );
}

#[test]
fn example_interfaces_missing_on_the_host_are_warnings_with_positions() {
    let text = std::fs::read_to_string(example_path()).expect("example file");
    let c = Config::from_str_with(&text, "ex.yaml", &|name| name == "eth0")
        .expect("warnings are not errors");
    let lines: Vec<String> = c
        .warnings()
        .iter()
        .map(|w| w.display_with("ex.yaml").to_string())
        .collect();
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect(needle)
    };
    let web4 = line_of("    interface: veth0      #");
    let veth1 = line_of("- name: veth1");
    let web6 = web4
        + text
            .lines()
            .skip(web4)
            .position(|l| l.starts_with("    interface: veth0"))
            .expect("vi_web6")
        + 1;
    assert_eq!(
        lines,
        [
            format!(
                "ex.yaml:{web4}:16: instances.vi_web4.interface: interface \"veth0\" does not exist on this host (the instance will be in Fault until it appears)"
            ),
            format!(
                "ex.yaml:{veth1}:17: instances.vi_web4.track.interfaces[0].name: interface \"veth1\" does not exist on this host (the instance will be in Fault until it appears)"
            ),
            format!(
                "ex.yaml:{web6}:16: instances.vi_web6.interface: interface \"veth0\" does not exist on this host (the instance will be in Fault until it appears)"
            ),
        ]
    );
}

#[test]
fn effective_config_reloads_to_the_same_config() {
    let c = example();
    let again = Config::from_str_with(&c.to_yaml(), "effective.yaml", &|_| true)
        .expect("effective YAML is valid");
    assert_eq!(again, c);
    let from_json =
        Config::from_str_with(&c.to_json(), "effective.json", &|_| true).expect("JSON is YAML");
    assert_eq!(from_json, c);
}

#[test]
fn minimal_instance_gets_rfc_and_keepalived_defaults() {
    let text = "global:\n  router_id: r1\ninstances:\n  vi_1:\n    interface: eth0\n    vrid: 9\n    virtual_addresses: [192.0.2.9, \"2001:db8::1\"]\n";
    // Mixed families are refused; one family:
    assert!(Config::from_str_with(text, "t", &|_| true).is_err());
    let text = text.replace(", \"2001:db8::1\"", "");
    let c = Config::from_str_with(&text, "t", &|_| true).expect("valid");
    let g = &c.global;
    assert_eq!(
        g.control_socket,
        PathBuf::from("/run/vrrp-agent/control.sock")
    );
    assert_eq!(g.notify_fifo, None);
    assert!(g.enable_script_security);
    assert_eq!(g.dataplane.xdp_mode, XdpMode::Auto);
    assert_eq!(g.dataplane.deadman_timeout, ConfigDuration::from_secs(3));
    assert!(g.dataplane.absorb_adverts);
    let i = &c.instances[0];
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.family, Family::Ipv4);
    assert_eq!(i.priority, 100);
    assert!(!i.address_owner);
    assert_eq!(i.advert_interval, ConfigDuration::from_secs(1));
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, ConfigDuration::ZERO);
    assert!(
        i.accept_mode,
        "keepalived's default (accept), which LVS needs"
    );
    assert_eq!(i.unicast_src, None);
    assert!(i.unicast_peers.is_empty());
    assert_eq!(i.authentication, Authentication::None);
    assert_eq!(i.virtual_addresses[0].to_string(), "192.0.2.9/32");
    assert_eq!(
        i.garp,
        Garp {
            delay: ConfigDuration::from_secs(5),
            repeat: 5,
            interval: ConfigDuration::ZERO,
            refresh: ConfigDuration::ZERO,
            refresh_repeat: 1,
        }
    );
    assert!(i.lower_prio_no_advert);
    assert!(!i.higher_prio_send_advert);
    assert!(!i.v3_checksum_as_v2);
}

#[test]
fn global_defaults_apply_to_instances_and_instances_override_them() {
    let text = "global:
  defaults:
    version: 2
    advert_interval: 3
    priority: 50
    garp: {delay: 0, repeat: 2}
    lower_prio_no_advert: false
instances:
  a:
    interface: eth0
    vrid: 1
    virtual_addresses: [192.0.2.1]
  b:
    interface: eth0
    vrid: 2
    version: 3
    advert_interval: 20ms
    priority: 60
    garp: {repeat: 3}
    lower_prio_no_advert: true
    virtual_addresses: [192.0.2.2]
";
    let c = Config::from_str_with(text, "t", &|_| true).expect("valid");
    let a = c.instance("a").expect("a");
    assert_eq!(
        (a.version, a.advert_interval, a.priority),
        (Version::V2, ConfigDuration::from_secs(3), 50)
    );
    assert_eq!(
        (a.garp.delay, a.garp.repeat, a.lower_prio_no_advert),
        (ConfigDuration::ZERO, 2, false)
    );
    let b = c.instance("b").expect("b");
    assert_eq!(
        (b.version, b.advert_interval, b.priority),
        (Version::V3, ConfigDuration::from_millis(20), 60)
    );
    assert_eq!(
        (b.garp.delay, b.garp.repeat, b.lower_prio_no_advert),
        (ConfigDuration::ZERO, 3, true)
    );
}

#[test]
fn command_strings_and_lists_give_the_same_argv() {
    let text = "scripts:
  s1: {command: \"/bin/check --name 'a b'\"}
  s2: {command: [/bin/check, --name, a b]}
instances:
  a:
    interface: eth0
    vrid: 1
    virtual_addresses: [192.0.2.1]
    track: {scripts: [s1, s2]}
";
    let c = Config::from_str_with(text, "t", &|_| true).expect("valid");
    assert_eq!(c.scripts[0].command, ["/bin/check", "--name", "a b"]);
    assert_eq!(c.scripts[0].command, c.scripts[1].command);
    assert_eq!(
        c.scripts[0].timeout,
        ConfigDuration::from_secs(1),
        "timeout defaults to the interval"
    );
}

#[test]
fn unused_script_and_preempt_delay_without_preempt_are_warnings() {
    let text = "scripts:
  idle: {command: /bin/true}
instances:
  a:
    interface: eth0
    vrid: 1
    preempt: false
    preempt_delay: 10s
    virtual_addresses: [192.0.2.1]
";
    let c = Config::from_str_with(text, "t.yaml", &|_| true).expect("valid");
    let lines: Vec<String> = c
        .warnings()
        .iter()
        .map(|w| w.display_with("t.yaml").to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "t.yaml:2:3: scripts.idle: script `idle` is not tracked by any instance; it will not run",
            "t.yaml:8:20: instances.a.preempt_delay: preempt_delay has no effect with `preempt: false`",
        ]
    );
}

#[test]
fn empty_file_is_a_valid_config_with_a_warning() {
    let c = Config::from_str_with("# nothing yet\n", "t.yaml", &|_| true).expect("valid");
    assert!(c.instances.is_empty());
    let lines: Vec<String> = c
        .warnings()
        .iter()
        .map(|w| w.display_with("t.yaml").to_string())
        .collect();
    assert_eq!(
        lines,
        ["t.yaml: instances: no instances are configured; the agent will do nothing"]
    );
}

#[test]
fn ipv6_instance_without_a_link_local_first_address_gets_a_warning() {
    let text = "instances:\n  v6:\n    interface: eth0\n    vrid: 1\n    virtual_addresses: [\"2001:db8::1/64\", \"fe80::1/64\"]\n";
    let c = Config::from_str_with(text, "t.yaml", &|_| true).expect("valid");
    let lines: Vec<String> = c.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        lines,
        [
            "t.yaml:5:25: instances.v6.virtual_addresses[0]: 2001:db8::1 is the first IPv6 address; RFC 5798 §5.2.9 expects the virtual router's link-local address (fe80::/10) first"
        ]
    );
    let text = text.replace(
        "[\"2001:db8::1/64\", \"fe80::1/64\"]",
        "[\"fe80::1/64\", \"2001:db8::1/64\"]",
    );
    let c = Config::from_str_with(&text, "t.yaml", &|_| true).expect("valid");
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}
