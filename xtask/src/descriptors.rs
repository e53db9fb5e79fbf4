//! `cargo xtask descriptors`: the protobuf descriptors of the Envoy API messages
//! `ingressroute-envoy` renders as JSON.
//!
//! `envoy-types` ships Envoy's `.proto` sources but no descriptor set we can reach, and
//! proto3 JSON (with `@type` on `Any`) needs descriptors. This compiles the files listed
//! below, and everything they import, with `protox` (pure Rust) from the `envoy-types`
//! package in the cargo registry, into `ingressroute-envoy/src/envoy.descriptors.bin`.
//! Source info (comments) is left out to keep the file small.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// Where the descriptor set goes, relative to the workspace root.
pub(crate) const PATH: &str = "ingressroute-envoy/src/envoy.descriptors.bin";

/// The Envoy API files whose messages we produce or read.
const FILES: &[&str] = &[
    "envoy/admin/v3/config_dump.proto",
    "envoy/config/bootstrap/v3/bootstrap.proto",
    "envoy/config/cluster/v3/cluster.proto",
    "envoy/config/endpoint/v3/endpoint.proto",
    "envoy/config/listener/v3/listener.proto",
    "envoy/config/route/v3/route.proto",
    "envoy/config/route/v3/scoped_route.proto",
    "envoy/extensions/access_loggers/file/v3/file.proto",
    "envoy/extensions/compression/gzip/compressor/v3/gzip.proto",
    "envoy/extensions/filters/http/compressor/v3/compressor.proto",
    "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
    "envoy/extensions/filters/http/lua/v3/lua.proto",
    "envoy/extensions/filters/http/router/v3/router.proto",
    "envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto",
    "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
    "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
    "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
    "envoy/extensions/transport_sockets/tls/v3/secret.proto",
    "envoy/extensions/transport_sockets/tls/v3/tls.proto",
    "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
    "envoy/service/discovery/v3/ads.proto",
    "envoy/service/discovery/v3/discovery.proto",
];

/// The include directories inside `envoy-types/proto`.
const INCLUDES: &[&str] = &[
    "data-plane-api",
    "xds",
    "protoc-gen-validate",
    "googleapis",
    "cel-spec",
    "opentelemetry-proto",
    "client_model",
];

/// Compiles the descriptor set.
pub(crate) fn generate() -> anyhow::Result<Vec<u8>> {
    let proto = envoy_types_dir()?.join("proto");
    let includes: Vec<PathBuf> = INCLUDES.iter().map(|i| proto.join(i)).collect();
    let mut compiler = protox::Compiler::new(&includes).context("cannot set up protox")?;
    compiler.include_imports(true).include_source_info(false);
    compiler
        .open_files(FILES)
        .map_err(|e| anyhow::anyhow!("cannot compile the Envoy protos: {e}"))?;
    // Not `file_descriptor_set().encode_to_vec()`: prost's `FieldOptions` drops extension
    // options, and `ingressroute-envoy` reads `udpa.annotations.sensitive` to redact secrets.
    Ok(compiler.encode_file_descriptor_set())
}

/// The source directory of the `envoy-types` package the workspace builds with.
fn envoy_types_dir() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).context("cargo metadata output")?;
    let manifest = metadata
        .get("packages")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(serde_json::Value::as_str) == Some("envoy-types"))
        .and_then(|p| p.get("manifest_path").and_then(serde_json::Value::as_str))
        .context("envoy-types is not a dependency of the workspace")?;
    PathBuf::from(manifest)
        .parent()
        .map(PathBuf::from)
        .context("envoy-types manifest has no directory")
}
