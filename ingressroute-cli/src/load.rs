//! Loading manifests from files, directories and standard input.
//!
//! Why one file of this length: it is the one loader of every subcommand, and its tests
//! (documents, lines, budgets, lists, redaction) reach its private parts; the directory
//! walk (`walk.rs`), names (`names.rs`) and lenient decoding (`ingressroute_api::lenient`)
//! are already apart.
//!
//! Every subcommand that reads local manifests (`check`, `render`, `serve`) goes through
//! this module, so that they all accept the same inputs and report the same problems the
//! same way.
//!
//! ```text
//!  PATH... ──▶ files (crate::walk: directories walked recursively, sorted, only
//!                │     regular files opened; `-` is stdin)
//!                ▼
//!  documents (YAML with serde-saphyr and budgets, or a JSON stream), each with its Location
//!                │
//!                ▼
//!  serde_json::Value ──▶ `kind: List` expanded ──▶ apiVersion/kind dispatch
//!                │                                        │
//!                ▼                                        ▼
//!  decoded (IngressRoutes and TLSCertificateDelegations      Diagnostic (errors and
//!  leniently if need be) + what the API server would          warnings)
//!  say (names, CRD schema)
//!                │
//!                ▼
//!  Manifest { location, raw, object, findings, missing }
//! ```
//!
//! What this module does **not** do: compute statuses or decide what a finding means for
//! the build (see [`crate::check`]), and it never stops at the first problem: a bad file
//! or document becomes an [`Error`] and loading goes on with the next one. An IngressRoute
//! the API server would reject is not an error here: it is a [`Manifest`] (with
//! [`Manifest::rejection`]) or an [`Object::Undecodable`], so that it gets a status.
//! Messages about a Secret never show its values.
//!
//! # Documents and lines
//!
//! YAML is read with serde-saphyr, document by document, with budgets per document
//! (nesting depth, nodes, scalar bytes, alias replay: see [`MAX_DEPTH`] and
//! [`MAX_ALIAS_REPLAY`]), so that no input can make parsing take long or use much memory.
//! Empty documents (nothing but comments, directives, or `null`) are skipped and **not
//! counted**: document numbers are 1-based and count only documents with content, so
//! `document 3` is the third object-bearing document of the file. A document's line is
//! the 1-based line of its first content in the file. A document that does not parse
//! (a duplicate key, say) is an error of its own and the next one is read; a syntax
//! error ends the file there, since a YAML stream cannot be resynchronised after one.
//! The line of such a document is the line of the error, which the message repeats
//! with the column.
//!
//! A `.json` file (and standard input or any other file that starts with `{` or `[`) is
//! read as a stream of JSON values, one document each.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ingressroute_api::validate::{self, Finding, FindingKind};
use ingressroute_api::{API_VERSION, IngressRoute, TLSCertificateDelegation, lenient};
use ingressroute_dag::ObjectRef;
use k8s_openapi::api::core::v1 as core_v1;
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::{names, walk};

/// The path that stands for standard input on the command line.
pub const STDIN: &str = "-";

pub use crate::walk::EXTENSIONS;

/// Where a manifest (or a problem) is: a file, a document in it and the line the
/// document starts on.
///
/// Displayed as `path: document 3 (line 25)`; standard input is shown as `<stdin>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, as given on the command line or found by walking a directory; [`STDIN`]
    /// for standard input. Shared by every location in the file: a manifest (which
    /// `serve` copies on every reload) is cheap to clone.
    pub path: Arc<Path>,
    /// The 1-based index of the document in the file, counting only documents with
    /// content.
    pub document: usize,
    /// The 1-based line of the document's first content in the file.
    pub line: usize,
    /// The 0-based index in `items` when the manifest comes from a `kind: List`.
    pub item: Option<usize>,
}

impl Location {
    /// A field path inside this document, prefixed with `items[i]` for an item of a
    /// `kind: List`; `field` is empty for the object itself.
    #[must_use]
    pub fn field(&self, field: &str) -> String {
        match (self.item, field.is_empty()) {
            (None, _) => field.to_owned(),
            (Some(i), true) => format!("items[{i}]"),
            (Some(i), false) => format!("items[{i}].{field}"),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: document {} (line {})",
            display_path(&self.path),
            self.document,
            self.line
        )
    }
}

/// How a path is shown in messages: as given, or `<stdin>` for [`STDIN`].
#[must_use]
pub fn display_path(path: &Path) -> Cow<'_, str> {
    if path == Path::new(STDIN) {
        Cow::Borrowed("<stdin>")
    } else {
        path.to_string_lossy()
    }
}

/// The kinds of object the loader decodes; everything else is skipped with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `contour.heptio.com/v1beta1` `IngressRoute`.
    IngressRoute,
    /// `contour.heptio.com/v1beta1` `TLSCertificateDelegation`.
    TlsCertificateDelegation,
    /// `v1` `Service`.
    Service,
    /// `v1` `Secret`.
    Secret,
    /// `v1` `Endpoints`.
    Endpoints,
}

impl Kind {
    /// The kind for an `apiVersion` and `kind`, if it is one the loader decodes.
    #[must_use]
    pub fn from_type(api_version: &str, kind: &str) -> Option<Self> {
        match (api_version, kind) {
            (API_VERSION, "IngressRoute") => Some(Self::IngressRoute),
            (API_VERSION, "TLSCertificateDelegation") => Some(Self::TlsCertificateDelegation),
            ("v1", "Service") => Some(Self::Service),
            ("v1", "Secret") => Some(Self::Secret),
            ("v1", "Endpoints") => Some(Self::Endpoints),
            _ => None,
        }
    }

