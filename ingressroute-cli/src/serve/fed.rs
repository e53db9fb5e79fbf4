//! What `serve` gave its pipeline, so that a reload gives it only what changed.
//!
//! A file whose text did not change keeps the objects it was parsed into, shared (`Arc`),
//! so an object in the merged manifests at the address it had the last time is the same
//! object: it is not given again. Only new objects (a changed file's, or one that now
//! wins a duplicate) are applied, and objects that are no longer there are deleted. Before
//! this, every reload relisted every object and the store compared each with what it held:
//! most of `serve`'s work for a one-line edit among 10,000 virtual hosts.

use std::collections::{HashMap, HashSet};

use ingressroute_dag::ObjectRef;
use ingressroute_pipeline::{self as pipeline, Event, Pipeline};

use crate::check;
use crate::load::{Loaded, Object};

/// An object given to the pipeline: what identifies it there, and the object itself,
/// held so that its address is not reused by another while it is recorded here.
#[derive(Debug)]
struct Entry {
    kind: pipeline::Kind,
    key: ObjectRef,
    /// Whether the pipeline got it (an object the API server would reject does not exist
    /// for it).
    given: bool,
    /// The last feed that found it.
    round: u64,
    _held: Object,
}

/// The objects last given to a pipeline, by the address of their shared value: what
/// `serve` feeds its pipeline with (see the module docs).
#[derive(Debug, Default)]
pub struct Fed {
    /// `None` until the first feed, which is a relist.
    entries: Option<HashMap<usize, Entry>>,
    /// How many feeds there were.
    round: u64,
}

/// The address of an object's shared value.
fn address(object: &Object) -> usize {
    let pointer: *const () = match object {
        Object::IngressRoute(o) => std::sync::Arc::as_ptr(o).cast(),
        Object::TlsCertificateDelegation(o) => std::sync::Arc::as_ptr(o).cast(),
        Object::Service(o) => std::sync::Arc::as_ptr(o).cast(),
        Object::Secret(o) => std::sync::Arc::as_ptr(o).cast(),
        Object::Endpoints(o) => std::sync::Arc::as_ptr(o).cast(),
        Object::Undecodable(o) => std::sync::Arc::as_ptr(o).cast(),
    };
    pointer.addr()
}

/// The pipeline's kind of a loaded object (an undecodable IngressRoute is an IngressRoute).
fn kind(object: &Object) -> pipeline::Kind {
    match object {
        Object::IngressRoute(_) | Object::Undecodable(_) => pipeline::Kind::IngressRoute,
        Object::TlsCertificateDelegation(_) => pipeline::Kind::Delegation,
        Object::Service(_) => pipeline::Kind::Service,
        Object::Secret(_) => pipeline::Kind::Secret,
        Object::Endpoints(_) => pipeline::Kind::Endpoints,
    }
}

impl Fed {
    /// Gives `pipeline` exactly the objects of `loaded`: the first time as one relist
    /// ([`check::feed`]), then only what differs from the last call. Returns what that
    /// calls for. `loaded` holds each kind, namespace and name once (as
    /// [`Loaded`] merges them).
    pub fn feed(&mut self, pipeline: &mut Pipeline, loaded: &Loaded) -> pipeline::Effect {
        let Some(old) = self.entries.as_mut() else {
            let effect = check::feed(pipeline, loaded);
            self.entries = Some(
                loaded
                    .manifests()
                    .iter()
                    .map(|manifest| {
                        let entry = Entry {
                            kind: kind(&manifest.object),
                            key: manifest.object.object_ref(),
                            given: check::pipeline_object(manifest).is_some(),
                            round: self.round,
                            _held: manifest.object.clone(),
                        };
                        (address(&manifest.object), entry)
                    })
                    .collect(),
            );
            return effect;
        };
        // Marked in place, the entries kept as they are: nothing is rehashed for the
        // objects that did not change.
        self.round = self.round.wrapping_add(1);
        let round = self.round;
        let mut effect = pipeline::Effect::default();
        let mut applied = HashSet::new();
        for manifest in loaded.manifests() {
            let address = address(&manifest.object);
            if let Some(entry) = old.get_mut(&address) {
                entry.round = round;
                continue;
            }
            let object = check::pipeline_object(manifest);
            let entry = Entry {
                kind: kind(&manifest.object),
                key: manifest.object.object_ref(),
                given: object.is_some(),
                round,
                _held: manifest.object.clone(),
            };
            if let Some(object) = object {
                applied.insert((entry.kind, entry.key.clone()));
                pipeline.apply_into(Event::Apply(object), &mut effect);
            }
            old.insert(address, entry);
        }
        // What was not marked was replaced (its kind and name were just applied) or is gone.
        let mut gone = Vec::new();
        old.retain(|_, entry| {
            let kept = entry.round == round;
            if !kept && entry.given && !applied.contains(&(entry.kind, entry.key.clone())) {
                gone.push((entry.kind, entry.key.clone()));
            }
            kept
        });
        gone.sort();
        for (kind, key) in gone {
            pipeline.apply_into(Event::Delete(kind, key), &mut effect);
        }
        effect
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ingressroute_dag::Config;
    use ingressroute_envoy::EnvoyConfig;

    use super::*;
    use crate::serve::sources::Sources;

    const SERVICES: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: http, port: 8080}]}]
