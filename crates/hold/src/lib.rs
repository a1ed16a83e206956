//! airlock-hold: the hold pipeline, from a request that would sign or send to its forward.
//!
//! - [`decode`] turns a held method's params into a [`Request`] (pure, no I/O);
//! - [`Pipeline::assess`] runs the steps over it on verified state (the chain it names, the
//!   head, the simulation or the signature's meaning, fee advice, a swap's quote, the rules,
//!   the template's explanation), for holding, re-simulation at approval, `airlock simulate`
//!   and the approvals watch alike;
//! - the [`Queue`] keeps each item until the person decides, writes every change to the audit
//!   log first, and forwards what was approved once [`Reassess`] (the pipeline again, on the
//!   newest head) says it still does what the person saw;
//! - [`ahead`] orders the same sender's queued sends: each request is simulated on the state
//!   the sends before it leave, when held and again at approval;
//! - the [`Desk`] is the front door: `submit` for the RPC edge, `airlock_types::Decisions` for
//!   the page, the terminal and the control API;
//! - [`errors`] holds every JSON-RPC code and the one mapping to error objects.
//!
//! - approved items from accounts Airlock manages are filled in, signed by the signer crate and
//!   broadcast raw (`signing`).
//!
//! Dependencies: chain (the upstream, heads, proven state), intel, policy, explain, signer, sim,
//! store, types.

mod ahead;
mod approvals;
mod assessment;
mod balances;
mod calls;
pub mod decode;
mod desk;
pub mod errors;
mod gas;
mod judge;
mod pipeline;
mod propose;
mod queue;
mod reads;
mod recheck;
mod signing;
pub mod simulate;
mod swaps;

pub use assessment::Assessment;
pub use decode::{Kind, Request, Route, route};
pub use desk::{Desk, DeskOptions, HeldLimits, Reply};
pub use errors::Error;
pub use pipeline::{How, Pipeline};
pub use queue::{Forward, MAX_OPEN_ITEMS, Queue, Reassess, Waiter};
pub use recheck::material_change;
pub use swaps::{Venues, quote};