    /// The `kind` as written in manifests.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IngressRoute => "IngressRoute",
            Self::TlsCertificateDelegation => "TLSCertificateDelegation",
            Self::Service => "Service",
            Self::Secret => "Secret",
            Self::Endpoints => "Endpoints",
        }
    }

    /// The `apiVersion` as written in manifests.
    #[must_use]
    pub fn api_version(self) -> &'static str {
        match self {
            Self::IngressRoute | Self::TlsCertificateDelegation => API_VERSION,
            Self::Service | Self::Secret | Self::Endpoints => "v1",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded object of one of the supported [`Kind`]s.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Object {
    /// An IngressRoute.
    IngressRoute(Arc<IngressRoute>),
    /// A TLSCertificateDelegation.
    TlsCertificateDelegation(Arc<TLSCertificateDelegation>),
    /// A Service.
    Service(Arc<core_v1::Service>),
    /// A Secret.
    Secret(Arc<core_v1::Secret>),
    /// An Endpoints object.
    Endpoints(Arc<core_v1::Endpoints>),
    /// An IngressRoute that does not decode even leniently (a field of the wrong type):
    /// the API server would reject it, so it takes no part in the build, but it gets a
    /// status (`invalid`, `cannot decode the IngressRoute: ...`), as the controller
    /// gives one.
    Undecodable(Arc<Undecodable>),
}

/// What is known of an IngressRoute that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    /// Its namespace (`default` when it has none) and name.
    pub object: ObjectRef,
    /// Its ingress class annotation, if it has a readable one (see
    /// [`ingressroute_api::INGRESS_CLASS_ANNOTATIONS`]).
    pub class: Option<String>,
    /// Why it does not decode: the field's path, then serde's message, e.g.
    /// `spec.routes[0].services[0].port: invalid type: string "eighty", expected i64`.
    pub error: String,
}

impl Undecodable {
    /// Its status description: `cannot decode the IngressRoute: <field>: <reason>`.
    #[must_use]
    pub fn description(&self) -> String {
        format!("cannot decode the IngressRoute: {}", self.error)
    }
}

impl Object {
    /// The object's kind.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Self::IngressRoute(_) => Kind::IngressRoute,
            Self::TlsCertificateDelegation(_) => Kind::TlsCertificateDelegation,
            Self::Service(_) => Kind::Service,
            Self::Secret(_) => Kind::Secret,
            Self::Endpoints(_) => Kind::Endpoints,
            Self::Undecodable(_) => Kind::IngressRoute,
        }
    }

    /// The object's namespace (`default` when it has none) and name.
    #[must_use]
    pub fn object_ref(&self) -> ObjectRef {
        let meta = match self {
            Self::IngressRoute(o) => &o.metadata,
            Self::TlsCertificateDelegation(o) => &o.metadata,
            Self::Service(o) => &o.metadata,
            Self::Secret(o) => &o.metadata,
            Self::Endpoints(o) => &o.metadata,
            Self::Undecodable(o) => return o.object.clone(),
        };
        ObjectRef::from_meta(meta)
    }
}

/// One loaded object: where it came from, the document as written and the decoded
/// object.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Where the object is.
    pub location: Location,
    /// The object as written (an item of a `kind: List` on its own), for schema
    /// validation. Shared, like the object, so a manifest is cheap to clone.
    pub raw: Arc<Value>,
    /// The decoded object.
    pub object: Object,
    /// What the API server would say about creating the object: the CRD schema's
    /// findings for IngressRoutes and TLSCertificateDelegations, and for every kind the
    /// checks of `metadata.name` and `metadata.namespace`. A [`FindingKind::Rejected`]
    /// finding means the API server would refuse the object: it does not exist, except
    /// that an IngressRoute still gets a status.
    pub findings: Arc<[Finding]>,
    /// For an IngressRoute or TLSCertificateDelegation that only decoded leniently (see
    /// [`ingressroute_api::lenient`]): the path of the first required field it lacks.
    pub missing: Option<String>,
}

impl Manifest {
    /// Whether the API server would refuse to create the object.
    #[must_use]
    pub fn rejected(&self) -> bool {
        self.missing.is_some() || self.findings.iter().any(|f| f.kind == FindingKind::Rejected)
    }

    /// Why the API server would refuse an IngressRoute that still takes part in the build
    /// (without being served), as its status description: `cannot decode the
    /// IngressRoute: <field>: is required` when it only decoded leniently, else the first
    /// rejection; `None` when it would be accepted.
    #[must_use]
    pub fn rejection(&self) -> Option<String> {
        if let Some(missing) = &self.missing {
            return Some(ingressroute_pipeline::missing_field_description(missing));
        }
        self.findings
            .iter()
            .find(|f| f.kind == FindingKind::Rejected)
            .map(|finding| format!("the API server would reject this IngressRoute: {finding}"))
    }
}

