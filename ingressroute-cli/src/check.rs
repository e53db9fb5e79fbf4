//! `ingressroute check`: load manifests, compute every IngressRoute's status, and say
//! what the API server would reject.
//!
//! Why one file of this length: the report, its items and its feeding (shared with
//! `render` and `serve`) are one step, and a third of the file is its unit tests.
//!
//! ```text
//!  Loaded manifests ──▶ schema validation (IngressRoute, TLSCertificateDelegation)
//!         │                              │
//!         ▼ feed (one list)              ▼
//!      Pipeline ──build(Config)──▶ Dag::statuses() ──▶ Items ──▶ table | json | yaml
//!         │                              │                          (stdout)
//!         └──── Secret not usable, ingress class ignored, ... ──▶ diagnostics (stderr)
//! ```
//!
//! [`check`] is pure (loaded manifests in, a [`Report`] out); [`run`] does the I/O.
//! [`feed`] and [`report`] are shared with `render` and `serve`: all three build through
//! `ingressroute-pipeline`, as the controller does.
//!
//! Exit codes: 0 when every IngressRoute is valid, 1 when one is invalid or orphaned or
//! the API server would reject an IngressRoute or TLSCertificateDelegation, 2 when some
//! input cannot be read or parsed (2 wins over 1).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ingressroute_api::validate::{Finding, FindingKind};
use ingressroute_api::{DEFAULT_INGRESS_CLASS, INGRESS_CLASS_ANNOTATIONS, IngressRoute};
use ingressroute_dag::{Config, CurrentStatus, Dag, ObjectRef, SecretError};
use ingressroute_envoy::EnvoyConfig;
use ingressroute_pipeline::{self as pipeline, Pipeline};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::load::{self, Kind, Loaded, Location, Manifest, Object};
use crate::output::{self, Format, Item, Rejection, Severity};

/// The arguments every command that reads manifests takes: what to read, and the DAG
/// settings (`check` and `render` alike).
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Namespaces in which root IngressRoutes may be defined, comma-separated (default:
    /// any namespace).
    #[arg(long, value_name = "NS1,NS2")]
    pub root_namespaces: Option<String>,

    /// The ingress class served: IngressRoutes annotated with another class are ignored.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_INGRESS_CLASS)]
    pub ingress_class: String,

    /// Files or directories to read (directories are walked recursively for *.yaml,
    /// *.yml and *.json); `-` reads standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// The arguments of `ingressroute check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// What to read, and the DAG settings.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

impl InputArgs {
    /// The DAG configuration these arguments ask for.
    #[must_use]
    pub fn config(&self) -> Config {
        config(self.root_namespaces.as_deref(), &self.ingress_class)
    }
}

/// The DAG configuration of `--root-namespaces` (a comma-separated list; `None`: any
/// namespace) and `--ingress-class`, which every command that builds takes.
#[must_use]
pub fn config(root_namespaces: Option<&str>, ingress_class: &str) -> Config {
    let mut config = Config::default();
    if let Some(list) = root_namespaces {
        config.root_namespaces = Config::parse_root_namespaces(list);
    }
    ingress_class.clone_into(&mut config.ingress_class);
    config
}

/// How a command (`check`, `render`) ended; converts into the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Outcome {
    /// Exit code 0: every IngressRoute is valid and the API server would accept every
    /// object.
    Valid,
    /// Exit code 1: an IngressRoute is invalid or orphaned, or the API server would
    /// reject an IngressRoute or TLSCertificateDelegation.
    Invalid,
    /// Exit code 2: some input could not be read or parsed.
    InputError,
}

impl Outcome {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Invalid => 1,
            Self::InputError => 2,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        Self::from(outcome.code())
    }
}

