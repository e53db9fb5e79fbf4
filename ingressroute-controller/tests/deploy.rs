//! The deployment in `examples/deploy/`: every manifest parses into its k8s-openapi type
//! with no field lost, the container arguments are accepted by the binaries' own argument
//! parsers, and the pieces point at each other (Service ports, selectors, RBAC subjects,
//! the Envoy bootstrap's xDS address, the xDS TLS files in the Secrets of
//! `ingressroute certgen`, which work together).
//!
//! The controller's arguments go through [`Args`] (its clap parser, what `main` runs).
//! The Envoy init container's `ingressroute bootstrap ...` goes through
//! `ingressroute_cli::Cli`, the clap parser the `ingressroute` binary's `main` runs: a
//! dev-dependency on the CLI's library checks exactly what the binary would accept, with
//! no built binary to find (Cargo sets `CARGO_BIN_EXE_*` only for a package's own
//! binaries) and nothing to keep in sync by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser as _;
use ingressroute_controller::Args;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy")
}

/// The extra RBAC of a cluster that keeps Contour v1.0.1's IngressRoute CRD.
fn contour_crd_dir() -> PathBuf {
    deploy_dir().join("contour-crd")
}

/// Every manifest of the deployment, as `(file, document)`.
#[derive(Default)]
struct Manifests {
    namespaces: Vec<Namespace>,
    service_accounts: Vec<ServiceAccount>,
    cluster_roles: Vec<ClusterRole>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
    roles: Vec<Role>,
    role_bindings: Vec<RoleBinding>,
    deployments: Vec<Deployment>,
    daemon_sets: Vec<DaemonSet>,
    services: Vec<Service>,
    crds: Vec<CustomResourceDefinition>,
}

/// Parses `value` as `T` and checks that nothing was dropped on the way: serialising the
/// typed value gives the document back (a misspelt field would vanish).
fn typed<T: DeserializeOwned + serde::Serialize>(file: &str, value: &Value) -> T {
    let object: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let back = serde_json::to_value(&object).unwrap();
    assert_eq!(&back, value, "{file}: a field did not survive parsing");
    object
}

fn load() -> Manifests {
    load_dir(&deploy_dir())
}

/// The manifests of one directory (not of its subdirectories, as `kubectl apply -f DIR`).
fn load_dir(dir: &Path) -> Manifests {
    let mut manifests = Manifests::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir:?}");
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for value in documents {
            match value["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: a document without kind"))
            {
                "Namespace" => manifests.namespaces.push(typed(&file, &value)),
                "ServiceAccount" => manifests.service_accounts.push(typed(&file, &value)),
                "ClusterRole" => manifests.cluster_roles.push(typed(&file, &value)),
                "ClusterRoleBinding" => manifests.cluster_role_bindings.push(typed(&file, &value)),
                "Role" => manifests.roles.push(typed(&file, &value)),
                "RoleBinding" => manifests.role_bindings.push(typed(&file, &value)),
                "Deployment" => manifests.deployments.push(typed(&file, &value)),
                "DaemonSet" => manifests.daemon_sets.push(typed(&file, &value)),
                "Service" => manifests.services.push(typed(&file, &value)),
                "CustomResourceDefinition" => manifests.crds.push(typed(&file, &value)),
                other => panic!("{file}: unexpected kind {other}"),
            }
        }
    }
    manifests
}

fn pod(spec: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>) -> &PodSpec {
    spec.and_then(|t| t.spec.as_ref()).unwrap()
}

fn args_of(container: &Container) -> Vec<String> {
    container
        .command
        .iter()
        .flatten()
        .chain(container.args.iter().flatten())
        .cloned()
        .collect()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ingressroute-deploy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `argv` as `container` would see its files: each Secret volume it mounts gets the keys
/// of that Secret (from `ingressroute certgen`) as files in a directory of `scratch`, and
/// the mount path in every argument becomes that directory.
fn with_mounted_secrets(pod: &PodSpec, container: &Container, mut argv: Vec<String>, scratch: &Path) -> Vec<String> {
    let secrets = ingressroute_cli::certgen::secrets("projectcontour").unwrap();
    for mount in container.volume_mounts.iter().flatten() {
        let volume = pod.volumes.iter().flatten().find(|v| v.name == mount.name).unwrap();
        let Some(name) = volume.secret.as_ref().and_then(|s| s.secret_name.as_deref()) else {
            continue;
        };
        let secret = secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("`ingressroute certgen` makes no Secret {name}"));
        let dir = scratch.join(&mount.name);
        std::fs::create_dir_all(&dir).unwrap();
        for (key, value) in secret.string_data.iter().flatten() {
            std::fs::write(dir.join(key), value).unwrap();
        }
        let prefix = format!("{}/", mount.mount_path.trim_end_matches('/'));
        for arg in &mut argv {
            *arg = arg.replace(&prefix, &format!("{}/", dir.display()));
        }
    }
    argv
}