";

    fn root(name: &str, fqdn: &str, prefix: &str, service: &str, port: &str) -> String {
        format!(
            "apiVersion: contour.heptio.com/v1beta1\nkind: IngressRoute\nmetadata: {{name: {name}}}\n\
             spec:\n  virtualhost: {{fqdn: {fqdn}}}\n  routes:\n  - match: {prefix}\n    \
             services: [{{name: {service}, port: {port}}}]\n"
        )
    }

    /// A change to the files.
    type Edit<'a> = Box<dyn Fn() + 'a>;

    /// Every edit below, fed to one pipeline by [`Fed`] and relisted into a new one: the
    /// same statuses and the same resources, byte for byte, after each.
    #[test]
    fn feeding_only_what_changed_gives_what_a_relist_gives() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let routes = |parts: &[String]| parts.join("---\n");
        let new_pipeline = || Pipeline::new(Config::default(), EnvoyConfig::default());
        let mut sources = Sources::new(vec![dir.path().to_owned()]);
        let mut fed = Fed::default();
        let mut incremental = new_pipeline();

        let a = root("a", "a.example.com", "/", "web", "80");
        let b = root("b", "b.example.com", "/", "api", "80");
        let edits: Vec<(&str, Edit<'_>)> = vec![
            (
                "the first load",
                Box::new(|| {
                    fs::write(path("1-services.yaml"), SERVICES).unwrap();
                    fs::write(path("2-routes.yaml"), routes(&[a.clone(), b.clone()])).unwrap();
                }),
            ),
            (
                "a route's prefix",
                Box::new(|| {
                    fs::write(
                        path("2-routes.yaml"),
                        routes(&[a.replace("match: /", "match: /v2"), b.clone()]),
                    )
                    .unwrap();
                }),
            ),
            (
                "a later file's Service replaces an earlier one's",
                Box::new(|| {
                    let other = SERVICES.split("---\n").next().unwrap().replace("port: 80", "port: 81");
                    fs::write(path("3-extra.yaml"), other).unwrap();
                }),
            ),
            (
                "that file goes: the earlier one, unchanged, is back",
                Box::new(|| fs::remove_file(path("3-extra.yaml")).unwrap()),
            ),
            (
                "an IngressRoute that does not decode, and one the API server rejects",
                Box::new(|| {
                    let broken = a.replace("port: 80", "port: eighty");
                    let rejected = root("c", "c.example.com", "/", "web", "80").replace("match: /\n", "");
                    fs::write(path("2-routes.yaml"), routes(&[broken, b.clone(), rejected])).unwrap();
                }),
            ),
            (
                "a Service the API server rejects (does not exist) in place of one that does",
                Box::new(|| {
                    let services = SERVICES.replace("name: api}", "name: Api_}");
                    fs::write(path("1-services.yaml"), services).unwrap();
                }),
            ),
            (
                "fixed again",
                Box::new(|| {
                    fs::write(path("1-services.yaml"), SERVICES).unwrap();
                    fs::write(path("2-routes.yaml"), routes(&[a.clone(), b.clone()])).unwrap();
                }),
            ),
            (
                "the endpoints go",
                Box::new(|| {
                    let services: Vec<&str> = SERVICES.split("---\n").take(2).collect();
                    fs::write(path("1-services.yaml"), services.join("---\n")).unwrap();
                }),
            ),
            (
                "every route goes",
                Box::new(|| fs::remove_file(path("2-routes.yaml")).unwrap()),
            ),
        ];
        let mut nothing_served = Vec::new();
        for (what, edit) in edits {
            edit();
            assert!(sources.reload(), "{what}: the files changed");
            let merged = sources.merged();
            fed.feed(&mut incremental, &merged);
            let _ = incremental.rebuild();
            let mut relisted = new_pipeline();
            check::feed(&mut relisted, &merged);
            let _ = relisted.rebuild();
            assert_eq!(incremental.statuses(), relisted.statuses(), "{what}: statuses");
            assert_eq!(incremental.resources(), relisted.resources(), "{what}: resources");
            if relisted.resources().is_empty() {
                nothing_served.push(what);
            }
        }
        assert_eq!(
            nothing_served,
            [
                "a Service the API server rejects (does not exist) in place of one that does",
                "every route goes"
            ]
        );
    }
}