/// Something `check` reports about an object on standard error.
///
/// Displayed as one line that names the file, document and line, the kind and the
/// object: `a.yaml: document 2 (line 14): IngressRoute default/home: spec.routes[0]...:
/// must be >= 0 (the API server would reject this object)`; [`Diagnostic::severity`]
/// says whether it is printed as an `error:` or a `warning:`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// The CRD schema rejects the object: the API server would refuse to create it.
    Rejected {
        /// Where the object is.
        location: Location,
        /// Its kind (IngressRoute or TLSCertificateDelegation).
        kind: Kind,
        /// The object.
        object: ObjectRef,
        /// What the schema says.
        finding: Finding,
    },
    /// A field the CRD schema does not know (the API server would drop it); most likely
    /// a typo.
    UnknownField {
        /// Where the object is.
        location: Location,
        /// Its kind (IngressRoute or TLSCertificateDelegation).
        kind: Kind,
        /// The object.
        object: ObjectRef,
        /// What the schema says, with a suggestion where there is one.
        finding: Finding,
    },
    /// A Secret meant for IngressRoutes (TLS or CA) that cannot be used; it is treated as
    /// missing.
    SecretNotUsable {
        /// Where the Secret is.
        location: Location,
        /// The Secret.
        object: ObjectRef,
        /// Why.
        error: SecretError,
    },
    /// An IngressRoute of another ingress class; it gets no status.
    IgnoredIngressClass {
        /// Where the IngressRoute is.
        location: Location,
        /// The IngressRoute.
        object: ObjectRef,
        /// Its class.
        class: String,
        /// The class served.
        served: String,
    },
    /// No IngressRoute of the served class was found.
    NoIngressRoutes,
}

impl Diagnostic {
    /// Whether this diagnostic alone makes the check fail (exit code 1).
    #[must_use]
    pub fn fails(&self) -> bool {
        matches!(self, Self::Rejected { .. })
    }

    /// `error` for what fails the check, `warning` for the rest.
    #[must_use]
    pub fn severity(&self) -> Severity {
        if self.fails() {
            Severity::Error
        } else {
            Severity::Warning
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected {
                location,
                kind,
                object,
                finding,
            } => write!(
                f,
                "{location}: {kind} {object}: {} (the API server would reject this object)",
                in_document(location, finding)
            ),
            Self::UnknownField {
                location,
                kind,
                object,
                finding,
            } => write!(f, "{location}: {kind} {object}: {}", in_document(location, finding)),
            Self::SecretNotUsable {
                location,
                object,
                error,
            } => write!(f, "{location}: Secret {object}: not usable: {error}"),
            Self::IgnoredIngressClass {
                location,
                object,
                class,
                served,
            } => write!(
                f,
                "{location}: IngressRoute {object}: ignored: its ingress class {class:?} is not the one served ({served:?})"
            ),
            Self::NoIngressRoutes => f.write_str("no IngressRoutes found"),
        }
    }
}

/// A finding with its field path as written in the document (`items[i].` first for an
/// item of a `kind: List`).
fn in_document(location: &Location, finding: &Finding) -> String {
    let field = location.field(&finding.path);
    if field.is_empty() {
        finding.message.clone()
    } else {
        format!("{field}: {}", finding.message)
    }
}

/// Loads `paths` (reading `stdin` for `-`) and writes every loader error and warning on
/// `stderr`, one line each, as `check` and `render` do before anything else.
pub(crate) fn load_reporting(paths: &[PathBuf], stdin: impl Read, stderr: &mut impl Write) -> io::Result<Loaded> {
    let loaded = load::load(paths, stdin);
    for diagnostic in loaded.diagnostics() {
        writeln!(stderr, "{}", load_line(diagnostic))?;
    }
    Ok(loaded)
}

/// Loads `paths` as [`load_reporting`] does, for the commands that print a result from the
/// whole input (`render`, `explain`, `graph`, `convert`): when some input cannot be read or
/// parsed, says `<nothing>: some input cannot be read or parsed` (e.g. `nothing rendered`)
/// and gives `None`, and the command prints nothing.
pub(crate) fn load_or_refuse(
    paths: &[PathBuf],
    stdin: impl Read,
    stderr: &mut impl Write,
    nothing: &str,
) -> io::Result<Option<Loaded>> {
    let loaded = load_reporting(paths, stdin, stderr)?;
    if loaded.has_errors() {
        refuse(stderr, nothing)?;
        return Ok(None);
    }
    Ok(Some(loaded))
}

