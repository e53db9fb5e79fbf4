//! The files `serve` reads, each with its last good version.
//!
//! ```text
//!  PATH... ──▶ files (directories walked recursively, sorted)
//!                │  read; unchanged text is not parsed again
//!                ▼
//!  assess(path, text) ──▶ Good { manifests }  ──▶ replaces the file's last good version
//!                     │   (per object: what the API server would reject is logged)
//!                     └─▶ Broken { problems } ──▶ not YAML: the last good version stays
//!                │
//!                ▼
//!  merged(): every file's last good manifests, in file order ──▶ Loaded
//! ```
//!
//! A file is broken when it cannot be read or is not YAML (or JSON): its last good
//! version stays in force, and every other file still updates. Within a file that
//! parses, each object stands on its own, as in a cluster: an object the API server
//! would reject (a field of the wrong type, a name it refuses, what the CRD schema
//! refuses) does not exist, and is logged; an IngressRoute among them still gets a status
//! saying why, and is never served; every other object is served.
//!
//! A file that disappears from a directory is gone, with its objects. A file named on
//! the command line that cannot be read is broken instead (editors may delete and write
//! a file again when they save it), and so are the files of a directory named on the
//! command line that is gone (deploy tools may remove it and create it again).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use tracing::{debug, info, warn};

use crate::check::{self, Diagnostic};
use crate::load::{self, Loaded, Manifest, display_path};
use crate::walk;

/// What one version of a file gives.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// The file is YAML (or JSON) throughout: its objects are used, each on its own.
    Good {
        /// The objects, those the API server would reject included (see
        /// [`Manifest::rejected`]): an IngressRoute among them still gets a status.
        manifests: Vec<Manifest>,
        /// What is wrong with single documents or objects (a document that is not an
        /// object, a field of the wrong type, what the API server would reject) and what
        /// is worth knowing (unsupported kinds, duplicates in the file, ...).
        warnings: Vec<String>,
    },
    /// The file cannot be read, or is not YAML (or JSON): its last good version stays.
    Broken {
        /// Each problem, with the file, document and line.
        problems: Vec<String>,
    },
}

/// Loads one file's text and says whether it can be used.
#[must_use]
pub fn assess(path: &Path, text: &str) -> Verdict {
    let mut loaded = Loaded::new();
    loaded.add_str(path, text);
    let problems: Vec<String> = loaded
        .errors()
        .filter(|e| matches!(e, load::Error::Syntax { .. } | load::Error::Read { .. }))
        .map(ToString::to_string)
        .collect();
    if !problems.is_empty() {
        return Verdict::Broken { problems };
    }
    let mut warnings: Vec<String> = loaded.diagnostics().iter().map(ToString::to_string).collect();
    // The schema is reported here, once per version of a file, not on every rebuild.
    for manifest in loaded.manifests() {
        for diagnostic in check::schema_diagnostics(manifest) {
            match diagnostic {
                Diagnostic::Rejected { object, finding, .. } => warnings.push(format!(
                    "{}: {} {object}: {}{finding} (the API server would reject this object)",
                    manifest.location,
                    manifest.object.kind(),
                    item_prefix(&manifest.location),
                )),
                other => warnings.push(other.to_string()),
            }
        }
    }
    Verdict::Good {
        warnings,
        manifests: loaded.into_manifests(),
    }
}

fn item_prefix(location: &load::Location) -> String {
    location.item.map(|i| format!("items[{i}].")).unwrap_or_default()
}

/// One file: what was last read, and its last good version.
#[derive(Debug, Default)]
struct File {
    /// The text last read; `None` when it could not be read.
    text: Option<String>,
    /// Why it could not be read, the last time it could not.
    read_error: Option<String>,
    /// The objects of the last good version; `None` when there has been none.
    good: Option<Vec<Manifest>>,
    /// Whether the latest version is broken.
    broken: bool,
}