fn port_number(port: &IntOrString) -> i32 {
    match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => panic!("named port {s}"),
    }
}

fn rule_set(rules: &[PolicyRule]) -> BTreeSet<(String, String, String)> {
    let mut set = BTreeSet::new();
    for rule in rules {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    set.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    set
}

#[test]
fn every_manifest_parses_into_its_kubernetes_type() {
    let overlay = load_dir(&contour_crd_dir());
    assert_eq!(overlay.cluster_roles.len(), 1);
    assert_eq!(overlay.cluster_role_bindings.len(), 1);
    let m = load();
    assert_eq!(m.crds.len(), 2);
    assert_eq!(m.namespaces.len(), 1);
    assert_eq!(m.deployments.len(), 1);
    assert_eq!(m.daemon_sets.len(), 1);
    assert_eq!(m.services.len(), 2);
}

#[test]
fn the_controller_deployment_runs_two_replicas_with_flags_the_controller_accepts() {
    let m = load();
    let namespace = m.namespaces[0].metadata.name.clone().unwrap();
    let deployment = &m.deployments[0];
    assert_eq!(deployment.metadata.namespace.as_deref(), Some(namespace.as_str()));
    let spec = &deployment.spec;
    assert_eq!(spec.replicas, Some(2));
    let pod = pod(Some(&spec.template));
    let container = &pod.containers[0];
    let argv = args_of(container);
    assert_eq!(argv[0], "ingressroute-controller");
    // The TLS files are read from the mounted `ingressroute certgen` Secret.
    let argv = with_mounted_secrets(pod, container, argv, &scratch("controller"));
    let args = Args::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    let settings = args.settings().unwrap_or_else(|e| panic!("{e}: {argv:?}"));
    assert!(settings.leader_election.is_some(), "two replicas need leader election");
    assert!(settings.xds_tls.is_some(), "xDS over mutual TLS, as Contour");

    // POD_NAME (the identity) and the namespace come from the downward API.
    let env = container.env.as_ref().unwrap();
    let field = |name: &str| {
        env.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value_from.as_ref())
            .and_then(|v| v.field_ref.as_ref())
            .map(|f| f.field_path.clone())
    };
    assert_eq!(field("POD_NAME").as_deref(), Some("metadata.name"));
    assert_eq!(field("CONTOUR_NAMESPACE").as_deref(), Some("metadata.namespace"));

    // The probes hit the health listener.
    let health_port = i32::from(settings.health_address.port());
    let liveness = container.liveness_probe.as_ref().unwrap().http_get.as_ref().unwrap();
    assert_eq!(liveness.path.as_deref(), Some("/healthz"));
    assert_eq!(port_number(&liveness.port), health_port);
    let readiness = container.readiness_probe.as_ref().unwrap().http_get.as_ref().unwrap();
    assert_eq!(readiness.path.as_deref(), Some("/readyz"));
    assert_eq!(port_number(&readiness.port), health_port);

    // The xDS port is exposed, and the xDS Service points at it.
    let xds_port = i32::from(settings.xds_address.port());
    assert!(
        settings.xds_address.ip().is_unspecified(),
        "Envoys on other nodes must reach xDS"
    );
    let ports = container.ports.as_ref().unwrap();
    assert!(ports.iter().any(|p| p.container_port == xds_port));
    let xds = m
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("ingressroute"))
        .unwrap();
    let xds_spec = xds.spec.as_ref().unwrap();
    assert_eq!(xds_spec.selector, spec.selector.match_labels);
    assert_eq!(
        port_number(xds_spec.ports.as_ref().unwrap()[0].target_port.as_ref().unwrap()),
        xds_port
    );
}

