//! `ingressroute explain URL PATH...`: how Envoy would handle one request, read from the
//! translated Envoy resources (the same [`Resources`] `render` prints and `serve`
//! serves), with the IngressRoutes behind each step.
//!
//! ```text
//!  Loaded manifests ──check::feed──▶ Pipeline ──▶ Dag + statuses ─────────────┐
//!                                        │                                     │
//!                                        ▼ translate_all                       ▼
//!  URL ──request::parse──▶ envoy::trace(Resources): listener ─▶ filter chain ─▶ model:
//!                          (SNI) ─▶ scope / RDS ─▶ virtual host (Host) ─▶      root, chain,
//!                          first matching route ─▶ clusters ─▶ endpoints      Services, reasons
//!                                                                     │
//!                                                                     ▼
//!                                                      Explanation ──▶ text | json
//! ```
//!
//! Matching is Envoy's, done on Envoy's messages (module `envoy`); the DAG only names what
//! produced each message (module `model`), and says why nothing serves when Envoy finds
//! nothing (docs/decisions.md#d49). Exit codes: 0 proxied, redirected or TCP-proxied; 1 a
//! 404 or 503, or nothing answers (no listener, no filter chain); 2 input errors (a bad
//! URL, input that cannot be read).

mod envoy;
mod explanation;
mod model;
mod reasons;
mod request;
mod text;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use ingressroute_api::IngressRoute;
use ingressroute_dag::{Config, CurrentStatus, Dag, ObjectRef};
use ingressroute_envoy::envoy_types::pb::envoy::config::route::v3 as route_v3;
use ingressroute_envoy::{EnvoyConfig, Resources};
use ingressroute_pipeline::{Pipeline, Statuses};

pub use envoy::{HealthCheck, UpstreamTls};
pub use explanation::{
    ChainStep, ExplainOutcome, Explanation, ListenerStep, Retries, RouteStep, ServiceStep, VirtualHostStep,
};
pub use request::UrlError;

use crate::check::{self, InputArgs, Outcome};
use crate::load::{Loaded, Object};
use crate::output::{self, Severity};
use envoy::{Action, Missing, Trace};
use model::Model;
use request::{Request, Scheme};

/// The arguments of `ingressroute explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// The request: `http://HOST[:PORT]/PATH` (listener `ingress_http`) or
    /// `https://HOST[:PORT]/PATH` (listener `ingress_https`, the filter chain chosen by
    /// SNI, the host).
    #[arg(value_name = "URL")]
    pub url: String,

    /// What to read, and the DAG settings.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ExplainFormat::Text)]
    pub output: ExplainFormat,
}

/// How `explain` prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum ExplainFormat {
    /// Steps, one per line, for a person.
    #[default]
    Text,
    /// One JSON object with the keys documented in the README.
    Json,
}