/// The files under the paths given to `serve`, each with its last good version.
#[derive(Debug)]
pub struct Sources {
    roots: Vec<PathBuf>,
    /// In the order they are merged: the paths' order, directories walked in sorted order.
    order: Vec<PathBuf>,
    files: BTreeMap<PathBuf, File>,
    /// What the last walk skipped with a warning, to warn only about what is new.
    notes: BTreeSet<String>,
}

impl Sources {
    /// Nothing read yet from `roots`.
    #[must_use]
    pub fn new(roots: Vec<PathBuf>) -> Self {
        Self {
            roots,
            order: Vec::new(),
            files: BTreeMap::new(),
            notes: BTreeSet::new(),
        }
    }

    /// The paths given.
    #[must_use]
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Reads every file again; parses those whose text changed and logs what is wrong
    /// with them. Returns whether the objects served changed (a file's good version
    /// changed, or a file came or went).
    pub fn reload(&mut self) -> bool {
        let Listing {
            order,
            unreadable,
            notes,
        } = enumerate(&self.roots, &self.order);
        let mut changed = false;
        for note in notes.difference(&self.notes) {
            warn!("{note}");
        }
        self.notes = notes;

        let listed: HashSet<&PathBuf> = order.iter().collect();
        let gone: Vec<PathBuf> = self.files.keys().filter(|p| !listed.contains(p)).cloned().collect();
        for path in gone {
            if let Some(file) = self.files.remove(&path) {
                info!(file = %display_path(&path), "file removed; its objects are no longer served");
                changed |= file.good.is_some();
            }
        }

        for path in &order {
            let file = self.files.entry(path.clone()).or_default();
            let text = match unreadable.get(path) {
                Some(error) => Err(error.clone()),
                None => walk::read(path).map_err(|e| e.to_string()),
            };
            changed |= update(path, file, text);
        }
        self.order = order;
        changed
    }

    /// Whether every file has a good version (the condition for the first snapshot: a
    /// snapshot without a file's objects must never be served as if it were complete).
    #[must_use]
    pub fn complete(&self) -> bool {
        self.files.values().all(|file| file.good.is_some())
    }

    /// The files that have never loaded: their objects are not served at all.
    pub fn never_loaded(&self) -> impl Iterator<Item = &Path> {
        self.order
            .iter()
            .filter(|path| self.files.get(*path).is_some_and(|f| f.good.is_none()))
            .map(PathBuf::as_path)
    }

    /// The files that are broken now.
    pub fn broken(&self) -> impl Iterator<Item = &Path> {
        self.order
            .iter()
            .filter(|path| self.files.get(*path).is_some_and(|f| f.broken))
            .map(PathBuf::as_path)
    }

    /// Every file's last good objects, merged in file order (a later object with the
    /// same kind, namespace and name replaces an earlier one, with a warning).
    #[must_use]
    pub fn merged(&self) -> Loaded {
        let good = || self.order.iter().filter_map(|path| self.files.get(path)?.good.as_ref());
        let mut loaded = Loaded::with_capacity(good().map(Vec::len).sum());
        for path in &self.order {
            if let Some(manifests) = self.files.get(path).and_then(|f| f.good.as_ref()) {
                for manifest in manifests {
                    loaded.add_manifest(manifest.clone());
                }
            }
        }
        loaded
    }
}

/// Takes in a new reading of one file; returns whether its good version changed.
fn update(path: &Path, file: &mut File, text: Result<String, String>) -> bool {
    let shown = display_path(path);
    let text = match text {
        Ok(text) => text,
        Err(error) => {
            if file.read_error.as_ref() != Some(&error) {
                warn!(file = %shown, "{shown}: cannot read: {error}");
                say_kept(&shown, file.good.is_some());
                file.read_error = Some(error);
            }
            file.text = None;
            file.broken = true;
            return false;
        }
    };
    file.read_error = None;
    if file.text.as_deref() == Some(text.as_str()) {
        return false;
    }
    let verdict = assess(path, &text);
    file.text = Some(text);
    match verdict {
        Verdict::Good { manifests, warnings } => {
            for warning in warnings {
                warn!(file = %shown, "{warning}");
            }
            if file.broken {
                info!(file = %shown, "{shown}: fixed; serving its objects again");
            }
            file.broken = false;
            file.good = Some(manifests);
            true
        }
        Verdict::Broken { problems } => {
            for problem in problems {
                warn!(file = %shown, "{problem}");
            }
            say_kept(&shown, file.good.is_some());
            file.broken = true;
            false
        }
    }
}

