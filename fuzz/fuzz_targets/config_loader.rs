//! The config loader: `ConfigBuilder::yaml` (a `--config` file), `set`
//! (`--section.key value` flags) and `build` (deserialize and validate), as
//! `kairos` starts; then `keys`, what `--help` lists, on a loaded config.
//!
//! Input: the YAML document, then after a line `---flags---`, one flag per
//! line as `key=value`.

#![no_main]

use kairos_core::config::ConfigBuilder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (yaml, flags) = text.split_once("\n---flags---\n").unwrap_or((text, ""));
    let mut builder = ConfigBuilder::new();
    if builder.yaml(yaml, "fuzz.yml").is_err() {
        return;
    }
    for line in flags.lines() {
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if builder.set(key, value).is_err() {
            return;
        }
    }
    if let Ok(config) = builder.build() {
        let _ = config.keys();
        let _ = config.shard_count(2);
    }
});
