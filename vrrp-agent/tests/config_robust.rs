//! Arbitrary or mangled configuration text never panics: it is either valid or a list of errors,
//! each with a message.

use proptest::prelude::*;
use vrrp_agent::config::Config;

const EXAMPLE: &str = include_str!("../../etc/vrrp-agent.example.yaml");

fn outcome(text: &str) -> Result<usize, usize> {
    match Config::from_str_with(text, "fuzz.yaml", &|_| true) {
        Ok(c) => Ok(c.instances.len()),
        Err(e) => {
            assert!(!e.errors.is_empty(), "an error list is never empty");
            assert!(e.errors.iter().all(|d| !d.message.is_empty()), "{e}");
            Err(e.errors.len())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = outcome(&text);
    }

    #[test]
    fn yamlish_text_never_panics(text in "([a-z_]{1,8}|[ ]{0,6}|[-:\\[\\]{},'\"&*!|>#0-9./]|\n){0,80}") {
        let _ = outcome(&text);
    }

    #[test]
    fn the_example_with_one_byte_changed_never_panics(pos in 0..EXAMPLE.len(), byte in 0x20u8..0x7f) {
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        bytes[pos] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = outcome(&text);
        }
    }

    #[test]
    fn the_example_cut_anywhere_never_panics(len in 0..EXAMPLE.len()) {
        if let Some(text) = EXAMPLE.get(..len) {
            let _ = outcome(text);
        }
    }
}

#[test]
fn the_unchanged_example_is_valid() {
    assert_eq!(outcome(EXAMPLE), Ok(3));
}