fn say_kept(shown: &str, has_good: bool) {
    if has_good {
        warn!(file = %shown, "{shown}: broken; its last good version is still served");
    } else {
        warn!(file = %shown, "{shown}: broken, and it has no good version yet; nothing of it is served");
    }
}

/// What [`enumerate`] found.
#[derive(Debug, Default)]
struct Listing {
    /// The files, in merge order.
    order: Vec<PathBuf>,
    /// The files that cannot be read, with why.
    unreadable: BTreeMap<PathBuf, String>,
    /// What the walks skipped that is worth a warning (a FIFO named `*.yaml`, a loop).
    notes: BTreeSet<String>,
}

/// The files under `roots`, in merge order, and what is wrong with some. `previous` is
/// the last listing's order: the files of a root directory that is gone are listed
/// again, as unreadable, so that their last good versions stay served until it is back.
fn enumerate(roots: &[PathBuf], previous: &[PathBuf]) -> Listing {
    let mut order = Vec::new();
    let mut unreadable = BTreeMap::new();
    let mut notes = BTreeSet::new();
    let mut seen = HashSet::new();
    for root in roots {
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => {
                let walked = walk::walk(root);
                for skipped in walked.skipped {
                    match skipped {
                        walk::Skipped::Unreadable { path, source } if walk::has_manifest_extension(&path) => {
                            if seen.insert(path.clone()) {
                                order.push(path.clone());
                                unreadable.insert(path, source.to_string());
                            }
                        }
                        walk::Skipped::NotRegular { path, what } => {
                            notes.insert(load::Warning::NotRegular { path, what }.to_string());
                        }
                        walk::Skipped::Loop { path } => {
                            notes.insert(load::Warning::Loop { path }.to_string());
                        }
                        other => debug!(skipped = ?other, "not read"),
                    }
                }
                for file in walked.files {
                    if seen.insert(file.clone()) {
                        order.push(file);
                    }
                }
            }
            Ok(_) => {
                if seen.insert(root.clone()) {
                    order.push(root.clone());
                }
            }
            Err(error) => {
                let under: Vec<&PathBuf> = previous.iter().filter(|p| *p != root && p.starts_with(root)).collect();
                if under.is_empty() && seen.insert(root.clone()) {
                    order.push(root.clone());
                    unreadable.insert(root.clone(), error.to_string());
                }
                for path in under {
                    if seen.insert(path.clone()) {
                        order.push(path.clone());
                        unreadable.insert(
                            path.clone(),
                            format!("its directory {} is gone: {error}", display_path(root)),
                        );
                    }
                }
            }
        }
    }
    Listing {
        order,
        unreadable,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";
    const OTHER: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {ports: [{port: 80}]}\n";

    fn names(sources: &Sources) -> Vec<String> {
        sources
            .merged()
            .manifests()
            .iter()
            .map(|m| m.object.object_ref().to_string())
            .collect()
    }

    #[test]
    fn a_broken_edit_keeps_the_files_last_good_objects_and_other_files_still_update() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        fs::write(&a, SERVICE).unwrap();
        fs::write(&b, OTHER).unwrap();
        let mut sources = Sources::new(vec![dir.path().to_owned()]);
        assert!(sources.reload());
        assert!(sources.complete());
        assert_eq!(names(&sources), ["default/web", "default/other"]);

        fs::write(&a, "apiVersion: v1\nkind: Service\nmetadata: {name: web2\n").unwrap();
        fs::write(&b, OTHER.replace("other", "other2")).unwrap();
        assert!(sources.reload(), "b changed");
        assert_eq!(names(&sources), ["default/web", "default/other2"]);
        assert_eq!(sources.broken().collect::<Vec<_>>(), [a.as_path()]);

        assert!(!sources.reload(), "nothing changed");
        fs::write(&a, SERVICE.replace("web", "web3")).unwrap();
        assert!(sources.reload());
        assert_eq!(names(&sources), ["default/web3", "default/other2"]);
        assert_eq!(sources.broken().count(), 0);
    }

    #[test]
    fn only_a_file_that_is_not_yaml_is_broken_and_objects_stand_on_their_own() {
        let path = Path::new("x.yaml");
        let Verdict::Broken { problems } = assess(path, &format!("{SERVICE}---\nkind: [\n")) else {
            panic!("bad YAML breaks the file");
        };
        assert_eq!(
            problems,
            ["x.yaml: document 2 (line 6): unclosed bracket '[' at line 6, column 7"]
        );

        let route = "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {name: r}\nspec:\n  routes: [{match: /, services: [{name: web, port: 80, strategy: Fastest}]}]\n";
        let text = format!(
            "{}---\n{OTHER}---\n{route}",
            SERVICE.replace("port: 80", "port: eighty")
        );
        let Verdict::Good { manifests, warnings } = assess(path, &text) else {
            panic!("a file of YAML is good");
        };
        let names: Vec<(String, bool)> = manifests
            .iter()
            .map(|m| (m.object.object_ref().to_string(), m.rejected()))
            .collect();
        assert_eq!(
            names,
            [("default/other".into(), false), ("default/r".into(), true)],
            "the Service of the wrong type does not exist; the rejected IngressRoute gets a status"
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(
            warnings[0],
            "x.yaml: document 1 (line 1): spec.ports[0].port: invalid type: string \"eighty\", expected i32"
        );
        assert!(
            warnings[1].starts_with(
                "x.yaml: document 3 (line 11): IngressRoute default/r: spec.routes[0].services[0].strategy: "
            ),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_file_broken_from_the_start_keeps_the_sources_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        fs::write(&a, "kind: [").unwrap();
        let mut sources = Sources::new(vec![a.clone()]);
        assert!(!sources.reload());
        assert!(!sources.complete());
        fs::write(&a, SERVICE).unwrap();
        assert!(sources.reload());
        assert!(sources.complete());
    }

    #[test]
    fn a_removed_file_takes_its_objects_with_it_but_a_missing_named_file_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let a = sub.join("a.yaml");
        let named = dir.path().join("named.yaml");
        fs::write(&a, SERVICE).unwrap();
        fs::write(&named, OTHER).unwrap();
        fs::write(sub.join(".a.yaml.swp"), "junk").unwrap();
        fs::write(sub.join("notes.txt"), "junk").unwrap();
        let mut sources = Sources::new(vec![sub.clone(), named.clone()]);
        assert!(sources.reload());
        assert_eq!(names(&sources), ["default/web", "default/other"]);

        fs::remove_file(&a).unwrap();
        fs::remove_file(&named).unwrap();
        assert!(sources.reload());
        assert_eq!(names(&sources), ["default/other"]);
        assert_eq!(sources.broken().collect::<Vec<_>>(), [named.as_path()]);
    }

    #[test]
    fn a_named_directory_that_is_gone_keeps_its_files_until_it_is_back_with_new_content() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("d");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("a.yaml"), SERVICE).unwrap();
        fs::write(dir.join("b.yaml"), OTHER).unwrap();
        let mut sources = Sources::new(vec![dir.clone()]);
        assert!(sources.reload());
        assert_eq!(names(&sources), ["default/web", "default/other"]);

        fs::remove_dir_all(&dir).unwrap();
        assert!(!sources.reload(), "nothing served changes while the directory is gone");
        assert_eq!(names(&sources), ["default/web", "default/other"]);
        assert_eq!(sources.broken().count(), 2);

        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("a.yaml"), SERVICE.replace("web", "web2")).unwrap();
        assert!(sources.reload());
        assert_eq!(names(&sources), ["default/web2"]);
        assert_eq!(sources.broken().count(), 0);
    }
}