#[test]
fn the_envoy_init_container_runs_a_bootstrap_the_cli_accepts_pointing_at_the_xds_service() {
    let m = load();
    let controller_pod = pod(Some(&m.deployments[0].spec.template));
    let controller = &controller_pod.containers[0];
    let argv = with_mounted_secrets(controller_pod, controller, args_of(controller), &scratch("bootstrap"));
    let settings = Args::try_parse_from(argv).unwrap().settings().unwrap();
    let daemon_set = &m.daemon_sets[0];
    let pod = pod(Some(&daemon_set.spec.template));
    let init = &pod.init_containers.as_ref().unwrap()[0];
    let argv = args_of(init);
    assert_eq!(argv[0], "ingressroute");
    let cli = ingressroute_cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    let ingressroute_cli::Command::Bootstrap(bootstrap) = cli.command else {
        panic!("not a bootstrap: {argv:?}");
    };

    // `<service>.<namespace>:<port>` of the xDS Service.
    let xds = m
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("ingressroute"))
        .unwrap();
    let host = format!(
        "{}.{}",
        xds.metadata.name.as_deref().unwrap(),
        xds.metadata.namespace.as_deref().unwrap()
    );
    assert_eq!(bootstrap.xds_address.host, host);
    assert_eq!(
        i32::from(bootstrap.xds_address.port),
        xds.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port
    );

    // The file it writes is on a volume Envoy mounts and reads.
    let output = bootstrap.output.to_string_lossy().into_owned();
    let envoy = &pod.containers[0];
    let mount_of = |c: &Container| {
        c.volume_mounts
            .iter()
            .flatten()
            .find(|v| output.starts_with(&v.mount_path))
            .map(|v| v.name.clone())
    };
    assert_eq!(mount_of(init), mount_of(envoy));
    assert!(mount_of(envoy).is_some());
    let envoy_args = args_of(envoy);
    let config = envoy_args.iter().position(|a| a == "-c").unwrap();
    assert_eq!(envoy_args[config + 1], output);

    // The TLS files the bootstrap names are keys of the Secret mounted in Envoy's
    // container, the client certificate of `ingressroute certgen`.
    let secrets = ingressroute_cli::certgen::secrets("projectcontour").unwrap();
    for file in [
        &bootstrap.envoy_cafile,
        &bootstrap.envoy_cert_file,
        &bootstrap.envoy_key_file,
    ] {
        let file = file.as_deref().expect("xDS over mutual TLS");
        let mount = envoy
            .volume_mounts
            .iter()
            .flatten()
            .find(|v| file.starts_with(&format!("{}/", v.mount_path.trim_end_matches('/'))))
            .unwrap_or_else(|| panic!("{file} is on no volume of Envoy's container"));
        let volume = pod.volumes.iter().flatten().find(|v| v.name == mount.name).unwrap();
        let secret_name = volume.secret.as_ref().and_then(|s| s.secret_name.as_deref());
        assert_eq!(secret_name, Some(ingressroute_cli::certgen::CLIENT_SECRET));
        let key = Path::new(file).file_name().unwrap().to_str().unwrap();
        let secret = secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == secret_name)
            .unwrap();
        assert!(secret.string_data.as_ref().unwrap().contains_key(key), "{key}");
    }

    // Envoy's readiness is the bootstrap's stats-health listener.
    let ready = envoy.readiness_probe.as_ref().unwrap().http_get.as_ref().unwrap();
    assert_eq!(ready.path.as_deref(), Some("/ready"));
    assert_eq!(port_number(&ready.port), i32::from(bootstrap.stats_address.port()));

    // The load balancer sends 80 and 443 to the listeners the controller configures.
    let lb = m
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("envoy"))
        .unwrap()
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(lb.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(lb.selector, daemon_set.spec.selector.match_labels);
    let target = |port: i32| {
        lb.ports
            .iter()
            .flatten()
            .find(|p| p.port == port)
            .and_then(|p| p.target_port.as_ref())
            .map(port_number)
    };
    assert_eq!(target(80), Some(i32::from(settings.envoy.http_port)));
    assert_eq!(target(443), Some(i32::from(settings.envoy.https_port)));
}

