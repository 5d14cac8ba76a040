//! One test per configuration check: the exact message, with file:line:column and field path.

use vrrp_agent::config::Config;

const ORIGIN: &str = "lab.yaml";

/// Validates `text` as if every interface existed; returns the formatted errors.
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

/// One IPv4 instance `vi_1` on eth0 with `extra` lines (indented 4) appended.
fn instance(extra: &str) -> String {
    format!(
        "instances:\n  vi_1:\n    interface: eth0\n    vrid: 10\n    virtual_addresses: [192.0.2.10/24]\n{extra}"
    )
}

#[test]
fn vrid_outside_1_to_255_is_refused() {
    let text = "instances:\n  vi_1:\n    interface: eth0\n    vrid: 300\n    virtual_addresses: [192.0.2.10/24]\n";
    assert_eq!(
        errors(text),
        ["lab.yaml:4:11: instances.vi_1.vrid: 300 is out of range; allowed 1..255"]
    );
    let text = text.replace("300", "0");
    assert_eq!(
        errors(&text),
        ["lab.yaml:4:11: instances.vi_1.vrid: 0 is out of range; allowed 1..255"]
    );
}

#[test]
fn priority_255_needs_address_owner() {
    assert_eq!(
        errors(&instance("    priority: 255\n")),
        [
            "lab.yaml:6:15: instances.vi_1.priority: 255 is reserved for the address owner (RFC 5798 §5.2.4); allowed 1..254, or set `address_owner: true` if this router owns every virtual address"
        ]
    );
    let c = valid(&instance("    address_owner: true\n"));
    assert_eq!(c.instances[0].priority, 255);
    assert!(
        c.instances[0].accept_mode,
        "the owner always accepts (RFC 5798 §6.1)"
    );
    assert_eq!(
        valid(&instance("    address_owner: true\n    priority: 255\n")).instances[0].priority,
        255
    );
}

#[test]
fn address_owner_with_lower_priority_is_refused() {
    assert_eq!(
        errors(&instance("    address_owner: true\n    priority: 200\n")),
        [
            "lab.yaml:7:15: instances.vi_1.priority: 200 with `address_owner: true`; the address owner's priority is 255 (RFC 5798 §5.2.4): remove priority or set it to 255"
        ]
    );
}

#[test]
fn priority_zero_is_refused() {
    assert_eq!(
        errors(&instance("    priority: 0\n")),
        ["lab.yaml:6:15: instances.vi_1.priority: 0 is out of range; allowed 1..255"]
    );
}

#[test]
fn v2_interval_must_be_whole_seconds_1_to_255() {
    for (value, shown) in [("1.5", "1500ms"), ("256s", "256s"), ("100ms", "100ms")] {
        assert_eq!(
            errors(&instance(&format!(
                "    version: 2\n    advert_interval: {value}\n"
            ))),
            [format!(
                "lab.yaml:7:22: instances.vi_1.advert_interval: {shown} is not allowed with version 2; allowed: whole seconds 1s..255s (RFC 3768 §5.3.7)"
            )]
        );
    }
    let c = valid(&instance("    version: 2\n    advert_interval: 255\n"));
    assert_eq!(c.instances[0].advert_interval.get().as_secs(), 255);
}

#[test]
fn v3_interval_must_be_10ms_steps_up_to_40_95s() {
    for (value, shown) in [
        ("15ms", "15ms"),
        ("0.005", "5ms"),
        ("41s", "41s"),
        ("40.951", "40951ms"),
    ] {
        assert_eq!(
            errors(&instance(&format!("    advert_interval: {value}\n"))),
            [format!(
                "lab.yaml:6:22: instances.vi_1.advert_interval: {shown} is not allowed with version 3; allowed: 10ms..40.95s in steps of 10ms (RFC 5798 §5.2.7)"
            )]
        );
    }
    for (value, ms) in [
        ("10ms", 10),
        ("0.01", 10),
        ("40.95", 40_950),
        ("\"1.23s\"", 1_230),
    ] {
        let c = valid(&instance(&format!("    advert_interval: {value}\n")));
        assert_eq!(
            c.instances[0].advert_interval.get().as_millis(),
            ms,
            "{value}"
        );
    }
}

