//! Build script of `kairos-schema`.
//!
//! Generates the FlatBuffers readers and writers of the realtime wire
//! (`flatbuffers/realtime.fbs`) with planus: pure Rust, no flatc, no C++.
//! The output lands in `$OUT_DIR/realtime_fbs.rs` and is included by
//! `src/flat/generated.rs`.

use std::path::{Path, PathBuf};

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    flatbuffers(&out_dir);
}

/// `flatbuffers/realtime.fbs` → `$OUT_DIR/realtime_fbs.rs`.
fn flatbuffers(out_dir: &Path) {
    let schema = "flatbuffers/realtime.fbs";
    println!("cargo:rerun-if-changed={schema}");
    // planus prints the schema's errors, with their places, to stderr.
    let declarations = planus_translation::translate_files(&[schema])
        .unwrap_or_else(|| panic!("{schema} has errors (see above)"));
    // `false`: don't run rustfmt, which a build machine may not have.
    let code = planus_codegen::generate_rust(&declarations, false)
        .unwrap_or_else(|e| panic!("generating Rust from {schema}: {e}"));
    std::fs::write(out_dir.join("realtime_fbs.rs"), code)
        .expect("write generated FlatBuffers code");
}
