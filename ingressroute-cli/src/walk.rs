//! The one way `check`, `render` and `serve` find and open manifest files.
//!
//! ```text
//!  directory ──walkdir (links followed, loops detected, names sorted)──▶ entries
//!     │  skipped: hidden names (`.x`, so also `..data` and `..2026_…` of a ConfigMap
//!     │           or Secret volume), editor droppings (`x~`, `x.swp`, `x.swo`, `#x#`),
//!     │           names that are not *.yaml, *.yml or *.json
//!     ▼
//!  file type after following links ──▶ regular: listed (once per file, however many
//!                                      │         links lead to it)
//!                                      └─▶ FIFO, socket, device: skipped, with a warning
//!
//!  read(path) ──▶ open with O_NONBLOCK ──▶ fstat: regular? ──▶ read to the end
//! ```
//!
//! A Kubernetes ConfigMap or Secret volume holds each key twice: `hello.yaml` is a link
//! to `..data/hello.yaml`, `..data` is a link to the current `..2026_01_01_…` directory,
//! and an update swaps `..data` atomically. Skipping hidden names reads each key once,
//! through the top-level link, which always shows the current version.
//!
//! Only regular files are opened: a FIFO named `x.yaml` would block a reader forever,
//! and a device could be read forever. The type is checked before opening, and again on
//! the open file (a file swapped for a FIFO in between cannot block us: the open does not
//! wait for a writer, and nothing but a regular file is read).
//!
//! What this module does **not** do: parse anything (see [`crate::load`]) or watch for
//! changes (see [`crate::serve::watch`]). It is our own because the rules (which names,
//! which file types, ConfigMap volumes) are ours; the walking itself is walkdir's.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// File name extensions picked up when walking a directory.
pub const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Something a walk came across that it did not list.
#[derive(Debug)]
#[non_exhaustive]
pub enum Skipped {
    /// A manifest name for something that is not a regular file (a FIFO, a socket, a
    /// device); it is never opened.
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is, e.g. `a FIFO`.
        what: &'static str,
    },
    /// A directory or manifest file that cannot be looked at (no permission, a dangling
    /// link).
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A link that leads back to a directory being walked; not followed again.
    Loop {
        /// The link.
        path: PathBuf,
    },
}

/// What walking a directory found.
#[derive(Debug, Default)]
pub struct Walked {
    /// The manifest files, in walk order (names sorted within each directory).
    pub files: Vec<PathBuf>,
    /// What was not listed and is worth saying, in walk order.
    pub skipped: Vec<Skipped>,
}

/// Walks `dir` recursively, following links: the regular `*.yaml`, `*.yml` and `*.json`
/// files under it that are not hidden and not editor droppings, each file once.
#[must_use]
pub fn walk(dir: &Path) -> Walked {
    let mut walked = Walked::default();
    // A file reached through several links (or a ConfigMap key and its target, were
    // hidden names not skipped) is read once: at the first path in walk order.
    let mut seen = HashSet::new();
    let entries = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_skipped_name(entry.file_name()));
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let path = error.path().map(Path::to_owned).unwrap_or_else(|| dir.to_owned());
                let skipped_name = error.depth() > 0 && path.file_name().is_some_and(is_skipped_name);
                if skipped_name {
                    // A dangling `.#x.yaml` lock link, say: skipped like any hidden name.
                } else if error.loop_ancestor().is_some() {
                    walked.skipped.push(Skipped::Loop { path });
                } else if error.depth() == 0 || has_manifest_extension(&path) || path.is_dir() {
                    let source = error
                        .into_io_error()
                        .unwrap_or_else(|| io::Error::other("cannot be walked"));
                    walked.skipped.push(Skipped::Unreadable { path, source });
                }
                continue;
            }
        };
        let file_type = entry.file_type();
        if file_type.is_dir() || !has_manifest_extension(entry.path()) {
            continue;
        }
        if !file_type.is_file() {
            walked.skipped.push(Skipped::NotRegular {
                path: entry.into_path(),
                what: describe(file_type),
            });
            continue;
        }
        match entry.metadata() {
            Ok(meta) => {
                if seen.insert((meta.dev(), meta.ino())) {
                    walked.files.push(entry.into_path());
                }
            }
            Err(error) => walked.skipped.push(Skipped::Unreadable {
                path: entry.path().to_owned(),
                source: error
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::other("cannot be looked at")),
            }),
        }
    }
    walked
}

/// Why [`read`] did not read a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Not a regular file (a FIFO, a socket, a device, a directory): never read.
    #[error("not a regular file ({0}); skipped")]
    NotRegular(&'static str),
    /// Larger than [`MAX_FILE_BYTES`]: not read.
    #[error("{0} bytes, more than the {MAX_FILE_BYTES} read from one file")]
    TooLarge(u64),
    /// Opening or reading failed, or the file is not UTF-8.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads a regular file to the end, as UTF-8. Anything else is refused without blocking:
/// the type is checked after following links, the file is opened with `O_NONBLOCK` (a
/// FIFO without a writer does not block the open) and checked again once open.
///
/// # Errors
///
/// [`ReadError::NotRegular`] for anything but a regular file, [`ReadError::Io`] when it
/// cannot be opened or read or is not UTF-8.
pub fn read(path: &Path) -> Result<String, ReadError> {
    let before = fs::metadata(path)?;
    if !before.file_type().is_file() {
        return Err(ReadError::NotRegular(describe(before.file_type())));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    let opened = file.metadata()?;
    if !opened.file_type().is_file() {
        return Err(ReadError::NotRegular(describe(opened.file_type())));
    }
    read_all(&mut file, &opened)
}

/// The largest file read: far more than any set of manifests (the API server stores
/// objects of at most about 1.5 MiB), far less than what would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

fn read_all(file: &mut File, meta: &fs::Metadata) -> Result<String, ReadError> {
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut text = String::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // A file that grows while it is read stops at the limit too.
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(text.len() as u64));
    }
    Ok(text)
}