/// Says that nothing comes out because some input cannot be read or parsed (see
/// [`load_or_refuse`]).
pub(crate) fn refuse(stderr: &mut impl Write, nothing: &str) -> io::Result<()> {
    let line = output::stderr_line(
        Severity::Error,
        &format_args!("{nothing}: some input cannot be read or parsed"),
    );
    writeln!(stderr, "{line}")
}

/// A loader diagnostic as a line for standard error (`error:` or `warning:` first).
pub(crate) fn load_line(diagnostic: &load::Diagnostic) -> String {
    let severity = match diagnostic {
        load::Diagnostic::Error(_) => Severity::Error,
        _ => Severity::Warning,
    };
    output::stderr_line(severity, diagnostic)
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct Report {
    /// One item per IngressRoute of the served class, by namespace then name.
    pub items: Vec<Item>,
    /// The IngressRoutes of the served class that do not decode even leniently: they
    /// take no part in the build, and their status is `invalid` with this description
    /// (`cannot decode the IngressRoute: <field>: <reason>`). They are among `items` too.
    pub undecodable: Vec<(ObjectRef, String)>,
    /// What to say on standard error, in the order the objects were loaded (ingress
    /// class notes last).
    pub diagnostics: Vec<Diagnostic>,
    /// How the check ended, not counting load errors (see [`run`]).
    pub outcome: Outcome,
}

/// Checks loaded manifests: validates IngressRoutes and TLSCertificateDelegations
/// against the CRD schema, builds the DAG with `config` and collects every
/// IngressRoute's status.
///
/// The outcome is [`Outcome::Invalid`] if any IngressRoute is not valid or any object is
/// rejected by the schema, else [`Outcome::Valid`]; load errors are the caller's to add.
#[must_use]
pub fn check(loaded: &Loaded, config: &Config) -> Report {
    let mut pipeline = Pipeline::new(config.clone(), EnvoyConfig::default());
    feed(&mut pipeline, loaded);
    let dag = pipeline.build();
    report(loaded, &dag, pipeline.store(), Schema::Validate)
}

/// Whether [`report`] validates objects against the CRD schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Validate every IngressRoute and TLSCertificateDelegation.
    Validate,
    /// The caller validated them already (`serve` does it once per file version, not
    /// on every rebuild): no schema diagnostics.
    AlreadyValidated,
}

/// Schema diagnostics of one manifest: what the API server would reject (the CRD
/// schema, names), and unknown fields.
#[must_use]
pub fn schema_diagnostics(manifest: &Manifest) -> Vec<Diagnostic> {
    let object = manifest.object.object_ref();
    let kind = manifest.object.kind();
    let location = &manifest.location;
    manifest
        .findings
        .iter()
        .cloned()
        .map(|finding| match finding.kind {
            FindingKind::UnknownField => Diagnostic::UnknownField {
                location: location.clone(),
                kind,
                object: object.clone(),
                finding,
            },
            _ => Diagnostic::Rejected {
                location: location.clone(),
                kind,
                object: object.clone(),
                finding,
            },
        })
        .collect()
}

/// The object a manifest gives the pipeline, as a cluster would hold it: `None` for an
/// object the API server would refuse, except an IngressRoute, which takes part in the
/// build (never served, its status says why) or, when it does not decode at all, gets a
/// status of its own.
#[must_use]
pub fn pipeline_object(manifest: &Manifest) -> Option<pipeline::Object> {
    Some(match &manifest.object {
        Object::IngressRoute(route) => match manifest.rejection() {
            Some(description) => pipeline::Object::RejectedIngressRoute {
                route: Arc::clone(route),
                description,
            },
            None => pipeline::Object::IngressRoute(Arc::clone(route)),
        },
        Object::Undecodable(route) => {
            let metadata = ObjectMeta {
                name: Some(route.object.name.clone()),
                namespace: Some(route.object.namespace.clone()),
                annotations: route.class.as_ref().and_then(|class| {
                    let key = INGRESS_CLASS_ANNOTATIONS.first()?;
                    Some([((*key).to_owned(), class.clone())].into())
                }),
                ..ObjectMeta::default()
            };
            pipeline::Object::Undecodable(Arc::new(pipeline::Undecodable::new(
                pipeline::Kind::IngressRoute,
                metadata,
                None,
                route.error.clone(),
            )))
        }
        // Any other object the API server would reject does not exist.
        _ if manifest.rejected() => return None,
        Object::TlsCertificateDelegation(delegation) => pipeline::Object::Delegation(Arc::clone(delegation)),
        Object::Service(service) => pipeline::Object::Service(Arc::clone(service)),
        Object::Secret(secret) => pipeline::Object::Secret(Arc::clone(secret)),
        Object::Endpoints(endpoints) => pipeline::Object::from_endpoints(endpoints),
    })
}

