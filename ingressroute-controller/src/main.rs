//! The `ingressroute-controller` binary: parses the command line, sets up logging and
//! hands over to [`ingressroute_controller::run`].

use clap::Parser as _;
use ingressroute_controller::{Args, LogFormat};
use tracing_subscriber::EnvFilter;

// A rebuild of a large cluster allocates a few hundred MB of Envoy resources for a moment;
// glibc's allocator keeps most of that resident afterwards (one arena per thread);
// jemalloc hands it back, so the steady RSS is what the objects need.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Text => logs.init(),
    }
    ingressroute_controller::run(args).await?;
    Ok(())
}
