//! `ingressroute render`: the Envoy v3 resources an xDS server would serve for the given
//! manifests, as proto3 JSON, without a cluster or an Envoy.
//!
//! ```text
//!  Loaded manifests ──check::feed (one list)──▶ Pipeline::rebuild ──▶ Dag + Resources
//!         │                                              (build, translate with the
//!         │                                               v1 Endpoints; default EnvoyConfig)
//!         ▼                                                         │
//!  check::report: diagnostics and non-valid statuses (stderr)       ▼
//!                                               json::typed_resources (redacted
//!                                               unless --show-secrets) ──▶ stdout
//! ```
//!
//! [`render`] is pure (loaded manifests in, a [`Rendered`] out); [`run`] does the I/O.
//!
//! Exit codes: 0 when the resources were rendered, even if some IngressRoutes are not
//! valid or the API server would reject an object (both are reported on stderr: an
//! invalid IngressRoute simply contributes nothing, as it would in a cluster); 2 when some
//! input cannot be read or parsed, in which case **nothing** is printed on stdout, since
//! a configuration missing the unreadable objects' routes must not be mistaken for the
//! real one.

use std::fmt;
use std::io::{self, Read, Write};

use ingressroute_dag::{Config, CurrentStatus, ObjectRef};
use ingressroute_envoy::EnvoyConfig;
use ingressroute_envoy::json::{self, JsonError, Secrets, TypedResources};
use ingressroute_pipeline::Pipeline;

use crate::check::{self, Diagnostic, InputArgs, Outcome};
use crate::load::{Loaded, Location};
use crate::output::{self, Severity};

/// The arguments of `ingressroute render`.
#[derive(Debug, Clone, clap::Args)]
pub struct RenderArgs {
    /// What to read, and the DAG settings.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = RenderFormat::Json)]
    pub output: RenderFormat,

    /// Print private keys as they are instead of `[redacted]`.
    #[arg(long)]
    pub show_secrets: bool,
}

impl RenderArgs {
    /// Whether secrets are shown.
    #[must_use]
    pub fn secrets(&self) -> Secrets {
        if self.show_secrets {
            Secrets::Shown
        } else {
            Secrets::Redacted
        }
    }
}

/// How `render` prints the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum RenderFormat {
    /// One JSON object, pretty-printed.
    #[default]
    Json,
    /// The same object as YAML.
    Yaml,
}

/// An IngressRoute whose status is not `valid`: it serves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotValid {
    /// Where the IngressRoute is; `None` only for an object that did not come from the
    /// loaded manifests.
    pub location: Option<Location>,
    /// The IngressRoute.
    pub object: ObjectRef,
    /// Its status, `invalid` or `orphaned`.
    pub status: CurrentStatus,
    /// Its status description.
    pub description: String,
}

impl fmt::Display for NotValid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(
            f,
            "IngressRoute {}: {}, not rendered: {}",
            self.object,
            self.status.as_str(),
            self.description
        )
    }
}

/// What rendering produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rendered {
    /// The resources, one list per kind, each resource with its `@type`.
    pub resources: TypedResources,
    /// What `check` would report on standard error (schema rejections, unusable Secrets,
    /// ...), in the same order.
    pub diagnostics: Vec<Diagnostic>,
    /// Every IngressRoute that is not valid, by namespace then name.
    pub not_valid: Vec<NotValid>,
}

