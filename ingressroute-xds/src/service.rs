//! The gRPC services: the aggregated one and one per type, each routing its `Stream*` and
//! `Delta*` methods to a stream task, with the codec of [`codec`](crate::codec); and
//! [`Services`], which hands them out to be mounted on a tonic server of the caller's.
//!
//! ```text
//!   Services::new(snapshots, callbacks)
//!      ├─ aggregated() ─▶ AggregatedDiscoveryService ─┐
//!      ├─ listeners(), routes(), clusters(),          ├─▶ the caller's tonic Router, next
//!      │  endpoints(), secrets() ─▶ one per type ─────┘   to its own services (add_to)
//!      └─ end_streams() ─▶ every stream ends (xDS streams never end by themselves)
//! ```
//!
//! They are written by hand rather than with the traits envoy-types generates, because
//! those fix the response type to the prost message, which would mean encoding every
//! resource again for every stream.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_server as cds;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server as ads;
use envoy_types::pb::envoy::service::endpoint::v3::endpoint_discovery_service_server as eds;
use envoy_types::pb::envoy::service::listener::v3::listener_discovery_service_server as lds;
use envoy_types::pb::envoy::service::route::v3::route_discovery_service_server as rds;
use envoy_types::pb::envoy::service::route::v3::scoped_routes_discovery_service_server as srds;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server as sds;
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::{Status, Streaming};

use crate::callbacks::Callbacks;
use crate::codec::XdsCodec;
use crate::delta::Delta;
use crate::snapshot::Snapshots;
use crate::sotw::Sotw;
use crate::stream::{self, Context, Protocol};
use ingressroute_envoy::ResourceKind;

/// One xDS gRPC service: its name, the type it serves and its two streaming methods.
pub(crate) trait Api: Send + Sync + 'static {
    /// The gRPC service name.
    const NAME: &'static str;
    /// The type served, or `None` for the aggregated service.
    const KIND: Option<ResourceKind>;
    /// The path of the state-of-the-world method.
    const STREAM: &'static str;
    /// The path of the delta method.
    const DELTA: &'static str;
}

macro_rules! api {
    ($(#[$doc:meta])* $name:ident, $module:ident, $kind:expr, $stream:literal, $delta:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) enum $name {}

        impl Api for $name {
            const NAME: &'static str = $module::SERVICE_NAME;
            const KIND: Option<ResourceKind> = $kind;
            const STREAM: &'static str = $stream;
            const DELTA: &'static str = $delta;
        }
    };
}

api!(
    /// The Aggregated Discovery Service.
    Ads, ads, None,
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
);
api!(
    /// The Listener Discovery Service.
    Lds, lds, Some(ResourceKind::Listener),
    "/envoy.service.listener.v3.ListenerDiscoveryService/StreamListeners",
    "/envoy.service.listener.v3.ListenerDiscoveryService/DeltaListeners"
);
api!(
    /// The Route Discovery Service.
    Rds, rds, Some(ResourceKind::RouteConfiguration),
    "/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes",
    "/envoy.service.route.v3.RouteDiscoveryService/DeltaRoutes"
);
api!(
    /// The Scoped Route Discovery Service.
    Srds, srds, Some(ResourceKind::ScopedRouteConfiguration),
    "/envoy.service.route.v3.ScopedRoutesDiscoveryService/StreamScopedRoutes",
    "/envoy.service.route.v3.ScopedRoutesDiscoveryService/DeltaScopedRoutes"
);
api!(
    /// The Cluster Discovery Service.
    Cds, cds, Some(ResourceKind::Cluster),
    "/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters",
    "/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters"
);
api!(
    /// The Endpoint Discovery Service.
    Eds, eds, Some(ResourceKind::ClusterLoadAssignment),
    "/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints",
    "/envoy.service.endpoint.v3.EndpointDiscoveryService/DeltaEndpoints"
);
api!(
    /// The Secret Discovery Service.
    Sds, sds, Some(ResourceKind::Secret),
    "/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets",
    "/envoy.service.secret.v3.SecretDiscoveryService/DeltaSecrets"
);

/// What every service of one [`Services`] shares.
#[derive(Debug)]
struct Shared {
    context: Context,
    next_stream: AtomicU64,
}

/// The tower service of one [`Api`].
#[derive(Debug)]
struct DiscoveryService<A> {
    shared: Arc<Shared>,
    max_message_size: usize,
    api: PhantomData<fn() -> A>,
}

impl<A> Clone for DiscoveryService<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            max_message_size: self.max_message_size,
            api: PhantomData,
        }
    }
}

