//! The gRPC services: the aggregated one and one per type, each routing its `Stream*` and
//! `Delta*` methods to a stream task, with the codec of [`codec`](crate::codec).
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
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server as sds;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::{Status, Streaming};

use crate::codec::XdsCodec;
use crate::delta::Delta;
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

/// What every service of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) context: Context,
    pub(crate) max_message_size: usize,
    pub(crate) next_stream: AtomicU64,
}

/// The tower service of one [`Api`].
#[derive(Debug)]
pub(crate) struct DiscoveryService<A> {
    shared: Arc<Shared>,
    api: PhantomData<fn() -> A>,
}

impl<A> Clone for DiscoveryService<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            api: PhantomData,
        }
    }
}

impl<A: Api> DiscoveryService<A> {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
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

async fn serve<P, B>(shared: Arc<Shared>, protocol: P, request: http::Request<B>) -> http::Response<tonic::body::Body>
where
    P: Protocol,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    let limit = Some(shared.max_message_size);
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
        let path = request.uri().path();
        if path == A::STREAM {
            Box::pin(async move { Ok(serve(shared, Sotw::new(A::KIND), request).await) })
        } else if path == A::DELTA {
            Box::pin(async move { Ok(serve(shared, Delta::new(A::KIND), request).await) })
        } else {
            // Fetch* and anything else.
            Box::pin(async move { Ok(Status::unimplemented("not served by this xDS server").into_http()) })
        }
    }
}
