//! Every test file belongs to a layer: with `autotests = false` (one binary
//! per layer), a `tests/native_*.rs` or `tests/e2e_*.rs` file that its
//! layer's root does not list would silently never run.
use std::fs;

#[test]
fn every_test_file_is_in_a_layer() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let native = fs::read_to_string(format!("{dir}/native.rs")).unwrap();
    let e2e = fs::read_to_string(format!("{dir}/e2e.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let root = match name.split('_').next() {
            Some("native") if name.ends_with(".rs") && name != "native.rs" => &native,
            Some("e2e") if name.ends_with(".rs") && name != "e2e.rs" => &e2e,
            _ => continue,
        };
        if !root.contains(&format!("#[path = \"{name}\"]")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "not listed in tests/native.rs or tests/e2e.rs: {missing:?}");
}