#[test]
fn defaulted_interval_is_checked_against_the_instance_version_and_says_where_it_came_from() {
    let text = format!(
        "global:\n  defaults:\n    advert_interval: 50ms\n{}",
        instance("    version: 2\n")
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:5:3: instances.vi_1.advert_interval: 50ms (from global.defaults.advert_interval) is not allowed with version 2; allowed: whole seconds 1s..255s (RFC 3768 §5.3.7)"
        ]
    );
}

#[test]
fn zero_default_interval_is_refused() {
    assert_eq!(
        errors("global:\n  defaults:\n    advert_interval: 0\n"),
        [
            "lab.yaml:3:22: global.defaults.advert_interval: 0s is out of range; allowed 10ms..40.95s (v3) or 1s..255s (v2)"
        ]
    );
}

#[test]
fn same_vrid_on_one_interface_and_family_is_refused_but_other_family_is_fine() {
    let text = "instances:
  a:
    interface: eth0
    vrid: 7
    virtual_addresses: [192.0.2.1]
  b:
    interface: eth0
    vrid: 7
    virtual_addresses: [192.0.2.2]
  c:
    interface: eth0
    vrid: 7
    virtual_addresses: [2001:db8::2]
  d:
    interface: eth1
    vrid: 7
    virtual_addresses: [192.0.2.3]
";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:8:11: instances.b.vrid: VRID 7 is already used on eth0 for ipv4 by instance `a`; allowed: one instance per interface, VRID and family (RFC 5798 §7.3: they share the virtual MAC)"
        ]
    );
}

#[test]
fn duplicate_instance_names_are_refused_at_the_second_name() {
    let text = "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses: [192.0.2.1]\n  vi_1:\n    interface: eth1\n    vrid: 2\n    virtual_addresses: [192.0.2.2]\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:6:3: instances.vi_1: duplicate key: already given at line 2 column 3; allowed: each key once per mapping"
        ]
    );
}

#[test]
fn mixed_families_in_one_instance_are_refused() {
    let text = "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses:\n      - 192.0.2.1/24\n      - 2001:db8::1/64\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:7:9: instances.vi_1.virtual_addresses[1]: 2001:db8::1 is ipv6 but the instance is ipv4 (from virtual_addresses[0]); VRRP runs one instance per address family (RFC 5798 §1.1): put it in another instance, or in excluded_addresses"
        ]
    );
    let text = "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    family: ipv6\n    virtual_addresses: [192.0.2.1]\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:6:25: instances.vi_1.virtual_addresses[0]: 192.0.2.1 is ipv4 but the instance is ipv6 (from family); VRRP runs one instance per address family (RFC 5798 §1.1): put it in another instance, or in excluded_addresses"
        ]
    );
}

#[test]
fn excluded_addresses_may_be_of_the_other_family() {
    let c = valid(&instance("    excluded_addresses: [\"2001:db8::9/64\"]\n"));
    assert_eq!(
        c.instances[0].excluded_addresses[0].to_string(),
        "2001:db8::9/64"
    );
}

#[test]
fn version_2_with_ipv6_is_refused() {
    let text = "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    version: 2\n    virtual_addresses: [2001:db8::1]\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:5:14: instances.vi_1.version: version 2 is IPv4 only (RFC 3768); allowed for ipv6: version 3 (RFC 5798)"
        ]
    );
}

#[test]
fn unsupported_version_is_refused() {
    assert_eq!(
        errors(&instance("    version: 4\n")),
        [
            "lab.yaml:6:14: instances.vi_1.version: version 4 is not supported; allowed: 2 (RFC 3768) or 3 (RFC 5798)"
        ]
    );
}