#[test]
fn rbac_binds_its_roles_to_the_controllers_service_account() {
    let m = load();
    let overlay = load_dir(&contour_crd_dir());
    let namespace = m.namespaces[0].metadata.name.clone().unwrap();
    let account = &m.service_accounts[0];
    assert_eq!(account.metadata.namespace.as_deref(), Some(namespace.as_str()));
    let deployment = &m.deployments[0];
    assert_eq!(
        pod(Some(&deployment.spec.template)).service_account_name.as_deref(),
        account.metadata.name.as_deref()
    );
    let role = &m.roles[0];
    assert_eq!(role.metadata.namespace.as_deref(), Some(namespace.as_str()));

    let subject_is_account = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
        subjects.iter().flatten().any(|s| {
            s.kind == "ServiceAccount"
                && s.name == account.metadata.name.clone().unwrap()
                && s.namespace.as_deref() == Some(namespace.as_str())
        })
    };
    let binding = &m.cluster_role_bindings[0];
    assert_eq!(binding.role_ref.name, m.cluster_roles[0].metadata.name.clone().unwrap());
    assert!(subject_is_account(&binding.subjects));
    let binding = &m.role_bindings[0];
    assert_eq!(binding.role_ref.name, role.metadata.name.clone().unwrap());
    assert!(subject_is_account(&binding.subjects));
    let binding = &overlay.cluster_role_bindings[0];
    assert_eq!(
        binding.role_ref.name,
        overlay.cluster_roles[0].metadata.name.clone().unwrap()
    );
    assert!(subject_is_account(&binding.subjects));
}

/// An API request as the RBAC rule that allows it, `(group, resource, verb)`, and the
/// namespace it is in; `None` for discovery (a non-resource URL that Kubernetes grants every
/// authenticated user through the ClusterRole `system:discovery`).
fn rbac_of(request: &support::fake_api::Request) -> Option<((String, String, String), Option<String>)> {
    let parts: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => panic!("not an API path: {request:?}"),
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, rest @ ..] if !rest.is_empty() => (Some((*namespace).to_owned()), rest),
        rest => (None, rest),
    };
    let (resource, named) = match rest {
        [] => return None,
        [plural] => ((*plural).to_owned(), false),
        [plural, _name] => ((*plural).to_owned(), true),
        [plural, _name, subresource] => (format!("{plural}/{subresource}"), true),
        _ => panic!("not an API path: {request:?}"),
    };
    let verb = match (request.method.as_str(), named) {
        ("GET", true) => "get",
        ("GET", false) if request.param("watch").as_deref() == Some("true") => "watch",
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => panic!("unexpected request {request:?}"),
    };
    Some(((group.to_owned(), resource, verb.to_owned()), namespace))
}