/// Gives `pipeline` exactly the objects of `loaded` (as one relist: what it held before
/// and `loaded` does not is gone); returns what that calls for.
pub fn feed(pipeline: &mut Pipeline, loaded: &Loaded) -> pipeline::Effect {
    let objects = loaded.manifests().iter().filter_map(pipeline_object);
    let mut effect = pipeline::Effect::default();
    for event in pipeline::Event::relist(objects) {
        pipeline.apply_into(event, &mut effect);
    }
    effect
}

/// What `check` reports about `loaded`, given the DAG built from it (by a pipeline fed
/// [`feed`]) and the pipeline's store: every IngressRoute's status, and the diagnostics
/// (the CRD schema's with [`Schema::Validate`]).
#[must_use]
pub fn report(loaded: &Loaded, dag: &Dag, store: &pipeline::Store, schema: Schema) -> Report {
    build_report(loaded, dag, store, schema, Items::Listed)
}

/// The diagnostics of [`report`] alone, without listing every IngressRoute: what `serve`
/// logs after each rebuild. At 10,000 virtual hosts, listing them was most of the work.
#[must_use]
pub fn diagnostics(loaded: &Loaded, dag: &Dag, store: &pipeline::Store, schema: Schema) -> Vec<Diagnostic> {
    build_report(loaded, dag, store, schema, Items::Left).diagnostics
}

/// Whether a report lists every IngressRoute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Items {
    Listed,
    Left,
}

fn build_report(loaded: &Loaded, dag: &Dag, store: &pipeline::Store, schema: Schema, listing: Items) -> Report {
    let served = store.ingress_class();
    let mut diagnostics = Vec::new();
    let mut fqdns: BTreeMap<ObjectRef, String> = BTreeMap::new();
    let mut classes: BTreeMap<ObjectRef, (String, Location)> = BTreeMap::new();
    let mut rejections: BTreeMap<ObjectRef, Vec<Rejection>> = BTreeMap::new();
    let mut undecodable: BTreeMap<ObjectRef, String> = BTreeMap::new();

    for manifest in loaded.manifests() {
        // Most manifests need no reference to their object (one clones two strings).
        let object = || manifest.object.object_ref();
        if schema == Schema::Validate {
            for diagnostic in schema_diagnostics(manifest) {
                if let Diagnostic::Rejected {
                    kind: Kind::IngressRoute,
                    object,
                    finding,
                    ..
                } = &diagnostic
                {
                    rejections.entry(object.clone()).or_default().push(Rejection {
                        field: finding.path.clone(),
                        message: finding.message.clone(),
                    });
                }
                diagnostics.push(diagnostic);
            }
        }

        match &manifest.object {
            Object::IngressRoute(route) => {
                if listing == Items::Listed
                    && let Some(virtualhost) = &route.spec.virtualhost
                {
                    fqdns.insert(object(), virtualhost.fqdn.clone());
                }
                if let Some(class) = ingress_class(route) {
                    classes.insert(object(), (class.to_owned(), manifest.location.clone()));
                }
            }
            Object::Undecodable(route) => match store.undecodable_routes().get(&object()) {
                Some(stored) => {
                    undecodable.insert(object(), stored.description());
                }
                None => diagnostics.push(Diagnostic::IgnoredIngressClass {
                    location: manifest.location.clone(),
                    object: object(),
                    class: route.class.clone().unwrap_or_default(),
                    served: served.to_owned(),
                }),
            },
            _ if manifest.rejected() => {}
            Object::Secret(_) => {
                let object = object();
                if let Some(error) = store.unusable_secret(&object) {
                    diagnostics.push(Diagnostic::SecretNotUsable {
                        location: manifest.location.clone(),
                        object,
                        error: error.clone(),
                    });
                }
            }
            // Endpoints do not change statuses; they are loaded for `render` and `serve`.
            _ => {}
        }
    }

    let statuses = dag.statuses();
    for (object, (class, location)) in classes {
        if !statuses.contains_key(&object) {
            diagnostics.push(Diagnostic::IgnoredIngressClass {
                location,
                object,
                class,
                served: served.to_owned(),
            });
        }
    }
    if statuses.is_empty() && undecodable.is_empty() {
        diagnostics.push(Diagnostic::NoIngressRoutes);
    }

    let mut items: BTreeMap<&ObjectRef, Item> = statuses
        .iter()
        .filter(|_| listing == Items::Listed)
        .map(|(object, status)| {
            let item = Item::ingress_route(
                &object.namespace,
                &object.name,
                fqdns.get(object).map(String::as_str),
                status.current_status.as_str(),
                &status.description,
            )
            .with_rejections(rejections.remove(object).unwrap_or_default());
            (object, item)
        })
        .collect();
    for (object, description) in undecodable.iter().filter(|_| listing == Items::Listed) {
        let item = Item::ingress_route(
            &object.namespace,
            &object.name,
            None,
            CurrentStatus::Invalid.as_str(),
            description,
        );
        items.insert(object, item);
    }
    let failed = !undecodable.is_empty()
        || statuses.values().any(|s| s.current_status != CurrentStatus::Valid)
        || diagnostics.iter().any(Diagnostic::fails);
    Report {
        items: items.into_values().collect(),
        undecodable: undecodable.into_iter().collect(),
        diagnostics,
        outcome: if failed { Outcome::Invalid } else { Outcome::Valid },
    }
}

