//! What goes into the pipeline: the objects of every input kind, and the watch-like
//! events that carry them.
//!
//! The events mirror a Kubernetes watch (kube-runtime's `watcher::Event`): a (re)list is
//! `Init`, one `InitApply` per object, then `InitDone`; after that, `Apply` and `Delete`.
//! A front end without a cluster (files, tests) can send `Apply`/`Delete` alone, or a
//! whole relist whenever it likes: the store works out what actually changed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use ingressroute_api::{IngressRoute, IngressRouteStatus, TLSCertificateDelegation};
use ingressroute_dag::ObjectRef;
use ingressroute_envoy::ServiceEndpoints;
use k8s_openapi::api::core::v1 as core_v1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The kinds of input, each listed and watched on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `contour.heptio.com/v1beta1` IngressRoute.
    IngressRoute,
    /// `contour.heptio.com/v1beta1` TLSCertificateDelegation.
    Delegation,
    /// `core/v1` Service.
    Service,
    /// `core/v1` Secret.
    Secret,
    /// The ready endpoints of Services: `discovery.k8s.io/v1` EndpointSlices or `core/v1`
    /// Endpoints (a front end feeds one of them).
    Endpoints,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 5] = [
        Kind::IngressRoute,
        Kind::Delegation,
        Kind::Service,
        Kind::Secret,
        Kind::Endpoints,
    ];

    /// A short lowercase name, for logs and metric labels.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IngressRoute => "ingressroute",
            Kind::Delegation => "tlscertificatedelegation",
            Kind::Service => "service",
            Kind::Secret => "secret",
            Kind::Endpoints => "endpoints",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One input object.
///
/// Services and Secrets may be given whole; the store keeps only what routing reads of
/// them. A front end that watches a cluster should still drop what it can before sending
/// (managed fields, unused Secret keys), since the object travels through a channel.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Object {
    /// An IngressRoute, status and resourceVersion included (they decide which statuses
    /// need writing).
    IngressRoute(Arc<IngressRoute>),
    /// An IngressRoute that is known to be invalid before the build looks at it: it only
    /// decoded leniently (a required field missing, read as its zero value, as Contour's
    /// Go structs read it) or the API server would reject it. It takes part in the build
    /// (its fqdn, its delegations) but is never served; its status is the build's
    /// finding if there is one, else `invalid` with `description`.
    RejectedIngressRoute {
        /// The object, as leniently decoded.
        route: Arc<IngressRoute>,
        /// Its status description when the build finds nothing else, e.g.
        /// `cannot decode the IngressRoute: spec.routes[0].match: missing field`.
        description: String,
    },
    /// An IngressRoute or TLSCertificateDelegation that does not decode at all (a field
    /// of the wrong type): it counts as absent, and an IngressRoute gets an `invalid`
    /// status naming the field.
    Undecodable(Arc<Undecodable>),
    /// A TLSCertificateDelegation.
    Delegation(Arc<TLSCertificateDelegation>),
    /// A Service.
    Service(Arc<core_v1::Service>),
    /// A Secret.
    Secret(Arc<core_v1::Secret>),
    /// The ready endpoints of a Service from its `core/v1` Endpoints.
    Endpoints {
        /// The Service (same namespace and name as the Endpoints).
        service: ObjectRef,
        /// Its ready endpoints.
        endpoints: ServiceEndpoints,
    },
    /// The ready endpoints of one EndpointSlice, and the Service it belongs to (none when
    /// the slice has no `kubernetes.io/service-name` label). The slices of a Service are
    /// merged.
    EndpointSlice {
        /// The slice.
        slice: ObjectRef,
        /// Its Service.
        service: Option<ObjectRef>,
        /// Its ready endpoints.
        endpoints: ServiceEndpoints,
    },
}

impl Object {
    /// `core/v1` Endpoints, reduced to the ready endpoints of their Service.
    #[must_use]
    pub fn from_endpoints(endpoints: &core_v1::Endpoints) -> Self {
        Object::Endpoints {
            service: ObjectRef::from_meta(&endpoints.metadata),
            endpoints: ServiceEndpoints::from_k8s(endpoints),
        }
    }

