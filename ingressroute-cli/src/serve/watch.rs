//! Noticing that the files under the paths given to `serve` changed.
//!
//! ```text
//!  inotify (notify's recommended watcher; a 500 ms polling watcher if that fails)
//!     │  directory given: watched recursively, and its parent non-recursively (to see
//!     │                   it removed and created again)
//!     │  file given: its directory watched (and, for a link, its target's directory)
//!     ▼
//!  completed change ──▶ unbounded channel ──▶ the serve loop (holdoff, then
//!  to a path concerned                         Watcher::refresh and a reload)
//! ```
//!
//! Only completed changes count: a file closed after writing, a rename or move, a file or
//! directory created or deleted, changed attributes or links (a ConfigMap volume swaps its
//! `..data` link). A write in progress does not: the holdoff reads the files at once after
//! a quiet period (docs/behaviour.md#s5-3), and a file read at its first write would be
//! half written (truncated, or cut between two documents: objects that seem deleted).
//! The polling fallback sees nothing but modification times, so there every change counts.
//!
//! Paths are compared in absolute form: notify names what changed with the absolute path
//! it was given, whatever the path on the command line looked like (`examples/local`,
//! `./x`, `x/../x`, a link); both the absolute path as given and its canonical form
//! (links resolved) count.
//!
//! Events only say *that* something may have changed: the loop reads every file again
//! and compares texts (see [`super::sources`]), so a missed detail in an event costs
//! nothing, and an event for an unchanged file costs one read. Watching a file's directory
//! rather than the file itself keeps working when an editor saves by writing a new file
//! and renaming it over the old one. A directory removed and created again (`rm -rf d;
//! mkdir d; cp …`, as some deploy tools do) is a new directory that inotify no longer
//! watches: [`Watcher::refresh`] notices that and watches the new one.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, PollWatcher, RecommendedWatcher, RecursiveMode};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// How often the polling fallback looks at the files.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A running watcher; dropping it stops watching.
#[derive(Debug)]
pub struct Watcher {
    inner: Inner,
    targets: Vec<Target>,
    /// Per target: the identity (device, inode) of the directory watched, `None` when it
    /// is not there (or the target is a file).
    watched: Vec<Option<(u64, u64)>>,
    /// Per target: whether notify said the directory itself was removed or moved away
    /// since it was watched. A new directory may get the old one's inode number, so its
    /// identity alone cannot tell.
    lost: Arc<Vec<AtomicBool>>,
}

#[derive(Debug)]
enum Inner {
    Native(RecommendedWatcher),
    Poll(PollWatcher),
}

impl Inner {
    fn get(&mut self) -> &mut dyn notify::Watcher {
        match self {
            Self::Native(watcher) => watcher,
            Self::Poll(watcher) => watcher,
        }
    }
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
    /// The path as given.
    given: PathBuf,
    /// The path in absolute form (not resolved: `x/../x` and links stay).
    absolute: PathBuf,
    /// The path with links resolved, when it exists.
    canonical: Option<PathBuf>,
    /// Whether the path is a directory (watched recursively) or a file (its directory
    /// watched).
    directory: bool,
}

impl Target {
    fn new(path: &Path) -> Self {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Self {
            given: path.to_owned(),
            canonical: std::fs::canonicalize(path).ok(),
            directory: path.is_dir(),
            absolute,
        }
    }

    /// The directory to watch non-recursively: a file's directory, a directory's parent.
    fn parent(&self) -> PathBuf {
        parent_of(&self.absolute)
    }

    /// For a file reached through links (`hello.yaml -> ..data/hello.yaml` in a ConfigMap
    /// volume, say): the directory of the file itself, watched too.
    fn linked_parent(&self) -> Option<PathBuf> {
        let canonical = self.canonical.as_deref().filter(|_| !self.directory)?;
        let parent = parent_of(canonical);
        (parent != self.parent()).then_some(parent)
    }

    /// Whether a path an event names is this directory target itself.
    fn is_itself(&self, changed: &Path) -> bool {
        self.directory && (changed == self.absolute || self.canonical.as_deref() == Some(changed))
    }

    /// Whether a path an event names concerns this target.
    fn concerns(&self, changed: &Path) -> bool {
        let under = |root: &Path| changed.starts_with(root);
        if self.directory {
            under(&self.absolute) || self.canonical.as_deref().is_some_and(under)
        } else {
            // Anything in the file's directory (or, through links, its target's): the
            // file may be a link whose target changed (a ConfigMap's `..data` swapped),
            // and one read too many costs nothing.
            let parent = changed.parent();
            parent == Some(self.parent().as_path())
                || parent.is_some_and(|p| Some(p.to_owned()) == self.linked_parent())
        }
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("/"),
    }
}

/// The identity of the directory at `path`, if there is one.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_dir)
        .map(|meta| (meta.dev(), meta.ino()))
}