/// A problem that keeps a file or a document from being loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory cannot be read (or is not UTF-8).
    #[error("{}: cannot read: {source}", display_path(.path))]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A document is not valid YAML or JSON. `message` carries the parser's line and
    /// column, counted from the start of the file.
    #[error("{location}: {message}")]
    Syntax {
        /// The document.
        location: Location,
        /// The parser's message.
        message: String,
    },
    /// A document does not decode: it is not an object, misses `apiVersion`, `kind` or
    /// `metadata.name`, or a field has the wrong type.
    #[error("{location}: {}", with_field(.field, .message))]
    Document {
        /// The document.
        location: Location,
        /// The path of the offending field, e.g. `spec.routes[2].services[0].port`
        /// (including an `items[i]` prefix for an item of a `kind: List`); empty for
        /// the document itself.
        field: String,
        /// What is wrong, e.g. `invalid type: string "80", expected i64`.
        message: String,
    },
}

fn with_field(field: &str, message: &str) -> String {
    if field.is_empty() {
        message.to_owned()
    } else {
        format!("{field}: {message}")
    }
}

/// Something worth knowing that does not keep anything from loading.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// An object of a kind the loader does not decode; it is skipped.
    UnsupportedKind {
        /// Where it is.
        location: Location,
        /// Its `apiVersion`.
        api_version: String,
        /// Its `kind`.
        kind: String,
    },
    /// An object with the kind, namespace and name of an earlier one; the later one
    /// replaces the earlier.
    Duplicate {
        /// Where the later object is.
        location: Location,
        /// The kind.
        kind: Kind,
        /// The namespace and name.
        object: ObjectRef,
        /// Where the replaced object is.
        previous: Location,
    },
    /// A `kind: List` without items.
    EmptyList {
        /// Where it is.
        location: Location,
    },
    /// A directory without any `*.yaml`, `*.yml` or `*.json` file.
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A manifest name in a directory for something that is not a regular file (a FIFO,
    /// a socket, a device): it is never opened.
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is, e.g. `a FIFO`.
        what: &'static str,
    },
    /// A symbolic link back to a directory being walked: not followed again.
    Loop {
        /// The link.
        path: PathBuf,
    },
    /// An IngressRoute that does not decode even leniently (a field of the wrong type):
    /// it gets an `invalid` status and takes no part in the build.
    Undecodable {
        /// Where it is.
        location: Location,
        /// The field's path and serde's message.
        error: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedKind {
                location,
                api_version,
                kind,
            } => write!(
                f,
                "{location}: {}skipping unsupported kind {kind:?} (apiVersion {api_version:?})",
                item_prefix(location)
            ),
            Self::Duplicate {
                location,
                kind,
                object,
                previous,
            } => write!(
                f,
                "{location}: {}{kind} {object} is defined again; it replaces the one at {previous}",
                item_prefix(location)
            ),
            Self::EmptyList { location } => write!(f, "{location}: List has no items"),
            Self::EmptyDirectory { path } => {
                write!(f, "{}: no *.yaml, *.yml or *.json file found", display_path(path))
            }
            Self::NotRegular { path, what } => {
                write!(f, "{}: not a regular file ({what}); skipped", display_path(path))
            }
            Self::Undecodable { location, error } => write!(f, "{location}: {}{error}", item_prefix(location)),
            Self::Loop { path } => write!(
                f,
                "{}: a symbolic link back to a directory being walked; not followed",
                display_path(path)
            ),
        }
    }
}

fn item_prefix(location: &Location) -> String {
    location.item.map(|i| format!("items[{i}]: ")).unwrap_or_default()
}

/// An [`Error`] or a [`Warning`], in the order they were found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Diagnostic {
    /// Something could not be loaded.
    Error(Error),
    /// Something worth knowing.
    Warning(Warning),
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => fmt::Display::fmt(e, f),
            Self::Warning(w) => fmt::Display::fmt(w, f),
        }
    }
}

/// Everything loaded from a set of inputs: the manifests, and what went wrong.
///
/// Build one with [`load`], or add inputs one by one with [`Loaded::add_path`],
/// [`Loaded::add_reader`] and [`Loaded::add_str`]. Manifests are kept in the order they
/// were found; when an object with the same kind, namespace and name is added again, the
/// later one takes the earlier one's place and a [`Warning::Duplicate`] is recorded.
#[derive(Debug, Default)]
pub struct Loaded {
    manifests: Vec<Manifest>,
    diagnostics: Vec<Diagnostic>,
    /// Where each kind, namespace and name is in `manifests` (Fx: hashed on every
    /// merge of `serve`, for every object).
    index: FxHashMap<(Kind, ObjectRef), usize>,
}

/// Loads every path in order: files, directories (walked recursively in sorted order,
/// picking up `*.yaml`, `*.yml` and `*.json`) and [`STDIN`], which reads `stdin` (only
/// the first time it is given).
#[must_use]
pub fn load(paths: &[PathBuf], stdin: impl Read) -> Loaded {
    let mut loaded = Loaded::default();
    let mut stdin = Some(stdin);
    for path in paths {
        if path.as_os_str() == STDIN {
            if let Some(reader) = stdin.take() {
                loaded.add_reader(path, reader);
            }
        } else {
            loaded.add_path(path);
        }
    }
    loaded
}

impl Loaded {
    /// Nothing loaded yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing loaded yet, with room for `manifests` manifests.
    #[must_use]
    pub fn with_capacity(manifests: usize) -> Self {
        Self {
            manifests: Vec::with_capacity(manifests),
            diagnostics: Vec::new(),
            index: FxHashMap::with_capacity_and_hasher(manifests, rustc_hash::FxBuildHasher),
        }
    }

    /// The manifests, in the order they were found (a duplicate takes the place of the
    /// object it replaces).
    #[must_use]
    pub fn manifests(&self) -> &[Manifest] {
        &self.manifests
    }