    /// The kind of this object.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Object::IngressRoute(_) | Object::RejectedIngressRoute { .. } => Kind::IngressRoute,
            Object::Undecodable(u) => u.kind,
            Object::Delegation(_) => Kind::Delegation,
            Object::Service(_) => Kind::Service,
            Object::Secret(_) => Kind::Secret,
            Object::Endpoints { .. } | Object::EndpointSlice { .. } => Kind::Endpoints,
        }
    }

    /// The namespace and name of this object (of the slice, for an EndpointSlice; of the
    /// Service, for Endpoints).
    #[must_use]
    pub fn key(&self) -> ObjectRef {
        match self {
            Object::IngressRoute(r) | Object::RejectedIngressRoute { route: r, .. } => {
                ObjectRef::from_meta(&r.metadata)
            }
            Object::Undecodable(u) => u.key.clone(),
            Object::Delegation(d) => ObjectRef::from_meta(&d.metadata),
            Object::Service(s) => ObjectRef::from_meta(&s.metadata),
            Object::Secret(s) => ObjectRef::from_meta(&s.metadata),
            Object::Endpoints { service, .. } => service.clone(),
            Object::EndpointSlice { slice, .. } => slice.clone(),
        }
    }
}

/// What is known of an IngressRoute or TLSCertificateDelegation that does not decode.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Undecodable {
    /// Its kind ([`Kind::IngressRoute`] or [`Kind::Delegation`]).
    pub kind: Kind,
    /// Its namespace and name.
    pub key: ObjectRef,
    /// Its metadata (the ingress-class annotations and resourceVersion matter).
    pub metadata: ObjectMeta,
    /// Its status, if that part decodes.
    pub status: Option<IngressRouteStatus>,
    /// Why it does not decode: the path of the field, then the decoder's message, e.g.
    /// `spec.routes[0].services[0].port: invalid type: string "80", expected i64`.
    pub error: String,
}

impl Undecodable {
    /// An undecodable object of `kind`, named by its metadata.
    #[must_use]
    pub fn new(kind: Kind, metadata: ObjectMeta, status: Option<IngressRouteStatus>, error: impl Into<String>) -> Self {
        Self {
            kind,
            key: ObjectRef::from_meta(&metadata),
            metadata,
            status,
            error: error.into(),
        }
    }

    /// The status description an undecodable IngressRoute gets.
    #[must_use]
    pub fn description(&self) -> String {
        format!("cannot decode the IngressRoute: {}", self.error)
    }
}

/// The status description of an IngressRoute that lacks the required field at `path` (it
/// decodes only leniently, see [`ingressroute_api::lenient`]), for
/// [`Object::RejectedIngressRoute`]: `cannot decode the IngressRoute: spec.routes[0].match:
/// is required`.
#[must_use]
pub fn missing_field_description(path: &str) -> String {
    format!("cannot decode the IngressRoute: {path}: is required")
}

/// A watch-like event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A (re)list of `Kind` starts: objects of that kind not listed before the matching
    /// [`Event::InitDone`] are gone.
    Init(Kind),
    /// An object of an ongoing (re)list.
    InitApply(Object),
    /// The (re)list of a kind is complete. The first one of every kind makes the store
    /// [synced](crate::Store::synced).
    InitDone(Kind),
    /// An object was added or changed.
    Apply(Object),
    /// An object is gone.
    Delete(Kind, ObjectRef),
}

impl Event {
    /// A relist of every kind that holds exactly `objects`: per kind (in [`Kind::ALL`]
    /// order) `Init`, one `InitApply` per object of that kind, `InitDone`. For a front end
    /// that reads everything again and lets the store work out what changed (`serve`
    /// after a file changed), or that builds once (`render`): objects of a kind not among
    /// `objects` are gone, and the store is [synced](crate::Store::synced) afterwards.
    #[must_use]
    pub fn relist(objects: impl IntoIterator<Item = Object>) -> Vec<Event> {
        let mut by_kind: BTreeMap<Kind, Vec<Object>> = BTreeMap::new();
        for object in objects {
            by_kind.entry(object.kind()).or_default().push(object);
        }
        let mut events = Vec::new();
        for kind in Kind::ALL {
            events.push(Event::Init(kind));
            events.extend(by_kind.remove(&kind).into_iter().flatten().map(Event::InitApply));
            events.push(Event::InitDone(kind));
        }
        events
    }
}
