#![doc = include_str!("../README.md")]
//!
//! ```text
//!  events (a watch, files, a test)
//!    │ Event::{Init, InitApply, InitDone, Apply, Delete}
//!    ▼
//!  Store::apply ──▶ Effect ─┬─ rebuild ──▶ Holdoff (100 ms quiet / 500 ms max, told the time)
//!                           │                 │ due
//!                           │                 ▼
//!                           │    Pipeline::rebuild: build (ingressroute-dag)
//!                           │                       translate (ingressroute-envoy)
//!                           │                 │
//!                           │                 ├──▶ Resources ──▶ the caller's xDS snapshot
//!                           │                 └──▶ Dag statuses ──▶ status_writes / status_changes
//!                           ├─ endpoints ──▶ cluster_load_assignment (EDS only, no build)
//!                           └─ routes ─────▶ status_write (a status may need writing again)
//!
//!  Store::objects + Dag ──graph::ObjectGraph──▶ DOT | Mermaid | JSON | SVG (`/debug/dag`)
//! ```
//!
//! What this crate does **not** do: any I/O. It never talks to an API server, reads a
//! file, serves xDS or reads the clock; a front end (the controller, `ingressroute serve`,
//! `ingressroute render`, or your own controller) feeds it events, tells the [`Holdoff`]
//! the time, publishes the [`Resources`](ingressroute_envoy::Resources) it returns and
//! writes or logs the statuses.

pub mod graph;
mod holdoff;
mod object;
mod pipeline;
mod sources;
mod status;
mod store;

pub use holdoff::{DELAY, Decision, Holdoff, MAX_DELAY};
pub use object::{Event, Kind, Object, Undecodable, missing_field_description};
pub use pipeline::{Pipeline, Rebuild};
pub use sources::resolver;
pub use status::{
    StatusChange, StatusWrite, StatusWrites, Statuses, status_changes, status_write, status_writes, statuses,
};
pub use store::{Changed, Effect, Store};