/// Why `render` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A resource could not be converted to JSON (a bug: every type we produce is known).
    #[error("cannot convert the resources to JSON")]
    Json(#[source] JsonError),
    /// The result could not be serialised as JSON.
    #[error("cannot render JSON")]
    Serialize(#[source] serde_json::Error),
    /// The result could not be serialised as YAML.
    #[error("cannot render YAML")]
    Yaml(#[source] serde_saphyr::SerializeError),
    /// Standard output or standard error could not be written.
    #[error("cannot write the result")]
    Write(#[source] io::Error),
}

/// Renders loaded manifests: checks them and builds the DAG as `check` does (with
/// `config`), translates it with the v1 Endpoints among them into Envoy resources (with
/// `envoy`), and converts those to JSON, with private keys redacted unless `secrets` is
/// [`Secrets::Shown`]. Load errors are the caller's to handle.
///
/// # Errors
///
/// [`Error::Json`] if a resource cannot be converted, which would be a bug.
pub fn render(loaded: &Loaded, config: &Config, envoy: &EnvoyConfig, secrets: Secrets) -> Result<Rendered, Error> {
    let mut pipeline = Pipeline::new(config.clone(), envoy.clone());
    check::feed(&mut pipeline, loaded);
    // The DAG, and its translation as Envoy messages (not the incremental encoded form).
    let dag = pipeline.build();
    let resources = pipeline.translate_all().unwrap_or_default();
    let report = check::report(loaded, &dag, pipeline.store(), check::Schema::Validate);
    let locations = loaded.ingress_route_locations();
    let not_valid: Vec<NotValid> = pipeline
        .statuses()
        .into_iter()
        .filter(|(_, (status, _))| *status != CurrentStatus::Valid)
        .map(|(object, (status, description))| NotValid {
            location: locations.get(&object).map(|location| (*location).clone()),
            object,
            status,
            description,
        })
        .collect();
    Ok(Rendered {
        resources: json::typed_resources(&resources, secrets).map_err(Error::Json)?,
        diagnostics: report.diagnostics,
        not_valid,
    })
}

/// The resources as text in `format`, ending with a newline.
///
/// # Errors
///
/// [`Error::Serialize`] or [`Error::Yaml`] if serialisation fails, which JSON values
/// never make it do.
pub fn format(resources: &TypedResources, format: RenderFormat) -> Result<String, Error> {
    match format {
        RenderFormat::Json => {
            let mut text = serde_json::to_string_pretty(resources).map_err(Error::Serialize)?;
            text.push('\n');
            Ok(text)
        }
        RenderFormat::Yaml => serde_saphyr::to_string(resources).map_err(Error::Yaml),
    }
}

/// Runs `ingressroute render`: loads `args.input.paths` (reading `stdin` for `-`),
/// prints the Envoy resources on `stdout` and every error, warning and non-valid
/// IngressRoute, one per line, on `stderr` (each line starts with `error:` or
/// `warning:`, as `check`'s do).
///
/// # Errors
///
/// [`Error::Write`] when `stdout` or `stderr` cannot be written. Problems with the input
/// are not errors: they are reported on `stderr` and give [`Outcome::InputError`], with
/// nothing on `stdout`.
pub fn run(
    args: &RenderArgs,
    stdin: impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> Result<Outcome, Error> {
    let Some(loaded) =
        check::load_or_refuse(&args.input.paths, stdin, stderr, "nothing rendered").map_err(Error::Write)?
    else {
        return Ok(Outcome::InputError);
    };
    let rendered = render(&loaded, &args.input.config(), &EnvoyConfig::default(), args.secrets())?;
    // Warnings all: nothing here fails the render (what the API server would reject
    // included, unlike `check`).
    for diagnostic in &rendered.diagnostics {
        writeln!(stderr, "{}", output::stderr_line(Severity::Warning, diagnostic)).map_err(Error::Write)?;
    }
    for not_valid in &rendered.not_valid {
        writeln!(stderr, "{}", output::stderr_line(Severity::Warning, not_valid)).map_err(Error::Write)?;
    }
    let text = format(&rendered.resources, args.output)?;
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Write)?;
    Ok(Outcome::Valid)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const ROOT: &str = "\
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {name: root, namespace: default}
spec:
  virtualhost: {fqdn: root.example.com}
  routes: [{match: /, services: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: http, port: 8080}]}]
";

    fn loaded(text: &str) -> Loaded {
        let mut loaded = Loaded::new();
        loaded.add_str(Path::new("test.yaml"), text);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics());
        loaded
    }

    fn rendered(text: &str) -> Rendered {
        render(
            &loaded(text),
            &Config::default(),
            &EnvoyConfig::default(),
            Secrets::Redacted,
        )
        .unwrap()
    }

    #[test]
    fn a_valid_root_renders_a_listener_a_route_a_cluster_and_its_endpoints() {
        let rendered = rendered(ROOT);
        let r = &rendered.resources;
        assert_eq!(r.listeners.len(), 1);
        assert_eq!(r.listeners[0]["name"], "ingress_http");
        assert_eq!(r.routes[0]["virtual_hosts"][0]["domains"][0], "root.example.com");
        assert_eq!(r.clusters[0]["name"], "default/web/80/da39a3ee5e");
        assert_eq!(r.endpoints[0]["cluster_name"], "default/web/http");
        assert_eq!(
            r.endpoints[0]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"],
            8080
        );
        assert!(r.secrets.is_empty());
        assert!(rendered.diagnostics.is_empty(), "{:?}", rendered.diagnostics);
        assert!(rendered.not_valid.is_empty());
    }

    #[test]
    fn a_non_valid_ingress_route_is_listed_and_serves_nothing() {
        let text = ROOT.replace("name: web, port: 80}]}]", "name: nothere, port: 80}]}]");
        let rendered = rendered(&text);
        assert_eq!(rendered.not_valid.len(), 1);
        assert_eq!(
            rendered.not_valid[0].to_string(),
            "test.yaml: document 1 (line 1): IngressRoute default/root: invalid, not rendered: \
             Service [nothere:80] is invalid or missing"
        );
        assert!(rendered.resources.listeners.is_empty());
        assert!(rendered.resources.clusters.is_empty());
    }

    #[test]
    fn yaml_and_json_hold_the_same_object() {
        let resources = rendered(ROOT).resources;
        let json: serde_json::Value = serde_json::from_str(&format(&resources, RenderFormat::Json).unwrap()).unwrap();
        let yaml: serde_json::Value = serde_saphyr::from_str(&format(&resources, RenderFormat::Yaml).unwrap()).unwrap();
        assert_eq!(json, yaml);
        assert!(format(&resources, RenderFormat::Json).unwrap().ends_with("}\n"));
    }

    #[test]
    fn render_without_objects_prints_empty_lists() {
        let rendered = render(
            &Loaded::new(),
            &Config::default(),
            &EnvoyConfig::default(),
            Secrets::Redacted,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&rendered.resources).unwrap(),
            r#"{"listeners":[],"scoped_routes":[],"routes":[],"clusters":[],"endpoints":[],"secrets":[]}"#
        );
        assert!(matches!(rendered.diagnostics.as_slice(), [Diagnostic::NoIngressRoutes]));
    }
}