#[test]
fn authentication_is_version_2_only_and_ah_is_refused() {
    assert_eq!(
        errors(&instance(
            "    authentication: {type: pass, password: abc}\n"
        )),
        [
            "lab.yaml:6:5: instances.vi_1.authentication: authentication is only for version 2 (RFC 5798 §9 removed it from VRRPv3); allowed with version 3: none"
        ]
    );
    assert_eq!(
        errors(&instance(
            "    version: 2\n    authentication: {type: ah}\n"
        )),
        [
            "lab.yaml:7:28: instances.vi_1.authentication.type: AH authentication is not supported (RFC 3768 §5.3.6 removed it; RFC 5798 has none); allowed: none or pass"
        ]
    );
    assert_eq!(
        errors(&instance(
            "    version: 2\n    authentication: {type: pass, password: \"123456789\"}\n"
        )),
        [
            "lab.yaml:7:44: instances.vi_1.authentication.password: password of 9 bytes; allowed: 1..8 bytes (the advert carries 8)"
        ]
    );
    assert_eq!(
        errors(&instance(
            "    version: 2\n    authentication: {type: pass}\n"
        )),
        ["lab.yaml:7:5: instances.vi_1.authentication: type pass needs a password (1..8 bytes)"]
    );
    assert_eq!(
        errors(&instance(
            "    version: 2\n    authentication: {type: md5}\n"
        )),
        [
            "lab.yaml:7:28: instances.vi_1.authentication.type: unknown variant `md5`, expected one of `none`, `pass`, `ah`"
        ]
    );
}

#[test]
fn unknown_track_script_is_refused_and_names_the_defined_ones() {
    let text = format!(
        "scripts:\n  chk_a:\n    command: /bin/true\n{}",
        instance("    track:\n      scripts: [chk_a, chk_b]\n")
    );
    assert_eq!(
        errors(&text),
        ["lab.yaml:10:24: instances.vi_1.track.scripts[1]: unknown script `chk_b`; defined: chk_a"]
    );
}

#[test]
fn sync_group_members_must_exist_and_belong_to_one_group() {
    let text = format!(
        "{}sync_groups:\n  g1:\n    instances: [vi_1]\n  g2:\n    instances: [vi_1, vi_9]\n  g3:\n    instances: []\n",
        instance("")
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:10:17: sync_groups.g2.instances[0]: instance `vi_1` is already in sync group `g1`; allowed: one group per instance",
            "lab.yaml:10:23: sync_groups.g2.instances[1]: unknown instance `vi_9`; defined: vi_1",
            "lab.yaml:12:5: sync_groups.g3.instances: empty sync group; allowed: one or more instance names",
        ]
    );
}

#[test]
fn unicast_peers_must_match_the_family_and_unicast_src_needs_peers() {
    assert_eq!(
        errors(&instance(
            "    unicast_peers: [192.0.2.2, \"2001:db8::2\"]\n"
        )),
        [
            "lab.yaml:6:32: instances.vi_1.unicast_peers[1]: 2001:db8::2 is ipv6 but the instance is ipv4; allowed: ipv4 addresses"
        ]
    );
    assert_eq!(
        errors(&instance("    unicast_src: 192.0.2.1\n")),
        [
            "lab.yaml:6:18: instances.vi_1.unicast_src: unicast_src without unicast_peers; allowed: list the peers in unicast_peers, or remove unicast_src for multicast"
        ]
    );
    assert_eq!(
        errors(&instance("    unicast_peers: [192.0.2.2, 192.0.2.2]\n")),
        ["lab.yaml:6:32: instances.vi_1.unicast_peers[1]: 192.0.2.2 is listed twice"]
    );
}

#[test]
fn tracking_weights_are_range_checked() {
    let text = format!(
        "scripts:\n  chk:\n    command: /bin/true\n    weight: 254\n{}",
        instance(
            "    track:\n      scripts: [{name: chk, weight: -254}]\n      interfaces: [{name: eth1, weight: 300}]\n      files: [{path: /run/f, weight: 255}]\n"
        )
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:4:13: scripts.chk.weight: 254 is out of range; allowed -253..253",
            "lab.yaml:11:37: instances.vi_1.track.scripts[0].weight: -254 is out of range; allowed -253..253",
            "lab.yaml:12:41: instances.vi_1.track.interfaces[0].weight: 300 is out of range; allowed -253..253",
            "lab.yaml:13:38: instances.vi_1.track.files[0].weight: 255 is out of range; allowed -254..254",
        ]
    );
}

