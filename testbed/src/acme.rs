//! Driving an ACME order through a CA plugin (`ca-acme`), as a host does: place the order,
//! publish each challenge, continue, and wait when the CA says so. The caller does the
//! invocations and the publishing (a test's host, the edge agent's plugins); this is the loop,
//! shared by `tests/acme.rs` and the `edge_agent` example.

use std::fmt;
use std::time::Duration;

use pluginhost_proto::acme::{AcmeRequest, AcmeResponse, ChallengeTask};

/// How many steps (invocations) an order may take before [`drive_order`] gives up.
pub const MAX_ORDER_STEPS: usize = 30;

/// The longest wait after [`AcmeResponse::Pending`], whatever the CA's `Retry-After` says: a CA
/// on loopback (pebble with `PEBBLE_VA_NOSLEEP`) is done well within it.
pub const MAX_PENDING_WAIT: Duration = Duration::from_secs(2);

/// A finished order.
#[derive(Debug)]
pub struct AcmeOrder {
    /// The leaf and its intermediates, PEM, as the CA sent them.
    pub chain_pem: String,
    /// The order's URL.
    pub order_url: String,
    /// Every challenge the host was asked to publish, in order.
    pub published: Vec<ChallengeTask>,
    /// The steps (invocations) it took.
    pub steps: usize,
}

/// Why [`drive_order`] stopped without a certificate.
#[derive(Debug)]
pub enum OrderError<E> {
    /// A step or a publication failed with the caller's error.
    Failed(E),
    /// The order was not finished after [`MAX_ORDER_STEPS`] steps.
    TooManySteps,
}

impl<E: fmt::Display> fmt::Display for OrderError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderError::Failed(e) => e.fmt(f),
            OrderError::TooManySteps => write!(
                f,
                "the order was not finished after {MAX_ORDER_STEPS} steps"
            ),
        }
    }
}

/// Runs `request` (with `order_url: None`) to the end. `step` sends one request to the plugin
/// and returns its answer; `publish` is called once for each challenge the plugin asks the host
/// to publish, before the order is continued; after `Pending` the loop sleeps as the CA asked,
/// at most [`MAX_PENDING_WAIT`].
///
/// # Errors
/// The first error of `step` or `publish`, or [`OrderError::TooManySteps`].
pub fn drive_order<E>(
    mut request: AcmeRequest,
    mut step: impl FnMut(&AcmeRequest) -> Result<AcmeResponse, E>,
    mut publish: impl FnMut(&ChallengeTask) -> Result<(), E>,
) -> Result<AcmeOrder, OrderError<E>> {
    let mut published = Vec::new();
    for steps in 1..=MAX_ORDER_STEPS {
        match step(&request).map_err(OrderError::Failed)? {
            AcmeResponse::Challenges {
                order_url,
                challenges,
            } => {
                for task in &challenges {
                    publish(task).map_err(OrderError::Failed)?;
                }
                published.extend(challenges);
                request.order_url = Some(order_url);
            }
            AcmeResponse::Pending {
                order_url,
                retry_after_seconds,
            } => {
                let wait = Duration::from_secs(u64::from(retry_after_seconds.max(1)));
                std::thread::sleep(wait.min(MAX_PENDING_WAIT));
                request.order_url = Some(order_url);
            }
            AcmeResponse::Issued {
                order_url,
                chain_pem,
            } => {
                return Ok(AcmeOrder {
                    chain_pem,
                    order_url,
                    published,
                    steps,
                })
            }
        }
    }
    Err(OrderError::TooManySteps)
}