/// Whether a walk skips this name: hidden (`.x`, which includes a ConfigMap volume's
/// `..data` and `..2026_…` directories and Emacs's `.#x.yaml` lock links) or an editor's
/// backup or swap file (`x~`, `x.swp`, `x.swo`, `#x#`).
#[must_use]
pub fn is_skipped_name(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swo")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
}

/// Whether a path found in a directory has a manifest extension.
#[must_use]
pub fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Whether a file found in a directory is read: a manifest extension, and a name that
/// is neither hidden nor an editor's dropping.
#[must_use]
pub fn is_manifest(path: &Path) -> bool {
    path.file_name().is_some_and(|name| !is_skipped_name(name)) && has_manifest_extension(path)
}

fn describe(file_type: fs::FileType) -> &'static str {
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn names(walked: &Walked, root: &Path) -> Vec<String> {
        walked
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn hidden_names_and_editor_droppings_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a.yaml",
            "b.yml",
            "c.json",
            "notes.txt",
            ".hidden.yaml",
            "a.yaml~",
            "x.yaml~",
            ".a.yaml.swp",
            "a.yaml.swp",
            "a.yaml.swo",
            "#a.yaml#",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        symlink("user@host.1234", dir.path().join(".#a.yaml")).unwrap();
        fs::create_dir(dir.path().join(".git")).unwrap();
        fs::write(dir.path().join(".git/config.yaml"), "").unwrap();
        let walked = walk(dir.path());
        assert_eq!(names(&walked, dir.path()), ["a.yaml", "b.yml", "c.json"]);
        assert!(walked.skipped.is_empty(), "{:?}", walked.skipped);
    }

    #[test]
    fn a_configmap_volume_is_read_once_through_its_top_level_links() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("..2026_01_01_00_00_00.000000001");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("hello.yaml"), "a: 1").unwrap();
        symlink("..2026_01_01_00_00_00.000000001", dir.path().join("..data")).unwrap();
        symlink("..data/hello.yaml", dir.path().join("hello.yaml")).unwrap();
        let walked = walk(dir.path());
        assert_eq!(names(&walked, dir.path()), ["hello.yaml"]);
        assert!(walked.skipped.is_empty(), "{:?}", walked.skipped);
    }

    #[test]
    fn a_file_reached_through_two_links_is_listed_once_and_loops_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/a.yaml"), "").unwrap();
        symlink("sub/a.yaml", dir.path().join("b.yaml")).unwrap();
        symlink("..", dir.path().join("sub/up")).unwrap();
        let walked = walk(dir.path());
        assert_eq!(names(&walked, dir.path()), ["b.yaml"]);
        assert!(
            matches!(walked.skipped.as_slice(), [Skipped::Loop { .. }]),
            "{:?}",
            walked.skipped
        );
    }

    #[test]
    fn a_fifo_named_like_a_manifest_is_skipped_and_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p.yaml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        symlink("p.yaml", dir.path().join("q.yaml")).unwrap();
        fs::write(dir.path().join("r.yaml"), "").unwrap();
        let walked = walk(dir.path());
        assert_eq!(names(&walked, dir.path()), ["r.yaml"]);
        let skipped: Vec<String> = walked
            .skipped
            .iter()
            .map(|s| match s {
                Skipped::NotRegular { path, what } => format!("{}: {what}", path.display()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            skipped,
            [
                format!("{}: a FIFO", fifo.display()),
                format!("{}: a FIFO", dir.path().join("q.yaml").display())
            ]
        );
        // Read directly, through a link or not, it is refused at once.
        for path in [fifo.clone(), dir.path().join("q.yaml")] {
            assert!(matches!(read(&path), Err(ReadError::NotRegular("a FIFO"))));
        }
    }

    #[test]
    fn a_dangling_manifest_link_is_unreadable_and_other_dangling_links_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        symlink("nowhere", dir.path().join("gone.yaml")).unwrap();
        symlink("nowhere", dir.path().join("gone.txt")).unwrap();
        let walked = walk(dir.path());
        assert!(walked.files.is_empty());
        assert!(
            matches!(walked.skipped.as_slice(), [Skipped::Unreadable { path, .. }] if path.ends_with("gone.yaml")),
            "{:?}",
            walked.skipped
        );
    }

    #[test]
    fn the_root_itself_may_have_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(".config");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("a.yaml"), "").unwrap();
        assert_eq!(names(&walk(&root), &root), ["a.yaml"]);
    }
}
