//! `get_config`, `get_context` and `file_read`: what the node runs with.
//! They read the node's configuration, so they work while modules load
//! at startup too, as Nakama's do.

use std::path::{Path, PathBuf};

use mlua::{Lua, Table};

use super::Module;
use kairos_core::config::Config;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.sync("get_config", |lua, current, _| {
        config_table(lua, &current.program.node.config)
    })?;
    m.sync("get_context", |lua, current, _| {
        // Nakama's: the context of a `run_once` call, whatever the caller.
        let config = &current.program.node.config;
        let t = lua.create_table()?;
        t.raw_set("env", env_table(lua, config)?)?;
        t.raw_set("execution_mode", "run_once")?;
        t.raw_set("node", config.name.as_str())?;
        t.raw_set("version", env!("CARGO_PKG_VERSION"))?;
        t.raw_set("headers", lua.create_table()?)?;
        t.raw_set("query_params", lua.create_table()?)?;
        Ok(t)
    })?;
    m.async_fn("file_read", |lua, current, a| async move {
        let rel = a.string(1)?;
        if rel.is_empty() {
            return Err(a.error(1, "expects relative path string"));
        }
        let config = &current.program.node.config;
        let root = PathBuf::from(config.runtime.modules_dir(&config.data_dir));
        let limit = config.kairos.runtime.lua_memory_limit_bytes;
        let read = move || read_under(&root, &rel, limit);
        // On a shard the file is read on the persistence pool, never the
        // shard's thread; while modules load at startup, in place.
        let content = match current.nk("file_read") {
            Ok(nk) => nk.blocking(read).await.map_err(|e| {
                mlua::Error::RuntimeError(format!("failed to read file: {}", e.message))
            })?,
            Err(_) => read(),
        }
        .map_err(mlua::Error::RuntimeError)?;
        lua.create_string(content)
    })?;
    Ok(())
}

/// The file `rel` under `root`, refused if it resolves (links followed)
/// outside `root` or is larger than `limit` bytes (0: no limit). Errors
/// are the Lua error's text.
pub fn read_under(root: &Path, rel: &str, limit: usize) -> Result<Vec<u8>, String> {
    let open = |e: std::io::Error| format!("failed to open file: {e}");
    let root = root.canonicalize().map_err(open)?;
    let path = root.join(rel).canonicalize().map_err(open)?;
    if !path.starts_with(&root) {
        return Err("failed to open file: path is outside the runtime path".into());
    }
    let file = std::fs::File::open(&path).map_err(open)?;
    let len = file
        .metadata()
        .map_err(|e| format!("failed to read file: {e}"))?
        .len();
    if limit > 0 && len > limit as u64 {
        return Err("failed to read file: file too large".into());
    }
    // The file may grow after its length was read: read no more than
    // one byte past the limit.
    let cap = if limit > 0 {
        limit as u64 + 1
    } else {
        u64::MAX
    };
    let mut out = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, cap), &mut out)
        .map_err(|e| format!("failed to read file: {e}"))?;
    if limit > 0 && out.len() > limit {
        return Err("failed to read file: file too large".into());
    }
    Ok(out)
}

/// Nakama's `get_config` table, without its secrets (keys, passwords)
/// and without the sections Kairos has no keys for (social, IAP, Google
/// auth, Satori).
fn config_table(lua: &Lua, c: &Config) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("name", c.name.as_str())?;
    t.raw_set("shutdown_grace_sec", c.shutdown_grace_sec as f64)?;
    let logger = lua.create_table()?;
    logger.raw_set("level", c.logger.level.as_str())?;
    t.raw_set("logger", logger)?;
    let session = lua.create_table()?;
    session.raw_set("token_expiry_sec", c.session.token_expiry_sec as f64)?;
    session.raw_set(
        "refresh_token_expiry_sec",
        c.session.refresh_token_expiry_sec as f64,
    )?;
    session.raw_set("single_socket", c.session.single_socket)?;
    // Kairos accepts only Nakama's default (false) for these.
    session.raw_set("single_match", false)?;
    session.raw_set("single_party", false)?;
    session.raw_set("single_session", false)?;
    t.raw_set("session", session)?;
    let socket = lua.create_table()?;
    socket.raw_set("port", f64::from(c.socket.port))?;
    socket.raw_set("address", c.socket.address.as_str())?;
    socket.raw_set("protocol", "tcp")?;
    t.raw_set("socket", socket)?;
    let runtime = lua.create_table()?;
    let env = lua.create_table()?;
    for (i, e) in c.runtime.env_entries().into_iter().enumerate() {
        env.raw_set(i + 1, e)?;
    }
    runtime.raw_set("env", env)?;
    t.raw_set("runtime", runtime)?;
    Ok(t)
}

/// A context's `env`: `runtime.env` as a table of strings by key.
pub fn env_table(lua: &Lua, config: &Config) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (k, v) in config.runtime.environment() {
        t.raw_set(k, v)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_under_the_root() {
        let base = std::env::temp_dir().join(format!("kairos-file-read-{}", uuid::Uuid::new_v4()));
        let root = base.join("modules");
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/a.txt"), b"hello").unwrap();
        std::fs::write(base.join("secret.txt"), b"no").unwrap();
        assert_eq!(read_under(&root, "data/a.txt", 0).unwrap(), b"hello");
        assert_eq!(
            read_under(&root, "./data/../data/a.txt", 5).unwrap(),
            b"hello"
        );
        assert_eq!(
            read_under(&root, "data/a.txt", 4).unwrap_err(),
            "failed to read file: file too large"
        );
        for escape in ["../secret.txt", "data/../../secret.txt"] {
            assert_eq!(
                read_under(&root, escape, 0).unwrap_err(),
                "failed to open file: path is outside the runtime path",
                "{escape}"
            );
        }
        let abs = base.join("secret.txt");
        assert!(read_under(&root, abs.to_str().unwrap(), 0).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt")).unwrap();
            assert!(read_under(&root, "link.txt", 0).is_err());
        }
        assert!(
            read_under(&root, "missing.txt", 0)
                .unwrap_err()
                .starts_with("failed to open file: ")
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
