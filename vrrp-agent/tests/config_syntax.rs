//! Configuration errors found while reading the YAML: unknown keys, syntax, types, bad files.

use std::path::Path;

use vrrp_agent::config::Config;

fn errors(text: &str) -> Vec<String> {
    match Config::from_str_with(text, "lab.yaml", &|_| true) {
        Ok(c) => panic!("expected errors, got a valid config: {c:?}"),
        Err(e) => e.lines(),
    }
}

#[test]
fn unknown_instance_key_is_an_error_listing_the_allowed_keys() {
    let text = "instances:\n  vi_1:\n    interface: eth0\n    vrid: 3\n    prio: 1\n    virtual_addresses: [192.0.2.1]\n";
    assert_eq!(
        errors(text),
        [
            "lab.yaml:5:5: instances.vi_1.prio: unknown field `prio`, expected one of `interface`, `vrid`, `version`, `family`, `priority`, `address_owner`, `advert_interval`, `preempt`, `preempt_delay`, `accept_mode`, `unicast_src`, `unicast_peers`, `authentication`, `virtual_addresses`, `excluded_addresses`, `garp`, `track`, `notify`, `lower_prio_no_advert`, `higher_prio_send_advert`, `v3_checksum_as_v2`"
        ]
    );
}

#[test]
fn unknown_top_level_key_is_an_error_listing_the_allowed_keys() {
    // keepalived's block name, singular: the YAML key is `virtual_servers`.
    assert_eq!(
        errors("virtual_server: {}\n"),
        [
            "lab.yaml:1:1: virtual_server: unknown field `virtual_server`, expected one of `global`, `scripts`, `instances`, `sync_groups`, `lvs`, `virtual_servers`"
        ]
    );
}

#[test]
fn yaml_syntax_error_names_its_location() {
    assert_eq!(
        errors("global:\n  router_id: \"r1\n"),
        [
            "lab.yaml:3:1: global.router_id: found unexpected end of stream, while scanning a quoted scalar at line 2 column 14"
        ]
    );
    assert_eq!(
        errors("global:\n  router_id: r1\n control_socket: /x\n"),
        ["lab.yaml:3:2: did not find expected key, while parsing a block mapping"]
    );
    assert_eq!(
        errors("global:\n  router_id: r1\n\tcontrol_socket: /x\n"),
        [
            "lab.yaml:3:1: global.router_id: found a tab character that violates indentation, while scanning a plain scalar at line 2 column 14"
        ]
    );
}

#[test]
fn wrong_type_names_the_field_and_expectation() {
    assert_eq!(
        errors("instances:\n  vi_1:\n    interface: eth0\n    vrid: seven\n"),
        ["lab.yaml:4:11: instances.vi_1.vrid: invalid type: string \"seven\", expected an integer"]
    );
}

#[test]
fn missing_required_field_is_named() {
    assert_eq!(
        errors("instances:\n  vi_1:\n    vrid: 3\n"),
        ["lab.yaml:3:5: instances.vi_1: missing field `interface`"]
    );
}

#[test]
fn malformed_duration_says_what_is_allowed() {
    assert_eq!(
        errors("global:\n  defaults:\n    advert_interval: 1h\n"),
        [
            "lab.yaml:3:22: global.defaults.advert_interval: invalid duration \"1h\": expected seconds as a number (1, 0.5) or a number with a unit us, ms, s or m (\"100ms\", \"1s\", \"1.5s\", \"5m\")"
        ]
    );
}

#[test]
fn repeated_keys_are_each_reported() {
    assert_eq!(
        errors("global:\n  router_id: a\n  router_id: b\nscripts: {}\nscripts: {}\n"),
        [
            "lab.yaml:3:3: global.router_id: duplicate key: already given at line 2 column 3; allowed: each key once per mapping",
            "lab.yaml:5:1: scripts: duplicate key: already given at line 4 column 1; allowed: each key once per mapping",
        ]
    );
}

#[test]
fn unreadable_file_is_reported_with_its_name() {
    let err = Config::load(Path::new("/nonexistent/vrrp.yaml")).expect_err("no such file");
    assert_eq!(
        err.lines(),
        ["/nonexistent/vrrp.yaml: cannot read the file: No such file or directory (os error 2)"]
    );
}