/// Why `explain` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The result could not be serialised as JSON.
    #[error("cannot render JSON")]
    Serialize(#[source] serde_json::Error),
    /// Standard output or standard error could not be written.
    #[error("cannot write the result")]
    Write(#[source] io::Error),
}

/// One build of the manifests (the DAG, its statuses and its Envoy resources), ready to
/// explain any number of requests.
#[derive(Debug)]
pub struct Explainer {
    dag: Arc<Dag>,
    resources: Resources,
    statuses: Statuses,
    ingress_routes: BTreeMap<ObjectRef, Arc<IngressRoute>>,
    undecodable_fqdns: BTreeMap<ObjectRef, String>,
}

impl Explainer {
    /// Builds loaded manifests as `render` does (with `config` and `envoy_config`): the
    /// DAG, the statuses and the Envoy resources. Load errors are the caller's to
    /// handle.
    #[must_use]
    pub fn new(loaded: &Loaded, config: &Config, envoy_config: &EnvoyConfig) -> Self {
        let mut pipeline = Pipeline::new(config.clone(), envoy_config.clone());
        check::feed(&mut pipeline, loaded);
        let dag = pipeline.build();
        let resources = pipeline.translate_all().unwrap_or_default();
        let statuses = pipeline.statuses();
        // The IngressRoutes of the build: of the served class (those with a status); the
        // later of two with one name, as the loader says.
        let ingress_routes = loaded
            .manifests()
            .iter()
            .filter_map(|m| match &m.object {
                Object::IngressRoute(route) => Some((ObjectRef::from_meta(&route.metadata), Arc::clone(route))),
                _ => None,
            })
            .filter(|(object, _)| statuses.contains_key(object))
            .collect();
        // An IngressRoute that does not decode is known by the fqdn it was written with.
        let undecodable_fqdns = loaded
            .manifests()
            .iter()
            .filter_map(|m| match &m.object {
                Object::Undecodable(undecodable) if statuses.contains_key(&undecodable.object) => {
                    let fqdn = m.raw.pointer("/spec/virtualhost/fqdn")?.as_str()?;
                    Some((undecodable.object.clone(), fqdn.to_owned()))
                }
                _ => None,
            })
            .collect();
        Self {
            dag,
            resources,
            statuses,
            ingress_routes,
            undecodable_fqdns,
        }
    }

    /// The Envoy resources the requests are traced through.
    #[must_use]
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// Explains `url`: traces it through the Envoy resources and names the model behind
    /// each step.
    ///
    /// # Errors
    ///
    /// [`UrlError`] when the URL is not `http://` or `https://` with a host.
    pub fn explain(&self, url: &str) -> Result<Explanation, UrlError> {
        let request = Request::parse(url)?;
        let model = Model::new(&self.dag, &self.statuses, &self.ingress_routes, &self.undecodable_fqdns);
        Ok(explain_request(&self.resources, &model, &request))
    }
}

/// Explains `url` against loaded manifests: [`Explainer::new`] then
/// [`Explainer::explain`].
///
/// # Errors
///
/// [`UrlError`] when the URL is not `http://` or `https://` with a host.
pub fn explain(
    loaded: &Loaded,
    config: &Config,
    envoy_config: &EnvoyConfig,
    url: &str,
) -> Result<Explanation, UrlError> {
    Request::parse(url)?;
    Explainer::new(loaded, config, envoy_config).explain(url)
}

fn duration(d: Duration) -> String {
    ingressroute_dag::duration::format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn proto_duration(d: &ingressroute_envoy::envoy_types::pb::google::protobuf::Duration) -> Duration {
    Duration::new(
        u64::try_from(d.seconds).unwrap_or(0),
        u32::try_from(d.nanos).unwrap_or(0),
    )
}

fn object_name(object: &ObjectRef) -> String {
    format!("{}/{}", object.namespace, object.name)
}

fn explain_request(resources: &Resources, model: &Model<'_>, request: &Request) -> Explanation {
    let trace = envoy::trace(resources, request);
    let https = request.scheme == Scheme::Https;
    let mut explanation = Explanation {
        url: request.to_string(),
        outcome: ExplainOutcome::NotFound,
        status: None,
        listener: listener_step(&trace),
        virtual_host: None,
        route: None,
        chain: Vec::new(),
        services: Vec::new(),
        reason: None,
        notes: Vec::new(),
    };

    // The fqdn: the virtual host Envoy picked, else the filter chain's, else the host.
    let fqdn = trace
        .virtual_host
        .as_ref()
        .and_then(|(_, domains)| domains.first().cloned())
        .or_else(|| {
            trace
                .tcp_proxy
                .then(|| trace.chain.as_ref().and_then(|c| c.server_names.first().cloned()))
                .flatten()
        })
        .unwrap_or_else(|| request.host.clone());
    let served = model.virtual_host(&fqdn);
    let roots = model.roots_of(&fqdn);
    let root = served
        .map(|v| v.root.clone())
        .or_else(|| roots.first().map(|r| r.0.clone()));
    explanation.virtual_host = Some(VirtualHostStep {
        fqdn: served.map_or(fqdn.clone(), |v| v.fqdn.clone()),
        root: root.as_ref().map(object_name),
        root_status: root.as_ref().map(|r| model.status(r).0.as_str().to_owned()),
        name: trace.virtual_host.as_ref().map(|(name, _)| name.clone()),
        route_configuration: trace.route_configuration.clone(),
        scope: trace.scope.clone(),
        tls: served.is_some_and(|v| v.secure.is_some()),
        tcp_proxy: served.is_some_and(|v| v.secure.as_ref().is_some_and(|s| s.tcp_proxy.is_some())),
    });

    if let Some(stop) = &trace.stop {
        explanation.reason = Some(reasons::stop_reason(stop, request, &fqdn, served, &roots));
        if !matches!(stop, Missing::FilterChain | Missing::Listener) {
            explanation.status = Some(404);
        }
        // A valid root whose routes Envoy does not have: the matching route is in an
        // IngressRoute that is not valid, if anywhere.
        let root_valid = root.as_ref().is_some_and(|r| model.status(r).0 == CurrentStatus::Valid);
        if *stop == Missing::Route || root_valid {
            reasons::not_served_candidates(&mut explanation, model, root.as_ref(), &request.path, None);
        }
        return explanation;
    }

    if trace.tcp_proxy {
        let proxy = served
            .and_then(|v| v.secure.as_ref())
            .and_then(|s| s.tcp_proxy.as_ref());
        if let (Some(vhost), Some(proxy)) = (served, proxy) {
            explanation.chain = model.chain(&vhost.root, &proxy.source, None);
        }
        explanation.services = services(&trace, proxy.map(|p| p.clusters.as_slice()).unwrap_or_default(), None);
        for service in &mut explanation.services {
            service.protocol = None;
        }
        explanation.outcome = ExplainOutcome::TcpProxied;
        availability(&mut explanation, false);
        return explanation;
    }

    let Some((index, prefix, action)) = &trace.route else {
        return explanation;
    };
    let served_route = served.and_then(|vhost| Model::route(vhost, prefix, https));
    if let (Some(vhost), Some(route)) = (served, served_route) {
        explanation.chain = model.chain(&vhost.root, &route.source, Some(prefix));
    }
    // `permitInsecure` only means something where TLS is terminated for HTTP routes.
    let terminates = served.is_some_and(|v| !v.https_routes().is_empty());
    let permit_insecure = !https && terminates && served_route.is_some_and(|r| !r.https_redirect);
    let mut step = RouteStep {
        index: *index,
        r#match: prefix.clone(),
        action: String::new(),
        location: None,
        prefix_rewrite: None,
        rewritten_path: None,
        timeout: None,
        retries: None,
        websockets: false,
        session_affinity: false,
        permit_insecure,
    };
    match action {
        Action::Redirect(redirect) => {
            step.action = "redirect".to_owned();
            step.location = Some(location(redirect, request));
            explanation.outcome = ExplainOutcome::Redirected;
            explanation.status = Some(301);
        }
        Action::Direct(status) => {
            step.action = "direct".to_owned();
            explanation.status = u16::try_from(*status).ok();
            explanation.outcome = if *status == 404 {
                ExplainOutcome::NotFound
            } else {
                ExplainOutcome::Unavailable
            };
            explanation.reason = Some(format!("Envoy answers {status} itself"));
        }
        Action::Route(action) => {
            step.action = "route".to_owned();
            let rewrite = (!action.prefix_rewrite.is_empty()).then(|| action.prefix_rewrite.clone());
            // Envoy replaces the matched prefix with the rewrite, the rest as it was.
            let rest = request.path.get(prefix.len()..).unwrap_or_default();
            let path = match &rewrite {
                Some(rewrite) => format!("{rewrite}{rest}"),
                None => request.path.clone(),
            };
            step.rewritten_path = Some(match &request.query {
                Some(query) => format!("{path}?{query}"),
                None => path,
            });
            step.prefix_rewrite = rewrite;
            step.timeout = Some(match action.timeout.as_ref().map(proto_duration) {
                None => "15s (Envoy's default)".to_owned(),
                Some(d) if d.is_zero() => "infinity".to_owned(),
                Some(d) => duration(d),
            });
            step.retries = action.retry_policy.as_ref().map(|policy| Retries {
                retry_on: policy.retry_on.clone(),
                count: policy.num_retries.map_or(1, |n| n.value),
                per_try_timeout: policy.per_try_timeout.as_ref().map(|d| duration(proto_duration(d))),
            });
            step.websockets = action.upgrade_configs.iter().any(|u| u.upgrade_type == "websocket");
            step.session_affinity = !action.hash_policy.is_empty();
            let clusters = served_route.map(|r| r.clusters.as_slice()).unwrap_or_default();
            explanation.services = services(&trace, clusters, served_route);
            explanation.outcome = ExplainOutcome::Proxied;
            availability(&mut explanation, true);
        }
    }
    explanation.route = Some(step);
    reasons::not_served_candidates(&mut explanation, model, root.as_ref(), &request.path, Some(prefix));
    explanation
}

/// The 301's `Location`: HTTPS, the host without its port, the same path and query.
fn location(redirect: &route_v3::RedirectAction, request: &Request) -> String {
    let host = if redirect.host_redirect.is_empty() {
        request.host.clone()
    } else {
        redirect.host_redirect.clone()
    };
    let port = match redirect.port_redirect {
        0 | 443 => String::new(),
        port => format!(":{port}"),
    };
    format!("https://{host}{port}{}", request.path_and_query())
}

fn listener_step(trace: &Trace) -> Option<ListenerStep> {
    let name = trace.listener.clone()?;
    let chain = trace.chain.as_ref();
    Some(ListenerStep {
        name,
        address: trace.address.clone(),
        server_names: chain.map(|c| c.server_names.clone()).unwrap_or_default(),
        tls: chain.map(|c| if c.terminate { "terminate" } else { "passthrough" }.to_owned()),
        minimum_tls_version: chain.and_then(|c| c.minimum_tls_version.clone()),
        secret: chain.and_then(|c| c.secret.clone()),
    })
}

fn services(
    trace: &Trace,
    clusters: &[ingressroute_dag::WeightedCluster],
    route: Option<&ingressroute_dag::ServedRoute>,
) -> Vec<ServiceStep> {
    let total: u64 = trace.upstreams.iter().map(|u| u64::from(u.weight)).sum();
    trace
        .upstreams
        .iter()
        .map(|upstream| {
            let model = model::upstream_of(clusters, &upstream.cluster);
            // Without a model (which a consistent build always has), the cluster name
            // `namespace/name/port/hash` still names the Service.
            let mut parts = upstream.cluster.split('/');
            let (namespace, name, port) = match model {
                Some(c) => (
                    c.cluster.service.meta.namespace.clone(),
                    c.cluster.service.meta.name.clone(),
                    c.cluster.port.port,
                ),
                None => (
                    parts.next().unwrap_or_default().to_owned(),
                    parts.next().unwrap_or_default().to_owned(),
                    parts.next().and_then(|p| p.parse().ok()).unwrap_or_default(),
                ),
            };
            let settings = upstream.settings.as_ref();
            #[allow(clippy::cast_precision_loss)]
            let share = if total == 0 {
                0.0
            } else {
                (f64::from(upstream.weight) / total as f64 * 10_000.0).round() / 10_000.0
            };
            let strategy = model.and_then(|c| c.cluster.strategy.clone()).or_else(|| {
                route
                    .is_some_and(ingressroute_dag::ServedRoute::has_cookie_affinity)
                    .then(|| "Cookie".to_owned())
            });
            ServiceStep {
                namespace,
                name,
                port,
                weight: upstream.weight,
                share,
                cluster: upstream.cluster.clone(),
                eds_name: upstream.eds_name.clone(),
                discovery: settings.map(|s| s.discovery.clone()),
                lb_policy: settings.map(|s| s.lb_policy.clone()),
                strategy,
                health_check: settings.and_then(|s| s.health_check.clone()),
                upstream_tls: settings.and_then(|s| s.tls.clone()),
                validation_ca: model
                    .and_then(|c| c.cluster.validation.as_ref())
                    .map(|v| object_name(&v.ca_secret.meta)),
                protocol: settings.map(|s| s.protocol.to_owned()),
                endpoints: upstream.endpoints.clone(),
            }
        })
        .collect()
}

/// A request Envoy proxies still fails with 503 (a TCP connection is closed) when every
/// upstream it may pick has no endpoint; when only some have none, that share fails.
fn availability(explanation: &mut Explanation, http: bool) {
    let describe = |s: &ServiceStep| {
        format!(
            "Service {}/{} port {} (cluster {})",
            s.namespace, s.name, s.port, s.cluster
        )
    };
    let serving = explanation
        .services
        .iter()
        .any(|s| s.weight > 0 && !s.endpoints.is_empty());
    if serving {
        let notes: Vec<String> = explanation
            .services
            .iter()
            .filter(|s| s.weight > 0 && s.endpoints.is_empty())
            .map(|s| {
                format!(
                    "{} has no endpoint: its share of requests ({:.0}%) get 503",
                    describe(s),
                    s.share * 100.0
                )
            })
            .collect();
        explanation.notes.extend(notes);
        return;
    }
    let what: Vec<String> = explanation.services.iter().map(describe).collect();
    explanation.outcome = ExplainOutcome::Unavailable;
    explanation.status = http.then_some(503);
    explanation.reason = Some(if what.is_empty() {
        "the route has no upstream".to_owned()
    } else if http {
        format!("no endpoint, Envoy answers 503: {}", what.join(", "))
    } else {
        format!("no endpoint, Envoy closes the connection: {}", what.join(", "))
    });
}

/// Runs `ingressroute explain`: loads `args.input.paths` (reading `stdin` for `-`),
/// prints the explanation on `stdout` and load errors and warnings on `stderr`.
///
/// # Errors
///
/// [`Error::Write`] when `stdout` or `stderr` cannot be written. A bad URL or input that
/// cannot be read is reported on `stderr` and gives [`Outcome::InputError`].
pub fn run(
    args: &ExplainArgs,
    stdin: impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> Result<Outcome, Error> {
    if let Err(error) = Request::parse(&args.url) {
        let line = output::stderr_line(Severity::Error, &format_args!("URL {:?}: {error}", args.url));
        writeln!(stderr, "{line}").map_err(Error::Write)?;
        return Ok(Outcome::InputError);
    }
    let Some(loaded) =
        check::load_or_refuse(&args.input.paths, stdin, stderr, "nothing explained").map_err(Error::Write)?
    else {
        return Ok(Outcome::InputError);
    };
    let explanation = match explain(&loaded, &args.input.config(), &EnvoyConfig::default(), &args.url) {
        Ok(explanation) => explanation,
        Err(error) => {
            let line = output::stderr_line(Severity::Error, &format_args!("URL {:?}: {error}", args.url));
            writeln!(stderr, "{line}").map_err(Error::Write)?;
            return Ok(Outcome::InputError);
        }
    };
    let text = match args.output {
        ExplainFormat::Text => text::render(&explanation),
        ExplainFormat::Json => {
            let mut text = serde_json::to_string_pretty(&explanation).map_err(Error::Serialize)?;
            text.push('\n');
            text
        }
    };
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Write)?;
    Ok(explanation.outcome.exit())
}

#[cfg(test)]
mod tests;
