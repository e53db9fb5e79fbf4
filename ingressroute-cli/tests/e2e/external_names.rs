//! `--allow-loopback-external-names`: an ExternalName Service that points at `localhost`
//! is refused by default (see [`crate::http`]) and served with the flag.

use crate::support::manifests::external_name;
use crate::support::world::Lease;
use crate::support::{Setup, eventually};

#[tokio::test]
async fn a_loopback_external_name_is_served_with_allow_loopback_external_names() {
    let Some(mut s) = Setup::new("external-names") else {
        return;
    };
    let backend = s.http("behind-localhost");
    s.arg("--allow-loopback-external-names");
    s.file(
        "external.yaml",
        format!(
            "{}---
apiVersion: contour.heptio.com/v1beta1
kind: IngressRoute
metadata: {{name: external, namespace: default}}
spec:
  virtualhost: {{fqdn: external.example.com}}
  routes:
  - match: /
    services: [{{name: local-backend, port: {port}}}]
",
            external_name("default", "local-backend", "localhost", backend.port),
            port = backend.port
        ),
    );
    let world = Lease::own(s.start().await);
    world.wait_for_log(0, &["status: default/external: valid"]).await;
    let echo = eventually("external.example.com through localhost", || async {
        world.get("external.example.com", "/through").await?.echo()
    })
    .await;
    assert_eq!(echo.backend, "behind-localhost");
    assert_eq!(echo.path, "/through");
    world.assert_no_rejected_updates().await;
}
