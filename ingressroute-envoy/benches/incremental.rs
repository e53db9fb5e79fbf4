//! The incremental translation ([`Translator`]) against a full one, on the generated
//! datasets (see `ingressroute-fixtures`).
//!
//! `cargo bench -p ingressroute-envoy --bench incremental` reports, for M and L:
//! * `full`: [`Translator::full`] of every virtual host (the first build, a relist);
//! * `one_plain_host`: [`Translator::update`] after one plain-HTTP virtual host changed
//!   (a route's prefix): its route bucket and scope are reassembled;
//! * `one_tls_host`: the same for a TLS virtual host: its `https/<fqdn>` route
//!   configuration and the `ingress_https` listener (every filter chain, spliced);
//! * `new_host`: a virtual host that did not exist.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ingressroute_dag::{Config, ServedVirtualHost, build};
use ingressroute_envoy::{EnvoyConfig, Translator};
use ingressroute_fixtures::{Dataset, Size};

/// A copy of `vhost` with its first route's prefix changed (`n` tells edits apart).
fn edited(vhost: &ServedVirtualHost, n: usize) -> ServedVirtualHost {
    let mut vhost = vhost.clone();
    if let Some(route) = vhost.routes.first_mut() {
        route.prefix = format!("/edited-{n}");
    }
    vhost
}

fn bench(c: &mut Criterion) {
    let config = EnvoyConfig::default();
    let mut group = c.benchmark_group("incremental");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for size in [Size::M, Size::L] {
        let data = Dataset::generate(size);
        let (objects, endpoints) = support::load(&data);
        let dag = build(&objects, &Config::default());
        group.bench_with_input(BenchmarkId::new("full", size.name()), &dag, |b, dag| {
            b.iter(|| Translator::new(config.clone()).full(dag.virtual_hosts(), &endpoints));
        });
        let mut translator = Translator::new(config.clone());
        translator.full(dag.virtual_hosts(), &endpoints);
        let plain = dag
            .virtual_hosts()
            .iter()
            .find(|v| v.secure.is_none() && !v.routes.is_empty())
            .expect("a plain host");
        let tls = dag
            .virtual_hosts()
            .iter()
            .find(|v| v.secure.is_some())
            .expect("a TLS host");
        for (name, host) in [("one_plain_host", plain), ("one_tls_host", tls)] {
            let mut n = 0;
            group.bench_function(BenchmarkId::new(name, size.name()), |b| {
                b.iter(|| {
                    n += 1;
                    let changed = edited(host, n);
                    translator.update([changed.fqdn.as_str()], |_| Some(&changed), &endpoints)
                });
            });
        }
        let mut n = 0;
        group.bench_function(BenchmarkId::new("new_host", size.name()), |b| {
            b.iter(|| {
                n += 1;
                let mut host = edited(plain, n);
                host.fqdn = format!("new-{n}.bench.example.com");
                translator.update([host.fqdn.as_str()], |_| Some(&host), &endpoints)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
