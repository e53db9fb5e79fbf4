//! Noticing that the files under the paths given to `serve` changed.
//!
//! ```text
//!  inotify (notify's recommended watcher; a 500 ms polling watcher if that fails)
//!     │  directory given: watched recursively
//!     │  file given: its directory watched, events for other files ignored
//!     ▼
//!  relevant event ──▶ unbounded channel ──▶ the serve loop (holdoff, then reload)
//! ```
//!
//! Events only say *that* something may have changed: the loop reads every file again
//! and compares texts (see [`super::sources`]), so a missed detail in an event costs
//! nothing, and an event for an unchanged file costs one read. Watching a file's directory
//! rather than the file itself keeps working when an editor saves by writing a new file
//! and renaming it over the old one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{Event, EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// How often the polling fallback looks at the files.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A running watcher; dropping it stops watching.
#[derive(Debug)]
pub struct Watcher {
    _inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Native { _watcher: RecommendedWatcher },
    Poll { _watcher: PollWatcher },
}

/// Why the files cannot be watched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither inotify nor polling could watch a path.
    #[error("cannot watch {}", .path.display())]
    Watch {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: notify::Error,
    },
}

/// What to watch for one path given on the command line.
#[derive(Debug, Clone)]
struct Target {
    /// The path given.
    path: PathBuf,
    /// What is handed to the watcher: the path itself for a directory, else its parent.
    watched: PathBuf,
    mode: RecursiveMode,
}

impl Target {
    fn new(path: &Path) -> Self {
        if path.is_dir() {
            Self {
                path: path.to_owned(),
                watched: path.to_owned(),
                mode: RecursiveMode::Recursive,
            }
        } else {
            let parent = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                _ => PathBuf::from("."),
            };
            Self {
                path: path.to_owned(),
                watched: parent,
                mode: RecursiveMode::NonRecursive,
            }
        }
    }

    /// Whether a path an event names concerns this target.
    fn concerns(&self, changed: &Path) -> bool {
        match self.mode {
            RecursiveMode::Recursive => changed.starts_with(&self.path) || changed.starts_with(&self.watched),
            RecursiveMode::NonRecursive => same_file_name(changed, &self.path),
        }
    }
}

/// Whether an event in the (non-recursively) watched directory of `given` is about it:
/// the directory is the same, so the file name decides, however the path was spelled.
fn same_file_name(changed: &Path, given: &Path) -> bool {
    changed.file_name().is_some() && changed.file_name() == given.file_name()
}

/// Starts watching `paths`; every event that may concern them sends `()` on `changes`.
///
/// # Errors
///
/// [`Error::Watch`] when a path can be watched neither with inotify nor by polling.
pub fn watch(paths: &[PathBuf], changes: mpsc::UnboundedSender<()>) -> Result<Watcher, Error> {
    let targets: Vec<Target> = paths.iter().map(|p| Target::new(p)).collect();
    let handler = {
        let targets = targets.clone();
        move |event: notify::Result<Event>| match event {
            Ok(event) => {
                if matches!(event.kind, EventKind::Access(_)) {
                    return;
                }
                let relevant = event.paths.is_empty()
                    || event
                        .paths
                        .iter()
                        .any(|changed| targets.iter().any(|t| t.concerns(changed)));
                if relevant {
                    debug!(paths = ?event.paths, kind = ?event.kind, "change noticed");
                    let _ = changes.send(());
                }
            }
            Err(error) => {
                warn!(%error, "the file watcher reported an error; reloading to be safe");
                let _ = changes.send(());
            }
        }
    };

    match native(&targets, handler.clone()) {
        Ok(watcher) => Ok(Watcher {
            _inner: Inner::Native { _watcher: watcher },
        }),
        Err(error) => {
            warn!(%error, "cannot use inotify; polling the files every 500 ms instead");
            let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
            let mut watcher = PollWatcher::new(handler, config).map_err(|source| Error::Watch {
                path: paths.first().cloned().unwrap_or_default(),
                source,
            })?;
            for target in &targets {
                watcher
                    .watch(&target.watched, target.mode)
                    .map_err(|source| Error::Watch {
                        path: target.watched.clone(),
                        source,
                    })?;
            }
            Ok(Watcher {
                _inner: Inner::Poll { _watcher: watcher },
            })
        }
    }
}

fn native(targets: &[Target], handler: impl notify::EventHandler) -> Result<RecommendedWatcher, notify::Error> {
    let mut watcher = notify::recommended_watcher(handler)?;
    for target in targets {
        watcher.watch(&target.watched, target.mode)?;
    }
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_target_watches_its_directory_and_only_concerns_itself() {
        let target = Target::new(Path::new("/no/such/dir/a.yaml"));
        assert_eq!(target.watched, Path::new("/no/such/dir"));
        assert!(target.concerns(Path::new("/no/such/dir/a.yaml")));
        assert!(!target.concerns(Path::new("/no/such/dir/b.yaml")));
        let relative = Target::new(Path::new("a.yaml"));
        assert_eq!(relative.watched, Path::new("."));
    }

    #[tokio::test]
    async fn writing_a_file_in_a_watched_directory_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _watcher = watch(&[dir.path().to_owned()], tx).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "x").unwrap();
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event in time")
            .expect("the channel is open");
    }
}