/// Every API call of the deployment's controller, as RBAC rules, in a cluster whose
/// IngressRoute CRD has a status subresource or not: it leads (creates, renews and finally
/// hands back its Lease), watches and writes a status. Lease calls must stay in the
/// controller's namespace, where the Role grants them.
async fn calls_of_the_deployment(status_subresource: bool) -> BTreeSet<(String, String, String)> {
    let m = load();
    let namespace = m.namespaces[0].metadata.name.clone().unwrap();
    let controller_pod = pod(Some(&m.deployments[0].spec.template));
    let controller = &controller_pod.containers[0];
    let scratch = scratch(if status_subresource {
        "calls-ours"
    } else {
        "calls-contours"
    });
    let argv = with_mounted_secrets(controller_pod, controller, args_of(controller), &scratch);
    let mut settings = Args::try_parse_from(argv).unwrap().settings().unwrap();
    // Listeners on loopback, no xDS TLS and short Lease timings: none of it calls the API.
    let test = support::settings();
    settings.xds_address = test.xds_address;
    settings.metrics_address = test.metrics_address;
    settings.health_address = test.health_address;
    settings.xds_tls = None;
    settings.namespace.clone_from(&namespace);
    let election = settings
        .leader_election
        .as_mut()
        .expect("the deployment elects a leader");
    election.lease_duration = Duration::from_secs(2);
    election.renew_deadline = Duration::from_secs(1);
    election.retry_period = Duration::from_millis(100);

    let api = support::FakeApi::start().await;
    api.set_status_subresource(status_subresource);
    api.apply(&support::service("apps", "web", "http", 80));
    api.apply(&support::root(
        "apps",
        "web",
        "web.example.com",
        vec![support::route("/", "web", 80)],
    ));
    let running = support::start_ready(&api, settings).await;
    tokio::time::timeout(support::PATIENCE, running.leading(true))
        .await
        .expect("never led");
    support::eventually("the status is written", || {
        support::status_of(&api, "apps", "web").is_some()
    })
    .await;
    support::eventually("the Lease is renewed", || {
        api.requests()
            .iter()
            .any(|r| r.method == "PUT" && r.path.contains("/leases/"))
    })
    .await;
    running.shutdown().await;

    let mut calls = BTreeSet::new();
    for request in api.requests() {
        let Some((rule, in_namespace)) = rbac_of(&request) else {
            continue;
        };
        if rule.1 == "leases" {
            assert_eq!(in_namespace.as_deref(), Some(namespace.as_str()), "{request:?}");
        }
        calls.insert(rule);
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_grants_exactly_what_the_controller_calls_with_either_crd() {
    let m = load();
    let overlay = load_dir(&contour_crd_dir());
    let mut granted = rule_set(&m.cluster_roles[0].rules.clone().unwrap());
    let leases = rule_set(&m.roles[0].rules.clone().unwrap());
    assert!(leases.iter().all(|(_, resource, _)| resource == "leases"), "{leases:?}");
    granted.extend(leases);
    let extra = rule_set(&overlay.cluster_roles[0].rules.clone().unwrap());

    // With the CRDs of 00-crds.yaml: exactly 02-rbac.yaml.
    let ours = calls_of_the_deployment(true).await;
    assert_eq!(ours, granted);

    // With Contour v1.0.1's CRD: 02-rbac.yaml, and contour-crd/ adds exactly the rest.
    let contours = calls_of_the_deployment(false).await;
    let beyond: BTreeSet<_> = contours.difference(&granted).cloned().collect();
    assert_eq!(beyond, extra);
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert!(extra.contains(&s("contour.heptio.com", "ingressroutes", "patch")));
    assert!(!contours.contains(&s("contour.heptio.com", "ingressroutes/status", "patch")));
}

#[test]
fn the_dockerfile_builds_both_binaries_the_manifests_run() {
    let dockerfile = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    assert!(dockerfile.starts_with("# syntax=docker/dockerfile:1\n"));
    for needle in [
        "--package ingressroute-controller",
        "--package ingressroute-cli",
        "target/release/ingressroute-controller",
        "target/release/ingressroute ",
        "USER 65532:65532",
        "ENTRYPOINT [\"ingressroute-controller\"]",
    ] {
        assert!(dockerfile.contains(needle), "the Dockerfile lacks {needle:?}");
    }
    let m = load();
    let images: BTreeSet<String> = m
        .deployments
        .iter()
        .map(|d| pod(Some(&d.spec.template)).containers[0].clone())
        .chain(
            m.daemon_sets
                .iter()
                .flat_map(|d| pod(Some(&d.spec.template)).init_containers.clone().unwrap()),
        )
        .filter_map(|c| c.image)
        .collect();
    assert_eq!(images.len(), 1, "one image holds both binaries: {images:?}");
}

/// The two Secrets of `ingressroute certgen` work together: the controller's serves
/// xDS to a client presenting Envoy's, which checks the server's name as Envoy does.
#[tokio::test]
async fn the_certgen_secrets_make_a_working_mutual_tls_pair() {
    use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
    use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
    use ingressroute_xds::{Publisher, Server, ServerTls};
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

    let secrets = ingressroute_cli::certgen::secrets("projectcontour").unwrap();
    let data = |name: &str, key: &str| {
        let secret = secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
            .unwrap();
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
        secret.string_data.as_ref().unwrap()[key].clone()
    };
    let server_secret = ingressroute_cli::certgen::SERVER_SECRET;
    let client_secret = ingressroute_cli::certgen::CLIENT_SECRET;
    assert_eq!(data(server_secret, "ca.crt"), data(client_secret, "ca.crt"));

    let publisher = Publisher::new();
    publisher
        .publish_resources(&ingressroute_envoy::Resources::default())
        .unwrap();
    let tls = ServerTls::new(
        data(server_secret, "tls.crt").into_bytes(),
        data(server_secret, "tls.key").into_bytes(),
        data(server_secret, "ca.crt").into_bytes(),
    );
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), publisher.snapshots())
        .await
        .unwrap()
        .with_tls(&tls)
        .unwrap();
    let address = server.local_addr();
    tokio::spawn(server.serve(std::future::pending()));

    let channel = Channel::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(data(client_secret, "ca.crt")))
                .domain_name(ingressroute_envoy::bootstrap::XDS_SUBJECT_ALT_NAME)
                .identity(Identity::from_pem(
                    data(client_secret, "tls.crt"),
                    data(client_secret, "tls.key"),
                )),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(DiscoveryRequest {
        type_url: ingressroute_envoy::ResourceKind::Cluster.type_url(),
        ..DiscoveryRequest::default()
    })
    .await
    .unwrap();
    let mut inbound = AggregatedDiscoveryServiceClient::new(channel)
        .stream_aggregated_resources(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), inbound.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.type_url, ingressroute_envoy::ResourceKind::Cluster.type_url());
}