#[test]
fn tracked_file_needs_an_absolute_path() {
    assert_eq!(
        errors(&instance("    track:\n      files: [run/flag]\n")),
        [
            "lab.yaml:7:15: instances.vi_1.track.files[0]: \"run/flag\" is not an absolute path; allowed: a path starting with '/'"
        ]
    );
}

#[test]
fn address_owner_cannot_have_weighted_tracking() {
    let text = instance(
        "    address_owner: true\n    track:\n      interfaces: [{name: eth1, weight: -10}]\n",
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:7:5: instances.vi_1.track: the address owner's priority stays 255 (RFC 5798 §5.2.4), so tracking weights must be 0; non-zero: interface eth1"
        ]
    );
}

#[test]
fn prefix_length_is_range_checked_per_family() {
    assert_eq!(
        errors(
            "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses: [192.0.2.1/33]\n"
        ),
        [
            "lab.yaml:5:25: instances.vi_1.virtual_addresses[0]: prefix length 33 is out of range for 192.0.2.1; allowed 0..32"
        ]
    );
    assert_eq!(
        errors(
            "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses:\n      - {address: \"2001:db8::1\", prefix: 129}\n"
        ),
        [
            "lab.yaml:6:42: instances.vi_1.virtual_addresses[0].prefix: prefix length 129 is out of range for 2001:db8::1; allowed 0..128"
        ]
    );
}

#[test]
fn malformed_virtual_addresses_are_refused() {
    assert_eq!(
        errors(
            "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses: [192.0.2.300/24]\n"
        ),
        [
            "lab.yaml:5:25: instances.vi_1.virtual_addresses[0]: invalid IP address \"192.0.2.300\"; allowed: an IPv4 or IPv6 address with an optional /prefix"
        ]
    );
    assert_eq!(
        errors(
            "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses: [224.0.0.18]\n"
        ),
        [
            "lab.yaml:5:25: instances.vi_1.virtual_addresses[0]: 224.0.0.18 cannot be a virtual address; allowed: a unicast address"
        ]
    );
    assert_eq!(
        errors(
            "instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n    virtual_addresses: [\"2001:db8::1 label eth0:x\"]\n"
        ),
        [
            "lab.yaml:5:25: instances.vi_1.virtual_addresses[0]: label \"eth0:x\" on IPv6 address 2001:db8::1; allowed: labels on IPv4 addresses only"
        ]
    );
}

#[test]
fn the_same_address_twice_on_one_interface_is_refused() {
    let text = "instances:
  a:
    interface: eth0
    vrid: 1
    virtual_addresses: [192.0.2.1/24]
  b:
    interface: eth0
    vrid: 2
    virtual_addresses: [192.0.2.1/24]
  c:
    interface: eth1
    vrid: 3
    virtual_addresses: [192.0.2.1/24]
";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:9:25: instances.b.virtual_addresses[0]: 192.0.2.1 on eth0 is already configured at instances.a.virtual_addresses[0]; allowed: each address once per interface"
        ]
    );
}

#[test]
fn an_instance_needs_a_virtual_address() {
    assert_eq!(
        errors("instances:\n  vi_1:\n    interface: eth0\n    vrid: 1\n"),
        [
            "lab.yaml:2:3: instances.vi_1: no virtual_addresses; allowed: at least one (RFC 5798 §5.2.5: an advertisement carries 1 or more addresses)"
        ]
    );
}

#[test]
fn script_interval_rise_fall_and_timeout_are_checked() {
    let text = format!(
        "scripts:\n  chk:\n    command: /bin/true\n    interval: 0\n    rise: 0\n    fall: 0\n{}",
        instance("    track: {scripts: [chk]}\n")
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:4:15: scripts.chk.interval: 0s is out of range; allowed: more than 0s",
            "lab.yaml:5:11: scripts.chk.rise: 0 is out of range; allowed 1..2147483647",
            "lab.yaml:6:11: scripts.chk.fall: 0 is out of range; allowed 1..2147483647",
        ]
    );
    let text = format!(
        "scripts:\n  chk:\n    command: /bin/true\n    interval: 2s\n    timeout: 3s\n{}",
        instance("    track: {scripts: [chk]}\n")
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:5:14: scripts.chk.timeout: timeout 3s is longer than the interval 2s; allowed: at most the interval, so runs never overlap"
        ]
    );
}

