//! `ingressroute convert`: migrate IngressRoutes out, to what replaced them.
//!
//! ```text
//!  Loaded manifests ──check::feed──▶ Pipeline::build ──▶ Dag (statuses, delegation graph)
//!         │                                                 │
//!         ▼                                                 ▼
//!  Source { IngressRoutes, Services, TLSCertificateDelegations, Dag }
//!         │
//!         ├── --to httpproxy ──▶ httpproxy::convert ──▶ HTTPProxy + TLSCertificateDelegation
//!         │                                              (projectcontour.io/v1), warnings
//!         └── --to gateway-api ─▶ gateway::convert ───▶ Gateway, HTTPRoute, TLSRoute,
//!                                                        BackendTLSPolicy, ReferenceGrant
//!                                                        (gateway.networking.k8s.io/v1), warnings
//! ```
//!
//! The conversion sees the whole delegation tree, so it knows the prefix every child is
//! delegated at (Contour's one-object-at-a-time `ir2proxy` has to guess it), and which
//! objects are invalid or orphaned (they are not converted, and a warning quotes their
//! status). What the target cannot say is a [`Warning`] naming the object and the field.
//!
//! [`convert`] is pure (loaded manifests in, a [`Conversion`] out); [`run`] does the I/O.
//!
//! Exit codes: 0 when everything converted exactly; 1 when something needs a person (a
//! warning, an IngressRoute not converted, an object the API server would reject); 2 when
//! some input cannot be read or parsed, in which case nothing is printed.

pub mod contour_v1;
pub mod gateway;
pub mod httpproxy;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};

use ingressroute_api::{IngressRoute, TLSCertificateDelegation};
use ingressroute_dag::quote::go_quote;
use ingressroute_dag::{Dag, K8sService, ObjectRef};
use ingressroute_envoy::EnvoyConfig;
use ingressroute_pipeline::Pipeline;
use serde::Serialize;

use crate::check::{self, Diagnostic, InputArgs, Outcome};
use crate::load::{Loaded, Object};
use crate::output::{self, Severity};

/// What `convert` converts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum Target {
    /// Contour's HTTPProxy and TLSCertificateDelegation (`projectcontour.io/v1`).
    Httpproxy,
    /// Gateway API (`gateway.networking.k8s.io/v1`): Gateway, HTTPRoute, TLSRoute,
    /// BackendTLSPolicy, ReferenceGrant.
    GatewayApi,
}

/// How `convert` prints the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum ConvertFormat {
    /// One YAML document per object, separated by `---`.
    #[default]
    Yaml,
    /// A `kind: List` of the objects, pretty-printed JSON.
    Json,
}

/// The arguments of `ingressroute convert`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// What to read, and the DAG settings.
    #[command(flatten)]
    pub input: InputArgs,

    /// What to convert to.
    #[arg(long, value_enum)]
    pub to: Target,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ConvertFormat::Yaml)]
    pub output: ConvertFormat,

    /// `--to gateway-api`: attach the routes to this existing Gateway instead of writing
    /// one (`ingressroute/ingressroute`).
    #[arg(long, value_name = "NAMESPACE/NAME", value_parser = parse_gateway)]
    pub gateway: Option<ObjectRef>,

    /// `--to gateway-api`: `gatewayClassName` of the Gateway written (default
    /// `contour`).
    #[arg(long, value_name = "NAME")]
    pub gateway_class: Option<String>,
}

/// `gatewayClassName` of the Gateway written when `--gateway-class` is not given.
pub const DEFAULT_GATEWAY_CLASS: &str = "contour";

/// The Gateway written when `--gateway` does not name one.
pub const DEFAULT_GATEWAY: (&str, &str) = ("ingressroute", "ingressroute");

impl ConvertArgs {
    /// The Gateway API options these arguments ask for.
    #[must_use]
    pub fn gateway_options(&self) -> gateway::Options {
        let class = self.gateway_class.as_deref().unwrap_or(DEFAULT_GATEWAY_CLASS);
        match &self.gateway {
            Some(existing) => gateway::Options::new(existing.clone(), true, class),
            None => gateway::Options::new(ObjectRef::new(DEFAULT_GATEWAY.0, DEFAULT_GATEWAY.1), false, class),
        }
    }
}

/// `NAMESPACE/NAME`, both non-empty.
fn parse_gateway(value: &str) -> Result<ObjectRef, String> {
    match value.split_once('/') {
        Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(ObjectRef::new(namespace, name))
        }
        _ => Err(format!("{value:?} is not NAMESPACE/NAME")),
    }
}

/// The converted objects of one target.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Objects {
    /// `--to httpproxy`.
    HttpProxy(Vec<contour_v1::Object>),
    /// `--to gateway-api`.
    GatewayApi(Vec<gateway::Object>),
}

