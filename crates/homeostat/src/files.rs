//! Writing a file whole or not at all: the one place the project replaces a file's content
//! (the ledger's rewrite, the canary's output, hs-content's files, the local forge's
//! records, the relay spool's cursor).
//!
//! The content goes to a temporary file beside the target (same directory, so the rename
//! cannot cross file systems; a name of its own, so two processes do not write one
//! temporary), then replaces the target by a rename: a reader sees the old content or the
//! new, never a half-written file, and a failed write leaves the old content and no
//! temporary behind.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Replaces `path` with `bytes`, creating its directory if needed. Survives the process
/// dying at any point; not flushed to the disk (see [`write_durable`]).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temp(path, bytes, false)
}

/// As [`write_whole`], and the content and the rename are on the disk before it returns
/// (the temporary is fsync'd before the rename, the directory after): for state that must
/// survive a power cut, such as the relay spool's cursor.
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temp(path, bytes, true)
}

/// Flushes a directory's entries (a file created, renamed or removed in it) to the disk.
/// Best effort: some file systems cannot open a directory for syncing.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn write_via_temp(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let prefix = format!(".{}.", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // The permissions `fs::write` would give under the usual umask; the temporary's own
    // default (0600) would make a shared ledger or report unreadable to the group.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    if durable {
        tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if durable {
        sync_dir(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/state.json");
        write_whole(&path, b"a long first content\n").unwrap();
        write_durable(&path, b"short\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short\n");
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["state.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_whole(&path, b"old").unwrap();
        // The target is now a non-empty directory: the rename fails.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir_all(path.join("inside")).unwrap();
        let err = write_whole(&path, b"new").unwrap_err().to_string();
        assert!(err.contains("state.json"), "{err}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["state.json"], "no temporary left behind");
    }
}