/// Starts watching `paths`; every completed change that may concern them sends `()` on
/// `changes`.
///
/// # Errors
///
/// [`Error::Watch`] when a path can be watched neither with inotify nor by polling.
pub fn watch(paths: &[PathBuf], changes: mpsc::UnboundedSender<()>) -> Result<Watcher, Error> {
    let targets: Vec<Target> = paths.iter().map(|p| Target::new(p)).collect();
    let lost: Arc<Vec<AtomicBool>> = Arc::new(targets.iter().map(|_| AtomicBool::new(false)).collect());
    let handler = |polling: bool, changes: mpsc::UnboundedSender<()>| {
        let targets = targets.clone();
        let lost = Arc::clone(&lost);
        move |event: notify::Result<Event>| match event {
            Ok(event) => {
                if !completes_a_change(&event.kind, polling) {
                    return;
                }
                if matches!(
                    event.kind,
                    EventKind::Remove(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
                ) {
                    for (target, lost) in targets.iter().zip(lost.iter()) {
                        if event.paths.iter().any(|changed| target.is_itself(changed)) {
                            lost.store(true, Ordering::SeqCst);
                        }
                    }
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

    let inner = match notify::recommended_watcher(handler(false, changes.clone())) {
        Ok(watcher) => Inner::Native(watcher),
        Err(error) => {
            warn!(%error, "cannot use inotify; polling the files every 500 ms instead");
            let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
            Inner::Poll(
                PollWatcher::new(handler(true, changes), config).map_err(|source| Error::Watch {
                    path: paths.first().cloned().unwrap_or_default(),
                    source,
                })?,
            )
        }
    };
    let mut watcher = Watcher {
        inner,
        watched: vec![None; targets.len()],
        targets,
        lost,
    };
    for target in &watcher.targets {
        if let Some(linked) = target.linked_parent()
            && let Err(error) = watcher.inner.get().watch(&linked, RecursiveMode::NonRecursive)
        {
            warn!(directory = %linked.display(), %error, "cannot watch the directory a linked file is in");
        }
        let parent = target.parent();
        if let Err(source) = watcher.inner.get().watch(&parent, RecursiveMode::NonRecursive) {
            // A directory target still works without its parent's watch (it is only
            // missed when it is removed and created again); a file target does not.
            if target.directory {
                warn!(directory = %parent.display(), error = %source, "cannot watch the parent directory");
            } else {
                return Err(Error::Watch { path: parent, source });
            }
        }
    }
    for index in 0..watcher.targets.len() {
        watcher.rewatch(index, false)?;
    }
    Ok(watcher)
}

/// Whether an event of `kind` says that a change is complete: not an access, and not a
/// write in progress (unless `polling`, where a modification is all there is to see).
fn completes_a_change(kind: &EventKind, polling: bool) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Data(_)) => polling,
        // Created, removed, renamed, attributes or links changed, or an event the backend
        // cannot classify (a queue overflow): a reload is due.
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(_) | EventKind::Any | EventKind::Other => true,
    }
}

impl Watcher {
    /// Watches again every directory given that was removed and created again (or that
    /// was missing and is there now), and says so in the log. Call it before reading the
    /// files after a change, so that nothing written into the new directory is missed,
    /// and once the events have settled (the serve loop's holdoff): notify forgets the
    /// old directory's watch only after it has handed over all the events it read.
    pub fn refresh(&mut self) {
        for index in 0..self.targets.len() {
            if let Err(error) = self.rewatch(index, true) {
                warn!(error = %ingressroute_envoy::error_chain(&error), "cannot watch the directory again");
            }
        }
    }

    /// (Re)watches target `index` if it is a directory whose identity changed.
    fn rewatch(&mut self, index: usize, log: bool) -> Result<(), Error> {
        let (Some(target), Some(watched)) = (self.targets.get(index), self.watched.get(index).copied()) else {
            return Ok(());
        };
        if !target.directory {
            return Ok(());
        }
        let now = identity(&target.absolute);
        let lost = self
            .lost
            .get(index)
            .is_some_and(|lost| lost.swap(false, Ordering::SeqCst));
        if now == watched && !lost {
            return Ok(());
        }
        let shown = target.given.display().to_string();
        let absolute = target.absolute.clone();
        if watched.is_some() && now.is_none() {
            // The directory is gone, and so is its watch: forget it. (Not when it was
            // replaced: unwatching the path then would also drop the new watch.)
            let _ = self.inner.get().unwatch(&absolute);
        }
        match now {
            Some(_) => {
                self.inner
                    .get()
                    .watch(&absolute, RecursiveMode::Recursive)
                    .map_err(|source| Error::Watch {
                        path: absolute.clone(),
                        source,
                    })?;
                if log {
                    info!(directory = %shown, "{shown}: the directory was created again; watching the new one");
                }
            }
            None => {
                if log {
                    warn!(
                        directory = %shown,
                        "{shown}: the directory was removed; its files' last good versions are still served until it is back"
                    );
                }
            }
        }
        if let Some(slot) = self.watched.get_mut(index) {
            *slot = now;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn noticed(rx: &mut mpsc::UnboundedReceiver<()>, what: &str) {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{what} is noticed in time"))
            .expect("the channel is open");
    }

    async fn quiet(rx: &mut mpsc::UnboundedReceiver<()>) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        while rx.try_recv().is_ok() {}
    }

    #[test]
    fn a_file_target_watches_its_directory_and_concerns_what_is_in_it() {
        let target = Target::new(Path::new("/no/such/dir/a.yaml"));
        assert_eq!(target.parent(), Path::new("/no/such/dir"));
        assert!(target.concerns(Path::new("/no/such/dir/a.yaml")));
        assert!(target.concerns(Path::new("/no/such/dir/..data")));
        assert!(!target.concerns(Path::new("/no/such/other/a.yaml")));
        assert!(!target.concerns(Path::new("/no/such/dir/sub/a.yaml")));
        let relative = Target::new(Path::new("a.yaml"));
        assert_eq!(relative.parent(), std::env::current_dir().unwrap());
    }

    #[test]
    fn a_relative_directory_concerns_the_absolute_paths_notify_reports() {
        let dir = tempfile::tempdir_in(".").unwrap();
        let name = dir.path().file_name().unwrap().to_owned();
        let cwd = std::env::current_dir().unwrap();
        for given in [
            PathBuf::from(&name),
            Path::new(".").join(&name),
            Path::new(&name).join("..").join(&name),
        ] {
            let target = Target::new(&given);
            assert!(target.concerns(&cwd.join(&name).join("hello.yaml")), "{given:?}");
            assert!(!target.concerns(&cwd.join("elsewhere.yaml")), "{given:?}");
        }
    }

    #[tokio::test]
    async fn writing_a_file_in_a_watched_directory_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _watcher = watch(&[dir.path().to_owned()], tx).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "x").unwrap();
        noticed(&mut rx, "the write").await;
    }

    #[tokio::test]
    async fn a_file_written_in_place_is_noticed_once_it_is_closed_not_while_it_is_written() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "old").unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _watcher = watch(&[dir.path().to_owned()], tx).unwrap();
        quiet(&mut rx).await;

        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        for chunk in ["kind: ", "Service\n", "metadata: {name: web}\n"] {
            file.write_all(chunk.as_bytes()).unwrap();
            file.flush().unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(rx.try_recv().is_err(), "a write in progress is not a change yet");
        drop(file);
        noticed(&mut rx, "the file closed after writing").await;
    }

    #[test]
    fn only_completed_changes_count_except_when_polling() {
        use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        assert!(!completes_a_change(&write, false));
        assert!(completes_a_change(&write, true));
        for kind in [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Create(CreateKind::File),
            EventKind::Remove(RemoveKind::File),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Other,
        ] {
            assert!(completes_a_change(&kind, false), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
        ] {
            assert!(!completes_a_change(&kind, false), "{kind:?}");
            assert!(!completes_a_change(&kind, true), "{kind:?}");
        }
    }

    #[tokio::test]
    async fn a_directory_removed_and_created_again_is_watched_again() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher = watch(std::slice::from_ref(&dir), tx).unwrap();

        std::fs::remove_dir_all(&dir).unwrap();
        noticed(&mut rx, "the removal").await;
        std::fs::create_dir(&dir).unwrap();
        noticed(&mut rx, "the creation").await;
        // As serve does: once the events have settled (its holdoff).
        quiet(&mut rx).await;
        watcher.refresh();

        std::fs::write(dir.join("a.yaml"), "x").unwrap();
        noticed(&mut rx, "a write in the new directory").await;
    }

    #[tokio::test]
    async fn a_file_given_through_a_configmap_link_is_noticed_when_its_data_is_swapped() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("..2026_01_01");
        std::fs::create_dir(&first).unwrap();
        std::fs::write(first.join("hello.yaml"), "a").unwrap();
        std::os::unix::fs::symlink("..2026_01_01", dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/hello.yaml", dir.path().join("hello.yaml")).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _watcher = watch(&[dir.path().join("hello.yaml")], tx).unwrap();

        let second = dir.path().join("..2026_01_02");
        std::fs::create_dir(&second).unwrap();
        std::fs::write(second.join("hello.yaml"), "b").unwrap();
        quiet(&mut rx).await;
        std::os::unix::fs::symlink("..2026_01_02", dir.path().join("..data_tmp")).unwrap();
        std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
        noticed(&mut rx, "the swap of ..data").await;
    }
}