impl Objects {
    /// The objects as text in `output` (see [`format()`]).
    ///
    /// # Errors
    ///
    /// As [`format()`].
    pub fn format(&self, output: ConvertFormat) -> Result<String, Error> {
        match self {
            Self::HttpProxy(objects) => format(objects, output),
            Self::GatewayApi(objects) => format(objects, output),
        }
    }
}

/// Something a person has to look at: a field the target cannot say, a difference in
/// behaviour, an object not converted.
///
/// Displayed as `default/app: spec.routes[2].healthCheck: ...` (without the field when
/// it is about the whole object).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Warning {
    /// The object it is about: the source IngressRoute (or, for `--to gateway-api`, the
    /// Gateway written).
    pub object: ObjectRef,
    /// The field of the source object, e.g. `spec.routes[2].healthCheck`; empty for the
    /// object itself.
    pub field: String,
    /// What is wrong, and what the output does about it.
    pub message: String,
}

impl Warning {
    /// A warning about `field` of `object`.
    #[must_use]
    pub fn new(object: &ObjectRef, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            object: object.clone(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(f, "{}: {}: {}", self.object, self.field, self.message)
        }
    }
}

/// The Service annotations of circuit-breaker limits under the old prefix.
const LEGACY_CIRCUIT_BREAKERS: [&str; 4] = [
    "contour.heptio.com/max-connections",
    "contour.heptio.com/max-pending-requests",
    "contour.heptio.com/max-requests",
    "contour.heptio.com/max-retries",
];

/// What the conversion reads: the DAG of a build and the objects it was built from.
#[derive(Debug)]
pub struct Source<'a> {
    /// The build: statuses and the delegation graph.
    pub dag: &'a Dag,
    /// Every decoded IngressRoute the build saw, by namespace and name.
    pub routes: BTreeMap<ObjectRef, &'a IngressRoute>,
    /// Every Service, as routing sees it (its upstream protocols among them).
    pub services: BTreeMap<ObjectRef, K8sService>,
    /// The `contour.heptio.com/max-*` circuit-breaker annotations of each Service that has
    /// any: later Contours read only their `projectcontour.io/` twins.
    pub legacy_annotations: BTreeMap<ObjectRef, Vec<String>>,
    /// Every TLSCertificateDelegation the API server would accept, by namespace and
    /// name.
    pub delegations: BTreeMap<ObjectRef, &'a TLSCertificateDelegation>,
}

impl<'a> Source<'a> {
    /// The source of `dag`, built from `loaded`: its IngressRoutes, its Services and the
    /// TLSCertificateDelegations the API server would accept.
    #[must_use]
    pub fn from_loaded(loaded: &'a Loaded, dag: &'a Dag) -> Self {
        let mut routes = BTreeMap::new();
        let mut services = BTreeMap::new();
        let mut legacy_annotations = BTreeMap::new();
        let mut delegations = BTreeMap::new();
        for manifest in loaded.manifests() {
            match &manifest.object {
                Object::IngressRoute(route) => {
                    routes.insert(manifest.object.object_ref(), route.as_ref());
                }
                _ if manifest.rejected() => {}
                Object::Service(service) => {
                    let legacy: Vec<String> = service
                        .metadata
                        .annotations
                        .iter()
                        .flatten()
                        .map(|(key, _)| key)
                        .filter(|key| LEGACY_CIRCUIT_BREAKERS.contains(&key.as_str()))
                        .cloned()
                        .collect();
                    if !legacy.is_empty() {
                        legacy_annotations.insert(manifest.object.object_ref(), legacy);
                    }
                    services.insert(manifest.object.object_ref(), K8sService::from_k8s(service));
                }
                Object::TlsCertificateDelegation(delegation) => {
                    delegations.insert(manifest.object.object_ref(), delegation.as_ref());
                }
                _ => {}
            }
        }
        Self {
            dag,
            routes,
            services,
            legacy_annotations,
            delegations,
        }
    }
}

/// What a conversion produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Conversion {
    /// The converted objects, sorted by kind, namespace and name.
    pub objects: Objects,
    /// What needs a person, by object, then in field order.
    pub warnings: Vec<Warning>,
    /// What `check` reports on standard error about the input.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the conversion is exact: no warning and no object the API server would
    /// reject.
    pub outcome: Outcome,
}