/// The ingress class an IngressRoute is annotated with: the first class annotation
/// present decides, as in the DAG; `None` when it has none or an empty one.
fn ingress_class(route: &IngressRoute) -> Option<&str> {
    let annotations = route.metadata.annotations.as_ref()?;
    INGRESS_CLASS_ANNOTATIONS
        .iter()
        .find_map(|key| annotations.get(*key))
        .map(String::as_str)
        .filter(|class| !class.is_empty())
}

/// `diagnostics` as lines for standard error; without "no IngressRoutes found" when
/// the input had errors (nothing was found because something could not be read).
pub(crate) fn stderr_lines(diagnostics: &[Diagnostic], load_errors: bool) -> impl Iterator<Item = String> + '_ {
    diagnostics
        .iter()
        .filter(move |d| !(load_errors && matches!(d, Diagnostic::NoIngressRoutes)))
        .map(|d| output::stderr_line(d.severity(), d))
}

/// Why `check` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The result could not be rendered.
    #[error("cannot render the result")]
    Render(#[source] output::Error),
    /// Standard output or standard error could not be written.
    #[error("cannot write the result")]
    Write(#[source] io::Error),
}

/// Runs `ingressroute check`: loads `args.paths` (reading `stdin` for `-`), checks them,
/// prints the result on `stdout` and every error and warning, one per line, on `stderr`.
///
/// Each line on `stderr` starts with `error:` or `warning:` and names the file, the
/// document and its line, and the object where there is one; control characters are
/// escaped. "no IngressRoutes found" is left out when some input could not be read: the
/// error says why already.
///
/// # Errors
///
/// [`Error::Write`] when `stdout` or `stderr` cannot be written, [`Error::Render`] when
/// the result cannot be serialised. Problems with the input are not errors: they are
/// reported on `stderr` and give [`Outcome::InputError`].
pub fn run(
    args: &CheckArgs,
    stdin: impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> Result<Outcome, Error> {
    let loaded = load_reporting(&args.input.paths, stdin, stderr).map_err(Error::Write)?;
    let report = check(&loaded, &args.input.config());
    for line in stderr_lines(&report.diagnostics, loaded.has_errors()) {
        writeln!(stderr, "{line}").map_err(Error::Write)?;
    }
    let text = output::render(args.output, &report.items).map_err(Error::Render)?;
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Write)?;
    Ok(if loaded.has_errors() {
        Outcome::InputError
    } else {
        report.outcome
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn loaded(text: &str) -> Loaded {
        let mut loaded = Loaded::new();
        loaded.add_str(Path::new("test.yaml"), text);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
        loaded
    }

    const ROOT: &str = "\
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, annotations: {kubernetes.io/ingress.class: \"\"}}
spec:
  virtualhost: {fqdn: root.example.com}
  routes: [{match: /, services: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
";

    #[test]
    fn a_valid_root_gives_one_valid_item_and_outcome_0() {
        let report = check(&loaded(ROOT), &Config::default());
        assert_eq!(
            report.items,
            [Item::ingress_route(
                "default",
                "root",
                Some("root.example.com"),
                "valid",
                "valid IngressRoute"
            )]
        );
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        assert_eq!(report.outcome, Outcome::Valid);
        assert_eq!(report.outcome.code(), 0);
    }

    #[test]
    fn a_schema_rejection_fails_a_valid_object() {
        // `strategy` is an enum in the schema; the DAG ignores unknown strategies.
        let text = ROOT.replace("port: 80}]}]", "port: 80, strategy: Fastest}]}]");
        let report = check(&loaded(&text), &Config::default());
        // Never served: its status says why.
        assert_eq!(report.items[0].status.current_status, "invalid");
        assert!(
            report.items[0]
                .status
                .description
                .starts_with("the API server would reject this IngressRoute: spec.routes[0].services[0].strategy: "),
            "{:?}",
            report.items[0]
        );
        assert!(
            matches!(report.diagnostics.as_slice(), [Diagnostic::Rejected { .. }]),
            "{:?}",
            report.diagnostics
        );
        let line = report.diagnostics[0].to_string();
        assert!(
            line.starts_with(
                "test.yaml: document 1 (line 1): IngressRoute default/root: spec.routes[0].services[0].strategy: "
            ),
            "{line}"
        );
        assert_eq!(report.outcome, Outcome::Invalid);
        assert_eq!(report.diagnostics[0].severity(), Severity::Error);
    }

    #[test]
    fn an_ingress_route_item_carries_its_fqdn_and_its_rejections() {
        let text = ROOT.replace("port: 80}]}]", "port: 80, strategy: Fastest}]}]");
        let report = check(&loaded(&text), &Config::default());
        let item = &report.items[0];
        assert_eq!(item.fqdn.as_deref(), Some("root.example.com"));
        assert_eq!(item.rejections.len(), 1);
        assert_eq!(item.rejections[0].field, "spec.routes[0].services[0].strategy");
        assert!(!item.rejections[0].message.is_empty());

        let child = "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {name: child}\nspec: {routes: [{match: /}]}\n";
        let report = check(&loaded(child), &Config::default());
        assert_eq!(report.items[0].fqdn, None, "not a root");
        assert!(report.items[0].rejections.is_empty());
    }

    #[test]
    fn no_ingress_routes_is_not_said_when_the_input_had_errors() {
        let diagnostics = [Diagnostic::NoIngressRoutes];
        assert_eq!(
            stderr_lines(&diagnostics, false).collect::<Vec<_>>(),
            ["warning: no IngressRoutes found"]
        );
        assert_eq!(stderr_lines(&diagnostics, true).count(), 0);
    }

    /// The status of every IngressRoute, by name.
    fn statuses(report: &Report) -> Vec<(String, String, String)> {
        report
            .items
            .iter()
            .map(|item| {
                (
                    item.name.clone(),
                    item.status.current_status.clone(),
                    item.status.description.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn each_ingress_route_the_api_server_would_reject_gets_contours_status_or_says_why_and_the_others_are_valid() {
        let route = |name: &str, spec: &str| {
            format!(
                "---\napiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {{name: {name}}}\nspec: {spec}\n"
            )
        };
        let text = [
            ROOT.to_owned(),
            route("no-fqdn", "{virtualhost: {}, routes: [{match: /, services: [{name: web, port: 80}]}]}"),
            route("no-match", "{virtualhost: {fqdn: m.example.com}, routes: [{services: [{name: web, port: 80}]}]}"),
            route("no-port", "{virtualhost: {fqdn: p.example.com}, routes: [{match: /, services: [{name: web}]}]}"),
            route("eighty", "{virtualhost: {fqdn: e.example.com}, routes: [{match: /, services: [{name: web, port: eighty}]}]}"),
            route("negative", "{virtualhost: {fqdn: n.example.com}, routes: [{match: /, services: [{name: web, port: 80, weight: -1}]}]}"),
            route("both", "{virtualhost: {fqdn: b.example.com}, routes: [{match: /, services: [{name: web, port: 80}], delegate: {name: x}}]}"),
        ]
        .concat();
        let report = check(&loaded(&text), &Config::default());
        let invalid = |name: &str, description: &str| (name.to_owned(), "invalid".to_owned(), description.to_owned());
        assert_eq!(
            statuses(&report),
            [
                invalid(
                    "both",
                    "route \"/\": cannot specify services and delegate in the same route"
                ),
                invalid(
                    "eighty",
                    "cannot decode the IngressRoute: spec.routes[0].services[0].port: invalid type: string \"eighty\", expected i64"
                ),
                invalid(
                    "negative",
                    "route \"/\": service \"web\": weight must be greater than or equal to zero"
                ),
                invalid("no-fqdn", "Spec.VirtualHost.Fqdn must be specified"),
                invalid(
                    "no-match",
                    "cannot decode the IngressRoute: spec.routes[0].match: is required"
                ),
                invalid(
                    "no-port",
                    "route \"/\": service \"web\": port must be in the range 1-65535"
                ),
                ("root".to_owned(), "valid".to_owned(), "valid IngressRoute".to_owned()),
            ]
        );
        assert_eq!(report.outcome, Outcome::Invalid);
        let rejected: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.fails())
            .map(ToString::to_string)
            .collect();
        for name in ["both", "eighty", "negative", "no-fqdn", "no-match", "no-port"] {
            assert!(
                rejected
                    .iter()
                    .any(|d| d.contains(&format!("IngressRoute default/{name}: "))),
                "{name}: {rejected:#?}"
            );
        }
    }

    #[test]
    fn objects_with_names_the_api_server_refuses_do_not_exist() {
        let text = ROOT.replace("metadata: {name: web}", "metadata: {name: Web}");
        let report = check(&loaded(&text), &Config::default());
        assert_eq!(
            statuses(&report),
            [(
                "root".to_owned(),
                "invalid".to_owned(),
                "Service [web:80] is invalid or missing".to_owned()
            )]
        );
        assert_eq!(
            report.diagnostics[0].to_string(),
            "test.yaml: document 2 (line 8): Service default/Web: metadata.name: \"Web\" is not a DNS-1035 label: it must consist of lowercase alphanumeric characters or '-', start with a lowercase letter and end with an alphanumeric character (e.g. 'my-name' or 'abc-123') (the API server would reject this object)"
        );
        let text = ROOT.replace("metadata: {name: root,", "metadata: {name: Root,");
        let report = check(&loaded(&text), &Config::default());
        assert_eq!(report.items[0].status.current_status, "invalid");
        assert!(
            report.items[0]
                .status
                .description
                .starts_with("the API server would reject this IngressRoute: metadata.name: \"Root\" is not a lowercase RFC 1123 subdomain"),
            "{:?}",
            report.items[0]
        );
        assert_eq!(report.outcome, Outcome::Invalid);
    }

    #[test]
    fn an_empty_class_annotation_is_served_by_every_class() {
        let mut config = Config::default();
        config.ingress_class = "other".into();
        let report = check(&loaded(ROOT), &config);
        assert_eq!(report.items.len(), 1);
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    }

    #[test]
    fn nothing_to_check_is_not_a_failure() {
        let report = check(&Loaded::new(), &Config::default());
        assert!(report.items.is_empty());
        assert!(matches!(report.diagnostics.as_slice(), [Diagnostic::NoIngressRoutes]));
        assert_eq!(report.outcome, Outcome::Valid);
    }

    #[test]
    fn exit_codes_are_0_1_and_2() {
        assert_eq!(
            [Outcome::Valid, Outcome::Invalid, Outcome::InputError].map(Outcome::code),
            [0, 1, 2]
        );
        assert!(Outcome::InputError > Outcome::Invalid, "2 wins over 1");
    }
}