impl<A: Api> NamedService for DiscoveryService<A> {
    const NAME: &'static str = A::NAME;
}

/// One streaming method: starts a stream task speaking `P`.
struct Method<P> {
    shared: Arc<Shared>,
    protocol: Option<P>,
}

impl<P: Protocol> StreamingService<P::Request> for Method<P> {
    type Response = P::Response;
    type ResponseStream = ReceiverStream<Result<P::Response, Status>>;
    type Future = std::future::Ready<Result<tonic::Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: tonic::Request<Streaming<P::Request>>) -> Self::Future {
        let Some(protocol) = self.protocol.take() else {
            return std::future::ready(Err(Status::internal("the method was called twice")));
        };
        let id = self.shared.next_stream.fetch_add(1, Ordering::Relaxed);
        let responses = stream::spawn(protocol, request.into_inner(), self.shared.context.clone(), id);
        std::future::ready(Ok(tonic::Response::new(responses)))
    }
}

async fn serve<P, B>(
    shared: Arc<Shared>,
    max_message_size: usize,
    protocol: P,
    request: http::Request<B>,
) -> http::Response<tonic::body::Body>
where
    P: Protocol,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    let limit = Some(max_message_size);
    let mut grpc =
        Grpc::new(XdsCodec::<P::Request, P::Response>::default()).apply_max_message_size_config(limit, limit);
    let method = Method {
        shared,
        protocol: Some(protocol),
    };
    grpc.streaming(method, request).await
}

impl<A, B> Service<http::Request<B>> for DiscoveryService<A>
where
    A: Api,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let limit = self.max_message_size;
        let path = request.uri().path();
        if path == A::STREAM {
            Box::pin(async move { Ok(serve(shared, limit, Sotw::new(A::KIND), request).await) })
        } else if path == A::DELTA {
            Box::pin(async move { Ok(serve(shared, limit, Delta::new(A::KIND), request).await) })
        } else {
            // Fetch* and anything else.
            Box::pin(async move { Ok(Status::unimplemented("not served by this xDS server").into_http()) })
        }
    }
}

/// The largest message a [`Services`] accepts or sends unless told otherwise: Envoy's
/// requests list every EDS name it watches, and the first response of a type carries every
/// resource of it. 64 MiB, as [`ServerConfig`](crate::ServerConfig).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The xDS services over one source of snapshots, reporting to one [`Callbacks`]: what a
/// caller mounts on a tonic server of its own, next to its own services, as go-control-plane's
/// `NewServer(cache, callbacks)` is registered on the caller's gRPC server. Cheap to clone;
/// every clone hands out services sharing the same streams.
///
/// ```no_run
/// use ingressroute_xds::{Publisher, Services};
/// use ingressroute_xds::tonic::transport::Server;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let publisher = Publisher::new();
/// let xds = Services::new(publisher.snapshots(), ());
/// // On a router that serves the caller's own services too: `xds.add_to(router)`.
/// let router = Server::builder().add_routes(xds.to_routes());
/// let ending = xds.clone();
/// router
///     .serve_with_shutdown("127.0.0.1:8001".parse()?, async move {
///         // e.g. ctrl-c; then end the xDS streams, or the server waits for them forever
///         ending.end_streams();
///     })
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Services {
    shared: Arc<Shared>,
    stop: Arc<watch::Sender<bool>>,
    max_message_size: usize,
}