/// Why `convert` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The result could not be serialised as JSON.
    #[error("cannot render JSON")]
    Json(#[source] serde_json::Error),
    /// The result could not be serialised as YAML.
    #[error("cannot render YAML")]
    Yaml(#[source] serde_saphyr::SerializeError),
    /// Standard output or standard error could not be written.
    #[error("cannot write the result")]
    Write(#[source] io::Error),
}

/// Why an IngressRoute is not converted: its status and its description, quoted (every
/// target words it the same).
pub(crate) fn not_converted(status: impl fmt::Display, description: &str) -> String {
    format!("not converted: {status}: {}", go_quote(description))
}

/// Converts loaded manifests to `target` (with `gateway` for Gateway API): builds the DAG
/// as `check` does (with `input`'s DAG settings) and converts what is valid in it. Load
/// errors are the caller's to handle.
#[must_use]
pub fn convert(loaded: &Loaded, input: &InputArgs, target: Target, gateway: &gateway::Options) -> Conversion {
    let mut pipeline = Pipeline::new(input.config(), EnvoyConfig::default());
    check::feed(&mut pipeline, loaded);
    let dag = pipeline.build();
    let report = check::report(loaded, &dag, pipeline.store(), check::Schema::Validate);
    let source = Source::from_loaded(loaded, &dag);
    let (objects, mut warnings) = match target {
        Target::Httpproxy => {
            let (objects, warnings) = httpproxy::convert(&source);
            (Objects::HttpProxy(objects), warnings)
        }
        Target::GatewayApi => {
            let (objects, warnings) = gateway::convert(&source, gateway);
            (Objects::GatewayApi(objects), warnings)
        }
    };
    // IngressRoutes that do not decode take no part in the build, and are not converted.
    for (object, description) in &report.undecodable {
        warnings.push(Warning::new(object, "", not_converted("invalid", description)));
    }
    // By object; a stable sort keeps each object's warnings in field order.
    warnings.sort_by(|a, b| a.object.cmp(&b.object));
    let exact = warnings.is_empty() && !report.diagnostics.iter().any(Diagnostic::fails);
    Conversion {
        objects,
        warnings,
        diagnostics: report.diagnostics,
        outcome: if exact { Outcome::Valid } else { Outcome::Invalid },
    }
}

/// `kind: List` of `items`, as `kubectl get -o json` prints several objects.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
}

/// `objects` as text in `format`: YAML documents separated by `---`, or a JSON `List`;
/// ends with a newline (empty YAML when there is nothing).
///
/// # Errors
///
/// [`Error::Json`] or [`Error::Yaml`] if serialisation fails, which these types never
/// make it do.
pub fn format<T: Serialize>(objects: &[T], format: ConvertFormat) -> Result<String, Error> {
    match format {
        ConvertFormat::Json => {
            let list = List {
                api_version: "v1",
                kind: "List",
                items: objects,
            };
            let mut text = serde_json::to_string_pretty(&list).map_err(Error::Json)?;
            text.push('\n');
            Ok(text)
        }
        ConvertFormat::Yaml => {
            let mut text = String::new();
            for object in objects {
                text.push_str("---\n");
                text.push_str(&serde_saphyr::to_string(object).map_err(Error::Yaml)?);
            }
            Ok(text)
        }
    }
}

/// Runs `ingressroute convert`: loads `args.input.paths` (reading `stdin` for `-`),
/// prints the converted objects on `stdout`, and on `stderr` what `check` reports, then
/// one `warning:` line per object and field that needs a person.
///
/// # Errors
///
/// [`Error::Write`] when `stdout` or `stderr` cannot be written. Problems with the input
/// are not errors: they are reported on `stderr` and give [`Outcome::InputError`], with
/// nothing on `stdout`.
pub fn run(
    args: &ConvertArgs,
    stdin: impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> Result<Outcome, Error> {
    if args.to != Target::GatewayApi && (args.gateway.is_some() || args.gateway_class.is_some()) {
        writeln!(
            stderr,
            "{}",
            output::stderr_line(
                Severity::Error,
                &"--gateway and --gateway-class only apply to --to gateway-api"
            )
        )
        .map_err(Error::Write)?;
        return Ok(Outcome::InputError);
    }
    let Some(loaded) =
        check::load_or_refuse(&args.input.paths, stdin, stderr, "nothing converted").map_err(Error::Write)?
    else {
        return Ok(Outcome::InputError);
    };
    let conversion = convert(&loaded, &args.input, args.to, &args.gateway_options());
    for line in check::stderr_lines(&conversion.diagnostics, false) {
        writeln!(stderr, "{line}").map_err(Error::Write)?;
    }
    for warning in &conversion.warnings {
        writeln!(stderr, "{}", output::stderr_line(Severity::Warning, warning)).map_err(Error::Write)?;
    }
    let text = conversion.objects.format(args.output)?;
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Write)?;
    Ok(conversion.outcome)
}
