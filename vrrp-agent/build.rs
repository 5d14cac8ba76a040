//! Builds the XDP program (crate vrrp-ebpf) with the pinned nightly and bpf-linker, for embedding
//! with `aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp-ebpf"))`.
use anyhow::{Context as _, anyhow};

/// Must match NIGHTLY in scripts/setup.sh.
const NIGHTLY: &str = "nightly-2026-10-30";

fn main() -> anyhow::Result<()> {
    let cargo_metadata::Metadata { packages, .. } = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = packages
        .iter()
        .find(|p| p.name.as_str() == "vrrp-ebpf")
        .ok_or_else(|| anyhow!("package vrrp-ebpf not found in the workspace"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("vrrp-ebpf manifest has no parent"))?;
    // The nested cargo's progress lines would surface as one `cargo::warning` each.
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("CARGO_TERM_QUIET", "true") };
    aya_build::build_ebpf(
        [aya_build::Package {
            name: ebpf.name.as_str(),
            root_dir: root_dir.as_str(),
            ..Default::default()
        }],
        aya_build::Toolchain::Custom(NIGHTLY),
    )
}
