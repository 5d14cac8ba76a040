//! `vrrp-agent check -c FILE`: exit status, effective config on stdout, errors on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vrrp_agent::config::Config;

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrrp-agent"))
        .arg("check")
        .args(args)
        .output()
        .expect("runs vrrp-agent")
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/vrrp-agent.example.yaml")
}

/// A file in a fresh temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "vrrp-agent-config-cli-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("temp file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn check_of_the_example_exits_0_and_prints_a_reloadable_effective_config() {
    let path = example_path();
    let out = check(&["-c", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let printed =
        Config::from_str_with(&stdout, "stdout", &|_| true).expect("printed config is valid");
    let original = Config::load(&path).expect("example is valid");
    assert_eq!(printed.instances, original.instances);
    assert_eq!(printed.global, original.global);
    assert_eq!(printed.lvs, original.lvs);
    assert_eq!(printed.virtual_servers, original.virtual_servers);
    assert!(
        stdout.contains(
            "  vi_web4:\n    interface: veth0\n    vrid: 51\n    version: 3\n    family: ipv4\n"
        ),
        "{stdout}"
    );
}

#[test]
fn check_json_prints_json() {
    let path = example_path();
    let out = check(&["-c", path.to_str().expect("utf-8 path"), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["instances"]["vi_legacy"]["version"], 2);
    assert_eq!(v["instances"]["vi_web6"]["advert_interval"], "100ms");
    assert_eq!(v["global"]["defaults"]["garp"]["delay"], "5s");
}

#[test]
fn check_of_a_bad_file_exits_1_with_every_error_on_stderr() {
    let file = TempFile::new(
        "bad.yaml",
        "instances:\n  vi_1:\n    interface: eth0\n    vrid: 300\n    priority: 255\n    virtual_addresses: [192.0.2.1]\n",
    );
    let out = check(&["-c", file.0.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout for an invalid file"
    );
    let p = file.0.display();
    assert_eq!(
        String::from_utf8(out.stderr).expect("utf-8"),
        format!(
            "error: {p}:4:11: instances.vi_1.vrid: 300 is out of range; allowed 1..255\n\
             error: {p}:5:15: instances.vi_1.priority: 255 is reserved for the address owner (RFC 5798 §5.2.4); allowed 1..254, or set `address_owner: true` if this router owns every virtual address\n\
             {p}: 2 error(s); the configuration is not valid\n"
        )
    );
}

#[test]
fn check_warns_on_stderr_about_missing_interfaces_and_still_exits_0() {
    let file = TempFile::new(
        "warn.yaml",
        "instances:\n  vi_1:\n    interface: nosuchif0\n    vrid: 3\n    virtual_addresses: [192.0.2.1]\n",
    );
    let out = check(&["-c", file.0.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stderr).expect("utf-8"),
        format!(
            "warning: {}:3:16: instances.vi_1.interface: interface \"nosuchif0\" does not exist on this host (the instance will be in Fault until it appears)\n",
            file.0.display()
        )
    );
}

#[test]
fn check_of_a_missing_file_exits_1() {
    let out = check(&["-c", "/nonexistent/vrrp-agent.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).expect("utf-8"),
        "error: /nonexistent/vrrp-agent.yaml: cannot read the file: No such file or directory (os error 2)\n\
         /nonexistent/vrrp-agent.yaml: 1 error(s); the configuration is not valid\n"
    );
}