impl Services {
    /// Services serving the snapshots of a [`Publisher`](crate::Publisher) and telling
    /// `callbacks` what they do (`()` for nothing).
    pub fn new(snapshots: Snapshots, callbacks: impl Callbacks) -> Self {
        let (stop, shutdown) = watch::channel(false);
        Self {
            shared: Arc::new(Shared {
                context: Context {
                    snapshots: snapshots.into_receiver(),
                    shutdown,
                    callbacks: Arc::new(callbacks),
                },
                next_stream: AtomicU64::new(1),
            }),
            stop: Arc::new(stop),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// Sets the largest message accepted or sent by the services handed out from now on
    /// ([`DEFAULT_MAX_MESSAGE_SIZE`] by default).
    #[must_use]
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    fn service<A>(&self) -> DiscoveryService<A> {
        DiscoveryService {
            shared: Arc::clone(&self.shared),
            max_message_size: self.max_message_size,
            api: PhantomData,
        }
    }

    /// The Aggregated Discovery Service (ADS), state of the world and delta: every type
    /// on one stream, in make-before-break order. What Envoy's bootstrap usually asks for.
    #[must_use]
    pub fn aggregated(&self) -> AggregatedDiscoveryService {
        AggregatedDiscoveryService(self.service())
    }

    /// The Listener Discovery Service (LDS).
    #[must_use]
    pub fn listeners(&self) -> ListenerDiscoveryService {
        ListenerDiscoveryService(self.service())
    }

    /// The Route Discovery Service (RDS).
    #[must_use]
    pub fn routes(&self) -> RouteDiscoveryService {
        RouteDiscoveryService(self.service())
    }

    /// The Scoped Route Discovery Service (SRDS).
    #[must_use]
    pub fn scoped_routes(&self) -> ScopedRoutesDiscoveryService {
        ScopedRoutesDiscoveryService(self.service())
    }

    /// The Cluster Discovery Service (CDS).
    #[must_use]
    pub fn clusters(&self) -> ClusterDiscoveryService {
        ClusterDiscoveryService(self.service())
    }

    /// The Endpoint Discovery Service (EDS).
    #[must_use]
    pub fn endpoints(&self) -> EndpointDiscoveryService {
        EndpointDiscoveryService(self.service())
    }

    /// The Secret Discovery Service (SDS).
    #[must_use]
    pub fn secrets(&self) -> SecretDiscoveryService {
        SecretDiscoveryService(self.service())
    }

    /// Adds all seven services to `router`, next to whatever else it serves.
    #[must_use]
    pub fn add_to<L>(&self, router: tonic::transport::server::Router<L>) -> tonic::transport::server::Router<L> {
        router
            .add_service(self.aggregated())
            .add_service(self.listeners())
            .add_service(self.routes())
            .add_service(self.scoped_routes())
            .add_service(self.clusters())
            .add_service(self.endpoints())
            .add_service(self.secrets())
    }

    /// All seven services as tonic [`Routes`](tonic::service::Routes), for
    /// `Server::add_routes` or an axum router.
    #[must_use]
    pub fn to_routes(&self) -> tonic::service::Routes {
        tonic::service::Routes::new(self.aggregated())
            .add_service(self.listeners())
            .add_service(self.routes())
            .add_service(self.scoped_routes())
            .add_service(self.clusters())
            .add_service(self.endpoints())
            .add_service(self.secrets())
    }

    /// Ends every open stream of these services, and every stream opened later as soon as
    /// it starts. xDS streams never end by themselves, so a tonic server shutting down
    /// gracefully waits for them until this is called.
    pub fn end_streams(&self) {
        self.stop.send_replace(true);
    }
}

/// One public service type per [`Api`], for a tonic router.
macro_rules! service {
    ($(#[$doc:meta])* $name:ident, $api:ty) => {
        $(#[$doc])*
        ///
        /// Handed out by [`Services`]; its `Fetch*` method answers `UNIMPLEMENTED`.
        #[derive(Debug, Clone)]
        pub struct $name(DiscoveryService<$api>);

        impl NamedService for $name {
            const NAME: &'static str = <$api as Api>::NAME;
        }

        impl<B> Service<http::Request<B>> for $name
        where
            B: Body + Send + 'static,
            B::Error: Into<StdError> + Send + 'static,
        {
            type Response = http::Response<tonic::body::Body>;
            type Error = Infallible;
            type Future = BoxFuture<Self::Response, Self::Error>;

            fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
                Service::<http::Request<B>>::poll_ready(&mut self.0, cx)
            }

            fn call(&mut self, request: http::Request<B>) -> Self::Future {
                self.0.call(request)
            }
        }
    };
}

service!(
    /// `envoy.service.discovery.v3.AggregatedDiscoveryService`: every type on one stream.
    AggregatedDiscoveryService, Ads
);
service!(
    /// `envoy.service.listener.v3.ListenerDiscoveryService`.
    ListenerDiscoveryService, Lds
);
service!(
    /// `envoy.service.route.v3.RouteDiscoveryService`.
    RouteDiscoveryService, Rds
);
service!(
    /// `envoy.service.route.v3.ScopedRoutesDiscoveryService`.
    ScopedRoutesDiscoveryService, Srds
);
service!(
    /// `envoy.service.cluster.v3.ClusterDiscoveryService`.
    ClusterDiscoveryService, Cds
);
service!(
    /// `envoy.service.endpoint.v3.EndpointDiscoveryService`.
    EndpointDiscoveryService, Eds
);
service!(
    /// `envoy.service.secret.v3.SecretDiscoveryService`.
    SecretDiscoveryService, Sds
);