    /// Where each IngressRoute is (undecodable ones included), to say so next to its
    /// status.
    #[must_use]
    pub fn ingress_route_locations(&self) -> BTreeMap<ObjectRef, &Location> {
        self.manifests
            .iter()
            .filter(|manifest| manifest.object.kind() == Kind::IngressRoute)
            .map(|manifest| (manifest.object.object_ref(), &manifest.location))
            .collect()
    }

    /// The manifests, by value.
    #[must_use]
    pub fn into_manifests(self) -> Vec<Manifest> {
        self.manifests
    }

    /// Errors and warnings, in the order they were found.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Whether some input could not be read or parsed.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| matches!(d, Diagnostic::Error(_)))
    }

    /// The errors, in the order they were found.
    pub fn errors(&self) -> impl Iterator<Item = &Error> {
        self.diagnostics.iter().filter_map(|d| match d {
            Diagnostic::Error(e) => Some(e),
            Diagnostic::Warning(_) => None,
        })
    }

    /// The warnings, in the order they were found.
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.diagnostics.iter().filter_map(|d| match d {
            Diagnostic::Warning(w) => Some(w),
            Diagnostic::Error(_) => None,
        })
    }

    /// Adds a manifest loaded elsewhere (for example the last good version of a file that
    /// `serve` keeps while the file is broken), with the same duplicate rule as the other
    /// `add_*` methods: a later object with the same kind, namespace and name replaces the
    /// earlier one and a [`Warning::Duplicate`] is recorded.
    pub fn add_manifest(&mut self, manifest: Manifest) {
        self.push(manifest);
    }

    /// Loads a file, or every `*.yaml`, `*.yml` and `*.json` file under a directory
    /// (recursively, in sorted order, as [`walk::walk`] finds them; a file given directly
    /// is read whatever its name).
    pub fn add_path(&mut self, path: &Path) {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let walked = walk::walk(path);
                for skipped in walked.skipped {
                    self.skipped(skipped);
                }
                if walked.files.is_empty() {
                    self.warn(Warning::EmptyDirectory { path: path.to_owned() });
                }
                for file in walked.files {
                    self.add_file(&file);
                }
            }
            // Named on the command line: read as a stream, like `-` (`<(kustomize build)`
            // is a pipe). Only files found in a directory must be regular.
            Ok(meta) if !meta.is_file() => self.add_reader_from(path),
            Ok(_) => self.add_file(path),
            Err(source) => self.error(Error::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Records what a walk skipped: a warning for what is not a regular file or loops, an
    /// error for a directory or manifest file that cannot be read.
    pub fn skipped(&mut self, skipped: walk::Skipped) {
        match skipped {
            walk::Skipped::NotRegular { path, what } => self.warn(Warning::NotRegular { path, what }),
            walk::Skipped::Loop { path } => self.warn(Warning::Loop { path }),
            walk::Skipped::Unreadable { path, source } => self.error(Error::Read { path, source }),
        }
    }

    fn add_file(&mut self, path: &Path) {
        match walk::read(path) {
            Ok(text) => self.add_str(path, &text),
            Err(walk::ReadError::NotRegular(what)) => self.warn(Warning::NotRegular {
                path: path.to_owned(),
                what,
            }),
            Err(walk::ReadError::Io(source)) => self.error(Error::Read {
                path: path.to_owned(),
                source,
            }),
            Err(too_large @ walk::ReadError::TooLarge(_)) => self.error(Error::Read {
                path: path.to_owned(),
                source: io::Error::other(too_large.to_string()),
            }),
        }
    }

    fn add_reader_from(&mut self, path: &Path) {
        match fs::File::open(path) {
            Ok(file) => self.add_reader(path, file),
            Err(source) => self.error(Error::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Reads everything from `reader` and loads it as the file `path` (use [`STDIN`] for
    /// standard input).
    pub fn add_reader(&mut self, path: &Path, mut reader: impl Read) {
        let mut text = String::new();
        match reader.read_to_string(&mut text) {
            Ok(_) => self.add_str(path, &text),
            Err(source) => self.error(Error::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Loads `text` as the content of the file `path`: a JSON stream if the file is
    /// `*.json` (or, for any other name that is not `*.yaml`/`*.yml`, if it starts with
    /// `{` or `[`), YAML otherwise.
    pub fn add_str(&mut self, path: &Path, text: &str) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if is_json(path, text) {
            self.add_json(path, text);
        } else {
            self.add_yaml(path, text);
        }
    }

    fn add_json(&mut self, path: &Path, text: &str) {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        let mut document = 0;
        // Lines are counted incrementally: (byte offset, line at that offset).
        let (mut counted, mut line) = (0, 1);
        let shared: Arc<Path> = Arc::from(path);
        loop {
            let offset = stream.byte_offset();
            let rest = text.get(offset..).unwrap_or_default();
            let start = offset + (rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len());
            line += newlines(text.get(counted..start).unwrap_or_default());
            counted = start;
            let Some(next) = stream.next() else { break };
            document += 1;
            let location = Location {
                path: Arc::clone(&shared),
                document,
                line,
                item: None,
            };
            match next {
                Ok(value) => self.add_value(location, value),
                Err(e) => {
                    // A JSON stream cannot be resynchronised after a syntax error.
                    self.error(Error::Syntax {
                        location,
                        message: e.to_string(),
                    });
                    break;
                }
            }
        }
    }

    fn add_yaml(&mut self, path: &Path, text: &str) {
        let mut reader = text.as_bytes();
        let documents = serde_saphyr::read_with_options::<_, Spanned<Value>>(&mut reader, yaml_options());
        let shared: Arc<Path> = Arc::from(path);
        for (index, parsed) in documents.enumerate() {
            match parsed {
                Ok(Spanned { value, referenced, .. }) => {
                    let location = Location {
                        path: Arc::clone(&shared),
                        document: index + 1,
                        line: usize::try_from(referenced.line()).unwrap_or(usize::MAX),
                        item: None,
                    };
                    self.add_value(location, value);
                }
                Err(e) => {
                    // The document's own first line is not known when it does not parse:
                    // the line of the error stands in.
                    let line = e.location().map_or(1, |l| l.line());
                    let location = Location {
                        path: Arc::clone(&shared),
                        document: index + 1,
                        line: usize::try_from(line).unwrap_or(usize::MAX),
                        item: None,
                    };
                    self.error(Error::Syntax {
                        location,
                        message: yaml_message(&e),
                    });
                }
            }
        }
    }

    /// Dispatches one decoded document (or `List` item) on its `apiVersion` and `kind`.
    fn add_value(&mut self, location: Location, value: Value) {
        let mut map = match value {
            Value::Object(map) => map,
            other => {
                let message = format!("expected a Kubernetes object, found {}", type_name(&other));
                return self.document_error(&location, "", message);
            }
        };
        let Some(api_version) = self.string_field(&location, &map, "apiVersion") else {
            return;
        };
        let Some(kind) = self.string_field(&location, &map, "kind") else {
            return;
        };

        if kind == "List" {
            if location.item.is_some() {
                return self.document_error(&location, "", "a List inside a List is not supported".into());
            }
            return match map.remove("items") {
                None | Some(Value::Null) => self.warn(Warning::EmptyList { location }),
                Some(Value::Array(items)) if items.is_empty() => self.warn(Warning::EmptyList { location }),
                Some(Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        self.add_value(
                            Location {
                                item: Some(i),
                                ..location.clone()
                            },
                            item,
                        );
                    }
                }
                Some(other) => {
                    let message = format!("expected an array, found {}", type_name(&other));
                    self.document_error(&location, "items", message);
                }
            };
        }

        let Some(kind) = Kind::from_type(&api_version, &kind) else {
            return self.warn(Warning::UnsupportedKind {
                location,
                api_version,
                kind,
            });
        };
        match map.get("metadata") {
            Some(Value::Object(meta)) => match meta.get("name") {
                Some(Value::String(name)) if !name.is_empty() => {}
                Some(Value::String(_)) => {
                    return self.document_error(&location, "metadata.name", "must not be empty".into());
                }
                None | Some(Value::Null) => {
                    return self.document_error(&location, "metadata.name", "is required".into());
                }
                Some(other) => {
                    let message = format!("expected a string, found {}", type_name(other));
                    return self.document_error(&location, "metadata.name", message);
                }
            },
            None | Some(Value::Null) => return self.document_error(&location, "metadata", "is required".into()),
            Some(other) => {
                let message = format!("expected an object, found {}", type_name(other));
                return self.document_error(&location, "metadata", message);
            }
        }

        let raw = Value::Object(map);
        let decoded = match kind {
            Kind::IngressRoute => decode_ingress_route(&raw),
            Kind::TlsCertificateDelegation => decode(&raw)
                .map(|o| (Object::TlsCertificateDelegation(o), None))
                .or_else(|strict| {
                    lenient::tls_certificate_delegation(&raw)
                        .map(|l| {
                            let missing = l.missing.first().cloned();
                            (Object::TlsCertificateDelegation(Arc::new(l.object)), missing)
                        })
                        .map_err(|_| strict)
                }),
            Kind::Service => decode(&raw).map(|o| (Object::Service(o), None)),
            Kind::Secret => decode(&raw)
                .map(|o| (Object::Secret(o), None))
                .map_err(|(field, message)| {
                    let message = redact_secret_message(&raw, &field, &message);
                    (field, message)
                }),
            Kind::Endpoints => decode(&raw).map(|o| (Object::Endpoints(o), None)),
        };
        match decoded {
            Ok((object, missing)) => {
                if let Object::Undecodable(route) = &object {
                    // Not an error (it gets a status), but where it is deserves saying.
                    self.warn(Warning::Undecodable {
                        location: location.clone(),
                        error: route.error.clone(),
                    });
                }
                let findings = admission(kind, &raw);
                self.push(Manifest {
                    location,
                    raw: Arc::new(raw),
                    object,
                    findings: findings.into(),
                    missing,
                });
            }
            Err((field, message)) => self.document_error(&location, &field, message),
        }
    }

    /// Reads a required string field; records an error and returns `None` if it is
    /// missing or not a string.
    fn string_field(&mut self, location: &Location, map: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                self.document_error(location, key, "must not be empty".into());
                None
            }
            None | Some(Value::Null) => {
                self.document_error(location, key, "is required".into());
                None
            }
            Some(other) => {
                let message = format!("expected a string, found {}", type_name(other));
                self.document_error(location, key, message);
                None
            }
        }
    }

    fn push(&mut self, manifest: Manifest) {
        let key = (manifest.object.kind(), manifest.object.object_ref());
        match self.index.get(&key).and_then(|&i| self.manifests.get_mut(i)) {
            Some(slot) => {
                let previous = std::mem::replace(slot, manifest);
                let (kind, object) = key;
                let location = slot.location.clone();
                self.warn(Warning::Duplicate {
                    location,
                    kind,
                    object,
                    previous: previous.location,
                });
            }
            None => {
                self.index.insert(key, self.manifests.len());
                self.manifests.push(manifest);
            }
        }
    }

    fn document_error(&mut self, location: &Location, field: &str, message: String) {
        self.error(Error::Document {
            location: location.clone(),
            field: location.field(field),
            message,
        });
    }

    fn error(&mut self, error: Error) {
        self.diagnostics.push(Diagnostic::Error(error));
    }

    fn warn(&mut self, warning: Warning) {
        self.diagnostics.push(Diagnostic::Warning(warning));
    }
}

/// Decodes an IngressRoute strictly, else leniently (with the first required field it
/// lacks), else as an [`Undecodable`] one. Never fails: an IngressRoute that the API
/// server would reject still gets a status.
fn decode_ingress_route(raw: &Value) -> Result<(Object, Option<String>), (String, String)> {
    if let Ok(route) = decode(raw) {
        return Ok((Object::IngressRoute(route), None));
    }
    Ok(match lenient::ingress_route(raw) {
        Ok(decoded) => {
            let missing = decoded.missing.first().cloned();
            (Object::IngressRoute(Arc::new(decoded.object)), missing)
        }
        Err(error) => {
            let meta = raw.get("metadata");
            let text = |key: &str| {
                meta.and_then(|m| m.get(key))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let namespace = Some(text("namespace")).filter(|ns| !ns.is_empty()).unwrap_or("default");
            let class = meta
                .and_then(|m| m.get("annotations"))
                .and_then(|annotations| {
                    ingressroute_api::INGRESS_CLASS_ANNOTATIONS
                        .iter()
                        .find_map(|key| annotations.get(*key))
                })
                .and_then(Value::as_str)
                .map(str::to_owned);
            (
                Object::Undecodable(Arc::new(Undecodable {
                    object: ObjectRef::new(namespace, text("name")),
                    class,
                    error: error.to_string(),
                })),
                None,
            )
        }
    })
}

/// What the API server would say about creating an object of `kind`: the names, and
/// the CRD schema for our kinds.
fn admission(kind: Kind, raw: &Value) -> Vec<Finding> {
    let mut findings = names::findings(kind, raw);
    findings.extend(match kind {
        Kind::IngressRoute => validate::validate_ingress_route(raw),
        Kind::TlsCertificateDelegation => validate::validate_tls_certificate_delegation(raw),
        Kind::Service | Kind::Secret | Kind::Endpoints => Vec::new(),
    });
    findings
}

/// serde's message about a field of a Secret, without the field's value: serde quotes
/// the value it did not expect (`invalid type: string "-----BEGIN PRIVATE KEY-----…",
/// expected a map`), and base64 errors name bytes of it. What is kept: what kind of
/// value was found (from the object itself) and what was expected (serde's words for
/// the type, never data); messages that quote nothing but field names are kept whole.
fn redact_secret_message(raw: &Value, field: &str, message: &str) -> String {
    if ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .any(|prefix| message.starts_with(prefix))
    {
        return message.to_owned();
    }
    let found = value_at(raw, field).map_or("a value", type_name);
    let expected = message
        .starts_with("invalid ")
        .then(|| message.rfind(", expected ").and_then(|i| message.get(i..)))
        .flatten()
        .unwrap_or_default();
    format!("invalid value: {found} (not shown: it is part of a Secret){expected}")
}

/// The value at a field path as serde_path_to_error writes it (`data.tls.key` is the key
/// `tls.key` of `data`, `items[0]` an index): the first matching reading wins.
fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    match value {
        Value::Object(map) => {
            // Keys may hold dots (`tls.key`): try every split, the longest key first.
            let mut ends: Vec<usize> = path.match_indices(['.', '[']).map(|(i, _)| i).collect();
            ends.push(path.len());
            ends.into_iter().rev().find_map(|end| {
                let key = path.get(..end)?;
                let rest = path.get(end..)?;
                let rest = rest.strip_prefix('.').unwrap_or(rest);
                value_at(map.get(key)?, rest)
            })
        }
        Value::Array(items) => {
            let rest = path.strip_prefix('[')?;
            let (index, rest) = rest.split_once(']')?;
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            value_at(items.get(index.parse::<usize>().ok()?)?, rest)
        }
        _ => None,
    }
}

/// Decodes a typed object; on failure returns the field path and the message.
fn decode<T: DeserializeOwned>(raw: &Value) -> Result<Arc<T>, (String, String)> {
    serde_path_to_error::deserialize(raw).map(Arc::new).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        (field, e.into_inner().to_string())
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_json(path: &Path, text: &str) -> bool {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => text.trim_start().starts_with(['{', '[']),
    }
}

fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// How deep a YAML document may nest. A Kubernetes object nests a dozen levels (a CRD
/// with its schema about twenty); 10^5 levels of `[` are refused at once. Decoding
/// recurses once per level, so this also keeps the stack of a 2 MiB thread (tokio's
/// blocking pool, a test) safe. JSON has serde_json's own limit, 128.
pub const MAX_DEPTH: usize = 64;

/// How many values aliases may replay in one document: enough for any manifest that uses
/// anchors, and far too few for an alias bomb (a billion laughs).
pub const MAX_ALIAS_REPLAY: usize = 100_000;

/// The parser's message for a document that does not parse, in one line, with where
/// it is in the file; nesting too deep says so in words.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    // The parser's advice to its caller ("set DuplicateKeyPolicy in Options") means
    // nothing to whoever wrote the file: duplicate keys are refused on purpose.
    let message = error
        .to_string()
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let too_deep = matches!(
        error.without_snippet(),
        serde_saphyr::Error::Budget {
            breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
            ..
        }
    ) || message.starts_with("recursion limit exceeded");
    if too_deep {
        format!("the document nests deeper than {MAX_DEPTH} levels ({message})")
    } else {
        message
    }
}

/// The YAML parser's settings: YAML 1.2 booleans (`yes` stays a string), duplicate keys refused (as kubectl refuses them), merge keys resolved,
/// plain one-line messages, and budgets per document: depth, nodes, scalar bytes and
/// alias replay. No limit on the number of documents in a file.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_documents: usize::MAX,
            // The file is already in memory (see `walk::read` for its size limit).
            max_reader_input_bytes: None,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_REPLAY,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(path: &str, text: &str) -> Loaded {
        let mut loaded = Loaded::new();
        loaded.add_str(Path::new(path), text);
        loaded
    }

    fn messages(loaded: &Loaded) -> Vec<String> {
        loaded.diagnostics().iter().map(ToString::to_string).collect()
    }

    const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s1\nspec:\n  ports:\n  - port: 80\n";

    #[test]
    fn documents_are_numbered_without_empty_ones_and_located_at_their_first_content() {
        let service = |name: &str| SERVICE.replace("s1", name);
        let text = format!(
            "# leading comment\n---\n---\n{}--- # c\n\n{}...\n# trailing\n%YAML 1.2\n---\n{}",
            service("a"),
            service("b"),
            service("c")
        );
        let loaded = load_str("x.yaml", &text);
        assert!(messages(&loaded).is_empty(), "{:?}", messages(&loaded));
        let found: Vec<(String, usize, usize)> = loaded
            .manifests()
            .iter()
            .map(|m| (m.object.object_ref().name, m.location.document, m.location.line))
            .collect();
        assert_eq!(found, [("a".into(), 1, 4), ("b".into(), 2, 13), ("c".into(), 3, 24)]);
    }

    #[test]
    fn content_on_the_marker_line_and_windows_line_endings_keep_their_lines() {
        let loaded = load_str("x.yaml", "a: 1\r\n---\r\nb: 2\r\n--- [c]\n");
        assert_eq!(
            messages(&loaded),
            [
                "x.yaml: document 1 (line 1): apiVersion: is required",
                "x.yaml: document 2 (line 3): apiVersion: is required",
                "x.yaml: document 3 (line 4): expected a Kubernetes object, found an array",
            ]
        );
    }

    #[test]
    fn a_yaml_syntax_error_reports_the_line_in_the_file() {
        let loaded = load_str("x.yaml", &format!("{SERVICE}---\n{SERVICE}---\nkind: [\n  oops: {{\n"));
        assert_eq!(loaded.manifests().len(), 1, "the two Services are one object");
        let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            ["x.yaml: document 3 (line 18): unclosed bracket '{' at line 18, column 9"]
        );
    }

    #[test]
    fn a_document_that_does_not_parse_spares_the_documents_around_it() {
        let other = SERVICE.replace("s1", "s2");
        let loaded = load_str("x.yaml", &format!("{SERVICE}---\na: 1\na: 2\n---\n{other}"));
        assert_eq!(loaded.manifests().len(), 2);
        assert_eq!(
            messages(&loaded),
            ["x.yaml: document 2 (line 10): duplicate mapping key: a at line 10, column 1"]
        );
    }

    #[test]
    fn deep_nesting_is_refused_at_once() {
        for (text, line) in [
            (
                "[".repeat(100_000),
                "x.yaml: document 1 (line 1): the document nests deeper than 64 levels",
            ),
            (
                "{a: ".repeat(100_000),
                "x.yaml: document 1 (line 1): the document nests deeper than 64 levels",
            ),
            (
                (0..200).map(|i| format!("{}a:\n", " ".repeat(i))).collect::<String>(),
                "x.yaml: document 1 (line 65): the document nests deeper than 64 levels",
            ),
        ] {
            let loaded = load_str("x.yaml", &text);
            let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].starts_with(line), "{errors:?}");
        }
        let loaded = load_str("x.json", &"[".repeat(100_000));
        assert!(loaded.has_errors());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..9 {
            let previous = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![previous; 9].join(", ")));
        }
        let loaded = load_str("bomb.yaml", &text);
        let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("alias replay limit exceeded"), "{errors:?}");
    }

    #[test]
    fn errors_about_a_secret_name_the_field_and_the_type_but_never_the_value() {
        let key = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----";
        let secret = |body: &str| format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n{body}\n");
        let cases = [
            (
                secret(&format!("data: \"{key}\"")),
                "data: invalid value: a string (not shown: it is part of a Secret), expected a map",
            ),
            (
                secret("data: {tls.key: 123456789}"),
                "data.tls.key: invalid value: a number (not shown: it is part of a Secret), expected a base64-encoded string",
            ),
            (
                secret("data: {tls.key: \"not base64 ---\"}"),
                "data.tls.key: invalid value: a string (not shown: it is part of a Secret)",
            ),
            (
                secret(&format!("stringData: [\"{key}\"]")),
                "stringData: invalid value: an array (not shown: it is part of a Secret), expected a map",
            ),
            (
                secret("type: 42"),
                "type: invalid value: a number (not shown: it is part of a Secret), expected a string",
            ),
        ];
        for (text, expected) in cases {
            let loaded = load_str("s.yaml", &text);
            assert_eq!(messages(&loaded), [format!("s.yaml: document 1 (line 1): {expected}")]);
        }
    }

    #[test]
    fn a_type_error_names_the_field() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s1\nspec:\n  ports:\n  - port: eighty\n";
        let loaded = load_str("s.yaml", text);
        assert_eq!(
            messages(&loaded),
            ["s.yaml: document 1 (line 1): spec.ports[0].port: invalid type: string \"eighty\", expected i32"]
        );
    }

    #[test]
    fn documents_that_are_not_objects_are_errors() {
        // A `null` document is an empty one: skipped, not counted.
        let loaded = load_str("x.yaml", "null\n---\n- a\n---\n42\n---\n{}\n---\nkind: Service\n");
        assert_eq!(
            messages(&loaded),
            [
                "x.yaml: document 1 (line 3): expected a Kubernetes object, found an array",
                "x.yaml: document 2 (line 5): expected a Kubernetes object, found a number",
                "x.yaml: document 3 (line 7): apiVersion: is required",
                "x.yaml: document 4 (line 9): apiVersion: is required",
            ]
        );
    }

    #[test]
    fn metadata_and_name_are_required() {
        let loaded = load_str(
            "x.yaml",
            "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Service\nmetadata: {}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: \"\"}\n",
        );
        assert_eq!(
            messages(&loaded),
            [
                "x.yaml: document 1 (line 1): metadata: is required",
                "x.yaml: document 2 (line 4): metadata.name: is required",
                "x.yaml: document 3 (line 8): metadata.name: must not be empty",
            ]
        );
    }

    #[test]
    fn list_items_are_expanded_and_errors_name_the_item() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}, "spec": {"ports": [{"port": "x"}]}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        ]}"#;
        let loaded = load_str("l.json", text);
        assert_eq!(loaded.manifests().len(), 1);
        assert_eq!(loaded.manifests()[0].location.item, Some(0));
        assert_eq!(
            messages(&loaded),
            [
                "l.json: document 1 (line 1): items[1].spec.ports[0].port: invalid type: string \"x\", expected i32",
                "l.json: document 1 (line 1): items[2]: skipping unsupported kind \"ConfigMap\" (apiVersion \"v1\")",
            ]
        );
    }

    #[test]
    fn a_list_without_items_is_a_warning() {
        let loaded = load_str(
            "l.yaml",
            "apiVersion: v1\nkind: List\n---\napiVersion: v1\nkind: List\nitems: []\n",
        );
        assert!(!loaded.has_errors());
        assert_eq!(
            messages(&loaded),
            [
                "l.yaml: document 1 (line 1): List has no items",
                "l.yaml: document 2 (line 4): List has no items"
            ]
        );
    }

    #[test]
    fn a_json_stream_counts_values_as_documents() {
        let text = "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"a\"}}\n\n  {\"apiVersion\": \"v1\",\n \"kind\": 3}\n{";
        let loaded = load_str("-", text);
        assert_eq!(loaded.manifests().len(), 1);
        assert_eq!(
            messages(&loaded),
            [
                "<stdin>: document 2 (line 3): kind: expected a string, found a number",
                "<stdin>: document 3 (line 5): EOF while parsing an object at line 5 column 1",
            ]
        );
    }

    #[test]
    fn the_later_duplicate_wins() {
        let later = SERVICE.replace("80", "81");
        let loaded = load_str("d.yaml", &format!("{SERVICE}---\n{later}"));
        assert_eq!(loaded.manifests().len(), 1);
        assert_eq!(loaded.manifests()[0].location.document, 2);
        assert_eq!(
            messages(&loaded),
            [
                "d.yaml: document 2 (line 9): Service default/s1 is defined again; it replaces the one at d.yaml: document 1 (line 1)"
            ]
        );
    }

    #[test]
    fn yaml_merge_keys_and_anchors_are_resolved() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s1\nspec:\n  ports:\n  - &p {port: 80}\n  - <<: *p\n    name: b\n";
        let loaded = load_str("m.yaml", text);
        assert!(messages(&loaded).is_empty(), "{:?}", messages(&loaded));
        assert_eq!(loaded.manifests()[0].raw["spec"]["ports"][1]["port"], 80);
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "",
            "\n\n",
            "---",
            "...",
            "\u{feff}",
            "\0\u{1}\u{2}",
            "- [",
            "{",
            "[1, 2]",
            "!!binary AAAA",
            "? [a]\n: b\n",
            "a: !tag x",
        ] {
            let _ = load_str("odd.yaml", text);
            let _ = load_str("odd.json", text);
            let _ = load_str("-", text);
        }
    }

    #[test]
    fn location_display_names_the_file_document_and_line() {
        let location = Location {
            path: Path::new("examples/x.yaml").into(),
            document: 3,
            line: 25,
            item: None,
        };
        assert_eq!(location.to_string(), "examples/x.yaml: document 3 (line 25)");
        assert_eq!(location.field("spec"), "spec");
        let item = Location {
            item: Some(2),
            ..location
        };
        assert_eq!(item.field("spec"), "items[2].spec");
        assert_eq!(item.field(""), "items[2]");
    }
}