#[test]
fn empty_commands_are_refused() {
    let text = format!(
        "scripts:\n  chk:\n    command: []\n{}",
        instance("    notify: {master: \"\"}\n    track: {scripts: [chk]}\n")
    );
    assert_eq!(
        errors(&text),
        [
            "lab.yaml:3:5: scripts.chk.command: empty command; allowed: \"/path/to/program args\" or a list [\"/path/to/program\", \"arg\"]",
            "lab.yaml:9:22: instances.vi_1.notify.master: empty command; allowed: \"/path/to/program args\" or a list [\"/path/to/program\", \"arg\"]",
        ]
    );
}

#[test]
fn preempt_delay_is_limited_to_1000s() {
    assert_eq!(
        errors(&instance("    preempt_delay: 1001\n")),
        ["lab.yaml:6:20: instances.vi_1.preempt_delay: 1001s is out of range; allowed 0s..1000s"]
    );
}

#[test]
fn garp_settings_are_range_checked() {
    assert_eq!(
        errors(&instance(
            "    garp: {repeat: 0, interval: 2s, refresh_repeat: 256}\n"
        )),
        [
            "lab.yaml:6:20: instances.vi_1.garp.repeat: 0 is out of range; allowed 1..255",
            "lab.yaml:6:33: instances.vi_1.garp.interval: 2s is out of range; allowed 0s..1s",
            "lab.yaml:6:53: instances.vi_1.garp.refresh_repeat: 256 is out of range; allowed 1..255",
        ]
    );
}

#[test]
fn invalid_interface_names_are_refused() {
    let text = "instances:\n  vi_1:\n    interface: a-very-long-interface\n    vrid: 1\n    virtual_addresses: [192.0.2.1]\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:3:16: instances.vi_1.interface: invalid interface name \"a-very-long-interface\"; allowed: 1..15 characters, no '/', ':' or blanks"
        ]
    );
}

#[test]
fn v3_checksum_as_v2_needs_v3_over_ipv4() {
    assert_eq!(
        errors(&instance("    version: 2\n    v3_checksum_as_v2: true\n")),
        [
            "lab.yaml:7:24: instances.vi_1.v3_checksum_as_v2: only meaningful for version 3 over IPv4 (IPv6 always uses the pseudo-header, RFC 5798 §5.2.8)"
        ]
    );
}

#[test]
fn global_paths_must_be_absolute_and_deadman_bounded() {
    let text = "global:\n  notify_fifo: notify.fifo\n  dataplane: {deadman_timeout: 50ms}\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:2:16: global.notify_fifo: \"notify.fifo\" is not an absolute path; allowed: a path starting with '/'",
            "lab.yaml:3:32: global.dataplane.deadman_timeout: 50ms is out of range; allowed 100ms..60s",
        ]
    );
}

#[test]
fn default_priority_cannot_be_255() {
    assert_eq!(
        errors("global:\n  defaults:\n    priority: 255\n"),
        [
            "lab.yaml:3:15: global.defaults.priority: 255 is out of range; allowed 1..254 (255 is only for an address owner: set it per instance)"
        ]
    );
}

#[test]
fn several_errors_are_all_reported_in_file_order() {
    let text = "instances:\n  b:\n    interface: eth0\n    vrid: 0\n    priority: 300\n    virtual_addresses: [192.0.2.1]\n  a:\n    interface: eth1\n    vrid: 256\n    virtual_addresses: [192.0.2.2]\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:4:11: instances.b.vrid: 0 is out of range; allowed 1..255",
            "lab.yaml:5:15: instances.b.priority: 300 is out of range; allowed 1..255",
            "lab.yaml:9:11: instances.a.vrid: 256 is out of range; allowed 1..255",
        ]
    );
}
