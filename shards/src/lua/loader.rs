//! Reading the modules: every `*.lua` file under the directory, named as
//! Nakama names them (the path relative to the directory, without its
//! extension, separators as dots: `lib/util.lua` is `lib.util`).

use std::path::{Path, PathBuf};

/// Largest module file read, in bytes.
pub const MAX_MODULE_BYTES: u64 = 16 << 20;

/// One module's source.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its `require` name.
    pub name: String,
    /// Its file, as error messages name it.
    pub path: String,
    pub code: Vec<u8>,
}

/// The modules under `dir`, sorted by name; none when `dir` is missing.
pub fn read_dir(dir: &Path) -> Result<Vec<Source>, String> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    walk(dir, &mut files, 0)?;
    let mut out = Vec::with_capacity(files.len());
    for (path, meta) in files {
        if meta.len() > MAX_MODULE_BYTES {
            return Err(format!(
                "Lua module {} is larger than {MAX_MODULE_BYTES} bytes",
                path.display()
            ));
        }
        let code =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rel = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(".");
        out.push(Source {
            name,
            path: path.display().to_string(),
            code,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The `*.lua` files under `dir` with their metadata, as [`read_dir`]
/// would read them; none when `dir` is missing or unreadable.
pub fn lua_files(dir: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut files = Vec::new();
    if dir.is_dir() && walk(dir, &mut files, 0).is_err() {
        files.clear();
    }
    files
}

fn walk(
    dir: &Path,
    out: &mut Vec<(PathBuf, std::fs::Metadata)>,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out, depth + 1)?;
            continue;
        }
        let is_lua = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("lua"));
        if !is_lua {
            continue;
        }
        let meta =
            std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        out.push((path, meta));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_named_as_nakama_names_them() {
        let dir = std::env::temp_dir().join(format!("kairos-lua-loader-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("b.lua"), "return 1").unwrap();
        std::fs::write(dir.join("lib/util.LUA"), "return 2").unwrap();
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        let found = read_dir(&dir).unwrap();
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["b", "lib.util"]);
        assert!(read_dir(&dir.join("missing")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
