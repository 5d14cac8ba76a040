//! Contract test: the maps the built eBPF object declares (as the kernel reports them after
//! loading) are exactly `vrrp_common::maps::MAP_SPECS`, and COUNTERS has one slot per `Counter`.

use aya::maps::{Map, MapData};
use vrrp_agent::xdp::DataPlane;
use vrrp_common::{
    maps::{MAP_COUNTERS, MAP_SPECS, MapKind},
    stats::Counter,
};

fn kind_and_data(map: &Map) -> Option<(MapKind, &MapData)> {
    match map {
        Map::HashMap(d) => Some((MapKind::Hash, d)),
        Map::Array(d) => Some((MapKind::Array, d)),
        Map::PerCpuArray(d) => Some((MapKind::PerCpuArray, d)),
        _ => None,
    }
}

#[test]
fn object_maps_equal_the_common_contract() {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_contract needs root to load BPF objects");
        return;
    }
    let dp = DataPlane::load_unattached().expect("load the eBPF object");
    let mut seen: Vec<String> = Vec::new();
    for (name, map) in dp.ebpf().maps() {
        seen.push(name.to_string());
        let spec = MAP_SPECS
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("map {name} is declared by the object but not in MAP_SPECS"));
        let (kind, data) =
            kind_and_data(map).unwrap_or_else(|| panic!("map {name} has an unexpected type"));
        let info = data.info().expect("map info");
        assert_eq!(kind, spec.kind, "kind of {name}");
        assert_eq!(info.key_size(), spec.key_size, "key size of {name}");
        assert_eq!(info.value_size(), spec.value_size, "value size of {name}");
        assert_eq!(
            info.max_entries(),
            spec.max_entries,
            "max entries of {name}"
        );
        assert_eq!(info.name_as_str(), Some(spec.name), "kernel name of {name}");
    }
    seen.sort();
    let mut want: Vec<String> = MAP_SPECS.iter().map(|s| s.name.to_string()).collect();
    want.sort();
    assert_eq!(
        seen, want,
        "the object declares exactly the contract's maps"
    );
}

#[test]
fn counters_map_has_one_slot_per_counter() {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_contract needs root to load BPF objects");
        return;
    }
    let dp = DataPlane::load_unattached().expect("load the eBPF object");
    let map = dp.ebpf().map(MAP_COUNTERS).expect("COUNTERS map");
    let Map::PerCpuArray(data) = map else {
        panic!("COUNTERS is not a per-CPU array")
    };
    let info = data.info().expect("map info");
    assert_eq!(info.max_entries() as usize, Counter::COUNT);
    assert_eq!(info.value_size(), 8);
    assert_eq!(Counter::ALL.len(), Counter::COUNT);
}
