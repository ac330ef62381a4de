//! The stored sign-in: `credentials.json` in the OS-conventional config
//! directory (`~/.config/latchkey` on Linux; `LATCHKEY_CONFIG_DIR`
//! overrides), readable by its owner only (created with mode 0600, in a
//! directory created with 0700).
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE: &str = "credentials.json";

/// What `latchkey login` keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The API the tokens belong to.
    pub api_url: String,
    /// The short-lived access token.
    pub access_token: String,
    /// The refresh token (single use; rotated on every refresh).
    pub refresh_token: Option<String>,
    /// Who signed in (shown by `logout`).
    #[serde(default)]
    pub email: Option<String>,
}

/// The config directory: `$LATCHKEY_CONFIG_DIR`, else `<config dir>/latchkey`.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os("LATCHKEY_CONFIG_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::config_dir().map(|d| d.join("latchkey")),
    }
}

/// The stored credentials in `dir`, if any. A file that does not parse is
/// treated as absent (a new sign-in replaces it).
pub fn load(dir: &Path) -> io::Result<Option<Credentials>> {
    match fs::read(dir.join(FILE)) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `creds` to `dir/credentials.json`: a fresh file created with mode
/// 0600 (never widened and then narrowed), renamed over the old one.
pub fn save(dir: &Path, creds: &Credentials) -> io::Result<()> {
    create_dir(dir)?;
    let text = serde_json::to_vec_pretty(creds).map_err(io::Error::other)?;
    let tmp = dir.join(format!(".{FILE}.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut file = private_file(&tmp)?;
    let written = file.write_all(&text).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, dir.join(FILE))) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Removes the stored credentials; true if there were any.
pub fn remove(dir: &Path) -> io::Result<bool> {
    match fs::remove_file(dir.join(FILE)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn creds(token: &str) -> Credentials {
        Credentials {
            api_url: "http://127.0.0.1:8787".into(),
            access_token: token.into(),
            refresh_token: Some("rt".into()),
            email: Some("a@example.com".into()),
        }
    }

    #[test]
    fn the_file_is_created_0600_in_a_0700_directory_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/latchkey");
        assert_eq!(load(&dir).unwrap(), None);
        save(&dir, &creds("one")).unwrap();
        let mode = fs::metadata(dir.join(FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(load(&dir).unwrap(), Some(creds("one")));
    }

    #[test]
    fn saving_again_replaces_a_world_readable_file_with_a_private_one() {
        let tmp = tempfile::tempdir().unwrap();
        // A file someone left world-readable is replaced, not reused.
        fs::write(tmp.path().join(FILE), "{}").unwrap();
        fs::set_permissions(tmp.path().join(FILE), fs::Permissions::from_mode(0o644)).unwrap();
        save(tmp.path(), &creds("two")).unwrap();
        let mode = fs::metadata(tmp.path().join(FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(tmp.path()).unwrap().unwrap().access_token, "two");
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, [FILE], "no temp file left behind");
        assert!(remove(tmp.path()).unwrap());
        assert!(!remove(tmp.path()).unwrap());
        assert_eq!(load(tmp.path()).unwrap(), None);
    }

    #[test]
    fn a_damaged_file_reads_as_no_sign_in() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(FILE), "not json").unwrap();
        assert_eq!(load(tmp.path()).unwrap(), None);
    }
}
